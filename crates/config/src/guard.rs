//! The `guard:` section: what content inspection does with each class of finding. Patterns are
//! compiled here, so a broken one is reported with its file and line.

use std::collections::BTreeMap;

use moat_guard::egress::{EgressRules, EgressSettings};
use moat_guard::injection::{Action as InjectionAction, Settings as InjectionSettings};
use moat_guard::{Action, Class, Detector, FieldPath, InjectionScanner, Overflow, ResultShape};

use crate::error::ConfigError;
use crate::raw::{
    RawEgress, RawGuard, RawGuardOverride, RawGuardrail, RawInjection, RawResultShape,
};
use crate::secret::SecretRef;

/// Validated content-inspection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardConfig {
    /// Actions that differ from moat's defaults, by built-in class.
    pub actions: BTreeMap<Class, Action>,
    /// Custom patterns: name, regular expression, action.
    pub custom: Vec<(String, String, Action)>,
    /// Key of the `pseudonym` action.
    pub pseudonym_key: Option<SecretRef>,
    /// What a call whose arguments break its tool's `inputSchema` gets.
    pub schema: SchemaMode,
    /// `server/tool` patterns of tools whose calls may carry only declared properties.
    pub strict: Vec<String>,
    /// Where URLs in tool arguments may lead.
    pub egress: EgressConfig,
    /// Prompt-injection scoring: the action (`None`: off) and the scanner's settings.
    pub injection: Option<(InjectionAction, InjectionSettings)>,
    /// `server/tool` patterns with how their results are cut down; first match wins.
    pub results: Vec<(String, ResultShape)>,
    /// External guardrail services, in order.
    pub guardrails: Vec<Guardrail>,
    /// Actions that differ for some tools (first) or sensitivity labels; the first that
    /// applies wins.
    pub overrides: Vec<(GuardScope, GuardOverride)>,
}

/// What a [`GuardOverride`] applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardScope {
    /// A `server/name` pattern (tools, prompts and resources by the server's own name).
    Tool(String),
    /// Servers or tools the policy labels so.
    Label(crate::Label),
}

/// Guard actions over the global ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GuardOverride {
    /// PII/secret actions by built-in class, over the global ones.
    pub actions: BTreeMap<Class, Action>,
    /// The injection action instead of the global one (`Some(None)`: off).
    pub injection: Option<Option<InjectionAction>>,
}

/// An external guardrail service (`guard.guardrails.<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardrail {
    pub name: String,
    pub url: String,
    /// `server/tool` patterns it judges; empty: every tool.
    pub tools: Vec<String>,
    pub results: bool,
    pub arguments: bool,
    pub timeout: std::time::Duration,
    /// Whether content passes when the service cannot answer.
    pub fail_open: bool,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            actions: BTreeMap::new(),
            custom: Vec::new(),
            pseudonym_key: None,
            schema: SchemaMode::default(),
            strict: Vec::new(),
            egress: EgressConfig::default(),
            injection: Some((InjectionAction::Annotate, InjectionSettings::default())),
            results: Vec::new(),
            guardrails: Vec::new(),
            overrides: Vec::new(),
        }
    }
}

/// Egress control over URLs in tool arguments (`guard.egress`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EgressConfig {
    /// Whether calls are checked (`check: enforce`, the default) or not (`off`).
    pub enforce: bool,
    /// Schemes and reachable private networks, for every tool.
    pub base: EgressSettings,
    /// `server/tool` patterns with the only hosts their URLs may name, first match wins.
    pub domains: Vec<(String, Vec<String>)>,
}

impl Default for EgressConfig {
    fn default() -> Self {
        Self {
            enforce: true,
            base: EgressSettings::default(),
            domains: Vec::new(),
        }
    }
}

impl EgressConfig {
    fn from_raw(raw: RawEgress) -> Result<Self, ConfigError> {
        let enforce = match raw.check.as_deref() {
            None | Some("enforce") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError::new(
                    "guard.egress.check",
                    format!("{other:?} is not one of enforce, off"),
                ));
            }
        };
        let mut base = EgressSettings::default();
        if let Some(schemes) = raw.schemes {
            base.schemes = schemes;
        }
        base.allowed_networks = raw.allowed_networks.unwrap_or_default();
        EgressRules::new(&base).map_err(|e| ConfigError::new("guard.egress", e.to_string()))?;
        let mut domains = Vec::new();
        for (tool, hosts) in raw.domains {
            let field = format!("guard.egress.domains.{tool}");
            if !tool.contains('/') {
                return Err(ConfigError::new(field, "is not a server/tool pattern"));
            }
            let settings = EgressSettings {
                domains: hosts.clone(),
                ..base.clone()
            };
            EgressRules::new(&settings).map_err(|e| ConfigError::new(&field, e.to_string()))?;
            domains.push((tool, hosts));
        }
        Ok(Self {
            enforce,
            base,
            domains,
        })
    }
}

/// How tool arguments are held to the tool's `inputSchema`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemaMode {
    /// A call that breaks the schema is answered with a tool error listing the violations.
    #[default]
    Enforce,
    /// Violations are reported as events; the call goes on.
    Log,
    Off,
}

