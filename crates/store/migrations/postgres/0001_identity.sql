-- Identity (issue 4): agents, OAuth clients, refresh-token families, consents, signing keys.
-- Same tables and columns as migrations/sqlite/0001_identity.sql; times are timestamptz
-- written by moat; scopes and grant types are space-separated, sorted; redirect URIs a JSON
-- array (text, so both backends decode the same Rust types).

-- Every non-human identity moat knows; id = the OAuth client_id.
CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    owner          TEXT,
    allowed_scopes TEXT NOT NULL,
    status         TEXT NOT NULL
                   CHECK (status IN ('active', 'suspended', 'pending', 'unregistered')),
    created_at     TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ,
    tokens_issued  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX agents_status ON agents (status);

-- How an agent authenticates to the built-in authorization server.
CREATE TABLE oauth_clients (
    client_id     TEXT PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    redirect_uris TEXT NOT NULL,
    grant_types   TEXT NOT NULL,
    secret_hash   TEXT,           -- argon2id PHC string; NULL for a public client
    created_at    TIMESTAMPTZ NOT NULL
);

-- One family per grant; revoking it kills every token in it.
CREATE TABLE refresh_token_families (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    subject       TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    revoke_reason TEXT
                  CHECK (revoke_reason IN ('reuse', 'requested', 'client_revoked', 'agent_suspended'))
);
CREATE INDEX refresh_token_families_client ON refresh_token_families (client_id);

-- Tokens by SHA-256 (hex); the token itself is never stored.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
    issued_at  TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- "User subject lets client act with scopes", one row per grant.
CREATE TABLE consents (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    client_id  TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);
CREATE INDEX consents_subject ON consents (subject, client_id);
CREATE INDEX consents_client ON consents (client_id);

-- Private keys are PKCS#8 DER, not yet encrypted at rest.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL CHECK (algorithm IN ('EdDSA', 'ES256')),
    private_key BYTEA NOT NULL,
    public_jwk  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    retired_at  TIMESTAMPTZ,
    expires_at  TIMESTAMPTZ
);
-- At most one active key.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((retired_at IS NULL))
    WHERE retired_at IS NULL;
