//! Federation of two built-in fixtures: how their tools are named and routed under each prefix
//! mode, through the real binary.

mod common;

use common::Moat;
use common::http::{RawSession, tool_text};
use serde_json::json;

const V: &str = "2025-11-25";

fn two_fixtures(extra: &[&str]) -> Moat {
    let mut args = vec![
        "--upstream",
        "a=builtin:fixture",
        "--upstream",
        "b=builtin:fixture",
    ];
    args.extend_from_slice(extra);
    Moat::serve(&args)
}

/// What one fixture alone lists, unprefixed.
async fn single_fixture_tools() -> Vec<String> {
    let moat = Moat::serve(&["--upstream", "solo=builtin:fixture", "--prefix", "never"]);
    RawSession::open(&moat.url, V).await.tool_names().await
}

#[tokio::test]
async fn default_prefix_is_always_and_routes_by_prefix() {
    let moat = two_fixtures(&[]);
    let session = RawSession::open(&moat.url, V).await;
    let tools = session.tool_names().await;
    let single = single_fixture_tools().await;
    assert!(single.contains(&"echo".to_owned()), "{single:?}");
    for server in ["a", "b"] {
        for tool in &single {
            let name = format!("{server}__{tool}");
            assert!(tools.contains(&name), "{name} missing from {tools:?}");
        }
    }
    assert_eq!(tools.len(), 2 * single.len(), "{tools:?}");

    let answer = session.call_tool("b__echo", json!({"text": "via b"})).await;
    assert_eq!(tool_text(&answer), "via b", "{answer}");
    let answer = session.call_tool("a__echo", json!({"text": "via a"})).await;
    assert_eq!(tool_text(&answer), "via a", "{answer}");
}

#[tokio::test]
async fn prefix_always_applies_to_a_single_server_too() {
    let moat = Moat::serve(&["--upstream", "only=builtin:fixture", "--prefix", "always"]);
    let session = RawSession::open(&moat.url, V).await;
    let tools = session.tool_names().await;
    assert!(!tools.is_empty());
    assert!(tools.iter().all(|t| t.starts_with("only__")), "{tools:?}");
    let answer = session.call_tool("only__echo", json!({"text": "x"})).await;
    assert_eq!(tool_text(&answer), "x", "{answer}");
}

#[tokio::test]
async fn conditional_prefixes_only_when_federating() {
    let moat = Moat::serve(&[
        "--upstream",
        "only=builtin:fixture",
        "--prefix",
        "conditional",
    ]);
    let single = RawSession::open(&moat.url, V).await.tool_names().await;
    assert!(single.contains(&"echo".to_owned()), "{single:?}");
    let moat = two_fixtures(&["--prefix", "conditional"]);
    let both = RawSession::open(&moat.url, V).await.tool_names().await;
    assert!(both.contains(&"a__echo".to_owned()), "{both:?}");
    assert!(both.contains(&"b__echo".to_owned()), "{both:?}");
}

/// With `never`, the second server's tools collide with the first's: moat shows each name once
/// (the first server's), logs the collision, and routes the name to the server it showed.
#[tokio::test]
async fn prefix_never_hides_collisions_instead_of_shadowing() {
    let moat = two_fixtures(&["--prefix", "never"]);
    let session = RawSession::open(&moat.url, V).await;
    let tools = session.tool_names().await;
    let mut unique = tools.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), tools.len(), "a name appears twice: {tools:?}");
    assert_eq!(tools, single_fixture_tools().await);
    assert!(tools.iter().all(|t| !t.contains("__")), "{tools:?}");

    let log = moat.wait_for_log("collides");
    assert!(
        log.lines()
            .any(|l| l.contains("collides") && l.contains("\"b\"")),
        "the collision names server b:\n{log}"
    );
    let answer = session.call_tool("echo", json!({"text": "once"})).await;
    assert_eq!(tool_text(&answer), "once", "{answer}");
    let answer = session.call_tool("b__echo", json!({"text": "x"})).await;
    assert_eq!(answer["error"]["code"], -32602, "{answer}");
}

/// Resource URIs of prefixed servers are shown as `<server>+<uri>` and read back from the right
/// server; prompts are prefixed like tools; list pages of both servers come in one answer.
#[tokio::test]
async fn resource_uris_and_prompts_are_namespaced_reversibly() {
    let moat = two_fixtures(&[]);
    let session = RawSession::open(&moat.url, V).await;
    let list = session.call("resources/list", json!({})).await;
    let uris: Vec<&str> = list["result"]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert!(
        uris.contains(&"a+test://static-text") && uris.contains(&"b+test://static-text"),
        "{uris:?}"
    );

    let read = session
        .call("resources/read", json!({"uri": "b+test://static-text"}))
        .await;
    let contents = &read["result"]["contents"][0];
    assert!(
        contents["text"].as_str().is_some_and(|t| !t.is_empty()),
        "{read}"
    );

    let templates = session.call("resources/templates/list", json!({})).await;
    let shown: Vec<&str> = templates["result"]["resourceTemplates"]
        .as_array()
        .expect("templates")
        .iter()
        .filter_map(|t| t["uriTemplate"].as_str())
        .collect();
    assert!(shown.contains(&"a+test://template/{id}/data"), "{shown:?}");
    let from_template = session
        .call("resources/read", json!({"uri": "a+test://template/7/data"}))
        .await;
    assert!(
        from_template["result"]["contents"].is_array(),
        "{from_template}"
    );

    let unknown = session
        .call("resources/read", json!({"uri": "zz+test://static-text"}))
        .await;
    assert_eq!(unknown["error"]["code"], -32002, "{unknown}");

    let prompts = session.call("prompts/list", json!({})).await;
    let names: Vec<&str> = prompts["result"]["prompts"]
        .as_array()
        .expect("prompts")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(
        names.contains(&"a__test_simple_prompt") && names.contains(&"b__test_simple_prompt"),
        "{names:?}"
    );
    let got = session
        .call("prompts/get", json!({"name": "b__test_simple_prompt"}))
        .await;
    assert!(got["result"]["messages"].is_array(), "{got}");
}
