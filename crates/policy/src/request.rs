//! What a decision is asked about: who, doing what, to which target, in which context.

use std::net::IpAddr;

use serde_json::Value;

/// Who is asking. An agent acting for a user carries both; a client-credentials token carries
/// the agent alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller<'a> {
    /// The OAuth client (agent); `None` when authentication is off.
    pub agent: Option<&'a str>,
    /// The user the agent acts for, when the token names one.
    pub user: Option<&'a str>,
    /// Scopes the token grants.
    pub scopes: &'a [String],
    /// Groups the token's `groups` claim names.
    pub groups: &'a [String],
}

/// What the caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See the target in a list.
    List,
    /// `tools/call`.
    Call,
    /// `prompts/get`.
    Get,
    /// `resources/read`.
    Read,
    /// `resources/subscribe`.
    Subscribe,
    /// `completion/complete` for a prompt's or resource's arguments.
    Complete,
}

impl Action {
    /// The Cedar action id.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::List => "list",
            Self::Call => "call",
            Self::Get => "get",
            Self::Read => "read",
            Self::Subscribe => "subscribe",
            Self::Complete => "complete",
        }
    }

    /// The action a listed entry of `kind` is used with: an entry is listed only when it may be
    /// used.
    pub fn use_of(kind: Kind) -> Self {
        match kind {
            Kind::Tool => Self::Call,
            Kind::Prompt => Self::Get,
            Kind::Resource => Self::Read,
        }
    }
}

/// The kind of thing a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A tool.
    Tool,
    /// A prompt.
    Prompt,
    /// A resource or resource template (by URI or URI template).
    Resource,
}

impl Kind {
    /// The Cedar entity type.
    pub(crate) fn entity_type(self) -> &'static str {
        match self {
            Self::Tool => "Tool",
            Self::Prompt => "Prompt",
            Self::Resource => "Resource",
        }
    }
}

/// What a server announced about a tool (`annotations`), believed only for trusted servers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hints {
    /// `readOnlyHint`.
    pub read_only: Option<bool>,
    /// `destructiveHint`.
    pub destructive: Option<bool>,
}

impl Hints {
    /// Reads a tool's `annotations` object.
    pub fn from_annotations(annotations: Option<&Value>) -> Self {
        let flag = |k: &str| annotations.and_then(|a| a.get(k)).and_then(Value::as_bool);
        Self {
            read_only: flag("readOnlyHint"),
            destructive: flag("destructiveHint"),
        }
    }
}

/// The target: a tool, prompt or resource of one server, under that server's own name.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The upstream server's configured name.
    pub server: &'a str,
    /// Tool, prompt or resource.
    pub kind: Kind,
    /// The server's own name (or URI) for it.
    pub name: &'a str,
    /// The tool's annotations as the server announced them.
    pub hints: Hints,
}

/// The circumstances of the request.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The call's arguments (`None` when deciding what a list shows).
    pub arguments: Option<&'a Value>,
    /// Now, in seconds since the Unix epoch.
    pub now_unix: i64,
    /// The client's address.
    pub source: Option<IpAddr>,
    /// The MCP session, if any.
    pub session: Option<&'a str>,
}
