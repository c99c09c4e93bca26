-- Human approval of held tool calls (issue 5): one row per call that needed a human, whether it
-- waited in the queue or was asked through elicitation, with a hash of its exact arguments;
-- and standing consents ("agent A may call tool T for user U until …").
-- subject is '' when the agent acts for no user. Agents need not be registered (authentication
-- may be off), so agent is not a reference to agents.
CREATE TABLE approvals (
    id               TEXT PRIMARY KEY,
    agent            TEXT NOT NULL,
    subject          TEXT NOT NULL,
    server           TEXT NOT NULL,
    tool             TEXT NOT NULL,
    arguments        TEXT NOT NULL,
    arguments_sha256 TEXT NOT NULL,
    rules            TEXT NOT NULL,
    reason           TEXT NOT NULL,
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL,
    requested_at     TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    decided_at       TIMESTAMPTZ,
    decided_by       TEXT,
    note             TEXT
);
CREATE INDEX approvals_status ON approvals (status, requested_at);

CREATE TABLE tool_consents (
    id         TEXT PRIMARY KEY,
    agent      TEXT NOT NULL,
    subject    TEXT NOT NULL,
    server     TEXT NOT NULL,
    tool       TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX tool_consents_lookup ON tool_consents (agent, server, tool);
