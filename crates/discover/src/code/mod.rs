//! Source trees: MCP server implementations (SDK use) and client configurations that declare
//! MCP servers.
//!
//! The walk is plain std recursion: it skips dependency and build directories, never follows a
//! symbolic link (so it cannot leave the tree), reads only files whose name or extension it
//! knows, and none larger than [`MAX_FILE_BYTES`].

mod configs;
mod sdk;

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;

pub use sdk::{Language, Sdk};

/// Source files larger than this are not read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Client configurations larger than this are not read (a problem is reported). Larger than
/// for source: Claude Code's `.claude.json` keeps per-project history and grows past 1 MiB.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// Directories deeper than this below the root are not entered.
const MAX_DEPTH: usize = 64;

/// Directories never entered: dependencies, build output, version control.
const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    "target",
    ".venv",
    "venv",
    "__pycache__",
];

/// What one scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Scan {
    /// Findings in the order of their files' paths, then lines.
    pub findings: Vec<Finding>,
    /// Files that look like client configurations but cannot be read as such, and directories
    /// that cannot be listed.
    pub problems: Vec<Problem>,
    /// Source files left unread because they are larger than [`MAX_FILE_BYTES`].
    pub skipped_large: usize,
}

/// One discovered server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// Source code that implements an MCP server with an SDK.
    Implementation(Implementation),
    /// A server declared in an MCP client's configuration.
    Declared(DeclaredServer),
}

/// Source code implementing an MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Implementation {
    /// The file, relative to the scanned root, with `/` separators.
    pub file: String,
    /// The first line (1-based) that shows server use of the SDK.
    pub line: usize,
    /// The file's language.
    pub language: Language,
    /// The SDK.
    pub sdk: Sdk,
}

/// A server declared in a client configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclaredServer {
    /// Its name (the key it is declared under).
    pub name: String,
    /// The file, relative to the scanned root, with `/` separators.
    pub file: String,
    /// The line (1-based) of its declaration, when found.
    pub line: Option<usize>,
    /// Which client's format the file is in.
    pub format: ConfigFormat,
    /// For a server declared for one project only (`.claude.json`'s `projects`): the project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// How the client reaches it.
    pub transport: DeclaredTransport,
    /// VS Code: the `inputs` (by id) its settings ask the user for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
}

/// How a declared server is reached. Secrets stay out: environment variables and headers are
/// listed by name only, and URLs lose their user information and query values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeclaredTransport {
    /// A child process.
    Stdio {
        /// The executable.
        command: String,
        /// Its arguments, as written.
        args: Vec<String>,
        /// Names of the environment variables set for it (never their values).
        env: Vec<String>,
    },
    /// Streamable HTTP.
    Http {
        /// The endpoint (redacted).
        url: String,
        /// Names of the headers sent (never their values).
        headers: Vec<String>,
    },
    /// Legacy HTTP+SSE.
    Sse {
        /// The SSE endpoint (redacted).
        url: String,
        /// Names of the headers sent (never their values).
        headers: Vec<String>,
    },
}

/// The client configuration formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigFormat {
    /// `claude_desktop_config.json`: `mcpServers`.
    ClaudeDesktop,
    /// Claude Code's project file `.mcp.json`: `mcpServers`.
    ClaudeCodeProject,
    /// Claude Code's `.claude/settings.json` or `.claude/settings.local.json`: `mcpServers`.
    ClaudeCodeSettings,
    /// Claude Code's user file `.claude.json`: `mcpServers` and `projects.<path>.mcpServers`.
    ClaudeCodeUser,
    /// `.cursor/mcp.json`: `mcpServers`.
    Cursor,
    /// `.vscode/mcp.json`: `servers` (and `inputs`).
    Vscode,
    /// `.codeium/windsurf/mcp_config.json`: `mcpServers`.
    Windsurf,
    /// Codex `config.toml`: `[mcp_servers.<name>]`.
    Codex,
}

impl ConfigFormat {
    /// The name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClaudeDesktop => "claude-desktop",
            Self::ClaudeCodeProject => "claude-code-project",
            Self::ClaudeCodeSettings => "claude-code-settings",
            Self::ClaudeCodeUser => "claude-code-user",
            Self::Cursor => "cursor",
            Self::Vscode => "vscode",
            Self::Windsurf => "windsurf",
            Self::Codex => "codex",
        }
    }
}

/// A file or directory that could not be read as expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The path, relative to the scanned root.
    pub file: String,
    /// What went wrong.
    pub message: String,
}

/// What a file is, judged by its path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Source(Language),
    Config(ConfigFormat),
}

