//! Merging the list results of several servers into one, with an opaque composite cursor.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use indexmap::IndexMap;
use serde_json::Value;
use serde_json::value::RawValue;

use moat_policy::Hints;

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
    /// A tool's annotations, when the merge was asked to read them.
    pub(crate) hints: Hints,
    /// A tool's `inputSchema` as the server wrote it, when the merge was asked to read it.
    pub(crate) input_schema: Option<std::sync::Arc<str>>,
}

/// Decides per entry (server, its name there, a tool's annotations) whether the page shows it.
pub(crate) type Keep<'a> = &'a dyn Fn(usize, &str, Hints) -> bool;

/// The merged page, the entries it shows, and what was refused for colliding.
#[derive(Debug)]
pub(crate) struct Merged {
    pub(crate) result: Box<RawValue>,
    pub(crate) entries: Vec<Entry>,
    pub(crate) collisions: Vec<String>,
}

/// A JSON object's members in their order, values left as raw text: enough to read a page's
/// or an entry's top level and rename one member without building a tree of the rest (a
/// tool's input schema is most of its size).
type Members<'a> = IndexMap<String, &'a RawValue>;

/// Merges one page from each server (in server order) into one result.
/// A name that an earlier server already shows is refused, never shadowed, and reported.
/// A page or entry that is not a JSON object, or an entry without its name, is skipped.
#[cfg(test)]
pub(crate) fn merge(kind: ListKind, names: &Names, pages: Vec<(usize, Box<RawValue>)>) -> Merged {
    merge_filtered(kind, names, pages, false, None)
}

/// [`merge`], reading tools' annotations and input schemas when `read_facts` is set, and showing only the entries
/// `keep` keeps. Every entry is still returned in `entries` (so names resolve to a refusal
/// rather than "unknown"), and hidden ones still take their name, so whether a name collides
/// never depends on who asks.
pub(crate) fn merge_filtered(
    kind: ListKind,
    names: &Names,
    pages: Vec<(usize, Box<RawValue>)>,
    read_facts: bool,
    keep: Option<Keep<'_>>,
) -> Merged {
    let (field, is_uri) = kind.name_field();
    let mut items = String::from("[");
    let mut entries = Vec::new();
    let mut seen = HashSet::new();
    let mut collisions = Vec::new();
    let mut next = Cursor::default();
    let mut hints = CacheHints::default();
    for (server, page) in &pages {
        let server = *server;
        let Ok(page) = serde_json::from_str::<Members<'_>>(page.get()) else {
            continue;
        };
        if let Some(c) = member::<String>(&page, "nextCursor") {
            next.0.insert(server, c);
        }
        hints.add(&page);
        let Some(list) = page
            .get(kind.key())
            .and_then(|l| serde_json::from_str::<Vec<&RawValue>>(l.get()).ok())
        else {
            continue;
        };
        for item in list {
            let Ok(item) = serde_json::from_str::<Members<'_>>(item.get()) else {
                continue;
            };
            let Some(original) = member::<String>(&item, field) else {
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
            let read_facts = kind == ListKind::Tools && (read_facts || keep.is_some());
            let hints = match (kind, read_facts) {
                (ListKind::Tools, true) => {
                    Hints::from_annotations(member::<Value>(&item, "annotations").as_ref())
                }
                _ => Hints::default(),
            };
            if keep.is_none_or(|keep| keep(server, &original, hints)) {
                if items.len() > 1 {
                    items.push(',');
                }
                write_renamed(&mut items, &item, field, &exposed);
            }
            let param_headers = match kind {
                ListKind::Tools => item
                    .get("inputSchema")
                    // Parsed only when it may carry an annotation (the key, or an escape that
                    // could spell it).
                    .filter(|s| s.get().contains("x-mcp-header") || s.get().contains("\\u"))
                    .and_then(|s| serde_json::from_str::<Value>(s.get()).ok())
                    .map(|s| annotations(&s))
                    .unwrap_or_default(),
                _ => Vec::new(),
            };
            let input_schema = item
                .get("inputSchema")
                .filter(|_| read_facts)
                .map(|s| std::sync::Arc::from(s.get()));
            entries.push(Entry {
                exposed,
                server,
                original,
                param_headers,
                hints,
                input_schema,
            });
        }
    }
    items.push(']');
    let mut result = String::with_capacity(items.len() + 128);
    result.push('{');
    push_member(&mut result, kind.key(), &items);
    if !next.0.is_empty() {
        result.push(',');
        push_member(&mut result, "nextCursor", &json_string(&next.encode()));
    }
    hints.write(&mut result);
    result.push('}');
    Merged {
        // Assembled from valid JSON pieces; the fallback cannot be reached.
        result: RawValue::from_string(result).unwrap_or_else(|_| empty_list(kind)),
        entries,
        collisions,
    }
}

