//! Finding URLs in arguments: by schema format, by shape, and at any depth.

use serde_json::json;

use super::*;

#[test]
fn urls_are_found_by_schema_and_by_shape() {
    let schema = json!({
        "type": "object",
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "ref": {"type": "string", "format": "uri-reference"},
            "link": {"anyOf": [{"type": "string", "format": "iri"}, {"type": "null"}]},
            "pages": {"type": "array", "items": {"type": "string", "format": "url"}}
        }
    });
    let args = json!({
        "url": "127.0.0.1/admin",
        "ref": "docs/readme.md",
        "link": "//internal/x",
        "pages": ["a", "b"],
        "note": "see http://127.0.0.1/ later",
        "word": "hello",
        "mail": "mailto:a@example.com",
        "drive": "C:\\Windows",
        "nested": {"a/b~c": [{"deep": " \tfile:///etc/passwd"}]},
        "gopher": "gopher://127.0.0.1:70/_",
        "bare": "http:127.0.0.1",
        "up": "HTTPS://example.com",
        "n": 7
    });
    let mut found = urls_in(&args, Some(&schema));
    found.sort();
    let want = [
        ("/bare", "http:127.0.0.1"),
        ("/gopher", "gopher://127.0.0.1:70/_"),
        ("/link", "//internal/x"),
        ("/nested/a~1b~0c/0/deep", " \tfile:///etc/passwd"),
        ("/pages/0", "a"),
        ("/pages/1", "b"),
        ("/up", "HTTPS://example.com"),
        ("/url", "127.0.0.1/admin"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(p, u)| ((*p).to_owned(), (*u).to_owned()))
        .collect();
    assert_eq!(found, want);
    // Without a schema, only the shape counts; a bare string is a value at pointer "".
    assert_eq!(
        urls_in(&json!("https://x.example/"), None),
        vec![(String::new(), "https://x.example/".to_owned())]
    );
    assert!(urls_in(&json!({"ref": "//internal/x"}), None).is_empty());
}

#[test]
fn deep_arguments_do_not_overflow_the_stack() {
    let mut value = json!("http://10.0.0.1/");
    for _ in 0..10_000 {
        value = serde_json::Value::Array(vec![value]);
    }
    let found = urls_in(&value, None);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "http://10.0.0.1/");
    assert_eq!(found[0].0.len(), 2 * 10_000);
    // serde_json drops nested values recursively; take it apart instead.
    while let serde_json::Value::Array(mut items) = value {
        value = items.pop().unwrap_or_default();
    }
}
