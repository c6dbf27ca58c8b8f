"""Run-failure alerts: a failed daily run is posted to the default Slack channel, once per run."""

import logging

import dagster as dg

from pipelines.jobs import daily_spend_job
from pipelines.resources import SpendwatchSettings, WarehouseResource
from pipelines.resources_slack import SlackResource
from spendwatch.core.config import Config, ConfigError
from spendwatch.core.redact import excerpt
from spendwatch.delivery import AlertMessage, send_pending
from warehouse import alerts as wa
from warehouse.alerts import ORG

log = logging.getLogger("pipelines.alert_sensors")


def run_failure_details(context: dg.RunFailureSensorContext) -> tuple[str, dict]:
    """The run's partition (the alert's period) and what failed, from the failure and step-failure events."""
    run = context.dagster_run
    partition = run.tags.get("dagster/partition") or ""
    steps, first_error = [], ""
    for ev in context.get_step_failure_events():
        steps.append(ev.step_key or "?")
        err = ev.event_specific_data.error if ev.event_specific_data else None
        while err is not None and err.cause is not None:  # the user's exception, not Dagster's wrapper
            err = err.cause
        if err and err.message and err.message.strip() and not first_error:
            first_error = err.message.strip().splitlines()[0]
    if not first_error:
        first_error = (context.failure_event.message or "").strip().splitlines()[0] if context.failure_event.message else ""
    details = {
        "run_id": run.run_id,
        "job_name": run.job_name,
        "partition": partition or None,
        "failed_steps": sorted(set(steps)),
        "error": excerpt(first_error, 300),
    }
    return partition, details


@dg.run_failure_sensor(
    name="slack_run_failure_sensor",
    monitored_jobs=[daily_spend_job],
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Post each failed daily_spend_job run to the default Slack channel, once per run id.",
)
def slack_run_failure_sensor(context: dg.RunFailureSensorContext, warehouse: WarehouseResource,
                             settings: SpendwatchSettings, slack: SlackResource) -> None:
    """Store a ``run_failure`` alert keyed by run id (so a re-evaluated tick never posts twice), then deliver it."""
    partition, details = run_failure_details(context)
    run_id = context.dagster_run.run_id
    period = partition or context.dagster_run.run_id[:8]
    try:
        cfg: Config | None = settings.load()
    except ConfigError as e:  # a broken config may be why the run failed: still tell the default channel
        log.warning("run failure alert: config unreadable (%s); using the default webhook", e)
        cfg = None
    try:
        with warehouse.open() as con:
            alert_id, new = wa.raise_alert(con, "run_failure", ORG, period, run_id, details)
            with slack.sender(cfg) as sender:
                res = send_pending(con, sender, ids=[alert_id])
        context.log.info(f"run failure alert #{alert_id} for run {run_id[:8]}: {'queued' if new else 'already stored'}, "
                         f"{res.sent} sent, {res.pending} pending")
    except Exception as e:  # the warehouse is unreadable: post directly rather than lose the news
        context.log.warning(f"run failure alert: warehouse unavailable ({type(e).__name__}); posting without the outbox")
        with slack.sender(cfg) as sender:
            outcome = sender.deliver_alert(AlertMessage(0, 1, "run_failure", ORG, period, run_id, details))
        context.log.info(f"run failure alert for run {run_id[:8]} posted directly: {outcome.status}")