impl SchemaMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Enforce => "enforce",
            Self::Log => "log",
            Self::Off => "off",
        }
    }
}

impl GuardConfig {
    pub(crate) fn from_raw(raw: RawGuard) -> Result<Self, ConfigError> {
        let pii = raw.pii.unwrap_or_default();
        let mut out = Self {
            schema: match raw.schema.as_deref() {
                None | Some("enforce") => SchemaMode::Enforce,
                Some("log") => SchemaMode::Log,
                Some("off") => SchemaMode::Off,
                Some(other) => {
                    return Err(ConfigError::new(
                        "guard.schema",
                        format!("{other:?} is not one of enforce, log, off"),
                    ));
                }
            },
            strict: raw.strict.unwrap_or_default(),
            egress: EgressConfig::from_raw(raw.egress.unwrap_or_default())?,
            injection: injection(raw.injection.unwrap_or_default())?,
            results: raw
                .results
                .into_iter()
                .map(|(tool, shape)| result_shape(tool, shape))
                .collect::<Result<_, _>>()?,
            guardrails: raw
                .guardrails
                .into_iter()
                .map(|(name, g)| guardrail(name, g))
                .collect::<Result<_, _>>()?,
            ..Self::default()
        };
        for (tool, o) in raw.tools {
            let field = format!("guard.tools.{tool}");
            server_tool(&tool, &field)?;
            out.overrides
                .push((GuardScope::Tool(tool), guard_override(o, &field)?));
        }
        for (label, o) in raw.labels {
            let field = format!("guard.labels.{label}");
            let scope = GuardScope::Label(crate::Label::parse(&label, &field)?);
            out.overrides.push((scope, guard_override(o, &field)?));
        }
        if let Some(bad) = out.strict.iter().find(|t| !t.contains('/')) {
            return Err(ConfigError::new(
                "guard.strict",
                format!("{bad:?} is not a server/tool pattern"),
            ));
        }
        for (name, action) in pii.actions {
            let field = format!("guard.pii.actions.{name}");
            let class = Class::from_name(&name).ok_or_else(|| {
                let known: Vec<&str> = Class::BUILT_IN.iter().map(|c| c.name()).collect();
                ConfigError::new(
                    &field,
                    format!("no such class; one of {}", known.join(", ")),
                )
            })?;
            out.actions.insert(class, parse_action(&action, &field)?);
        }
        for (name, p) in pii.custom {
            let field = format!("guard.pii.custom.{name}");
            if Class::from_name(&name).is_some() {
                return Err(ConfigError::new(field, "is the name of a built-in class"));
            }
            let action = match p.action {
                Some(a) => parse_action(&a, &format!("{field}.action"))?,
                None => Action::Mask,
            };
            out.custom.push((name, p.pattern, action));
        }
        if let Err(e) = out.detector() {
            return Err(ConfigError::new(
                format!("guard.pii.custom.{}.pattern", e.name),
                e.reason,
            ));
        }
        out.pseudonym_key = match pii.pseudonym_key {
            None => None,
            Some(k) => Some(SecretRef::parse(&k).ok_or_else(|| {
                ConfigError::new("guard.pii.pseudonym_key", "must be env:NAME or file:/path")
            })?),
        };
        let overridden = out.overrides.iter().flat_map(|(_, o)| o.actions.values());
        let pseudonyms = out
            .actions
            .values()
            .chain(out.custom.iter().map(|c| &c.2))
            .chain(overridden);
        if out.pseudonym_key.is_none() && pseudonyms.into_iter().any(|a| *a == Action::Pseudonym) {
            return Err(ConfigError::new(
                "guard.pii.pseudonym_key",
                "the pseudonym action needs a key (env:NAME or file:/path)",
            ));
        }
        Ok(out)
    }

    /// The detector these settings describe.
    pub fn detector(&self) -> Result<Detector, moat_guard::DetectorError> {
        let custom: Vec<(String, String)> = self
            .custom
            .iter()
            .map(|(n, p, _)| (n.clone(), p.clone()))
            .collect();
        Detector::new(&custom)
    }

    /// Every class with the action it gets (defaults filled in), custom classes last: what
    /// `moat check` shows.
    pub fn effective(&self) -> Vec<(String, Action)> {
        let built_in = Class::BUILT_IN.into_iter().map(|c| {
            let action = self
                .actions
                .get(&c)
                .copied()
                .unwrap_or(Action::default_for(c));
            (c.name().to_owned(), action)
        });
        let custom = self.custom.iter().map(|(name, _, a)| (name.clone(), *a));
        built_in.chain(custom).collect()
    }

    /// The action for every class that differs from the default, custom classes included.
    pub fn all_actions(&self) -> BTreeMap<Class, Action> {
        let mut all = self.actions.clone();
        for (i, (_, _, action)) in self.custom.iter().enumerate() {
            if let Ok(i) = u16::try_from(i) {
                all.insert(Class::Custom(i), *action);
            }
        }
        all
    }
}

