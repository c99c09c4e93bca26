//! The rules of moat's built-in OAuth 2.1 authorization server, without I/O.
//!
//! - [`pkce`]: PKCE with S256 only (RFC 7636, OAuth 2.1 §4.1.1);
//! - [`authorize`]: an authorization request checked against its client (exact redirect URI,
//!   resource binding, scopes), deciding whether an error may be sent back to the client;
//! - [`token_request`]: the token endpoint's grants and client authentication;
//! - [`keys`]: Ed25519 / P-256 signing keys, their JWKs and RFC 7638 thumbprints;
//! - [`mint`]: access tokens as RFC 9068 JWTs;
//! - [`metadata`]: the RFC 8414 document;
//! - [`error`]: RFC 6749 error responses.
//!
//! The HTTP endpoints, the store and the consent page live in `moat-gateway`; this crate decides.

pub mod authorize;
pub mod error;
pub mod keys;
pub mod metadata;
pub mod mint;
pub mod params;
pub mod pkce;
pub mod token_request;

pub use error::{ErrorCode, OAuthError};
