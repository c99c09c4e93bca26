//! The authenticated caller.

/// Who a request comes from, as an accepted access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's issuer (`iss`).
    pub issuer: String,
    /// The subject (`sub`): the user, or the agent itself for client-credentials tokens.
    pub subject: String,
    /// The OAuth client (agent) the token was issued to (`client_id`, else `azp`).
    pub client_id: Option<String>,
    /// Granted scopes (`scope`, space-separated, or `scp`).
    pub scopes: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub expires_at: u64,
    /// The token's id (`jti`), when it has one.
    pub token_id: Option<String>,
    /// Groups the user belongs to (the `groups` claim), for role bindings and policies.
    pub groups: Vec<String>,
}

impl Principal {
    /// Whether every scope in `needed` was granted.
    pub fn has_scopes<'a>(&self, needed: impl IntoIterator<Item = &'a str>) -> bool {
        needed
            .into_iter()
            .all(|n| self.scopes.iter().any(|s| s == n))
    }

    /// The agent (OAuth client) making the call: the client id, else the subject.
    pub fn agent(&self) -> &str {
        self.client_id.as_deref().unwrap_or(&self.subject)
    }

    /// The user the agent acts for: the subject, unless the token is the agent's own
    /// (client credentials, where the subject is the client).
    pub fn user(&self) -> Option<&str> {
        match &self.client_id {
            Some(c) if *c != self.subject => Some(&self.subject),
            _ => None,
        }
    }

    /// Whether `other` is the same caller (issuer, subject and client): a session opened by one
    /// caller may not be used by another.
    pub fn same_caller(&self, other: &Self) -> bool {
        self.issuer == other.issuer
            && self.subject == other.subject
            && self.client_id == other.client_id
    }
}
