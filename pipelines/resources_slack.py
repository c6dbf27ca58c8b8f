"""The Slack resource: where alerts are delivered, with webhook URLs and the bot token only from the environment."""

import os

import dagster as dg

from spendwatch.core.config import Config
from spendwatch.delivery import BOT_TOKEN_ENV, DEFAULT_WEBHOOK_ENV, SLACK_API_BASE, Routing, SlackSender
from spendwatch.delivery.routing import API_URL_ENV


class SlackResource(dg.ConfigurableResource):
    """Slack incoming webhooks (one per team, the variables named in spendwatch.toml) or a bot token.

    ``default_webhook_url`` and ``bot_token`` come from ``SLACK_WEBHOOK_URL`` and ``SLACK_BOT_TOKEN``
    through ``EnvVar``; a team's own webhook variable (``slack_webhook_env`` in spendwatch.toml) is read
    from the environment when the sender is built.  With none set, alerts go to the console.
    The rest are operator knobs, never secrets.
    """

    default_webhook_url: str | None = None
    bot_token: str | None = None
    api_url: str = SLACK_API_BASE  # the Web API's base URL (a stand-in's in tests)
    timeout_seconds: float = 10.0
    max_retry_after_seconds: float = 5.0
    pass_budget_seconds: float = 60.0  # a Retry-After past what is left of it leaves the alert for the next pass
    concurrency: int = 8

    def sender(self, cfg: Config | None) -> SlackSender:
        """A sender routing each team's alerts as the config says; close it (or use ``with``) when done."""
        # The resource's value stands for the SLACK_WEBHOOK_URL variable (the default unless the config renames it).
        overrides = {DEFAULT_WEBHOOK_ENV: self.default_webhook_url} if self.default_webhook_url else {}
        routing = Routing.from_config(cfg, bot_token=self.bot_token or None, webhook_urls=overrides)
        return SlackSender(routing, timeout=self.timeout_seconds, max_retry_after=self.max_retry_after_seconds,
                           pass_budget=self.pass_budget_seconds, concurrency=self.concurrency, api_url=self.api_url)


def _env_or_none(name: str):
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_slack_resource() -> SlackResource:
    """The Slack resource for this environment: secrets through EnvVar, so they never reach run config or logs."""
    return SlackResource(default_webhook_url=_env_or_none(DEFAULT_WEBHOOK_ENV), bot_token=_env_or_none(BOT_TOKEN_ENV),
                         api_url=os.environ.get(API_URL_ENV) or SLACK_API_BASE)
