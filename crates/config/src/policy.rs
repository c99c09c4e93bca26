//! The `policy:` section validated: labels, trust, scopes per tool, roles and Cedar files. What
//! the rules decide is `moat-policy`'s job; here only their shape is checked.

use indexmap::IndexMap;

use crate::error::ConfigError;
use std::time::Duration;

use crate::raw::{RawApproval, RawPolicy, RawRole, RawServerPolicy};
use crate::scopes::ScopeDictionary;
use crate::upstream::{UpstreamConfig, parse_duration};

/// How sensitive a server's or tool's data is, least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Label {
    /// Anyone may see it.
    Public,
    /// Inside the organisation (the default).
    Internal,
    /// A need to know.
    Confidential,
    /// The most sensitive data.
    Restricted,
}

impl Label {
    /// Its name in the config.
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Confidential => "confidential",
            Self::Restricted => "restricted",
        }
    }

    pub(crate) fn parse(s: &str, field: &str) -> Result<Self, ConfigError> {
        match s {
            "public" => Ok(Self::Public),
            "internal" => Ok(Self::Internal),
            "confidential" => Ok(Self::Confidential),
            "restricted" => Ok(Self::Restricted),
            _ => Err(ConfigError::new(
                field,
                format!("{s:?} is not one of public, internal, confidential, restricted"),
            )),
        }
    }

    /// The label as written in config and policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
            Self::Confidential => "confidential",
            Self::Restricted => "restricted",
        }
    }
}

/// A calendar date (`review_by`), kept as days since 1970-01-01 so that comparing is trivial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Days since the Unix epoch.
    pub days: i64,
}

impl Date {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.splitn(3, '-');
        let y: i64 = parts.next()?.parse().ok()?;
        let m: i64 = parts.next()?.parse().ok()?;
        let d: i64 = parts.next()?.parse().ok()?;
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_len = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        let len = *month_len.get(usize::try_from(m - 1).ok()?)?;
        if s.len() != 10 || !(1..=len).contains(&d) {
            return None;
        }
        // Days from civil (H. Hinnant's algorithm).
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Self {
            days: era * 146_097 + doe - 719_468,
        })
    }

    /// The day that contains `unix_secs`.
    pub fn from_unix(unix_secs: i64) -> Self {
        Self {
            days: unix_secs.div_euclid(86_400),
        }
    }
}

/// The validated `policy:` section.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// Nothing is refused; "would deny" is logged instead.
    pub dry_run: bool,
    /// Cedar policy files as written (relative to the config file).
    pub cedar_files: Vec<String>,
    /// Per server (every configured upstream has an entry, defaults filled in).
    pub servers: IndexMap<String, ServerPolicy>,
    /// Roles in config order.
    pub roles: Vec<RoleConfig>,
    /// How held calls are approved.
    pub approval: ApprovalSettings,
}

/// Which of a server's tool calls need a human's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalRule {
    /// Tools the server announces as destructive (believed from a trusted server; from any
    /// other only when it says `destructiveHint: true`, a claim that cannot lower the bar).
    Destructive,
    /// Every tool call.
    Always,
    /// None (Cedar `@require_approval` rules still apply).
    Never,
}

impl ApprovalRule {
    fn parse(s: &str, field: &str) -> Result<Self, ConfigError> {
        match s {
            "destructive" => Ok(Self::Destructive),
            "always" => Ok(Self::Always),
            "never" => Ok(Self::Never),
            _ => Err(ConfigError::new(
                field,
                format!("{s:?} is not one of destructive, always, never"),
            )),
        }
    }
}

/// How held calls wait for a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalSettings {
    /// A held call not decided within this is denied.
    pub timeout: Duration,
    /// The longest standing consent a user may give while approving one call.
    pub remember_max: Duration,
    /// Whether the user may be asked through the client; an agent that is its own client
    /// could answer for itself, so deployments that need a second person turn this off.
    pub ask_client: bool,
}

/// Longest wait for an approval: an HTTP request held longer outlives most clients and proxies.
const MAX_APPROVAL_TIMEOUT: Duration = Duration::from_secs(3600);
/// Longest standing consent given from an approval prompt: a week.
const MAX_REMEMBER: Duration = Duration::from_secs(7 * 24 * 3600);

