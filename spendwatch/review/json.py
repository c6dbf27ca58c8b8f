"""The review as one JSON document: the data as it is, money as decimal strings beside their currency."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def jsonable(v: Any) -> Any:
    """Plain review data as JSON values: Decimal as its exact decimal string, dates and times as ISO 8601."""
    if isinstance(v, Decimal):
        return format(v, "f")
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    return v


def render_json(data: dict[str, Any]) -> str:
    """One JSON document: money as decimal strings beside their currency, dates as ISO 8601."""
    return json.dumps(jsonable(data), indent=2, ensure_ascii=False) + "\n"
