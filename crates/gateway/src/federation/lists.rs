//! Merging the list results of several servers into one, with an opaque composite cursor.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use super::names::Names;

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
    for (server, mut page) in pages {
        if let Some(c) = page.get("nextCursor").and_then(Value::as_str) {
            next.0.insert(server, c.to_owned());
        }
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
            items.push(item);
            entries.push(Entry {
                exposed,
                server,
                original,
            });
        }
    }
    let mut result = Map::new();
    result.insert(kind.key().to_owned(), Value::Array(items));
    if !next.0.is_empty() {
        result.insert("nextCursor".to_owned(), Value::String(next.encode()));
    }
    Merged {
        result: Value::Object(result),
        entries,
        collisions,
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
            m.entries[2],
            Entry {
                exposed: "b__add".into(),
                server: 1,
                original: "add".into()
            }
        );
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
    fn bad_cursors_do_not_decode() {
        assert_eq!(Cursor::decode("!!"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("[1]")), None);
        let c = Cursor(BTreeMap::from([(3, "x".into())]));
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }
}
