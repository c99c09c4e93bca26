//! moat's configuration.
//!
//! One YAML file is read into [`raw::RawConfig`] (serde, unknown fields refused), then turned into an
//! immutable [`Config`] by [`Config::from_raw`]; nothing downstream re-checks what was validated here.
//! Every error names the file, the line when it can be found, and the field.

mod auth;
mod error;
mod guard;
pub mod launcher;
mod limits;
mod locate;
mod outbound;
mod policy;
pub mod raw;
mod scopes;
mod secret;
mod snapshot;
mod upstream;

pub use auth::{
    AuthConfig, AuthServerConfig, Introspection, JwksSource, Registration, TokenAlgorithm,
};
pub use error::ConfigError;
pub use guard::{EgressConfig, GuardConfig, GuardOverride, GuardScope, Guardrail, SchemaMode};
pub use limits::{KeyPart, LimitsConfig, RateRule};
pub use policy::{
    ApprovalRule, ApprovalSettings, Date, Label, PolicyConfig, RoleConfig, ServerPolicy, ToolPolicy,
};
pub use scopes::{ScopeDef, ScopeDictionary, is_broad};
pub use secret::{SecretError, SecretRef, Value};
pub use snapshot::{Config, HostPolicy, PrefixMode, TlsConfig};
pub use upstream::{Transport, UpstreamConfig, UpstreamName, UpstreamOAuth};

/// The bundled default configuration: `moat serve` with no arguments runs this.
pub const BUNDLED_DEFAULT: &str = include_str!("../../../config/moat.yaml");

/// The name under which the bundled default reports errors.
pub const BUNDLED_NAME: &str = "<bundled config/moat.yaml>";
