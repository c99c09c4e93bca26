//! The configuration file as written: serde types that refuse unknown fields.
//! [`crate::Config::from_raw`] turns them into the validated snapshot.

use indexmap::IndexMap;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Address of the MCP listener, e.g. `127.0.0.1:8940`.
    pub listen: Option<String>,
    /// TLS for the MCP listener (TLS 1.3 only).
    pub tls: Option<RawTls>,
    /// Extra `Origin` values allowed (scheme://host[:port]).
    pub allowed_origins: Option<Vec<String>>,
    /// `Host` header values allowed (host or host:port).
    pub allowed_hosts: Option<Vec<String>>,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: Option<u64>,
    /// A session unused this long is ended and its upstream sessions closed, e.g. `30m`.
    pub session_idle_timeout: Option<String>,
    /// Client authentication (OAuth 2.1 bearer tokens).
    pub auth: Option<RawAuth>,
    /// Where moat keeps state (agents, clients, tokens): `sqlite://PATH` or `postgres://…`.
    pub store: Option<String>,
    /// The scope dictionary: every scope tokens and grants may use, with its meaning.
    #[serde(default)]
    pub scopes: IndexMap<String, RawScope>,
    /// Why a listener beyond loopback may run without `auth` (it refuses to otherwise).
    pub allow_unauthenticated: Option<String>,
    /// How tools, prompts and resources of several upstreams are named.
    pub federation: Option<RawFederation>,
    /// The MCP servers behind moat, by name, in the order their entries are listed.
    #[serde(default)]
    pub upstreams: IndexMap<String, RawUpstream>,
    /// Authorization: who may list and use which tools, prompts and resources.
    pub policy: Option<RawPolicy>,
    /// Content inspection of what upstreams answer.
    pub guard: Option<RawGuard>,
    /// Argument size limits, rate limits and quotas.
    pub limits: Option<RawLimits>,
    /// The catalog of servers and their pinned definitions.
    pub catalog: Option<RawCatalog>,
}

/// The catalog.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCatalog {
    /// How often moat lists every server again to compare definitions with their pins, e.g.
    /// `5m` (default).
    pub refresh: Option<String>,
}

/// Limits on calls.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Bounds on every call's arguments.
    pub arguments: Option<RawArgumentLimits>,
    /// Rate limits and quotas by name.
    #[serde(default)]
    pub rates: IndexMap<String, RawRate>,
}

/// Bounds on a call's arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArgumentLimits {
    /// Nesting of arrays and objects (default 64).
    pub max_depth: Option<u64>,
    /// Bytes of one string (default 1 MiB).
    pub max_string_bytes: Option<u64>,
    /// Members of the arguments object (default 256).
    pub max_arguments: Option<u64>,
}

/// One rate limit or quota.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRate {
    /// What the key is made of: any of agent, user, server, tool (default [agent]).
    pub per: Option<Vec<String>>,
    /// `count/unit`: 20/s, 600/min, 1000/h, 10000/day.
    pub rate: String,
    /// Calls allowed at once (default: the count).
    pub burst: Option<u32>,
    /// `server/tool` patterns of the calls it counts (default: every request).
    pub tools: Option<Vec<String>>,
}

/// Content inspection.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGuard {
    /// PII and secret detection in results.
    pub pii: Option<RawPii>,
    /// Tool arguments against the tool's inputSchema: enforce (default), log or off.
    pub schema: Option<String>,
    /// `server/tool` patterns of tools whose calls may carry only declared properties.
    pub strict: Option<Vec<String>>,
    /// Where URLs in tool arguments may lead (SSRF defence).
    pub egress: Option<RawEgress>,
    /// Prompt-injection scoring of results and arguments.
    pub injection: Option<RawInjection>,
    /// Per `server/tool` pattern: how its results are cut down (first match wins).
    #[serde(default)]
    pub results: IndexMap<String, RawResultShape>,
    /// External guardrail services by name.
    #[serde(default)]
    pub guardrails: IndexMap<String, RawGuardrail>,
    /// Actions that differ for `server/tool` patterns.
    #[serde(default)]
    pub tools: IndexMap<String, RawGuardOverride>,
    /// Actions that differ by the policy's sensitivity label of the server or tool.
    #[serde(default)]
    pub labels: IndexMap<String, RawGuardOverride>,
}