impl ApprovalSettings {
    fn from_raw(raw: Option<RawApproval>) -> Result<Self, ConfigError> {
        let raw = raw.unwrap_or_default();
        let timeout = match raw.timeout {
            Some(t) => parse_duration(&t, "policy.approval.timeout")?,
            None => Duration::from_secs(300),
        };
        if timeout > MAX_APPROVAL_TIMEOUT {
            return Err(ConfigError::new(
                "policy.approval.timeout",
                "must be at most 1h",
            ));
        }
        let field = "policy.approval.remember_max";
        let remember_max = match raw.remember_max {
            // Zero is allowed here: it turns standing consent from approval prompts off.
            Some(t) => humantime::parse_duration(&t).map_err(|_| {
                ConfigError::new(field, format!("{t:?} is not a duration such as 8h or 0s"))
            })?,
            None => Duration::from_secs(8 * 3600),
        };
        if remember_max > MAX_REMEMBER {
            return Err(ConfigError::new(
                field,
                "must be at most 7d (0s: users cannot give standing consent)",
            ));
        }
        Ok(Self {
            timeout,
            remember_max,
            ask_client: raw.ask_client.unwrap_or(true),
        })
    }
}

/// Policy for one upstream server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerPolicy {
    /// Data sensitivity.
    pub label: Label,
    /// Whether its annotations are believed.
    pub trusted: bool,
    /// Decisions about it are logged, not enforced.
    pub dry_run: bool,
    /// Scopes for read-only tools, prompts and resources.
    pub read_scopes: Vec<String>,
    /// Scopes for every other tool.
    pub write_scopes: Vec<String>,
    /// Which tool calls need a human's approval.
    pub require_approval: ApprovalRule,
    /// Per tool, by the server's own name.
    pub tools: IndexMap<String, ToolPolicy>,
}

/// Policy for one tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolPolicy {
    /// Scopes instead of the server's defaults.
    pub scopes: Option<Vec<String>>,
    /// Label instead of the server's.
    pub label: Option<Label>,
    /// Whether a call needs approval, instead of the server's rule.
    pub require_approval: Option<bool>,
}

/// A named role.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleConfig {
    /// Its name (the rule id of its grants is `role:<name>`).
    pub name: String,
    /// What it is for.
    pub description: Option<String>,
    /// Who answers for it.
    pub owner: Option<String>,
    /// When it must be reviewed.
    pub review_by: Option<Date>,
    /// `server/tool` patterns.
    pub tools: Vec<String>,
    /// `server/prompt` patterns.
    pub prompts: Vec<String>,
    /// `server/uri` patterns.
    pub resources: Vec<String>,
    /// Agent ids (`*`: all).
    pub agents: Vec<String>,
    /// User subjects (`*`: all).
    pub users: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
}

impl PolicyConfig {
    pub(crate) fn from_raw(
        raw: RawPolicy,
        upstreams: &[UpstreamConfig],
        scopes: &ScopeDictionary,
    ) -> Result<Self, ConfigError> {
        let mut given = raw.servers;
        for name in given.keys() {
            if !upstreams.iter().any(|u| u.name.as_str() == name) {
                return Err(ConfigError::new(
                    format!("policy.servers.{name}"),
                    "names no configured upstream",
                ));
            }
        }
        let mut servers = IndexMap::with_capacity(upstreams.len());
        for up in upstreams {
            let name = up.name.as_str();
            let raw = given.shift_remove(name).unwrap_or_default();
            servers.insert(name.to_owned(), server(name, raw, scopes)?);
        }
        let roles = raw
            .roles
            .into_iter()
            .map(|(name, r)| role(name, r))
            .collect::<Result<_, _>>()?;
        let cedar_files = raw.cedar.unwrap_or_default();
        if let Some(i) = cedar_files.iter().position(|f| f.trim().is_empty()) {
            return Err(ConfigError::new(
                format!("policy.cedar.{i}"),
                "an empty file name",
            ));
        }
        Ok(Self {
            dry_run: raw.dry_run.unwrap_or(false),
            cedar_files,
            servers,
            roles,
            approval: ApprovalSettings::from_raw(raw.approval)?,
        })
    }

