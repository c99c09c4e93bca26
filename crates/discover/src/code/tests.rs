use super::*;

#[test]
fn paths_are_classified_by_name_and_parent() {
    let config = |rel| match classify(rel) {
        Some(FileKind::Config(f)) => Some(f),
        _ => None,
    };
    assert_eq!(
        config("a/claude_desktop_config.json"),
        Some(ConfigFormat::ClaudeDesktop)
    );
    assert_eq!(config(".mcp.json"), Some(ConfigFormat::ClaudeCodeProject));
    assert_eq!(config("x/.cursor/mcp.json"), Some(ConfigFormat::Cursor));
    assert_eq!(config(".vscode/mcp.json"), Some(ConfigFormat::Vscode));
    assert_eq!(config("mcp.json"), None);
    assert_eq!(
        config("home/.codeium/windsurf/mcp_config.json"),
        Some(ConfigFormat::Windsurf)
    );
    assert_eq!(config("windsurf/mcp_config.json"), None);
    assert_eq!(
        config(".claude/settings.local.json"),
        Some(ConfigFormat::ClaudeCodeSettings)
    );
    assert_eq!(config("settings.json"), None);
    assert_eq!(
        classify("src/main.rs"),
        Some(FileKind::Source(Language::Rust))
    );
    assert_eq!(classify("README.md"), None);
    assert_eq!(classify("Makefile"), None);
}

/// A source text, and the line and SDK it should be found by (none for client code).
type SdkCase = (Language, &'static str, Option<(usize, Sdk)>);

#[test]
fn sdk_rules_find_servers_not_clients() {
    let cases: &[SdkCase] = &[
        (
            Language::TypeScript,
            "// uses @modelcontextprotocol/sdk/server\nimport { McpServer } from \"@modelcontextprotocol/sdk/server/mcp.js\";",
            Some((2, Sdk::TypeScript)),
        ),
        (
            Language::TypeScript,
            "import { Client } from \"@modelcontextprotocol/sdk/client/index.js\";",
            None,
        ),
        (
            Language::JavaScript,
            "const { McpServer } = require('@modelcontextprotocol/server');",
            Some((1, Sdk::TypeScript)),
        ),
        (Language::Python, "from mcp import ClientSession\n", None),
        (
            Language::Python,
            "import os\nfrom mcp.server.fastmcp import FastMCP\n",
            Some((2, Sdk::Python)),
        ),
        (Language::Python, "from fastmcp import Client\n", None),
        (
            Language::Python,
            "from fastmcp import Context, FastMCP\n",
            Some((1, Sdk::FastMcp)),
        ),
        (
            Language::Rust,
            "use rmcp::{ServiceExt, ClientHandler};\nlet c = ().serve(t).await?;",
            None,
        ),
        (
            Language::Rust,
            "use rmcp::{ServerHandler, tool_router};\n",
            Some((1, Sdk::Rmcp)),
        ),
        (Language::Rust, "trait ServerHandler {}", None),
        (
            Language::Rust,
            "// about rmcp\nconst RULE: &str = \"ServerHandler\";\nlet s = \"use rmcp::ServerHandler;\";",
            None,
        ),
        (
            Language::Python,
            "print('from mcp.server import Server')\nprint(\"from mcp.server import Server\")",
            None,
        ),
        (
            Language::TypeScript,
            "const p = 'x'; import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';",
            Some((1, Sdk::TypeScript)),
        ),
        (
            Language::Go,
            "import \"github.com/modelcontextprotocol/go-sdk/mcp\"\nc := mcp.NewClient(nil, nil)",
            None,
        ),
        (
            Language::Go,
            "import \"github.com/modelcontextprotocol/go-sdk/mcp\"\ns := mcp.NewServer(nil, nil)",
            Some((2, Sdk::GoSdk)),
        ),
        (
            Language::Kotlin,
            "import io.modelcontextprotocol.kotlin.sdk.server.Server",
            Some((1, Sdk::Kotlin)),
        ),
        (
            Language::CSharp,
            "builder.Services.AddMcpServer().WithStdioServerTransport();",
            Some((1, Sdk::CSharp)),
        ),
        (Language::CSharp, "using ModelContextProtocol.Client;", None),
    ];
    for (language, text, expected) in cases {
        assert_eq!(sdk::detect(*language, text), *expected, "{text}");
    }
}

#[test]
fn the_root_must_be_a_directory() {
    let missing = std::env::temp_dir().join("moat-discover-no-such-dir");
    assert!(matches!(scan(&missing), Err(Error::Read { .. })));
    let file = std::env::temp_dir().join(format!("moat-discover-file-{}", std::process::id()));
    std::fs::write(&file, "x").unwrap();
    assert!(matches!(scan(&file), Err(Error::NotADirectory { .. })));
    let _ = std::fs::remove_file(&file);
}

#[test]
fn large_sources_are_counted_and_large_configs_are_problems() {
    let root = std::env::temp_dir().join(format!("moat-discover-large-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("src")).unwrap();
    let big = format!(
        "from mcp.server.fastmcp import FastMCP\n{}",
        "#\n".repeat(MAX_FILE_BYTES as usize / 2)
    );
    std::fs::write(root.join("src/big.py"), big).unwrap();
    std::fs::write(root.join("src/small.py"), "from mcp.server import Server\n").unwrap();
    let file = std::fs::File::create(root.join(".mcp.json")).unwrap();
    file.set_len(MAX_CONFIG_BYTES + 1).unwrap();
    let found = scan(&root).unwrap();
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(found.skipped_large, 1);
    assert_eq!(found.findings.len(), 1);
    assert_eq!(found.findings[0].file(), "src/small.py");
    assert_eq!(found.problems.len(), 1);
    assert_eq!(found.problems[0].file, ".mcp.json");
}