/// Guard actions for some tools or labels, over the global ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGuardOverride {
    /// Action per PII/secret class name.
    #[serde(default)]
    pub pii: IndexMap<String, String>,
    /// The prompt-injection action: annotate, strip, block or off.
    pub injection: Option<String>,
}

/// Context minimisation of one tool's results.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawResultShape {
    /// Largest result in bytes.
    pub max_bytes: Option<u64>,
    /// truncate (default) or error.
    pub over: Option<String>,
    /// Dotted paths of `structuredContent` to keep (all others go).
    pub allow: Option<Vec<String>>,
    /// Dotted paths of `structuredContent` to remove.
    pub deny: Option<Vec<String>>,
}

/// An external guardrail: an HTTP service that judges content.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGuardrail {
    /// Where to POST (https, or http to a loopback address).
    pub url: String,
    /// `server/tool` patterns it judges (default every tool).
    pub tools: Option<Vec<String>>,
    /// What it judges: any of results, arguments (default [results]).
    pub on: Option<Vec<String>>,
    /// How long it may take (default 2s).
    pub timeout: Option<String>,
    /// closed (default: a failed check refuses) or open (a failed check lets through).
    pub failure: Option<String>,
}

/// Prompt-injection scoring.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInjection {
    /// annotate (default), strip, block or off.
    pub action: Option<String>,
    /// The score at which a text counts as an injection (default 100).
    pub threshold: Option<u32>,
    /// Hosts that images and links in results may point to.
    pub allowed_hosts: Option<Vec<String>>,
}

/// Egress control over URLs in tool arguments.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEgress {
    /// enforce (default) or off.
    pub check: Option<String>,
    /// URL schemes allowed (default [http, https]).
    pub schemes: Option<Vec<String>>,
    /// CIDR blocks tools may reach although they are private.
    pub allowed_networks: Option<Vec<String>>,
    /// Per `server/tool` pattern, the only hosts its URLs may name.
    #[serde(default)]
    pub domains: IndexMap<String, Vec<String>>,
}

/// PII and secret detection.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPii {
    /// Action per class name: mask, partial, pseudonym, block, log or off.
    #[serde(default)]
    pub actions: IndexMap<String, String>,
    /// Patterns of your own, by name.
    #[serde(default)]
    pub custom: IndexMap<String, RawPattern>,
    /// Key of the `pseudonym` action's HMAC (`env:NAME` or `file:/path`).
    pub pseudonym_key: Option<String>,
}

/// A custom detection pattern.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPattern {
    /// A regular expression (ASCII classes: `\d` is 0-9).
    pub pattern: String,
    /// What to do with a match (default mask).
    pub action: Option<String>,
}

/// Authorization policy: scopes per tool, roles, and Cedar rules; deny by default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Compute and log "would deny" without refusing anything.
    pub dry_run: Option<bool>,
    /// Cedar policy files, relative to the config file.
    pub cedar: Option<Vec<String>>,
    /// Per upstream server: label, trust in its annotations, scopes per tool.
    #[serde(default)]
    pub servers: IndexMap<String, RawServerPolicy>,
    /// How calls that need a human's approval are asked and how long they wait.
    pub approval: Option<RawApproval>,
    /// Named roles granting tools, prompts and resources to agents, users and groups.
    #[serde(default)]
    pub roles: IndexMap<String, RawRole>,
}

/// Policy for one upstream server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServerPolicy {
    /// Data sensitivity: `public`, `internal` (default), `confidential` or `restricted`.
    pub label: Option<String>,
    /// Whether the server's tool annotations (`readOnlyHint`, `destructiveHint`) are believed.
    pub trusted: Option<bool>,
    /// This server's decisions are computed and logged, never enforced.
    pub dry_run: Option<bool>,
    /// Scopes a read-only tool, a prompt or a resource needs (default `<server>:read`).
    pub read_scopes: Option<Vec<String>>,
    /// Scopes any other tool needs (default `<server>:write`).
    pub write_scopes: Option<Vec<String>>,
    /// Which tool calls need a human's approval: `destructive` (default), `always` or `never`.
    pub require_approval: Option<String>,
    /// Per tool, by the server's own name for it.
    #[serde(default)]
    pub tools: IndexMap<String, RawToolPolicy>,
}

/// Policy for one tool.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToolPolicy {
    /// The scopes calling it needs, instead of the server's defaults.
    pub scopes: Option<Vec<String>>,
    /// Data sensitivity, instead of the server's.
    pub label: Option<String>,
    /// Whether calling it needs a human's approval, instead of the server's rule.
    pub require_approval: Option<bool>,
}