    /// Warnings for `moat check`.
    pub fn warnings(&self, scopes: &ScopeDictionary, today: Date) -> Vec<String> {
        let mut out = Vec::new();
        if self.dry_run {
            out.push("policy.dry_run is on: nothing is refused, denials are only logged".into());
        }
        for (name, s) in &self.servers {
            if s.dry_run {
                out.push(format!(
                    "policy.servers.{name}.dry_run is on: its denials are only logged"
                ));
            }
            if !s.trusted && s.require_approval == ApprovalRule::Destructive {
                out.push(format!(
                    "policy.servers.{name} is not trusted: only its tools marked destructiveHint: true are held for approval (trusted: true believes its annotations; require_approval: always holds every call)"
                ));
            }
            let all = s.read_scopes.iter().chain(&s.write_scopes);
            for scope in scopes.undeclared(all.map(String::as_str)) {
                out.push(format!("policy.servers.{name}: scope {scope:?} is not declared under scopes, so the built-in server never grants it"));
            }
        }
        for r in &self.roles {
            if r.agents.is_empty() && r.users.is_empty() && r.groups.is_empty() {
                out.push(format!("role {:?} is bound to nobody", r.name));
            }
            if r.agents.iter().chain(&r.users).any(|a| a == "*")
                && r.tools.iter().any(|t| t == "*" || t == "*/*")
            {
                out.push(format!(
                    "role {:?} grants every tool to everyone: a broad grant",
                    r.name
                ));
            }
            if r.review_by.is_some_and(|d| d < today) {
                out.push(format!("role {:?} is overdue for review", r.name));
            }
        }
        out
    }
}

fn server(
    name: &str,
    raw: RawServerPolicy,
    dictionary: &ScopeDictionary,
) -> Result<ServerPolicy, ConfigError> {
    let at = format!("policy.servers.{name}");
    let label = match raw.label {
        Some(l) => Label::parse(&l, &format!("{at}.label"))?,
        None => Label::Internal,
    };
    let read_scopes = raw
        .read_scopes
        .unwrap_or_else(|| vec![format!("{name}:read")]);
    let write_scopes = raw
        .write_scopes
        .unwrap_or_else(|| vec![format!("{name}:write")]);
    let mut tools = IndexMap::with_capacity(raw.tools.len());
    for (tool, t) in raw.tools {
        let field = format!("{at}.tools.{tool}");
        if let Some(s) = &t.scopes {
            declared(dictionary, s, &format!("{field}.scopes"))?;
        }
        let label = t
            .label
            .map(|l| Label::parse(&l, &format!("{field}.label")))
            .transpose()?;
        tools.insert(
            tool,
            ToolPolicy {
                scopes: t.scopes,
                label,
                require_approval: t.require_approval,
            },
        );
    }
    let require_approval = match raw.require_approval {
        Some(r) => ApprovalRule::parse(&r, &format!("{at}.require_approval"))?,
        None => ApprovalRule::Destructive,
    };
    Ok(ServerPolicy {
        label,
        require_approval,
        trusted: raw.trusted.unwrap_or(false),
        dry_run: raw.dry_run.unwrap_or(false),
        read_scopes,
        write_scopes,
        tools,
    })
}

/// Scopes named explicitly must be in the dictionary (when there is one).
fn declared(dictionary: &ScopeDictionary, scopes: &[String], at: &str) -> Result<(), ConfigError> {
    if scopes.is_empty() {
        return Err(ConfigError::new(
            at,
            "an empty list would let anyone call it; name at least one scope",
        ));
    }
    match dictionary
        .undeclared(scopes.iter().map(String::as_str))
        .first()
    {
        Some(s) => Err(ConfigError::new(
            at,
            format!("scope {s:?} is not declared under scopes"),
        )),
        None => Ok(()),
    }
}

