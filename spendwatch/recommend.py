"""The one sentence of a recommendation (a row of model ``recommendations``), shared by the review,
``spendwatch breakeven --team`` and, through the same columns, the Slack alerts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from spendwatch.render import money as _money


def _number(v: Any) -> Decimal | None:
    """A figure of the mart's row, or of an alert that carries it as text."""
    return None if v is None or v == "" else Decimal(str(v))


def _flag(v: Any) -> bool:
    return v is True or str(v).lower() == "true"


def recommendation_text(r: dict[str, Any]) -> str:
    """What the team should do for one GPU class, with the saving it brings (plain text: escape where shown)."""
    cur, team = r["currency"], r["team"]
    money = _money(r['saving'], cur) if r.get("saving") is not None else ""
    action = r["action"]
    # one of the organisation's own servers as the offer: renting more like it, at its contract price (never taking it)
    org = _flag(r.get("dedicated_is_org_server"))
    if action == "use_spare_capacity":
        used = (f"{Decimal(r['spare_server_utilisation'] * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)} % used"
                if r.get("spare_server_utilisation") is not None else "paid for")
        overflow = _number(r.get("spare_overflow_gpu_hours"))
        if r.get("spare_fit") == "partial":   # the spare left takes part of the load; the rest stays on serverless
            text = (f"{r['spare_moved_gpu_hours']} of {team}'s {r['gpu_hours']} GPU-hours fit in the spare of "
                    f"{r['spare_server_id']} ({used}; the other {overflow} stay on serverless): saves {money} a month "
                    "at no extra rent")
        else:
            if overflow and overflow > 0:
                n = _number(r.get("spare_server_gpus"))
                size = f"its {n} GPU{'' if n == 1 else 's'}" if n else "its GPUs"
                used += f"; the {overflow} GPU-hours above {size} stay on serverless"
            text = f"{team}'s load fits on {r['spare_server_id']} ({used}): saves {money} a month at no extra rent"
    elif action == "hybrid":
        gpus = (f"{r['dedicated_gpus']} more GPU(s) like {r['dedicated_sku']} ({r['dedicated_provider']}, at its contract price)"
                if org else f"{r['dedicated_gpus']} dedicated GPU(s)")
        text = (f"rent {gpus} for the steady core, serverless for the peaks "
                f"(demand peaks at {r['peak_demand_gpus']} GPUs): saves {money} a month")
    elif action == "rent_dedicated" and org:
        text = (f"rent {r['dedicated_gpus']} more GPU(s) like {r['dedicated_sku']} ({r['dedicated_provider']}, at its contract "
                f"price): saves {money} a month")
    elif action == "rent_dedicated":
        text = f"rent {r['dedicated_gpus']} dedicated GPU(s) ({r['dedicated_provider']} {r['dedicated_sku']}): saves {money} a month"
    elif action == "near":
        text = "dedicated and serverless cost about the same (within 10 %): stay flexible"
    elif action == "no_dedicated_offer":
        text = "no dedicated offer tracked for this GPU class"
    else:
        text = "stay on serverless" + (": dedicated is never cheaper" if r.get("breakeven_text") == "never cheaper" else "")
    # a committed plan is named beside the action only when it would save more than the action does
    committed_saving, saving = _number(r.get("committed_saving")), _number(r.get("saving")) or 0
    if r.get("committed_offer") and committed_saving is not None and committed_saving > max(saving, 0):
        upfront = (f", {_money(r['committed_upfront_amount'], r['committed_currency'])} up front"
                   if r.get("committed_upfront_amount") else "")
        term = format(Decimal(r["committed_term_months"]).normalize(), "f")
        text += (f" (a {term}-month commitment would save {_money(committed_saving, cur)} a month: {r['committed_offer']}, "
                 f"{_money(r['committed_monthly'], cur)} a month effective{upfront})")
    if r.get("fx_stale_note"):
        text += f"; converted at a stale ECB rate: {r['fx_stale_note']}"
    return text