fn guard_override(raw: RawGuardOverride, field: &str) -> Result<GuardOverride, ConfigError> {
    let mut out = GuardOverride::default();
    for (name, action) in raw.pii {
        let at = format!("{field}.pii.{name}");
        let class = Class::from_name(&name)
            .ok_or_else(|| ConfigError::new(&at, "no such built-in class"))?;
        out.actions.insert(class, parse_action(&action, &at)?);
    }
    out.injection = match raw.injection.as_deref() {
        None => None,
        Some("off") => Some(None),
        Some(word) => Some(Some(InjectionAction::parse(word).ok_or_else(|| {
            ConfigError::new(
                format!("{field}.injection"),
                format!("{word:?} is not one of annotate, strip, block, off"),
            )
        })?)),
    };
    Ok(out)
}

/// `guard.injection`, checked by building the scanner it describes.
fn injection(
    raw: RawInjection,
) -> Result<Option<(InjectionAction, InjectionSettings)>, ConfigError> {
    let action = match raw.action.as_deref() {
        None => InjectionAction::Annotate,
        Some("off") => return Ok(None),
        Some(word) => InjectionAction::parse(word).ok_or_else(|| {
            ConfigError::new(
                "guard.injection.action",
                format!("{word:?} is not one of annotate, strip, block, off"),
            )
        })?,
    };
    let mut settings = InjectionSettings::default();
    if let Some(t) = raw.threshold {
        settings.threshold = t;
    }
    settings.allowed_hosts = raw.allowed_hosts.unwrap_or_default();
    InjectionScanner::new(settings.clone())
        .map_err(|e| ConfigError::new("guard.injection", e.to_string()))?;
    Ok(Some((action, settings)))
}

fn server_tool(pattern: &str, field: &str) -> Result<(), ConfigError> {
    if pattern.contains('/') {
        Ok(())
    } else {
        Err(ConfigError::new(
            field,
            format!("{pattern:?} is not a server/tool pattern"),
        ))
    }
}

fn result_shape(tool: String, raw: RawResultShape) -> Result<(String, ResultShape), ConfigError> {
    let at = |f: &str| format!("guard.results.{tool}.{f}");
    server_tool(&tool, &format!("guard.results.{tool}"))?;
    let paths = |list: Option<Vec<String>>, field: &str| {
        list.unwrap_or_default()
            .iter()
            .map(|p| {
                FieldPath::parse(p).ok_or_else(|| {
                    ConfigError::new(at(field), format!("{p:?} is not a dotted field path"))
                })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let max_bytes = match raw.max_bytes {
        None => None,
        Some(n) if n < 256 => {
            return Err(ConfigError::new(at("max_bytes"), "must be at least 256"));
        }
        Some(n) => {
            Some(usize::try_from(n).map_err(|_| ConfigError::new(at("max_bytes"), "too large"))?)
        }
    };
    let over = match raw.over.as_deref() {
        None | Some("truncate") => Overflow::Truncate,
        Some("error") => Overflow::Error,
        Some(o) => {
            return Err(ConfigError::new(
                at("over"),
                format!("{o:?} is not one of truncate, error"),
            ));
        }
    };
    let shape = ResultShape {
        max_bytes,
        over,
        allow: paths(raw.allow, "allow")?,
        deny: paths(raw.deny, "deny")?,
    };
    Ok((tool, shape))
}

fn guardrail(name: String, raw: RawGuardrail) -> Result<Guardrail, ConfigError> {
    let at = |f: &str| format!("guard.guardrails.{name}.{f}");
    if !crate::outbound::https_or_loopback(&raw.url) {
        return Err(ConfigError::new(
            at("url"),
            crate::outbound::HTTPS_OR_LOOPBACK,
        ));
    }
    let tools = raw.tools.unwrap_or_default();
    for t in &tools {
        server_tool(t, &at("tools"))?;
    }
    let on = raw.on.unwrap_or_else(|| vec!["results".into()]);
    if let Some(bad) = on
        .iter()
        .find(|w| !matches!(w.as_str(), "results" | "arguments"))
    {
        return Err(ConfigError::new(
            at("on"),
            format!("{bad:?} is not one of results, arguments"),
        ));
    }
    let timeout = match raw.timeout {
        None => std::time::Duration::from_secs(2),
        Some(t) => crate::upstream::parse_duration(&t, &at("timeout"))?,
    };
    let fail_open = match raw.failure.as_deref() {
        None | Some("closed") => false,
        Some("open") => true,
        Some(f) => {
            return Err(ConfigError::new(
                at("failure"),
                format!("{f:?} is not one of closed, open"),
            ));
        }
    };
    Ok(Guardrail {
        url: raw.url,
        tools,
        results: on.iter().any(|w| w == "results"),
        arguments: on.iter().any(|w| w == "arguments"),
        timeout,
        fail_open,
        name,
    })
}

fn parse_action(word: &str, field: &str) -> Result<Action, ConfigError> {
    Action::parse(word).ok_or_else(|| {
        ConfigError::new(
            field,
            format!("{word:?} is not one of mask, partial, pseudonym, block, log, off"),
        )
    })
}
