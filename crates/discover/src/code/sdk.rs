//! MCP server implementations in source files, recognised by how the official SDKs are used.
//!
//! Each language has a few rules; a rule is a text a line must contain (outside a line
//! comment), optionally a second text on the same line, and optionally a text the file must
//! contain somewhere (the SDK's import, for a call that alone would be ambiguous). Only server
//! use counts: a file that imports an SDK's client side alone matches no rule.

use serde::Serialize;

/// A source language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// `.ts`, `.tsx`, `.mts`, `.cts`.
    TypeScript,
    /// `.js`, `.jsx`, `.mjs`, `.cjs`.
    JavaScript,
    /// `.py`.
    Python,
    /// `.rs`.
    Rust,
    /// `.go`.
    Go,
    /// `.java`.
    Java,
    /// `.kt`, `.kts`.
    Kotlin,
    /// `.cs`.
    CSharp,
}

/// The SDK a server is built with, named by its package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sdk {
    /// The TypeScript SDK, `@modelcontextprotocol/sdk` (or its v2 `@modelcontextprotocol/server`).
    #[serde(rename = "@modelcontextprotocol/sdk")]
    TypeScript,
    /// The Python SDK, PyPI `mcp` (including its `mcp.server.fastmcp`).
    #[serde(rename = "mcp")]
    Python,
    /// The standalone PyPI `fastmcp` package.
    #[serde(rename = "fastmcp")]
    FastMcp,
    /// The Rust SDK, `rmcp`.
    #[serde(rename = "rmcp")]
    Rmcp,
    /// The Go SDK, `github.com/modelcontextprotocol/go-sdk`.
    #[serde(rename = "github.com/modelcontextprotocol/go-sdk")]
    GoSdk,
    /// `github.com/mark3labs/mcp-go`.
    #[serde(rename = "github.com/mark3labs/mcp-go")]
    McpGo,
    /// The Java SDK, `io.modelcontextprotocol.sdk`.
    #[serde(rename = "io.modelcontextprotocol.sdk")]
    Java,
    /// The Kotlin SDK, `io.modelcontextprotocol:kotlin-sdk`.
    #[serde(rename = "io.modelcontextprotocol:kotlin-sdk")]
    Kotlin,
    /// The C# SDK, NuGet `ModelContextProtocol`.
    #[serde(rename = "ModelContextProtocol")]
    CSharp,
}

impl Language {
    /// The language of a file extension (without the dot), if it is one scanned.
    pub fn from_extension(ext: &str) -> Option<Self> {
        Some(match ext {
            "ts" | "tsx" | "mts" | "cts" => Self::TypeScript,
            "js" | "jsx" | "mjs" | "cjs" => Self::JavaScript,
            "py" => Self::Python,
            "rs" => Self::Rust,
            "go" => Self::Go,
            "java" => Self::Java,
            "kt" | "kts" => Self::Kotlin,
            "cs" => Self::CSharp,
            _ => return None,
        })
    }

    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TypeScript => "typescript",
            Self::JavaScript => "javascript",
            Self::Python => "python",
            Self::Rust => "rust",
            Self::Go => "go",
            Self::Java => "java",
            Self::Kotlin => "kotlin",
            Self::CSharp => "csharp",
        }
    }

    /// The characters that open and close string literals.
    fn quotes(self) -> &'static [char] {
        match self {
            Self::Python | Self::TypeScript | Self::JavaScript => &['"', '\''],
            // `'` also starts Rust lifetimes and Kotlin/Java/C#/Go characters.
            _ => &['"'],
        }
    }

    fn comment_prefixes(self) -> &'static [&'static str] {
        match self {
            Self::Python => &["#"],
            _ => &["//", "/*", "*"],
        }
    }
}

impl Sdk {
    /// The package name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TypeScript => "@modelcontextprotocol/sdk",
            Self::Python => "mcp",
            Self::FastMcp => "fastmcp",
            Self::Rmcp => "rmcp",
            Self::GoSdk => "github.com/modelcontextprotocol/go-sdk",
            Self::McpGo => "github.com/mark3labs/mcp-go",
            Self::Java => "io.modelcontextprotocol.sdk",
            Self::Kotlin => "io.modelcontextprotocol:kotlin-sdk",
            Self::CSharp => "ModelContextProtocol",
        }
    }
}

/// One way server use of an SDK shows in a line.
struct Rule {
    sdk: Sdk,
    /// The line contains this (outside a string literal, unless `path`).
    needle: &'static str,
    /// The needle is a module path, written inside quotes in real code.
    path: bool,
    /// And this, when set.
    also: Option<&'static str>,
    /// The file contains this, when set.
    requires: Option<&'static str>,
}

const fn rule(sdk: Sdk, needle: &'static str) -> Rule {
    Rule {
        sdk,
        needle,
        path: false,
        also: None,
        requires: None,
    }
}

/// A rule for an import path, which sits inside quotes.
const fn path(sdk: Sdk, needle: &'static str) -> Rule {
    Rule {
        sdk,
        needle,
        path: true,
        also: None,
        requires: None,
    }
}