fn empty_list(kind: ListKind) -> Box<RawValue> {
    RawValue::from_string(format!("{{\"{}\":[]}}", kind.key()))
        .unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// A top-level member read as `T`, if present and of that type.
fn member<T: serde::de::DeserializeOwned>(members: &Members<'_>, key: &str) -> Option<T> {
    serde_json::from_str(members.get(key)?.get()).ok()
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

fn push_member(out: &mut String, key: &str, raw_value: &str) {
    out.push_str(&json_string(key));
    out.push(':');
    out.push_str(raw_value);
}

/// Writes `item` with member `field` set to `value`, every other member as it came.
fn write_renamed(out: &mut String, item: &Members<'_>, field: &str, value: &str) {
    out.push('{');
    for (i, (key, raw)) in item.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if key == field {
            push_member(out, key, &json_string(value));
        } else {
            push_member(out, key, raw.get());
        }
    }
    out.push('}');
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
    fn add(&mut self, page: &Members<'_>) {
        self.result_type |= page.contains_key("resultType");
        if let Some(ttl) = member::<u64>(page, "ttlMs") {
            self.ttl_ms = Some(self.ttl_ms.map_or(ttl, |t| t.min(ttl)));
        }
        match member::<String>(page, "cacheScope").as_deref() {
            Some("private") => self.scope = Some("private"),
            Some("public") if self.scope.is_none() => self.scope = Some("public"),
            _ => {}
        }
    }

    fn write(self, out: &mut String) {
        if self.result_type {
            out.push(',');
            push_member(out, "resultType", "\"complete\"");
        }
        if let Some(ttl) = self.ttl_ms {
            out.push(',');
            push_member(out, "ttlMs", &ttl.to_string());
        }
        if let Some(scope) = self.scope {
            out.push(',');
            push_member(out, "cacheScope", &json_string(scope));
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

    fn merge(kind: ListKind, names: &Names, pages: Vec<(usize, Value)>) -> (Merged, Value) {
        let pages = pages
            .into_iter()
            .map(|(i, p)| (i, serde_json::value::to_raw_value(&p).unwrap()))
            .collect();
        let merged = super::merge(kind, names, pages);
        let result = serde_json::from_str(merged.result.get()).unwrap();
        (merged, result)
    }

    #[test]
    fn merges_with_prefixes_and_composite_cursor() {
        let n = names("upstreams:\n  a:\n    builtin: fixture\n  b:\n    builtin: fixture\n");
        let (m, result) = merge(
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
        let names: Vec<_> = result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].clone())
            .collect();
        assert_eq!(
            names,
            vec![json!("a__echo"), json!("b__echo"), json!("b__add")]
        );
        assert_eq!(result["tools"][0]["inputSchema"], json!({}));
        let cursor = Cursor::decode(result["nextCursor"].as_str().unwrap()).unwrap();
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
        let (m, result) = merge(
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
            result,
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
        let (_, result) = merge(
            ListKind::Tools,
            &n,
            vec![(0, page(500, "public")), (1, page(100, "private"))],
        );
        assert_eq!(result["ttlMs"], json!(100));
        assert_eq!(result["cacheScope"], json!("private"));
        assert_eq!(result["resultType"], json!("complete"));
        let (_, legacy) = merge(ListKind::Tools, &n, vec![(0, json!({"tools": []}))]);
        assert_eq!(legacy, json!({"tools": []}));
    }

    #[test]
    fn entries_keep_their_members_in_order_and_annotations_are_found() {
        let n = names("upstreams:\n  a:\n    builtin: fixture\n  b:\n    builtin: fixture\n");
        // Written as text: json! would sort the members.
        let raw = RawValue::from_string(
            r#"{"tools":[{"title":"T","name":"geo","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}},"z":[1,{"a":"b"}]},"not an object",{"nameless":true}]}"#.to_owned(),
        )
        .unwrap();
        let m = super::merge(ListKind::Tools, &n, vec![(0, raw)]);
        assert_eq!(
            m.result.get(),
            r#"{"tools":[{"title":"T","name":"a__geo","inputSchema":{"type":"object","properties":{"region":{"type":"string","x-mcp-header":"Region"}}},"z":[1,{"a":"b"}]}]}"#
        );
        assert_eq!(m.entries.len(), 1);
        assert_eq!(m.entries[0].param_headers.len(), 1, "{:?}", m.entries[0]);
        let escaped = RawValue::from_string(
            r#"{"tools":[{"name":"n\u00e9","inputSchema":{"properties":{"r":{"type":"string","x-mcp\u002dheader":"R"}}}}]}"#.to_owned(),
        )
        .unwrap();
        let m = super::merge(ListKind::Tools, &n, vec![(1, escaped)]);
        assert_eq!(m.entries[0].original, "n\u{e9}");
        assert_eq!(m.entries[0].exposed, "b__n\u{e9}");
        assert_eq!(
            m.entries[0].param_headers.len(),
            1,
            "an escaped key is still found"
        );
    }

    #[test]
    fn bad_cursors_do_not_decode() {
        assert_eq!(Cursor::decode("!!"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("[1]")), None);
        let c = Cursor(BTreeMap::from([(3, "x".into())]));
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }
}
