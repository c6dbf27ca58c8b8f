-- 013: alert delivery per channel.  The console and each Slack destination (a webhook variable, a bot
-- channel) are separate channels: an alert occurrence owes each channel it is routed to one message
-- ('alert', or 'reminder:YYYY-MM-DD' after a snooze) and, once it resolves, one 'resolved' message to
-- every channel that got it.  Written only by warehouse/alerts/outbox.py.  Attempts are recorded before
-- they are sent (state 'sending', an alert_attempts row with outcome 'sending') and their outcome after.
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id         BIGINT    NOT NULL,
    occurrence       INTEGER   NOT NULL,
    message          VARCHAR   NOT NULL,  -- alert | reminder:YYYY-MM-DD | resolved
    channel          VARCHAR   NOT NULL,  -- console | webhook | bot
    destination      VARCHAR   NOT NULL,  -- env var name, Slack channel or 'console': never a URL or a token
    state            VARCHAR   NOT NULL DEFAULT 'pending',  -- pending | sending | sent | failed | cancelled
    unknown          BOOLEAN   NOT NULL DEFAULT false,      -- the last attempt got no answer: Slack may have posted it
    sending_since    TIMESTAMP,           -- UTC: the attempt in flight (or the first whose outcome is unknown)
    attempts         INTEGER   NOT NULL DEFAULT 0,
    last_attempt_at  TIMESTAMP,
    next_attempt_at  TIMESTAMP,           -- not before (Retry-After); NULL = at the next send pass
    last_error       VARCHAR,             -- redacted
    sent_at          TIMESTAMP,
    response_status  INTEGER,
    response_body    VARCHAR,             -- redacted whole, then cut to 200 characters
    slack_channel    VARCHAR,             -- bot: the channel id Slack answered with
    slack_ts         VARCHAR,             -- bot: the message's ts (a resolution replies in its thread)
    PRIMARY KEY (alert_id, occurrence, message, channel, destination)
);

-- Which message an attempt carried (NULL before 013: the alert itself).
ALTER TABLE alert_attempts ADD COLUMN IF NOT EXISTS message VARCHAR;

-- What was delivered before 013, so nothing is sent twice after the upgrade ...
INSERT INTO alert_deliveries (alert_id, occurrence, message, channel, destination, state, attempts, last_attempt_at,
                              last_error, sent_at, response_status, response_body)
SELECT alert_id, occurrence,
       CASE WHEN reminder AND snoozed_until IS NOT NULL THEN 'reminder:' || strftime(snoozed_until, '%Y-%m-%d') ELSE 'alert' END,
       channel, coalesce(destination, channel), delivery, attempts, last_attempt_at, last_error, sent_at, response_status,
       response_body
FROM alerts
WHERE delivery IN ('sent', 'failed') AND channel IS NOT NULL
ON CONFLICT DO NOTHING;

-- ... and no "resolved" message for what had resolved before 013.
INSERT INTO alert_deliveries (alert_id, occurrence, message, channel, destination, state)
SELECT alert_id, occurrence, 'resolved', channel, coalesce(destination, channel), 'cancelled'
FROM alerts
WHERE state IN ('resolved', 'escalated') AND delivery = 'sent' AND channel IS NOT NULL
ON CONFLICT DO NOTHING;