const fn rule_if(sdk: Sdk, needle: &'static str, requires: &'static str) -> Rule {
    Rule {
        sdk,
        needle,
        path: false,
        also: None,
        requires: Some(requires),
    }
}

const TYPESCRIPT: &[Rule] = &[
    // `.../server/mcp.js`, `.../server/index.js`, `.../server/streamableHttp.js`, ...
    path(Sdk::TypeScript, "@modelcontextprotocol/sdk/server"),
    // The v2 SDK's split packages.
    path(Sdk::TypeScript, "\"@modelcontextprotocol/server\""),
    path(Sdk::TypeScript, "'@modelcontextprotocol/server'"),
    rule_if(Sdk::TypeScript, "new McpServer(", "@modelcontextprotocol/"),
];

const PYTHON: &[Rule] = &[
    // Also `mcp.server.fastmcp`, `mcp.server.lowlevel`, `mcp.server.stdio`.
    rule(Sdk::Python, "from mcp.server"),
    rule(Sdk::Python, "import mcp.server"),
    // fastmcp also has a client (`from fastmcp import Client`): only its server class counts.
    Rule {
        sdk: Sdk::FastMcp,
        needle: "from fastmcp",
        path: false,
        also: Some("FastMCP"),
        requires: None,
    },
    rule(Sdk::FastMcp, "from fastmcp.server"),
    rule_if(Sdk::FastMcp, "fastmcp.FastMCP(", "import fastmcp"),
];

const RUST: &[Rule] = &[
    rule_if(Sdk::Rmcp, "ServerHandler", "rmcp"),
    rule_if(Sdk::Rmcp, "serve_server", "rmcp"),
    rule_if(Sdk::Rmcp, "#[tool_router", "rmcp"),
    rule_if(Sdk::Rmcp, "#[tool_handler", "rmcp"),
    rule_if(Sdk::Rmcp, "StreamableHttpService", "rmcp"),
];

const GO: &[Rule] = &[
    path(Sdk::McpGo, "\"github.com/mark3labs/mcp-go/server\""),
    // The go-sdk's `mcp` package holds client and server: the constructor tells them apart.
    rule_if(
        Sdk::GoSdk,
        "mcp.NewServer(",
        "github.com/modelcontextprotocol/go-sdk/mcp",
    ),
];

const JAVA: &[Rule] = &[
    rule(Sdk::Java, "import io.modelcontextprotocol.server."),
    rule_if(Sdk::Java, "McpServer.sync(", "io.modelcontextprotocol"),
    rule_if(Sdk::Java, "McpServer.async(", "io.modelcontextprotocol"),
];

const KOTLIN: &[Rule] = &[
    rule(
        Sdk::Kotlin,
        "import io.modelcontextprotocol.kotlin.sdk.server",
    ),
    // Kotlin code may use the Java SDK too.
    rule(Sdk::Java, "import io.modelcontextprotocol.server."),
    rule_if(Sdk::Java, "McpServer.sync(", "io.modelcontextprotocol"),
    rule_if(Sdk::Java, "McpServer.async(", "io.modelcontextprotocol"),
];

const CSHARP: &[Rule] = &[
    rule(Sdk::CSharp, "using ModelContextProtocol.Server"),
    // Often in a Program.cs with only global usings.
    rule(Sdk::CSharp, ".AddMcpServer("),
];

fn rules(language: Language) -> &'static [Rule] {
    match language {
        Language::TypeScript | Language::JavaScript => TYPESCRIPT,
        Language::Python => PYTHON,
        Language::Rust => RUST,
        Language::Go => GO,
        Language::Java => JAVA,
        Language::Kotlin => KOTLIN,
        Language::CSharp => CSHARP,
    }
}

/// The first line (1-based) showing server use of an SDK, and the SDK.
pub(crate) fn detect(language: Language, text: &str) -> Option<(usize, Sdk)> {
    let rules = rules(language);
    // Cheap rejection: most files mention no needle at all.
    if !rules.iter().any(|r| text.contains(r.needle)) {
        return None;
    }
    let eligible: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.requires.is_none_or(|req| text.contains(req)))
        .collect();
    let comments = language.comment_prefixes();
    for (n, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if comments.iter().any(|c| code.starts_with(c)) {
            continue;
        }
        let hit = eligible.iter().find(|r| {
            r.also.is_none_or(|a| code.contains(a))
                && code
                    .match_indices(r.needle)
                    .any(|(at, _)| r.path || !in_string(code, at, language.quotes()))
        });
        if let Some(r) = hit {
            return Some((n + 1, r.sdk));
        }
    }
    None
}

/// Whether byte `at` of `line` is inside a string literal opened on this line by one of
/// `quotes` (backslash escapes honoured; strings spanning lines are not followed).
fn in_string(line: &str, at: usize, quotes: &[char]) -> bool {
    let mut open: Option<char> = None;
    let mut escaped = false;
    for c in line[..at].chars() {
        match open {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => open = None,
            Some(_) => {}
            None if quotes.contains(&c) => open = Some(c),
            None => {}
        }
    }
    open.is_some()
}
