"""Static PNG charts of spend and break-even, for Dagster materialization metadata.

Drawn with matplotlib's Agg backend on a private Figure (no pyplot global state, no
display), returned as PNG bytes; :func:`markdown_image` embeds them in markdown as a
base64 data URI, the way Dagster shows images in an asset's metadata.  Labels that
come from data are passed through :func:`_label` so matplotlib never reads them as
mathtext.  Money is drawn from Decimals converted to float for plotting only.
"""

from __future__ import annotations

import base64
import io
import math
from collections import OrderedDict
from typing import Any, Sequence

from spendwatch.render import md_escape, plain

_BLUE, _LIGHT, _RED, _GREEN, _PURPLE, _GOLD = "#2b6cb0", "#63b3ed", "#c53030", "#2f855a", "#805ad5", "#d69e2e"


def _label(value: Any) -> str:
    """Data text as a literal matplotlib label: control characters dropped, ``$`` escaped (no mathtext)."""
    return plain(value).replace("\\", "\\\\").replace("$", r"\$")


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def markdown_image(png: bytes, alt: str) -> str:
    """A markdown image whose source is the PNG itself (base64 data URI): the form Dagster renders inline."""
    alt_text = md_escape(alt).replace("]", "\\]")
    return f"![{alt_text}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def monthly_spend_png(rows: Sequence[dict[str, Any]], currency: str, months: int = 6) -> bytes:
    """Grouped bars of each team's variable spend over its last months, with each team's threshold as a red tick.

    ``rows`` carry month, team, variable_spend and threshold (team_monthly_spend joined with threshold_flags).
    """
    month_keys = sorted({r["month"] for r in rows})[-months:]
    teams = list(OrderedDict.fromkeys(r["team"] for r in rows if r["month"] in month_keys))
    by = {(r["team"], r["month"]): r for r in rows}
    fig = _figure(max(6.0, 1.3 * len(teams) + 2), 3.6)
    ax = fig.add_subplot(1, 1, 1)
    n = max(1, len(month_keys))
    width = 0.8 / n
    shades = ["#bee3f8", _LIGHT, "#4299e1", _BLUE, "#2c5282", "#1a365d"][-n:] if n > 3 else [_LIGHT, "#4299e1", _BLUE][-n:]
    for j, m in enumerate(month_keys):
        xs = [i - 0.4 + width * (j + 0.5) for i in range(len(teams))]
        ys = [float(by[(t, m)]["variable_spend"]) if (t, m) in by and by[(t, m)]["variable_spend"] is not None else 0.0 for t in teams]
        ax.bar(xs, ys, width=width * 0.95, color=shades[j], label=f"{m:%b %Y}")
    labelled = False
    for i, t in enumerate(teams):
        latest = next((by[(t, m)] for m in reversed(month_keys) if (t, m) in by), None)
        if latest is None or latest.get("threshold") is None or t == "unallocated":
            continue
        ax.hlines(float(latest["threshold"]), i - 0.45, i + 0.45, colors=_RED, linestyles="dashed", linewidth=2,
                  label=None if labelled else "threshold")
        labelled = True
    ax.set_xticks(range(len(teams)))
    ax.set_xticklabels([_label(t) for t in teams])
    ax.set_ylabel(f"variable spend ({_label(currency)})")
    ax.set_title("Variable spend per team and month against the threshold")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=n + 1, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.08)
    return _png(fig)


def breakeven_png(rows: Sequence[dict[str, Any]], max_panels: int = 6) -> bytes:
    """Small multiples, one per team and GPU class: monthly cost against utilisation for serverless (line) and
    dedicated (steps of whole GPUs), the break-even point and the team's actual utilisation.

    ``rows`` are breakeven model rows (utilisation, serverless_price_per_second, seconds_in_month,
    dedicated_monthly, breakeven_utilisation, serverless_cost, currency, team, gpu_class).
    """
    rows = [r for r in rows if r.get("dedicated_monthly") is not None and r.get("serverless_price_per_second") is not None][:max_panels]
    cols = min(3, max(1, len(rows)))
    lines = max(1, math.ceil(len(rows) / cols))
    fig = _figure(4.2 * cols, 3.2 * lines)
    if not rows:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no serverless GPU class with a dedicated offer", ha="center", va="center")
        ax.set_axis_off()
        return _png(fig)
    for k, r in enumerate(rows, start=1):
        ax = fig.add_subplot(lines, cols, k)
        s_full = float(r["serverless_price_per_second"]) * int(r["seconds_in_month"])
        d = float(r["dedicated_monthly"])
        u_act = float(r["utilisation"]) if r.get("utilisation") is not None else None
        u_star = float(r["breakeven_utilisation"]) if r.get("breakeven_utilisation") is not None else None
        top = max([1.0] + [1.25 * u for u in (u_act, u_star) if u is not None])
        us = [top * i / 100 for i in range(101)]
        ax.plot(us, [s_full * u for u in us], color=_BLUE, label="serverless")
        ax.step(us, [d * max(1, math.ceil(u - 1e-9)) for u in us], where="post", color=_GREEN, label="dedicated")
        if u_star is not None:
            ax.plot([u_star], [d], marker="D", color=_PURPLE, linestyle="none", label=f"break-even {u_star:.0%}")
        if u_act is not None:
            ax.plot([u_act], [float(r["serverless_cost"])], marker="*", markersize=12, color=_GOLD, linestyle="none",
                    label=f"actual {u_act:.0%}")
        ax.set_title(f"{_label(r['team'])}: {_label(r['gpu_class'])}", fontsize=10)
        ax.xaxis.set_major_formatter(_percent_formatter())
        ax.set_xlabel("utilisation of one GPU", fontsize=8)
        ax.set_ylabel(f"{_label(r.get('currency') or '')} per month", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def _percent_formatter():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)