/// Scans the tree under `dir`.
pub fn scan(dir: &Path) -> Result<Scan, Error> {
    let meta = fs::metadata(dir).map_err(|source| Error::Read {
        path: dir.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::NotADirectory {
            path: dir.to_owned(),
        });
    }
    // The root itself must be listable; below it, failures are problems.
    fs::read_dir(dir).map_err(|source| Error::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut scan = Scan::default();
    let mut pending: Vec<(PathBuf, usize)> = vec![(dir.to_owned(), 0)];
    while let Some((path, depth)) = pending.pop() {
        let mut subdirs = Vec::new();
        for entry in sorted_entries(&path, dir, &mut scan) {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let child = entry.path();
            // Symbolic links are never followed: they could lead out of the tree, or in circles.
            if kind.is_dir() && depth < MAX_DEPTH {
                let name = entry.file_name();
                if !SKIP_DIRS.iter().any(|s| name == *s) {
                    subdirs.push((child, depth + 1));
                }
            } else if kind.is_file() {
                visit_file(dir, &child, &mut scan);
            }
        }
        // Reversed onto the stack so that directories are visited in name order.
        pending.extend(subdirs.into_iter().rev());
    }
    scan.findings
        .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(scan)
}

/// The entries of one directory in name order (problems recorded, not returned).
fn sorted_entries(path: &Path, root: &Path, scan: &mut Scan) -> Vec<fs::DirEntry> {
    match fs::read_dir(path) {
        Ok(rd) => {
            let mut entries: Vec<fs::DirEntry> = rd.filter_map(Result::ok).collect();
            entries.sort_by_key(fs::DirEntry::file_name);
            entries
        }
        Err(e) => {
            scan.problems.push(Problem {
                file: relative(root, path),
                message: format!("cannot list: {e}"),
            });
            Vec::new()
        }
    }
}

fn visit_file(root: &Path, path: &Path, scan: &mut Scan) {
    let rel = relative(root, path);
    let Some(kind) = classify(&rel) else {
        return;
    };
    let Ok(size) = fs::metadata(path).map(|m| m.len()) else {
        return;
    };
    match kind {
        FileKind::Source(_) if size > MAX_FILE_BYTES => {
            scan.skipped_large += 1;
            return;
        }
        FileKind::Config(_) if size > MAX_CONFIG_BYTES => {
            scan.problems.push(Problem {
                file: rel,
                message: format!("larger than {MAX_CONFIG_BYTES} bytes: not read"),
            });
            return;
        }
        _ => {}
    }
    let text = match fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => {
            scan.problems.push(Problem {
                file: rel,
                message: format!("cannot read: {e}"),
            });
            return;
        }
    };
    match kind {
        FileKind::Source(language) => {
            if let Some((line, sdk)) = sdk::detect(language, &text) {
                scan.findings.push(Finding::Implementation(Implementation {
                    file: rel,
                    line,
                    language,
                    sdk,
                }));
            }
        }
        FileKind::Config(format) => match configs::parse(format, &text, &rel) {
            Ok(found) => scan
                .findings
                .extend(found.into_iter().map(Finding::Declared)),
            Err(message) => scan.problems.push(Problem { file: rel, message }),
        },
    }
}

/// `path` relative to `root`, with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// What a file is, from its relative path: a known client configuration or a source file.
fn classify(rel: &str) -> Option<FileKind> {
    let mut parts = rel.rsplit('/');
    let name = parts.next()?;
    let parent = parts.next().unwrap_or("");
    let grandparent = parts.next().unwrap_or("");
    let config = match (grandparent, parent, name) {
        (_, _, "claude_desktop_config.json") => Some(ConfigFormat::ClaudeDesktop),
        (_, _, ".mcp.json") => Some(ConfigFormat::ClaudeCodeProject),
        (_, _, ".claude.json") => Some(ConfigFormat::ClaudeCodeUser),
        (_, ".claude", "settings.json" | "settings.local.json") => {
            Some(ConfigFormat::ClaudeCodeSettings)
        }
        (_, ".cursor", "mcp.json") => Some(ConfigFormat::Cursor),
        (_, ".vscode", "mcp.json") => Some(ConfigFormat::Vscode),
        (".codeium", "windsurf", "mcp_config.json") => Some(ConfigFormat::Windsurf),
        // Codex's file has a generic name: read wherever it is, kept only if it declares servers.
        (_, _, "config.toml") => Some(ConfigFormat::Codex),
        _ => None,
    };
    if let Some(format) = config {
        return Some(FileKind::Config(format));
    }
    let (_, ext) = name.rsplit_once('.')?;
    Language::from_extension(ext).map(FileKind::Source)
}

impl Finding {
    /// The file it was found in.
    pub fn file(&self) -> &str {
        match self {
            Self::Implementation(i) => &i.file,
            Self::Declared(d) => &d.file,
        }
    }

    fn sort_key(&self) -> (&str, usize) {
        match self {
            Self::Implementation(i) => (&i.file, i.line),
            Self::Declared(d) => (&d.file, d.line.unwrap_or(0)),
        }
    }
}

#[cfg(test)]
mod tests;
