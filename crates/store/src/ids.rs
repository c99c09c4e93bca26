//! Identifiers: each a newtype over its text form, so an agent id cannot be passed where a
//! subject is expected.

use std::fmt;

use rand::RngCore;
use serde::{Deserialize, Serialize};

macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value as it is written on the wire and in the database.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The text form.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

text_id! {
    /// An agent's identity, which is also its OAuth `client_id` (for clients of the built-in
    /// authorization server and for clients of an external issuer alike).
    ClientId
}

text_id! {
    /// The user (or service) on whose behalf a client acts: the token's `sub`.
    Subject
}

text_id! {
    /// A refresh-token family: the chain of tokens born from one grant.
    FamilyId
}

text_id! {
    /// One recorded consent grant.
    ConsentId
}

text_id! {
    /// One call held for a human's approval.
    ApprovalId
}

text_id! {
    /// One standing consent to a tool.
    ToolConsentId
}

text_id! {
    /// A signing key's `kid`, as published in the JWKS.
    KeyId
}

/// Ids moat makes up: 128 random bits, hex.
macro_rules! generated_id {
    ($($name:ident),*) => {$(
        impl $name {
            /// A fresh random id (128 bits, hex).
            pub fn generate() -> Self {
                Self(random_hex())
            }
        }
    )*};
}

generated_id!(FamilyId, ConsentId, ApprovalId, ToolConsentId);

fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    crate::secret::hex(&bytes)
}
