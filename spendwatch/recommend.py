"""The one sentence of a recommendation (a row of model ``recommendations``), shared by the review,
``spendwatch breakeven --team`` and, through the same columns, the Slack alerts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from spendwatch.render import money as _money


def recommendation_text(r: dict[str, Any]) -> str:
    """What the team should do for one GPU class, with the saving it brings (plain text: escape where shown)."""
    cur, team = r["currency"], r["team"]
    money = _money(r['saving'], cur) if r.get("saving") is not None else ""
    action = r["action"]
    if action == "use_spare_capacity":
        used = (f"{Decimal(r['spare_server_utilisation'] * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)} % used"
                if r.get("spare_server_utilisation") is not None else "paid for")
        text = f"{team}'s load fits on {r['spare_server_id']} ({used}): saves {money} a month at no extra rent"
    elif action == "hybrid":
        text = (f"rent {r['dedicated_gpus']} dedicated GPU(s) for the steady core, serverless for the peaks "
                f"(demand peaks at {r['peak_demand_gpus']} GPUs): saves {money} a month")
    elif action == "rent_dedicated":
        text = f"rent {r['dedicated_gpus']} dedicated GPU(s) ({r['dedicated_provider']} {r['dedicated_sku']}): saves {money} a month"
    elif action == "near":
        text = "dedicated and serverless cost about the same (within 10 %): stay flexible"
    elif action == "no_dedicated_offer":
        text = "no dedicated offer tracked for this GPU class"
    else:
        text = "stay on serverless" + (": dedicated is never cheaper" if r.get("breakeven_text") == "never cheaper" else "")
    if r.get("committed_offer"):
        upfront = (f", {_money(r['committed_upfront_amount'], r['committed_currency'])} up front"
                   if r.get("committed_upfront_amount") else "")
        term = format(Decimal(r["committed_term_months"]).normalize(), "f")
        text += (f" (with a {term}-month commitment: {r['committed_offer']}, "
                 f"{_money(r['committed_monthly'], cur)} a month effective{upfront})")
    return text