/// Human approval of calls the policy holds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApproval {
    /// How long a held call waits for a decision before it is denied (default `5m`).
    pub timeout: Option<String>,
    /// The longest standing consent a user may give while approving a call (default `8h`).
    pub remember_max: Option<String>,
    /// Ask the user through the client (elicitation) when it can be asked (default true);
    /// false sends every held call to the operators' queue.
    pub ask_client: Option<bool>,
}

/// A named role.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    /// What the role is for.
    pub description: Option<String>,
    /// Who answers for it.
    pub owner: Option<String>,
    /// When it must next be reviewed, `YYYY-MM-DD`.
    pub review_by: Option<String>,
    /// Tools granted, as `server/tool` patterns (`*` matches any run of characters).
    #[serde(default)]
    pub tools: Vec<String>,
    /// Prompts granted, as `server/prompt` patterns.
    #[serde(default)]
    pub prompts: Vec<String>,
    /// Resources granted, as `server/uri` patterns.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Agents (OAuth client ids) holding the role; `*` for every agent.
    #[serde(default)]
    pub agents: Vec<String>,
    /// Users (token subjects) holding the role; `*` for every user.
    #[serde(default)]
    pub users: Vec<String>,
    /// Groups (the token's `groups` claim) whose members hold the role.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// Client authentication: moat as a resource server for tokens of one issuer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    /// The token issuer (`iss`).
    pub issuer: String,
    /// moat's canonical resource URI (the tokens' `aud`).
    pub resource: String,
    /// `https://…` JWKS URL or `file:/path`, for JWT access tokens.
    pub jwks: Option<String>,
    /// RFC 7662 introspection, for opaque access tokens.
    pub introspection: Option<RawIntrospection>,
    /// Accepted algorithms (RS256, ES256, EdDSA).
    pub algorithms: Option<Vec<String>>,
    /// Longest accepted token lifetime, e.g. `1h`.
    pub max_token_lifetime: Option<String>,
    /// Tolerated clock skew, e.g. `30s`.
    pub leeway: Option<String>,
    /// Scopes every request needs.
    pub required_scopes: Option<Vec<String>>,
    /// Scopes announced to clients.
    pub scopes_supported: Option<Vec<String>>,
    /// What to do with a valid token of an agent the registry does not know: `flag` (record it
    /// as unregistered and serve it) or `deny`.
    pub unregistered_agents: Option<String>,
    /// moat's built-in authorization server; the issuer is then moat itself.
    pub server: Option<RawAuthServer>,
}

/// The built-in authorization server.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuthServer {
    /// Access-token lifetime, e.g. `15m` (at most 1h).
    pub access_token_ttl: Option<String>,
    /// Refresh-token lifetime, e.g. `30d`.
    pub refresh_token_ttl: Option<String>,
    /// `EdDSA` (default) or `ES256`.
    pub signing_algorithm: Option<String>,
    /// RFC 7591 dynamic client registration: `off` (default), `open`, or `pending`.
    pub client_registration: Option<String>,
    /// Client ID Metadata Documents (an https URL as client_id): `off` (default), `open`, or
    /// `pending`.
    pub client_metadata_documents: Option<String>,
    /// Scopes a dynamically registered client gets when it asks for none.
    pub registration_scopes: Option<Vec<String>>,
    /// Local users who can sign in on the consent page: name → argon2id PHC hash, or an
    /// `env:`/`file:` reference to one.
    /// POSTs to the OAuth endpoints per source address: `count/unit` (default 30/min).
    pub requests_per_source: Option<String>,
    pub users: Option<indexmap::IndexMap<String, String>>,
}

/// The issuer's token introspection endpoint and moat's credentials for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIntrospection {
    /// The endpoint (`https://`, or `http://` for a loopback host).
    pub url: String,
    /// moat's client id at the issuer.
    pub client_id: String,
    /// moat's client secret: `env:NAME` or `file:/path`.
    pub client_secret: String,
}

/// One declared scope.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScope {
    /// What the scope allows.
    pub description: String,
    /// For wildcard scopes only: why such a broad scope is needed.
    pub broad_because: Option<String>,
}

/// TLS certificate and key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// PEM certificate chain file.
    pub cert: String,
    /// PEM private key file.
    pub key: String,
}

