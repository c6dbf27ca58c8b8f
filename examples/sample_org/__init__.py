"""The pieces of examples/generate.py: one module per kind of provider export, and the shared facts (common)."""
