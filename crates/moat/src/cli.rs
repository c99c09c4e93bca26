//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// moat: one governed MCP endpoint in front of all your MCP servers.
#[derive(Debug, Parser)]
#[command(name = "moat", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the gateway (with no arguments: the bundled default config and demo server).
    Serve(ServeArgs),
    /// Validate a config file and exit (non-zero with file:line: field: problem on error).
    Check(CheckArgs),
    /// The agent registry: every non-human identity, its owner, scopes and status.
    Agents(AgentsArgs),
    /// Tool calls held for a human's approval: list them, approve or deny one.
    Approvals(ApprovalsArgs),
    /// Standing consents: an agent may call a tool (for a user) without asking, until a time.
    Consents(ConsentsArgs),
    /// Access tokens of the built-in authorization server: mint one for a script, or revoke one.
    Token(TokenArgs),
    /// The built-in authorization server's signing keys.
    Keys(KeysArgs),
    /// Run golden cases (identity, call, expected outcome) through a config's real pipeline;
    /// prints a table and fails on any mismatch.
    Test(TestArgs),
    /// Read a password from stdin and print its argon2id hash, for auth.server.users.
    HashPassword,
    /// The catalog of servers and their pinned tools, prompts and resource templates: list,
    /// show, approve, reject, suspend, diff, export.
    Catalog(CatalogArgs),
    /// Scan tool definitions for poisoning (hidden instructions, exfiltration, shadowing,
    /// invisible text, typosquats…): from a file, a stdio command or a URL.
    Scan(ScanArgs),
    /// Find MCP servers moat does not front ("shadow" servers): in source trees and client
    /// configs, or on the network; see docs/discovery.md.
    Discover(DiscoverArgs),
    /// Run moat's built-in MCP test server (the conformance fixture), for demos and tests.
    #[command(hide = true)]
    Fixture(FixtureArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Config file (YAML). Without it and without --upstream, the bundled default is used.
    #[arg(long, short = 'c')]
    pub(crate) config: Option<PathBuf>,
    /// Listen address, e.g. 127.0.0.1:8940 (overrides the config).
    #[arg(long)]
    pub(crate) listen: Option<String>,
    /// An upstream as NAME=http(s)://URL, NAME=sse:URL, 'NAME=stdio:COMMAND ARGS…' or NAME=builtin:fixture.
    /// Repeatable; same semantics as the config's `upstreams`.
    #[arg(long, value_name = "NAME=SPEC")]
    pub(crate) upstream: Vec<String>,
    /// Name prefixing of federated tools and prompts: always, conditional or never.
    #[arg(long)]
    pub(crate) prefix: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Config file (YAML); the bundled default when omitted.
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// The cases file (YAML); see docs/policy.md.
    pub(crate) cases: PathBuf,
    /// The config to test (overrides the cases file's `config:`).
    #[arg(long, short = 'c')]
    pub(crate) config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct FixtureArgs {
    /// Serve MCP over stdin/stdout (the default).
    #[arg(long, conflicts_with = "listen")]
    pub(crate) stdio: bool,
    /// Serve Streamable HTTP on this address instead, at /mcp.
    #[arg(long)]
    pub(crate) listen: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct AgentsArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(subcommand)]
    pub(crate) command: AgentsCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum AgentsCommand {
    /// Every agent (or those with one status: active, suspended, pending, unregistered).
    List {
        /// Only agents with this status.
        #[arg(long)]
        status: Option<String>,
    },
    /// One agent.
    Show {
        /// The agent's id (its OAuth client_id).
        id: String,
    },
    /// Registers an agent (or promotes an unregistered one).
    Register {
        /// The agent's id (its OAuth client_id).
        id: String,
        /// A human-readable name.
        #[arg(long)]
        name: String,
        /// The human or team answerable for it.
        #[arg(long)]
        owner: Option<String>,
        /// A scope it may be granted (repeatable).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Hold it pending approval instead of activating it.
        #[arg(long)]
        pending: bool,
        /// Make it an OAuth client of the built-in server that may send users to this redirect
        /// URI (authorization code + PKCE, with refresh tokens). Repeatable.
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Make it a confidential OAuth client with the client-credentials grant (headless
        /// agents); its secret is printed once.
        #[arg(long)]
        client_credentials: bool,
    },
    /// Suspends an agent: its requests are refused and its refresh tokens revoked.
    Suspend {
        /// The agent's id.
        id: String,
    },
    /// Lets a suspended or pending agent act again.
    Resume {
        /// The agent's id.
        id: String,
    },
}

/// Where the built-in server's state is: the config (for its auth section) and the store.
#[derive(Debug, Args)]
pub(crate) struct ServerStateArgs {
    /// Config file with auth.server (default: the bundled default).
    #[arg(long, short = 'c', global = true)]
    pub(crate) config: Option<PathBuf>,
    /// The store's URL, overriding the config (sqlite://PATH or postgres://…).
    #[arg(long, global = true)]
    pub(crate) store: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    #[command(flatten)]
    pub(crate) state: ServerStateArgs,
    #[command(subcommand)]
    pub(crate) command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Mints an access token for a registered, active client, within its allowed scopes; prints
    /// the token alone (for scripts) or, with --json, the token response.
    Issue {
        /// The client (agent) id.
        #[arg(long)]
        client: String,
        /// A scope (repeatable); each must be allowed for the client.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// The subject (default: the client itself, as for client credentials).
        #[arg(long)]
        subject: Option<String>,
        /// Lifetime, e.g. 5m (default: auth.server.access_token_ttl; at most 1h).
        #[arg(long)]
        ttl: Option<String>,
        /// Print the token response as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revokes an access token (the token, or its id) at once, in every moat on this store.
    Revoke {
        /// The access token.
        #[arg(required_unless_present = "jti", conflicts_with = "jti")]
        token: Option<String>,
        /// The token's id (`jti`) instead of the token.
        #[arg(long)]
        jti: Option<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    #[command(flatten)]
    pub(crate) state: ServerStateArgs,
    #[command(subcommand)]
    pub(crate) command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Puts a new signing key into service; the old one stays published until its tokens expire.
    Rotate {
        /// EdDSA or ES256 (default: auth.server.signing_algorithm).
        #[arg(long)]
        algorithm: Option<String>,
    },
    /// Lists the keys: active, retired and still published, or expired.
    List,
}

/// Which store a command works on, and how it prints.
#[derive(Debug, Args)]
pub(crate) struct StoreArgs {
    /// Config file whose store to use (default: the bundled default's).
    #[arg(long, short = 'c', global = true)]
    pub(crate) config: Option<PathBuf>,
    /// The store's URL, overriding the config (sqlite://PATH or postgres://…).
    #[arg(long, global = true)]
    pub(crate) store: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ApprovalsArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(subcommand)]
    pub(crate) command: ApprovalsCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApprovalsCommand {
    /// Held calls, newest first: the pending ones (default) or all.
    List {
        /// Decided, expired and cancelled ones too.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One held call, with its arguments.
    Show {
        /// The approval's id.
        id: String,
    },
    /// Lets a pending call go ahead (every moat on this store sees it within a second).
    Approve {
        /// The approval's id.
        id: String,
        /// Who approves (default: the login name).
        #[arg(long)]
        by: Option<String>,
        /// Why, for the record.
        #[arg(long)]
        note: Option<String>,
    },
    /// Refuses a pending call.
    Deny {
        /// The approval's id.
        id: String,
        /// Who refuses (default: the login name).
        #[arg(long)]
        by: Option<String>,
        /// Why, for the record (the agent is told).
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ConsentsArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(subcommand)]
    pub(crate) command: ConsentsCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConsentsCommand {
    /// Standing consents in force.
    List,
    /// Lets an agent call a tool without approval, for a while.
    Grant {
        /// The agent (OAuth client id; `anonymous` when authentication is off).
        #[arg(long)]
        agent: String,
        /// The user it acts for (omit: the agent acting for itself).
        #[arg(long)]
        user: Option<String>,
        /// The tool as SERVER/TOOL, under the server's own name for it.
        #[arg(long)]
        tool: String,
        /// How long, e.g. 8h (at most 30d).
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Who consents (default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Ends a standing consent at once.
    Revoke {
        /// The consent's id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    #[command(subcommand)]
    pub(crate) command: DiscoverCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DiscoverCommand {
    /// Scan a source tree: MCP server implementations (SDK use) and client configurations
    /// that declare servers (Claude, Cursor, VS Code, Windsurf, Codex).
    Code {
        /// The directory to scan.
        dir: PathBuf,
        #[command(flatten)]
        common: DiscoverCommon,
    },
    /// Probe hosts, addresses or CIDR blocks for MCP servers (only those named; HTTP, or
    /// HTTPS with normal certificate verification).
    Net {
        /// Hosts, IP addresses or CIDR blocks (v4 or v6).
        #[arg(required = true, value_name = "TARGET")]
        targets: Vec<String>,
        /// Ports, e.g. 3000,8000-8100.
        #[arg(long, short = 'p')]
        ports: String,
        /// Probes in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Deadline of each step of a probe (connect, each HTTP exchange), e.g. 2s or 500ms.
        #[arg(long, default_value = "2s")]
        timeout: humantime::Duration,
        /// Probe with HTTPS instead of plain HTTP (certificates are verified).
        #[arg(long)]
        https: bool,
        /// Also list closed and filtered ports.
        #[arg(long)]
        all: bool,
        /// The cap on the number of addresses the targets may name.
        #[arg(long, default_value_t = moat_discover::net::MAX_ADDRESSES)]
        max_addresses: u64,
        #[command(flatten)]
        common: DiscoverCommon,
    },
}

/// What both discovery commands share.
#[derive(Debug, Args)]
pub(crate) struct DiscoverCommon {
    /// moat config whose upstreams count as registered (without it, every server found is
    /// shadow).
    #[arg(long, short = 'c')]
    pub(crate) config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Exit with status 3 when a shadow server is found.
    #[arg(long)]
    pub(crate) fail_on_shadow: bool,
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people.
    Table,
    /// The stable JSON documented in docs/discovery.md.
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct CatalogArgs {
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    #[command(subcommand)]
    pub(crate) command: CatalogCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CatalogCommand {
    /// Every definition (tool, prompt, resource template) with its status.
    List {
        /// Only this server's.
        #[arg(long)]
        server: Option<String>,
        /// Only those with this status: pending, approved, quarantined or rejected.
        #[arg(long)]
        status: Option<String>,
        /// Only this kind: tool, prompt or resource_template.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Every server with its status.
    Servers,
    /// A server (SERVER) or a definition (SERVER/NAME) with its history.
    Show {
        /// SERVER or SERVER/NAME.
        reference: String,
        /// The definition's kind (default tool).
        #[arg(long)]
        kind: Option<String>,
    },
    /// Approves a definition as it is now seen (SERVER/NAME), or a server (SERVER).
    Approve {
        /// SERVER or SERVER/NAME.
        reference: String,
        /// The definition's kind (default tool).
        #[arg(long)]
        kind: Option<String>,
        /// Approve only if the definition still has this hash (the one you reviewed).
        #[arg(long)]
        sha256: Option<String>,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
        /// Who decides (default: the login name).
        #[arg(long)]
        by: Option<String>,
        /// With SERVER: also approve every pending definition of it.
        #[arg(long)]
        all_pending: bool,
    },
    /// Rejects a definition (SERVER/NAME): hidden and refused.
    Reject {
        /// SERVER/NAME.
        reference: String,
        /// The definition's kind (default tool).
        #[arg(long)]
        kind: Option<String>,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Who decides (default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// Suspends a server: all its definitions are hidden and refused until it is approved.
    Suspend {
        /// The server.
        server: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Who decides (default: the login name).
        #[arg(long)]
        by: Option<String>,
    },
    /// The approved definition against the one now seen (SERVER/NAME).
    Diff {
        /// SERVER/NAME.
        reference: String,
        /// The definition's kind (default tool).
        #[arg(long)]
        kind: Option<String>,
    },
    /// Writes the approved catalog as a versioned document.
    Export {
        /// yaml or json.
        #[arg(long, value_enum, default_value = "yaml")]
        format: ExportFormat,
        /// The file to write (default: standard output).
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ExportFormat {
    Yaml,
    Json,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["file", "stdio", "url"])))]
pub(crate) struct ScanArgs {
    /// A `tools/list` result: {"tools": [...]} (also a whole JSON-RPC response, or a bare array).
    #[arg(long)]
    pub(crate) file: Option<PathBuf>,
    /// A server to start and list: the command line, with shell-like quoting.
    #[arg(long)]
    pub(crate) stdio: Option<String>,
    /// A Streamable HTTP server to list.
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// table, json or sarif (SARIF 2.1.0).
    #[arg(long, value_enum, default_value = "table")]
    pub(crate) format: ScanFormat,
    /// Exit with status 3 when a finding is at least this severe: low, medium, high, critical
    /// or none.
    #[arg(long, default_value = "high")]
    pub(crate) fail_on: String,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum ScanFormat {
    Table,
    Json,
    Sarif,
}