fn role(name: String, raw: RawRole) -> Result<RoleConfig, ConfigError> {
    let at = format!("policy.roles.{name}");
    let review_by = raw
        .review_by
        .map(|d| {
            Date::parse(&d).ok_or_else(|| {
                ConfigError::new(
                    format!("{at}.review_by"),
                    format!("{d:?} is not a date YYYY-MM-DD"),
                )
            })
        })
        .transpose()?;
    for (field, patterns) in [
        ("tools", &raw.tools),
        ("prompts", &raw.prompts),
        ("resources", &raw.resources),
    ] {
        if let Some(p) = patterns.iter().find(|p| !p.contains('/') && *p != "*") {
            return Err(ConfigError::new(
                format!("{at}.{field}"),
                format!("{p:?} is not a server/name pattern (e.g. crm/lookup_*)"),
            ));
        }
    }
    if raw.tools.is_empty() && raw.prompts.is_empty() && raw.resources.is_empty() {
        return Err(ConfigError::new(
            at,
            "grants nothing (tools, prompts or resources)",
        ));
    }
    Ok(RoleConfig {
        name,
        description: raw.description,
        owner: raw.owner,
        review_by,
        tools: raw.tools,
        prompts: raw.prompts,
        resources: raw.resources,
        agents: raw.agents,
        users: raw.users,
        groups: raw.groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &str) -> Result<crate::Config, ConfigError> {
        let text = format!(
            "scopes:\n  crm:read: {{description: r}}\nupstreams:\n  crm:\n    http: {{url: 'http://127.0.0.1:1/mcp'}}\npolicy:\n{policy}"
        );
        crate::Config::from_yaml(&text, "p.yaml")
    }

    #[test]
    fn policy_mistakes_are_refused_with_their_line() {
        let cases = [
            (
                "  servers:\n    nope: {}\n",
                8,
                "names no configured upstream",
            ),
            (
                "  servers:\n    crm: {label: secret}\n",
                8,
                "is not one of public",
            ),
            (
                "  servers:\n    crm:\n      tools:\n        x: {scopes: [crm:write]}\n",
                10,
                "\"crm:write\" is not declared",
            ),
            (
                "  servers:\n    crm:\n      tools:\n        x: {scopes: []}\n",
                10,
                "name at least one scope",
            ),
            (
                "  roles:\n    r:\n      review_by: soon\n      tools: [crm/*]\n",
                9,
                "not a date",
            ),
            (
                "  roles:\n    r:\n      tools: [refund]\n",
                9,
                "server/name pattern",
            ),
            ("  roles:\n    r: {agents: [a]}\n", 8, "grants nothing"),
        ];
        for (policy, line, message) in cases {
            let e = check(policy).expect_err(policy);
            assert_eq!(e.line, Some(line), "{e}");
            assert!(e.message.contains(message), "{e}");
        }
    }

    #[test]
    fn every_upstream_gets_a_policy_with_defaults() {
        let config =
            check("  roles:\n    r: {tools: [crm/*], review_by: 2026-01-31}\n").expect("valid");
        let policy = config.policy.expect("policy");
        let crm = &policy.servers["crm"];
        assert_eq!(crm.read_scopes, vec!["crm:read"]);
        assert_eq!(crm.write_scopes, vec!["crm:write"]);
        assert_eq!(
            (crm.label, crm.trusted, crm.dry_run),
            (Label::Internal, false, false)
        );
        let warnings = policy.warnings(&config.scopes, Date::parse("2026-12-02").expect("date"));
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("\"crm:write\" is not declared")),
            "{warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("bound to nobody")),
            "{warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("overdue for review")),
            "{warnings:?}"
        );
    }

    #[test]
    fn dates_count_days_from_the_epoch() {
        assert_eq!(Date::parse("1970-01-01").map(|d| d.days), Some(0));
        assert_eq!(Date::parse("2000-03-01").map(|d| d.days), Some(11_017));
        assert_eq!(
            Date::parse("2026-12-02"),
            Some(Date::from_unix(1_796_169_600 + 3_600))
        );
        assert_eq!(Date::parse("2024-02-29").map(|d| d.days), Some(19_782));
        for bad in [
            "2023-02-29",
            "2026-13-01",
            "2026-1-01",
            "yesterday",
            "2026-00-10",
        ] {
            assert_eq!(Date::parse(bad), None, "{bad}");
        }
    }
}
