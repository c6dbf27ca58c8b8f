"""The alerts asset: raise what the models say, once, and deliver it through the outbox."""

import dagster as dg

from pipelines.partitions import POOL, daily_partitions, partition_day
from pipelines.resources import SpendwatchSettings, WarehouseResource
from pipelines.resources_slack import SlackResource
from spendwatch.core.redact import redact
from spendwatch.delivery import message_of, send_pending, summary
from spendwatch.render import markdown_table
from warehouse import alerts as wa


def _deps() -> list[str]:
    """The alert conditions are the alert_* marts (unioned in alert_conditions): the asset follows their model."""
    return [wa.CONDITIONS_MODEL, *wa.MARTS]


@dg.asset(
    name="alerts",
    group_name="alerts",
    kinds={"duckdb"},
    partitions_def=daily_partitions,
    pool=POOL,
    deps=_deps(),
)
def alerts(context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: SpendwatchSettings,
           slack: SlackResource) -> dg.MaterializeResult:
    """Slack alerts for thresholds crossed or projected, cheaper dedicated GPUs, invoice discrepancies, price changes, failing price sources and rejected rows: each raised once, delivered through an outbox that survives a Slack outage."""
    cfg = settings.load()
    day = partition_day(context)
    with warehouse.open() as con:
        ev = wa.evaluate(con, as_of=day)
        with slack.sender(cfg) as sender:
            sent = send_pending(con, sender)
            secrets = sender.routing.secrets()
        active = wa.list_alerts(con, state="active")
        failed = wa.failed_alerts(con)
        totals = wa.counts(con)
    for kind, why in ev.skipped.items():
        context.log.info(f"alerts: {kind} skipped ({why})")
    for line in sent.errors[:20]:
        context.log.warning(f"alerts: not delivered: {redact(line, secrets)}")
    if sent.pending:
        context.log.warning(f"alerts: {sent.pending} pending delivery; the next run or `spendwatch alerts send` retries them")
    if sent.failed_total:
        context.log.error(f"alerts: {sent.failed_total} failed for good (see `spendwatch alerts list --state failed`)")
    rows = [(a.alert_id, a.kind, a.team, a.period, a.state, a.delivery, a.attempts,
             redact(a.last_error, secrets) if a.last_error else summary(message_of(a))) for a in active[:50]]
    failed_rows = [(a.alert_id, a.kind, a.team, a.period, a.destination or "", redact(a.last_error, secrets)) for a in failed[:20]]
    metadata = {
        "as_of": day.isoformat(),
        "window_start": ev.since.isoformat(),
        "conditions_true": ev.conditions,
        "raised": len(ev.raised),
        "reopened": len(ev.reopened),
        "resolved": len(ev.resolved),
        "escalated": len(ev.escalated),
        "sent": sent.sent,
        "resolutions_sent": sent.resolved_sent,
        "sent_to_console": sent.by_channel.get("console", 0),
        "pending": sent.pending,
        "failed": sent.failed_total,
        "failed_this_run": sent.failed,
        "open": totals.get("open", 0),
        "acked": totals.get("acked", 0),
        "snoozed": totals.get("snoozed", 0),
        "kinds_evaluated": ", ".join(ev.evaluated) or "none",
        "kinds_skipped": ", ".join(f"{k} ({v})" for k, v in ev.skipped.items()) or "none",
        "active_alerts": dg.MetadataValue.md(markdown_table(
            ["id", "kind", "team", "period", "state", "delivery", "attempts", "summary / last error"], rows, limit=None)),
        "dagster/row_count": len(active),
    }
    if failed_rows:
        metadata["failed_alerts"] = dg.MetadataValue.md(
            markdown_table(["id", "kind", "team", "period", "destination", "error"], failed_rows, limit=None))
    if ev.notes:
        metadata["notes"] = "; ".join(ev.notes)
    return dg.MaterializeResult(metadata=metadata)
