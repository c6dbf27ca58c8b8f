"""Where each team's alerts go: a team webhook, a bot channel, the default webhook, or the console.

Each destination is its own delivery channel (``Destination.key``): an alert is delivered once per
channel, so alerts printed to the console before any webhook was set reach Slack once one is.
Webhook URLs and the bot token are read from the environment only and registered as secrets.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Literal, Mapping

from spendwatch.core.config import UNALLOCATED, Config
from spendwatch.core.redact import register

DEFAULT_WEBHOOK_ENV = "SLACK_WEBHOOK_URL"
BOT_TOKEN_ENV = "SLACK_BOT_TOKEN"
API_URL_ENV = "SLACK_API_URL"  # the Web API's base URL, for a Slack-compatible endpoint (default https://slack.com/api/)

@dataclass(frozen=True)
class Destination:
    """Where one alert goes.  ``label`` is safe to store (an env var name or channel); url and token are not."""

    channel: Literal["webhook", "bot", "console"]
    label: str
    url: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    slack_channel: str | None = None

    @property
    def key(self) -> str:
        """Rate limits and outages are per endpoint (webhook URL, or bot channel)."""
        return f"{self.channel}:{self.label}"


@dataclass(frozen=True)
class Routing:
    """Which destination each team's alerts use, from the names in spendwatch.toml and the environment.

    Order: the team's own webhook variable, if it names one and it is set; else, with a bot token and a
    ``slack_channel`` for the team, chat.postMessage to that channel; else the default webhook variable
    (``SLACK_WEBHOOK_URL`` unless ``[defaults] slack_webhook_env`` renames it); else the console.
    Unallocated and organisation-wide alerts use the default.
    """

    team_env: Mapping[str, str]
    team_channel: Mapping[str, str]
    default_env: str = DEFAULT_WEBHOOK_ENV
    urls: Mapping[str, str] = field(default_factory=dict, repr=False)  # env var name -> URL (values are secrets)
    bot_token: str | None = field(default=None, repr=False)
    review_base_url: str | None = None

    @classmethod
    def from_config(cls, cfg: Config | None, environ: Mapping[str, str] | None = None, *,
                    bot_token: str | None = None, webhook_urls: Mapping[str, str | None] | None = None) -> "Routing":
        """Read every webhook variable the config names (plus explicit overrides) and register the values as secrets."""
        env = os.environ if environ is None else environ
        default_env = cfg.defaults.slack_webhook_env if cfg else DEFAULT_WEBHOOK_ENV
        team_env = {t.name: cfg.webhook_env(t.name) for t in cfg.teams} if cfg else {}
        team_channel = {t.name: t.slack_channel for t in cfg.teams if t.slack_channel} if cfg else {}
        urls: dict[str, str] = {}
        for name in {default_env, *team_env.values()}:
            if env.get(name):
                urls[name] = env[name].strip()
        for name, value in (webhook_urls or {}).items():
            if value:
                urls[name] = value.strip()
        token = bot_token if bot_token is not None else (env.get(BOT_TOKEN_ENV) or None)
        # A value that is only a scheme ("https://") holds no secret; registered, it would be masked inside every
        # URL and hide the URLs' own secret parts from the redaction's URL rules.
        register(token, *(u for u in urls.values() if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:/*", u)))
        return cls(team_env=team_env, team_channel=team_channel, default_env=default_env, urls=urls, bot_token=token,
                   review_base_url=cfg.review.base_url if cfg else None)

    def secrets(self) -> list[str]:
        return [v for v in (*self.urls.values(), self.bot_token) if v]

    def destination(self, team: str) -> Destination:
        own = self.team_env.get(team)
        if own and own != self.default_env and self.urls.get(own):
            return Destination("webhook", own, url=self.urls[own])
        channel = self.team_channel.get(team)
        if self.bot_token and channel:
            return Destination("bot", channel, token=self.bot_token, slack_channel=channel)
        if self.urls.get(self.default_env):
            return Destination("webhook", self.default_env, url=self.urls[self.default_env])
        return Destination("console", "console")

    def by_label(self, channel: str, label: str) -> Destination | None:
        """The destination an earlier message went to (a resolution follows it there), if it is still configured."""
        if channel == "console":
            return Destination("console", "console")
        if channel == "webhook" and self.urls.get(label):
            return Destination("webhook", label, url=self.urls[label])
        if channel == "bot" and self.bot_token:
            return Destination("bot", label, token=self.bot_token, slack_channel=label)
        return None


def unset_webhooks(cfg: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Warnings for ``config check``: teams whose own webhook variable is unset, so their alerts go to the default."""
    env = os.environ if environ is None else environ
    out = []
    for t in cfg.teams:
        if t.name == UNALLOCATED or not t.slack_webhook_env or env.get(t.slack_webhook_env):
            continue
        fallback = ("the bot channel " + t.slack_channel) if (t.slack_channel and env.get(BOT_TOKEN_ENV)) else (
            f"the default webhook ({cfg.defaults.slack_webhook_env})" if env.get(cfg.defaults.slack_webhook_env) else "the console")
        out.append(f"team {t.name}: webhook variable {t.slack_webhook_env} is not set; its alerts go to {fallback}")
    return out


