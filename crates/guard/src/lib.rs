//! Content inspection: what moat looks for inside the traffic it carries.
//!
//! [`Detector`] finds personal data and secrets in text — e-mail addresses, phone numbers,
//! payment cards (Luhn), IBANs (mod 97), US social security numbers, IP addresses, cloud and
//! SaaS credentials, private keys, JWTs, values behind secret-looking key names, and patterns
//! from config — in one linear pass of one multi-pattern automaton over the text; only a match
//! whose secret is part of it (`password=<value>`) is searched again, alone. [`Redactor`] applies an [`Action`] per class (mask, keep the last
//! four, a keyed pseudonym, block, or log only) to a string or to every string of a JSON value.
//! Findings report the class and place, never the value. [`InjectionScanner`] scores text for
//! prompt injection (override phrasing, fake role markers, invisible characters, exfiltration
//! links, encoded payloads) in one linear pass; see [`injection`].
//!
//! On the way in, [`ArgumentLimits`] bound a call's arguments, [`ArgumentSchema`] holds them to
//! the tool's `inputSchema`, and [`egress`] decides which URLs in them the tool may be let to
//! reach: schemes, a per-tool domain allowlist, and no address outside the public internet
//! (SSRF), checked before and after the caller resolves the name. On the way out,
//! [`ResultShape`] cuts a tool result down to the fields and size a task needs.

mod detect;
pub mod egress;
pub mod injection;
mod limits;
mod minimise;
mod redact;
mod schema;

pub use detect::{Class, Detector, DetectorError, Finding};
pub use injection::InjectionScanner;
pub use limits::{ArgumentLimits, LimitViolation};
pub use minimise::{FieldPath, Overflow, ResultShape, Shaped};
pub use redact::{Action, Outcome, Redactor};
pub use schema::{ArgumentSchema, SchemaError, Violation};
