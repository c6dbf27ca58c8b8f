"""Alerts that fire exactly once, are never lost, and can be quieted: conditions, state and the outbox.

* :mod:`warehouse.alerts.conditions`: which conditions are true now (the ``alert_*`` marts);
* :mod:`warehouse.alerts.lifecycle`: raising, resolving, escalating, acknowledging, snoozing, reading;
* :mod:`warehouse.alerts.outbox`: what each channel is still owed, and every attempt's outcome.

No network here: delivery lives in :mod:`spendwatch.delivery`, which reads the outbox and records
what Slack answered through these functions.
"""

from warehouse.alerts.conditions import CONDITIONS_MODEL, MARTS, current_conditions, kind_queries  # noqa: F401
from warehouse.alerts.lifecycle import (  # noqa: F401
    Evaluation, ack, attempts, counts, deliverable, evaluate, failed_alerts, get_alert, list_alerts, pending_alerts, raise_alert,
    retry_failed, snooze, wake_snoozed,
)
from warehouse.alerts.outbox import Result, Work, deliveries, due, mark_sending, record_outcomes  # noqa: F401
from warehouse.alerts.rows import (  # noqa: F401
    ACTIVE, DELIVERIES, EVALUATED_KINDS, KINDS, LONDON, MONTHS_BACK, ORG, STATES, Alert, london_day, window_start,
)
