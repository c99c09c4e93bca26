//! MCP client configuration files: the servers each declares.
//!
//! The JSON formats share one entry shape (`command`/`args`/`env`, or `url`/`headers` with an
//! optional `type`); Windsurf spells the URL `serverUrl`; Codex's TOML tables are turned into
//! the same shape first. Only names of environment variables and headers are kept, never their
//! values, and URLs are redacted.

use serde_json::{Map, Value};

use super::{ConfigFormat, DeclaredServer, DeclaredTransport};

/// The servers `text` (a file of `format` at `rel`) declares, or why it cannot be read.
pub(crate) fn parse(
    format: ConfigFormat,
    text: &str,
    rel: &str,
) -> Result<Vec<DeclaredServer>, String> {
    let mut found = Vec::new();
    let located = |name: &str, project: Option<&str>, entry: &Value| {
        let transport = transport(entry).map_err(|m| format!("server {name:?}: {m}"))?;
        Ok::<_, String>(DeclaredServer {
            name: name.to_owned(),
            file: rel.to_owned(),
            line: line_of(format, text, project, name),
            format,
            project: project.map(str::to_owned),
            transport,
            inputs: if format == ConfigFormat::Vscode {
                input_refs(entry)
            } else {
                Vec::new()
            },
        })
    };
    let doc = match format {
        ConfigFormat::Codex => match codex_document(text) {
            Ok(Some(doc)) => doc,
            Ok(None) => return Ok(found),
            // A `config.toml` of some other program is none of our business, unless it is
            // where Codex keeps its own.
            Err(e) if rel.ends_with(".codex/config.toml") || rel == "config.toml" => {
                return Err(format!("not valid TOML: {e}"));
            }
            Err(_) => return Ok(found),
        },
        _ => serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?,
    };
    let key = match format {
        ConfigFormat::Vscode => "servers",
        ConfigFormat::Codex => "mcp_servers",
        _ => "mcpServers",
    };
    for (name, entry) in servers(&doc, key)? {
        found.push(located(name, None, entry)?);
    }
    if format == ConfigFormat::ClaudeCodeUser
        && let Some(projects) = doc.get("projects").and_then(Value::as_object)
    {
        for (project, settings) in projects {
            for (name, entry) in servers(settings, "mcpServers")? {
                found.push(located(name, Some(project), entry)?);
            }
        }
    }
    Ok(found)
}

/// Codex's TOML as JSON, if it has an `mcp_servers` table.
fn codex_document(text: &str) -> Result<Option<Value>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    if !table.contains_key("mcp_servers") {
        return Ok(None);
    }
    serde_json::to_value(table)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// The entries under `key` in `doc` (none when absent).
fn servers<'a>(doc: &'a Value, key: &str) -> Result<Vec<(&'a str, &'a Value)>, String> {
    match doc.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => Ok(map.iter().map(|(k, v)| (k.as_str(), v)).collect()),
        Some(_) => Err(format!("{key:?} is not an object")),
    }
}

/// One entry's transport.
fn transport(entry: &Value) -> Result<DeclaredTransport, String> {
    let obj = entry.as_object().ok_or("not an object")?;
    let kind = obj.get("type").and_then(Value::as_str);
    if let Some(command) = obj.get("command").and_then(Value::as_str) {
        let args = match obj.get("args") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(text_of).collect(),
            Some(_) => return Err("\"args\" is not a list".to_owned()),
        };
        return Ok(DeclaredTransport::Stdio {
            command: command.to_owned(),
            args,
            env: names(obj, &["env"]),
        });
    }
    let url = obj
        .get("url")
        .or_else(|| obj.get("serverUrl"))
        .and_then(Value::as_str)
        .ok_or("neither \"command\" nor \"url\"")?;
    let url = redact_url(url);
    // Codex: `http_headers` (values), `env_http_headers` (header -> variable), a bearer token
    // from a variable.
    let mut headers = names(obj, &["headers", "http_headers", "env_http_headers"]);
    if obj.contains_key("bearer_token_env_var") && !headers.iter().any(|h| h == "Authorization") {
        headers.push("Authorization".to_owned());
    }
    Ok(match kind {
        Some("sse") => DeclaredTransport::Sse { url, headers },
        _ => DeclaredTransport::Http { url, headers },
    })
}