/// Federation naming.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFederation {
    /// `always`, `conditional` (only when more than one upstream) or `never`.
    pub prefix: Option<String>,
    /// Between server name and tool name; default `__`.
    pub separator: Option<String>,
}

/// One upstream server: exactly one transport key.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// A local server started as a child process speaking newline-delimited JSON-RPC.
    pub stdio: Option<RawStdio>,
    /// A Streamable HTTP server.
    pub http: Option<RawHttp>,
    /// A legacy HTTP+SSE server.
    pub sse: Option<RawHttp>,
    /// A server built into moat (`fixture`: the conformance and demo server).
    pub builtin: Option<String>,
    /// Per-request timeout, e.g. `30s`, `500ms`.
    pub timeout: Option<String>,
    /// Overrides the global prefix mode for this server.
    pub prefix: Option<String>,
    /// moat's own OAuth client credentials at this (HTTP) server's authorization server: moat
    /// gets its own token for the server, never forwarding the client's.
    pub oauth: Option<RawUpstreamOAuth>,
    /// Requests in flight to this server at once (default: unlimited).
    pub max_concurrency: Option<u32>,
    /// How its new tools, prompts and resource templates are vetted: `required` (an operator
    /// approves each; the default), `auto` (approved unless the poisoning scan flags them) or
    /// `read_only` (as `auto` for read-only tools of a trusted server, prompts and templates).
    pub approval: Option<String>,
    /// Who owns the server (recorded in the catalog).
    pub owner: Option<String>,
    /// What the server is for (recorded in the catalog).
    pub description: Option<String>,
}

/// OAuth client credentials moat uses towards an upstream (RFC 6749 §4.4).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamOAuth {
    /// The upstream's token endpoint.
    pub token_url: String,
    /// moat's client id there.
    pub client_id: String,
    /// moat's client secret there: `env:NAME` or `file:/path`.
    pub client_secret: String,
    /// Scopes to ask for, space-separated.
    pub scope: Option<String>,
    /// RFC 8707 resource to ask for (default: the upstream's URL).
    pub resource: Option<String>,
}

/// A child-process server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStdio {
    /// The executable.
    pub command: String,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables to set: literal text, `env:NAME` or `file:/path`.
    #[serde(default)]
    pub env: IndexMap<String, String>,
    /// Variables of moat's own environment passed through; default a minimal set (PATH, HOME, …).
    pub inherit_env: Option<Vec<String>>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Why this server may run a floating launcher (`npx pkg` without an exact version, `docker
    /// run image:latest`, a shell command line moat cannot analyse). Refused at load without it.
    pub allow_floating: Option<String>,
}

/// An HTTP server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    /// The endpoint URL.
    pub url: String,
    /// Headers sent with every request: credentials must be `env:`/`file:` references.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
}

impl RawUpstream {
    /// Parses the `--upstream` quick form: `http://…`/`https://…` (Streamable HTTP), `sse:URL`,
    /// `stdio:COMMAND ARGS…` (shell-like quoting) or `builtin:NAME`.
    pub fn from_cli(spec: &str) -> Result<Self, String> {
        let mut up = Self::default();
        if spec.starts_with("http://") || spec.starts_with("https://") {
            up.http = Some(RawHttp {
                url: spec.to_owned(),
                headers: IndexMap::new(),
            });
        } else if let Some(url) = spec.strip_prefix("sse:") {
            up.sse = Some(RawHttp {
                url: url.to_owned(),
                headers: IndexMap::new(),
            });
        } else if let Some(cmd) = spec.strip_prefix("stdio:") {
            let mut words = shlex::split(cmd)
                .ok_or_else(|| format!("unbalanced quotes in stdio command {cmd:?}"))?
                .into_iter();
            let command = words.next().ok_or("stdio: needs a command")?;
            up.stdio = Some(RawStdio {
                command,
                args: words.collect(),
                ..RawStdio::default()
            });
        } else if let Some(name) = spec.strip_prefix("builtin:") {
            up.builtin = Some(name.to_owned());
        } else {
            return Err(format!(
                "{spec:?} is not an upstream: use http(s)://URL, sse:URL, 'stdio:COMMAND ARGS…' or builtin:NAME"
            ));
        }
        // Whoever names a server on the command line vouches for it: its definitions are
        // approved as first seen, and still pinned.
        up.approval = Some("auto".to_owned());
        Ok(up)
    }
}
