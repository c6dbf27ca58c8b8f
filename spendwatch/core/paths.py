"""Where the project's own files live: the checkout root, the bundled sample config and the default warehouse."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLE_CONFIG = PROJECT_ROOT / "examples" / "spendwatch.toml"
DEFAULT_WAREHOUSE = PROJECT_ROOT / "data" / "warehouse.duckdb"