/// A JSON value as text: strings as they are, anything else as JSON.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The keys of the objects under `fields`, sorted, without duplicates.
fn names(obj: &Map<String, Value>, fields: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = fields
        .iter()
        .filter_map(|f| obj.get(*f).and_then(Value::as_object))
        .flat_map(|m| m.keys().cloned())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A URL without user information and with query values replaced: both may carry secrets.
pub(crate) fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        // Not a URL a client could use; shown cut at the first character that may start a
        // secret.
        let end = raw.find(['?', '@', '#']).unwrap_or(raw.len());
        return raw[..end].to_owned();
    };
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_fragment(None);
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    if keys.is_empty() {
        url.set_query(None);
    } else {
        let query: Vec<String> = keys.iter().map(|k| format!("{k}=REDACTED")).collect();
        url.set_query(Some(&query.join("&")));
    }
    url.to_string()
}

/// The `${input:ID}` references in a VS Code entry, in order of first use.
fn input_refs(entry: &Value) -> Vec<String> {
    let text = entry.to_string();
    let mut out: Vec<String> = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("${input:") {
        rest = &rest[at + "${input:".len()..];
        let Some(end) = rest.find('}') else { break };
        let id = rest[..end].to_owned();
        if !out.contains(&id) {
            out.push(id);
        }
        rest = &rest[end..];
    }
    out
}

/// The line (1-based) where `name` is declared: its key (after its project's key, if any).
fn line_of(format: ConfigFormat, text: &str, project: Option<&str>, name: &str) -> Option<usize> {
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let start = match project {
        Some(p) => find_key(text, 0, &quoted(p))?,
        None => 0,
    };
    let at = match format {
        ConfigFormat::Codex => text
            .match_indices("[mcp_servers.")
            .map(|(i, _)| i)
            .find(|&i| {
                let line = text[i..].lines().next().unwrap_or("");
                let inner = line
                    .trim_start_matches("[mcp_servers.")
                    .trim_end()
                    .trim_end_matches(']');
                inner == name || inner == quoted(name)
            })?,
        _ => find_key(text, start, &quoted(name))?,
    };
    Some(text[..at].matches('\n').count() + 1)
}

/// The offset of `key` (a JSON string) used as an object key at or after `from`.
fn find_key(text: &str, from: usize, key: &str) -> Option<usize> {
    text[from..]
        .match_indices(key)
        .map(|(i, _)| from + i)
        .find(|&i| text[i + key.len()..].trim_start().starts_with(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_query_values() {
        assert_eq!(
            redact_url("https://user:pw@api.example.com/mcp?key=s3cret&x=1#frag"),
            "https://api.example.com/mcp?key=REDACTED&x=REDACTED"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/mcp"),
            "http://127.0.0.1:8080/mcp"
        );
        assert_eq!(redact_url("not a url?token=abc"), "not a url");
    }

    #[test]
    fn vscode_input_references_are_listed_once() {
        let entry = serde_json::json!({
            "command": "x",
            "env": {"A": "${input:api-key}", "B": "${input:api-key}", "C": "${input:region}"}
        });
        assert_eq!(input_refs(&entry), ["api-key", "region"]);
    }

    #[test]
    fn an_entry_without_command_or_url_is_a_problem() {
        let text = r#"{"mcpServers": {"broken": {"args": []}}}"#;
        let err = parse(ConfigFormat::Cursor, text, ".cursor/mcp.json").unwrap_err();
        assert!(err.contains("broken"), "{err}");
    }

    #[test]
    fn another_programs_config_toml_is_ignored() {
        assert_eq!(
            parse(ConfigFormat::Codex, "[package]\nname = 1", "a/config.toml"),
            Ok(vec![])
        );
        assert_eq!(
            parse(ConfigFormat::Codex, "not = = toml", "a/config.toml"),
            Ok(vec![])
        );
        assert!(parse(ConfigFormat::Codex, "not = = toml", ".codex/config.toml").is_err());
    }

    #[test]
    fn codex_servers_and_their_lines() {
        let text = "model = \"o3\"\n\n[mcp_servers.docs]\ncommand = \"docs-mcp\"\nargs = [\"--port\", \"1\"]\nenv = { TOKEN = \"s3cret\" }\n\n[mcp_servers.remote]\nurl = \"https://mcp.example.com/mcp\"\nbearer_token_env_var = \"REMOTE_TOKEN\"\n";
        let found = parse(ConfigFormat::Codex, text, ".codex/config.toml").unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].name, "docs");
        assert_eq!(found[0].line, Some(3));
        assert_eq!(
            found[0].transport,
            DeclaredTransport::Stdio {
                command: "docs-mcp".into(),
                args: vec!["--port".into(), "1".into()],
                env: vec!["TOKEN".into()],
            }
        );
        assert_eq!(found[1].line, Some(8));
        assert_eq!(
            found[1].transport,
            DeclaredTransport::Http {
                url: "https://mcp.example.com/mcp".into(),
                headers: vec!["Authorization".into()],
            }
        );
    }
}
