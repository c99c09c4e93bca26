//! Which guard actions apply to which tool: the global ones, or an override for a `server/name`
//! pattern (`guard.tools`) or for the policy's sensitivity label of the server or tool
//! (`guard.labels`). Each override has its own redactor, built at start over the one shared
//! detector.

use moat_config::{Config, GuardConfig, GuardScope, Label};
use moat_guard::Redactor;
use moat_guard::injection::Action as InjectionAction;

/// The redactor and injection action for some content.
pub(crate) struct Profile {
    pub(crate) redactor: Redactor,
    /// `None`: injection scoring is off.
    pub(crate) injection: Option<InjectionAction>,
}

pub(crate) struct GuardProfiles {
    base: Profile,
    overrides: Vec<(GuardScope, Profile)>,
}

impl GuardProfiles {
    pub(crate) fn new(cfg: &GuardConfig, base: Redactor, key: Option<&[u8]>) -> Self {
        let global_injection = cfg.injection.as_ref().map(|(action, _)| *action);
        let overrides = cfg
            .overrides
            .iter()
            .map(|(scope, o)| {
                let mut actions = cfg.all_actions();
                actions.extend(o.actions.iter().map(|(c, a)| (*c, *a)));
                let profile = Profile {
                    redactor: base.with_actions(actions, key),
                    injection: o.injection.unwrap_or(global_injection),
                };
                (scope.clone(), profile)
            })
            .collect();
        Self {
            base: Profile {
                redactor: base,
                injection: global_injection,
            },
            overrides,
        }
    }

    /// The profile for `name` of `server` (its own name; empty for what is no tool's).
    pub(crate) fn for_target(&self, config: &Config, server: &str, name: &str) -> &Profile {
        if self.overrides.is_empty() {
            return &self.base;
        }
        let label = label_of(config, server, name);
        self.overrides
            .iter()
            .find(|(scope, _)| match scope {
                GuardScope::Tool(pattern) => moat_policy::matches_tool(pattern, server, name),
                GuardScope::Label(l) => label == Some(*l),
            })
            .map_or(&self.base, |(_, p)| p)
    }

    /// The global profile, for content no target is known for.
    pub(crate) fn base(&self) -> &Profile {
        &self.base
    }
}

/// The policy's label for a tool (its own, else its server's); none without a policy.
fn label_of(config: &Config, server: &str, name: &str) -> Option<Label> {
    let server = config.policy.as_ref()?.servers.get(server)?;
    Some(
        server
            .tools
            .get(name)
            .and_then(|t| t.label)
            .unwrap_or(server.label),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "upstreams:\n  crm: {builtin: fixture}\n  docs: {builtin: fixture}\npolicy:\n  servers:\n    crm: {label: confidential}\nguard:\n  pii:\n    actions: {email: log}\n  tools:\n    \"docs/secret_*\": {injection: block}\n  labels:\n    confidential: {pii: {email: block}}\n";

    fn blocks_email(profile: &Profile) -> bool {
        let mut value = serde_json::json!("write to a@example.com");
        let mut outcome = moat_guard::Outcome::default();
        profile.redactor.redact_json(&mut value, &mut outcome);
        outcome.blocked
    }

    #[test]
    fn tools_then_labels_then_the_global_actions_apply() {
        let config = Config::from_yaml(YAML, "m.yaml").unwrap();
        let base = Redactor::new(
            config.guard.detector().unwrap(),
            config.guard.all_actions(),
            None,
        );
        let profiles = GuardProfiles::new(&config.guard, base, None);
        let secret = profiles.for_target(&config, "docs", "secret_plans");
        assert_eq!(secret.injection, Some(InjectionAction::Block));
        assert!(
            !blocks_email(secret),
            "a tool override keeps the other global actions"
        );
        let crm = profiles.for_target(&config, "crm", "lookup");
        assert!(blocks_email(crm), "the server's label");
        assert_eq!(crm.injection, Some(InjectionAction::Annotate));
        let plain = profiles.for_target(&config, "docs", "readme");
        assert!(!blocks_email(plain));
        assert_eq!(plain.injection, Some(InjectionAction::Annotate));
        assert!(!blocks_email(profiles.base()));
    }
}
