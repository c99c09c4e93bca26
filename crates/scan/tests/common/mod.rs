//! Loading the corpus files shared by the integration tests.

// Test support: a malformed corpus file should fail the test loudly, so helpers unwrap.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::PathBuf;

use moat_scan::{Context, Report, Scanner};
use serde_json::Value;

pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

pub fn load(name: &str) -> Value {
    let path = corpus_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The context the labelled corpus is scanned in (`corpus/context.json`).
pub fn corpus_context() -> Context {
    let raw = load("context.json");
    let mut context = Context::new();
    for s in raw["servers"].as_array().unwrap() {
        context = context.server(s.as_str().unwrap());
    }
    for t in raw["tools"].as_array().unwrap() {
        context = context.tool(t["server"].as_str().unwrap(), t["name"].as_str().unwrap());
    }
    context
}

/// One labelled case.
pub struct Case {
    pub id: String,
    pub expect: Vec<String>,
    pub server: Option<String>,
    pub definition: Value,
}

pub fn cases(file: &str) -> Vec<Case> {
    parse_cases(&load(file))
}

/// The cases under `key` of an object file (`heldout.json` has `poisoned` and `benign`).
pub fn cases_in(file: &str, key: &str) -> Vec<Case> {
    parse_cases(&load(file)[key])
}

fn parse_cases(list: &Value) -> Vec<Case> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            id: c["id"].as_str().unwrap().to_owned(),
            expect: c["expect"].as_array().map_or_else(Vec::new, |a| {
                a.iter().map(|r| r.as_str().unwrap().to_owned()).collect()
            }),
            server: c["server"].as_str().map(str::to_owned),
            definition: c["definition"].clone(),
        })
        .collect()
}

pub fn scan(scanner: &Scanner, case: &Case) -> Report {
    match &case.server {
        Some(server) => scanner.scan_for(server, &case.definition),
        None => scanner.scan(&case.definition),
    }
}

/// The real servers' captured tool lists: (server name, file).
pub const REAL: [(&str, &str); 5] = [
    ("everything", "real/server-everything.json"),
    ("filesystem", "real/server-filesystem.json"),
    ("time", "real/mcp-server-time.json"),
    ("fetch", "real/mcp-server-fetch.json"),
    ("git", "real/mcp-server-git.json"),
];

pub fn real_tools() -> Vec<(&'static str, Value)> {
    REAL.iter()
        .flat_map(|(server, file)| {
            let list = load(file);
            list["tools"]
                .as_array()
                .unwrap()
                .clone()
                .into_iter()
                .map(move |t| (*server, t))
        })
        .collect()
}

pub fn real_context() -> Context {
    real_tools().iter().fold(Context::new(), |c, (server, t)| {
        c.tool(*server, t["name"].as_str().unwrap())
    })
}
