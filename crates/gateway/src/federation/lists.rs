//! Merging the list results of several servers into one, with an opaque composite cursor.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::names::Names;
use super::param_headers::{ParamHeader, annotations};

/// The four list methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ListKind {
    Tools,
    Prompts,
    Resources,
    ResourceTemplates,
}

impl ListKind {
    pub(crate) fn from_method(method: &str) -> Option<Self> {
        match method {
            "tools/list" => Some(Self::Tools),
            "prompts/list" => Some(Self::Prompts),
            "resources/list" => Some(Self::Resources),
            "resources/templates/list" => Some(Self::ResourceTemplates),
            _ => None,
        }
    }

    /// The list method.
    pub(crate) fn method(self) -> &'static str {
        match self {
            Self::Tools => "tools/list",
            Self::Prompts => "prompts/list",
            Self::Resources => "resources/list",
            Self::ResourceTemplates => "resources/templates/list",
        }
    }

    /// The member of the result that holds the entries.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Prompts => "prompts",
            Self::Resources => "resources",
            Self::ResourceTemplates => "resourceTemplates",
        }
    }

    /// The server capability that announces this list.
    pub(crate) fn capability(self) -> &'static str {
        match self {
            Self::Tools => "tools",
            Self::Prompts => "prompts",
            Self::Resources | Self::ResourceTemplates => "resources",
        }
    }

    /// The member of an entry that names it, and whether it is a URI.
    fn name_field(self) -> (&'static str, bool) {
        match self {
            Self::Tools | Self::Prompts => ("name", false),
            Self::Resources => ("uri", true),
            Self::ResourceTemplates => ("uriTemplate", true),
        }
    }
}

/// Where each server's listing continues: server index → that server's own cursor.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Cursor(pub(crate) BTreeMap<usize, String>);

impl Cursor {
    pub(crate) fn encode(&self) -> String {
        let json = serde_json::to_vec(&self.0).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    pub(crate) fn decode(s: &str) -> Option<Self> {
        let bytes = URL_SAFE_NO_PAD.decode(s).ok()?;
        serde_json::from_slice(&bytes).ok().map(Self)
    }
}

/// One entry of a merged list: the name shown, its server, and its name there.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) exposed: String,
    pub(crate) server: usize,
    pub(crate) original: String,
    /// A tool's `x-mcp-header` arguments (empty for other kinds).
    pub(crate) param_headers: Vec<ParamHeader>,
}

/// The merged page, the entries it shows, and what was refused for colliding.
#[derive(Debug)]
pub(crate) struct Merged {
    pub(crate) result: Value,
    pub(crate) entries: Vec<Entry>,
    pub(crate) collisions: Vec<String>,
}

/// Merges one page from each server (in server order) into one result.
/// A name that an earlier server already shows is refused, never shadowed, and reported.
pub(crate) fn merge(kind: ListKind, names: &Names, pages: Vec<(usize, Value)>) -> Merged {
    let (field, is_uri) = kind.name_field();
    let mut items = Vec::new();
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    let mut collisions = Vec::new();
    let mut next = Cursor::default();
    let mut hints = CacheHints::default();
    for (server, mut page) in pages {
        if let Some(c) = page.get("nextCursor").and_then(Value::as_str) {
            next.0.insert(server, c.to_owned());
        }
        hints.add(&page);
        let Some(Value::Array(list)) = page.get_mut(kind.key()).map(Value::take) else {
            continue;
        };
        for mut item in list {
            let Some(original) = item.get(field).and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            let exposed = if is_uri {
                names.expose_uri(server, &original)
            } else {
                names.expose(server, &original)
            };
            if !seen.insert(exposed.clone()) {
                collisions.push(format!(
                    "{} {exposed:?} of server {:?} collides with another server's; it is hidden until renamed or prefixed",
                    kind.key(),
                    names.server(server)
                ));
                continue;
            }
            if let Some(obj) = item.as_object_mut() {
                obj.insert(field.to_owned(), Value::String(exposed.clone()));
            }
            let param_headers = match kind {
                ListKind::Tools => item.get("inputSchema").map(annotations).unwrap_or_default(),
                _ => Vec::new(),
            };
            items.push(item);
            entries.push(Entry {
                exposed,
                server,
                original,
                param_headers,
            });
        }
    }
    let mut result = Map::new();
    result.insert(kind.key().to_owned(), Value::Array(items));
    if !next.0.is_empty() {
        result.insert("nextCursor".to_owned(), Value::String(next.encode()));
    }
    hints.apply(&mut result);
    Merged {
        result: Value::Object(result),
        entries,
        collisions,
    }
}

