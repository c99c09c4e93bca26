-- Access tokens revoked before they expire (RFC 7009 endpoint, `moat token revoke`), by jti.
-- seq is the change cursor: running gateways ask for rows after the last seq they saw.
CREATE TABLE revoked_access_tokens (
    seq        BIGSERIAL PRIMARY KEY,
    jti        TEXT NOT NULL UNIQUE,
    client_id  TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens (expires_at);
