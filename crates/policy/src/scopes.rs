//! The scope layer: which scopes a target needs.

use moat_config::ServerPolicy;

use crate::request::{Kind, Target};

/// The scopes using `target` needs, and the id of the rule that says so.
pub(crate) fn required<'p>(
    server: &'p ServerPolicy,
    target: &Target<'_>,
) -> (&'p [String], String) {
    if target.kind == Kind::Tool
        && let Some(scopes) = server
            .tools
            .get(target.name)
            .and_then(|t| t.scopes.as_deref())
    {
        return (scopes, format!("scopes:{}/{}", target.server, target.name));
    }
    let read_only = match target.kind {
        // An untrusted server's readOnlyHint is not believed: its tools need write scopes.
        Kind::Tool => server.trusted && target.hints.read_only == Some(true),
        Kind::Prompt | Kind::Resource => true,
    };
    if read_only {
        (
            &server.read_scopes,
            format!("scopes:{}:read", target.server),
        )
    } else {
        (
            &server.write_scopes,
            format!("scopes:{}:write", target.server),
        )
    }
}
