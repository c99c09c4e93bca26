//! The approval layer: which allowed calls a human must still approve.
//!
//! A server's annotations decide only where they can be believed. A trusted server's are taken
//! as the spec reads them (a tool is destructive unless it says it is read-only or not
//! destructive). Any other server is believed only when it says `destructiveHint: true`: a claim
//! against its own interest, which cannot lower the bar.

use moat_config::{ApprovalRule, ServerPolicy};

use crate::request::{Hints, Kind, Target};

/// The rule that holds a call for approval, with why; `None` when the config needs none.
pub(crate) fn required(server: &ServerPolicy, target: &Target<'_>) -> Option<(String, String)> {
    if target.kind != Kind::Tool {
        return None;
    }
    let (srv, tool) = (target.server, target.name);
    match server.tools.get(tool).and_then(|t| t.require_approval) {
        Some(true) => {
            return Some((
                format!("approval:{srv}/{tool}"),
                format!("the policy requires approval to call {srv}/{tool}"),
            ));
        }
        Some(false) => return None,
        None => {}
    }
    match server.require_approval {
        ApprovalRule::Never => None,
        ApprovalRule::Always => Some((
            format!("approval:{srv}:always"),
            format!("every call to {srv} needs approval"),
        )),
        ApprovalRule::Destructive if destructive(server.trusted, target.hints) => Some((
            format!("approval:{srv}:destructive"),
            format!("{srv}/{tool} is destructive"),
        )),
        ApprovalRule::Destructive => None,
    }
}

fn destructive(trusted: bool, hints: Hints) -> bool {
    if trusted {
        hints.read_only != Some(true) && hints.destructive != Some(false)
    } else {
        hints.destructive == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use moat_config::{Label, ToolPolicy};

    use super::*;

    fn server(rule: ApprovalRule, trusted: bool) -> ServerPolicy {
        ServerPolicy {
            label: Label::Internal,
            trusted,
            dry_run: false,
            read_scopes: vec![],
            write_scopes: vec![],
            require_approval: rule,
            tools: IndexMap::new(),
        }
    }

    fn tool(name: &str, read_only: Option<bool>, destructive: Option<bool>) -> Target<'_> {
        Target {
            server: "s",
            kind: Kind::Tool,
            name,
            hints: Hints {
                read_only,
                destructive,
            },
        }
    }

    fn rule(server: &ServerPolicy, target: &Target<'_>) -> Option<String> {
        required(server, target).map(|(id, _)| id)
    }

    #[test]
    fn a_trusted_server_is_read_as_the_spec_says() {
        let s = server(ApprovalRule::Destructive, true);
        let held = Some("approval:s:destructive".to_owned());
        assert_eq!(rule(&s, &tool("t", None, None)), held);
        assert_eq!(rule(&s, &tool("t", Some(false), Some(true))), held);
        assert_eq!(rule(&s, &tool("t", Some(true), None)), None);
        assert_eq!(rule(&s, &tool("t", Some(false), Some(false))), None);
    }

    #[test]
    fn an_untrusted_server_is_believed_only_when_it_raises_the_bar() {
        let s = server(ApprovalRule::Destructive, false);
        assert_eq!(rule(&s, &tool("t", None, None)), None);
        assert_eq!(rule(&s, &tool("t", Some(true), Some(false))), None);
        // Saying read-only does not undo saying destructive.
        assert_eq!(
            rule(&s, &tool("t", Some(true), Some(true))),
            Some("approval:s:destructive".to_owned())
        );
    }

    #[test]
    fn tools_override_the_server_and_only_tools_are_held() {
        let mut s = server(ApprovalRule::Always, true);
        assert_eq!(
            rule(&s, &tool("x", Some(true), None)),
            Some("approval:s:always".to_owned())
        );
        let override_with = |v| ToolPolicy {
            scopes: None,
            label: None,
            require_approval: Some(v),
        };
        s.tools.insert("x".into(), override_with(false));
        s.tools.insert("y".into(), override_with(true));
        assert_eq!(rule(&s, &tool("x", None, None)), None);
        s.require_approval = ApprovalRule::Never;
        assert_eq!(
            rule(&s, &tool("y", Some(true), Some(false))),
            Some("approval:s/y".to_owned())
        );
        let prompt = Target {
            kind: Kind::Prompt,
            ..tool("y", None, None)
        };
        assert_eq!(rule(&s, &prompt), None);
    }
}
