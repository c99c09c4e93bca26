//! The real MCP servers from the registries, as `tests/servers/install.sh` installs them.
//! A test that needs them fails (never skips) when they are missing.

use std::path::PathBuf;

use super::repo_root;

/// Paths of the installed test servers.
pub(crate) struct Installed {
    /// The pinned Node 22 the npm servers run on.
    pub(crate) node: PathBuf,
    /// `@modelcontextprotocol/server-everything`'s entry point (argument: stdio|streamableHttp).
    pub(crate) everything: PathBuf,
    /// `@modelcontextprotocol/server-filesystem`'s entry point (arguments: allowed directories).
    pub(crate) filesystem: PathBuf,
    /// PyPI `mcp-server-time`'s console script.
    pub(crate) time: PathBuf,
    /// PyPI `mcp-server-fetch`'s console script.
    pub(crate) fetch: PathBuf,
    /// The venv's Python, which also has the `mcp` SDK.
    pub(crate) python: PathBuf,
}

/// The installed servers; panics with what to run when any is missing.
pub(crate) fn installed() -> Installed {
    let dir = repo_root().join("tests/servers");
    let npm = dir.join("node_modules");
    let found = Installed {
        node: npm.join("node/bin/node"),
        everything: npm.join("@modelcontextprotocol/server-everything/dist/index.js"),
        filesystem: npm.join("@modelcontextprotocol/server-filesystem/dist/index.js"),
        time: dir.join(".venv/bin/mcp-server-time"),
        fetch: dir.join(".venv/bin/mcp-server-fetch"),
        python: dir.join(".venv/bin/python"),
    };
    let missing: Vec<String> = [
        &found.node,
        &found.everything,
        &found.filesystem,
        &found.time,
        &found.fetch,
        &found.python,
    ]
    .into_iter()
    .filter(|p| !p.exists())
    .map(|p| p.display().to_string())
    .collect();
    assert!(
        missing.is_empty(),
        "the test servers are not installed: run tests/servers/install.sh (missing: {})",
        missing.join(", ")
    );
    found
}

/// A path as a `&str` for command lines and YAML.
pub(crate) fn s(path: &std::path::Path) -> &str {
    path.to_str().expect("UTF-8 path")
}
