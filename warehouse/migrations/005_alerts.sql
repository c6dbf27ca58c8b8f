-- 005: alerts and their outbox.  One row per alert natural key (kind, team, period, subject);
-- the row is the alert's whole life: raised, delivered (or not yet), acknowledged, snoozed,
-- resolved, and re-opened as a new occurrence when its condition comes back.
-- Written only by warehouse/alerts.py.  Webhook URLs and tokens are never stored: destination
-- holds the NAME of the environment variable (or the Slack channel), and every error or response
-- text is redacted before it is written.
CREATE SEQUENCE IF NOT EXISTS alert_id_seq START 1;

CREATE TABLE IF NOT EXISTS alerts (
    alert_id          BIGINT    NOT NULL PRIMARY KEY DEFAULT nextval('alert_id_seq'),
    kind              VARCHAR   NOT NULL,  -- threshold_crossed | threshold_projected | dedicated_cheaper | invoice_discrepancy
                                           -- | price_change | source_stale | ingest_rejects | run_failure
    team              VARCHAR   NOT NULL,  -- a team, 'unallocated', or '*' for organisation-wide alerts
    period            VARCHAR   NOT NULL,  -- '2026-11' (month) or '2026-11-28' (day: an outage's start, a run's partition)
    subject           VARCHAR   NOT NULL,  -- the threshold ('1500.00 GBP'), GPU class, provider|invoice, price identity,
                                           -- source id, file hash or run id
    occurrence        INTEGER   NOT NULL DEFAULT 1,  -- 1, then +1 each time a resolved condition comes back
    state             VARCHAR   NOT NULL DEFAULT 'open',     -- open | acked | snoozed | resolved | escalated
    delivery          VARCHAR   NOT NULL DEFAULT 'pending',  -- pending | sent | failed | cancelled | suppressed
    details           JSON      NOT NULL,  -- the figures, money as decimal strings beside their currency
    first_raised_at   TIMESTAMP NOT NULL,  -- UTC: occurrence 1
    raised_at         TIMESTAMP NOT NULL,  -- UTC: this occurrence
    last_seen_at      TIMESTAMP NOT NULL,  -- UTC: last evaluation that found the condition true
    state_changed_at  TIMESTAMP NOT NULL,
    resolved_at       TIMESTAMP,
    escalated_to      BIGINT,              -- threshold_projected -> the threshold_crossed alert that replaced it
    acked_at          TIMESTAMP,
    acked_by          VARCHAR,
    snoozed_until     DATE,                -- Europe/London date from which it is delivered again, if still open
    reminder          BOOLEAN   NOT NULL DEFAULT false,  -- this delivery follows a snooze
    channel           VARCHAR,             -- webhook | bot | console (of the last attempt)
    destination       VARCHAR,             -- env var name or Slack channel: never the URL or the token
    attempts          INTEGER   NOT NULL DEFAULT 0,      -- HTTP attempts for this occurrence
    last_attempt_at   TIMESTAMP,
    next_attempt_at   TIMESTAMP,           -- not before (a long Retry-After); NULL = at the next send pass
    last_error        VARCHAR,             -- redacted
    sent_at           TIMESTAMP,
    response_status   INTEGER,
    response_body     VARCHAR,             -- first 200 characters, redacted
    UNIQUE (kind, team, period, subject)
);

-- Every delivery attempt, for the audit trail (one row per HTTP request or console print).
CREATE TABLE IF NOT EXISTS alert_attempts (
    alert_id      BIGINT    NOT NULL,
    occurrence    INTEGER   NOT NULL,
    attempted_at  TIMESTAMP NOT NULL,  -- UTC
    channel       VARCHAR   NOT NULL,  -- webhook | bot | console
    destination   VARCHAR,
    outcome       VARCHAR   NOT NULL,  -- sent | retry | failed
    status_code   INTEGER,
    retry_after   DOUBLE,              -- seconds Slack asked us to wait (429)
    error         VARCHAR              -- redacted
);
