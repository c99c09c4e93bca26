//! Identity: turning an OAuth 2.1 bearer token into a [`Principal`], or a precise reason not to.
//!
//! Everything here is pure: keys come in as a parsed [`KeySet`], the time as a number. Fetching
//! keys (JWKS over HTTPS) happens at the edge, in the gateway.

mod introspection;
mod keys;
mod principal;
mod token;
mod verified;

pub use introspection::principal_from_introspection;
pub use jsonwebtoken::Algorithm;
pub use keys::{KeyError, KeySet};
pub use principal::Principal;
pub use token::{TokenError, TokenPolicy, validate};
pub use verified::VerifiedTokens;
