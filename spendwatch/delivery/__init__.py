"""Telling people about alerts: messages, routing, Slack delivery through slack-sdk, and the send pass.

The outbox and its state machine live in :mod:`warehouse.alerts` (no network there); this package
reads what is owed, sends it, and records each attempt before and its outcome after.
"""

from spendwatch.delivery.messages import (  # noqa: F401
    KIND_TITLES, AlertMessage, build_message, build_resolved, console_markup, resolved_text, review_url, slack_text,
    summary,
)
from spendwatch.delivery.routing import BOT_TOKEN_ENV, DEFAULT_WEBHOOK_ENV, Destination, Routing, unset_webhooks  # noqa: F401
from spendwatch.delivery.send import SendResult, message_of, send_pending  # noqa: F401
from spendwatch.delivery.sender import (  # noqa: F401
    METADATA_EVENT, RETRY_AFTER_CAP, SLACK_API_BASE, Attempt, Outcome, Request, SlackSender,
)