/// The 2026-07-28 result members of the pages, combined so the merged page claims no more than
/// every server allows: the shortest `ttlMs`, and `private` if any page is private.
#[derive(Default)]
struct CacheHints {
    result_type: bool,
    ttl_ms: Option<u64>,
    scope: Option<&'static str>,
}

impl CacheHints {
    fn add(&mut self, page: &Value) {
        self.result_type |= page.get("resultType").is_some();
        if let Some(ttl) = page.get("ttlMs").and_then(Value::as_u64) {
            self.ttl_ms = Some(self.ttl_ms.map_or(ttl, |t| t.min(ttl)));
        }
        match page.get("cacheScope").and_then(Value::as_str) {
            Some("private") => self.scope = Some("private"),
            Some("public") if self.scope.is_none() => self.scope = Some("public"),
            _ => {}
        }
    }

    fn apply(self, result: &mut Map<String, Value>) {
        if self.result_type {
            result.insert("resultType".into(), Value::from("complete"));
        }
        if let Some(ttl) = self.ttl_ms {
            result.insert("ttlMs".into(), Value::from(ttl));
        }
        if let Some(scope) = self.scope {
            result.insert("cacheScope".into(), Value::from(scope));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_config::Config;
    use serde_json::json;

    fn names(yaml: &str) -> Names {
        Names::new(&Config::from_yaml(yaml, "t").unwrap())
    }

    #[test]
    fn merges_with_prefixes_and_composite_cursor() {
        let n = names("upstreams:\n  a:\n    builtin: fixture\n  b:\n    builtin: fixture\n");
        let m = merge(
            ListKind::Tools,
            &n,
            vec![
                (
                    0,
                    json!({"tools": [{"name": "echo", "inputSchema": {}}], "nextCursor": "p2"}),
                ),
                (1, json!({"tools": [{"name": "echo"}, {"name": "add"}]})),
            ],
        );
        let names: Vec<_> = m.result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].clone())
            .collect();
        assert_eq!(
            names,
            vec![json!("a__echo"), json!("b__echo"), json!("b__add")]
        );
        assert_eq!(m.result["tools"][0]["inputSchema"], json!({}));
        let cursor = Cursor::decode(m.result["nextCursor"].as_str().unwrap()).unwrap();
        assert_eq!(cursor.0, BTreeMap::from([(0, "p2".to_owned())]));
        assert_eq!(
            (m.entries[2].exposed.as_str(), m.entries[2].server),
            ("b__add", 1)
        );
        assert_eq!(m.entries[2].original, "add");
        assert!(m.collisions.is_empty());
    }

    #[test]
    fn collisions_are_refused_and_reported() {
        let n = names(
            "federation: {prefix: never}\nupstreams:\n  a:\n    builtin: fixture\n  b:\n    builtin: fixture\n",
        );
        let m = merge(
            ListKind::Resources,
            &n,
            vec![
                (0, json!({"resources": [{"uri": "x://1"}]})),
                (
                    1,
                    json!({"resources": [{"uri": "x://1"}, {"uri": "x://2"}]}),
                ),
            ],
        );
        assert_eq!(
            m.result,
            json!({"resources": [{"uri": "x://1"}, {"uri": "x://2"}]})
        );
        assert_eq!(m.entries[0].server, 0);
        assert_eq!(m.collisions.len(), 1);
        assert!(m.collisions[0].contains("\"b\""));
    }

    #[test]
    fn caching_hints_take_the_strictest_page() {
        let n = names("upstreams:\n  a:\n    builtin: fixture\n  b:\n    builtin: fixture\n");
        let page = |ttl: u64, scope: &str| json!({"resultType": "complete", "tools": [], "ttlMs": ttl, "cacheScope": scope});
        let m = merge(
            ListKind::Tools,
            &n,
            vec![(0, page(500, "public")), (1, page(100, "private"))],
        );
        assert_eq!(m.result["ttlMs"], json!(100));
        assert_eq!(m.result["cacheScope"], json!("private"));
        assert_eq!(m.result["resultType"], json!("complete"));
        let legacy = merge(ListKind::Tools, &n, vec![(0, json!({"tools": []}))]);
        assert_eq!(legacy.result, json!({"tools": []}));
    }

    #[test]
    fn bad_cursors_do_not_decode() {
        assert_eq!(Cursor::decode("!!"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("[1]")), None);
        let c = Cursor(BTreeMap::from([(3, "x".into())]));
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }
}
