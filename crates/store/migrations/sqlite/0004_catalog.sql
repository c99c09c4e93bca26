-- The catalog (issue 7): every upstream server moat fronts, and every tool, prompt and resource
-- template they showed, pinned by the SHA-256 of its canonical definition (RFC 8785). Only an
-- approved definition is shown to agents; one that changes after approval is quarantined until
-- an operator approves it again. approved_* keep the last approved definition, for diffs.
-- catalog_history is append-only: every registration, sighting of a new or changed definition,
-- decision and removal, numbered; the gateway polls its highest seq to pick up decisions made
-- by other processes (moat catalog approve).
CREATE TABLE catalog_servers (
    name          TEXT PRIMARY KEY,
    transport     TEXT NOT NULL,
    address       TEXT NOT NULL,
    owner         TEXT,
    description   TEXT,
    label         TEXT,
    status        TEXT NOT NULL,
    launch_sha256 TEXT,
    decided_by    TEXT,
    decided_at    TEXT,
    reason        TEXT,
    first_seen    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE catalog_entries (
    server              TEXT NOT NULL REFERENCES catalog_servers (name),
    kind                TEXT NOT NULL,
    name                TEXT NOT NULL,
    status              TEXT NOT NULL,
    sha256              TEXT NOT NULL,
    definition          TEXT NOT NULL,
    approved_sha256     TEXT,
    approved_definition TEXT,
    first_seen          TEXT NOT NULL,
    last_seen           TEXT NOT NULL,
    removed_at          TEXT,
    decided_by          TEXT,
    decided_at          TEXT,
    reason              TEXT,
    PRIMARY KEY (server, kind, name)
);
CREATE INDEX catalog_entries_status ON catalog_entries (status);

CREATE TABLE catalog_history (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    server     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    event      TEXT NOT NULL,
    status     TEXT NOT NULL,
    sha256     TEXT,
    definition TEXT,
    actor      TEXT NOT NULL,
    reason     TEXT
);
CREATE INDEX catalog_history_entry ON catalog_history (server, kind, name, seq);
