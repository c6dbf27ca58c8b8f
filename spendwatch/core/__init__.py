"""Shared low-level code: imports nothing else of the project (only the standard library and pinned libraries)."""
