//! moat's state: agents, OAuth clients, consents, refresh-token families and signing keys, on
//! SQLite (the default, one file) or PostgreSQL (shared by a cluster).
//!
//! [`Store::open`] connects and applies the versioned migrations of `migrations/<backend>/`;
//! each concern then has a handle ([`Store::agents`], [`Store::clients`],
//! [`Store::refresh_tokens`], [`Store::consents`], [`Store::signing_keys`],
//! [`Store::revocations`], [`Store::approvals`], [`Store::tool_consents`]). Secrets never reach
//! the database in the clear: tokens are stored as SHA-256 ([`TokenHash`]), client secrets as
//! argon2id ([`SecretHash`]). See the crate's README for the schema and how to add a migration.

#![warn(missing_docs)]

mod backend;

mod agents;
mod approvals;
mod catalog;
mod clients;
pub mod clock;
mod consents;
mod error;
mod ids;
mod keys;
mod refresh;
mod revocations;
mod scopes;
mod secret;
mod store;
mod tool_consents;

pub use agents::{Admission, Agent, AgentStatus, Agents, NewAgent};
pub use approvals::{Approval, ApprovalChannel, ApprovalStatus, Approvals, NewApproval, Verdict};
pub use catalog::{
    Catalog, CatalogEntry, CatalogEvent, CatalogServer, EntryDecision, ServerRecord, Sighting,
};
pub use clients::{Clients, GrantType, NewOAuthClient, OAuthClient};
pub use consents::{Consent, Consents, NewConsent};
pub use error::StoreError;
pub use ids::{ApprovalId, ClientId, ConsentId, FamilyId, KeyId, Subject, ToolConsentId};
pub use keys::{NewSigningKey, PrivateKeyDer, SigningAlgorithm, SigningKey, SigningKeys};
pub use refresh::{
    NewRefreshToken, NextRefreshToken, RefreshToken, RefreshTokenFamily, RefreshTokens,
    RevokeReason,
};
pub use revocations::{Revocations, RevokedToken};
pub use scopes::Scopes;
pub use secret::{OpaqueToken, SecretHash, TokenHash};
pub use store::{BackendKind, Store};
pub use tool_consents::{NewToolConsent, ToolConsent, ToolConsents};

/// Re-exported so callers name the same time types as the store.
pub use chrono;

#[cfg(test)]
mod tests;
