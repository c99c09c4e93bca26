//! MS007 confusable names and MS008 typosquats, against the names in the context.

use super::Hit;
use crate::similar::{self, Closeness};
use crate::unicode::{self, Script};
use crate::{Context, Rule, Severity};

/// A name the scanned one may be imitating.
#[derive(Debug)]
struct Known {
    name: String,
    folded: String,
    /// The server offering it; `None` for a server name itself.
    server: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Names {
    known: Vec<Known>,
}

impl Names {
    pub(crate) fn new(context: &Context) -> Self {
        let tools = context.tools().iter().map(|t| Known {
            name: t.name.clone(),
            folded: similar::fold(&t.name),
            server: Some(t.server.clone()),
        });
        let servers = context.servers().iter().map(|s| Known {
            name: s.clone(),
            folded: similar::fold(s),
            server: None,
        });
        Self {
            known: tools.chain(servers).collect(),
        }
    }

    /// Confusable and typosquat hits for the definition's `name`.
    pub(crate) fn check(&self, name: &str, own_server: Option<&str>, out: &mut Vec<Hit>) {
        let whole = 0..name.len();
        let others = || {
            self.known.iter().filter(|k| {
                // Neither its own server's tools nor its own server's name (a tool `crash` of
                // server `crashy` imitates nothing).
                let own = k.server.as_deref().unwrap_or(k.name.as_str());
                k.name != name && Some(own) != own_server
            })
        };
        if let Some(message) = confusable(name) {
            let folded = similar::fold(name);
            let imitated = others().find(|k| k.folded == folded);
            let (severity, message) = match imitated {
                Some(k) => (
                    Severity::Critical,
                    format!("{message}; reads as `{}`", k.name),
                ),
                None => (Severity::High, message),
            };
            out.push(Hit::new(Rule::ConfusableName, severity, whole, message));
            return;
        }
        let closest = others()
            .filter_map(|k| similar::closeness(name, &k.name).map(|c| (c, k)))
            .min_by_key(|(c, _)| match c {
                Closeness::OneEdit => 0,
                Closeness::Folded => 1,
                Closeness::TwoEdits => 2,
            });
        if let Some((closeness, k)) = closest {
            let (severity, how) = match closeness {
                Closeness::OneEdit => (Severity::High, "one edit from"),
                Closeness::Folded => (Severity::Medium, "differs only in case or separators from"),
                Closeness::TwoEdits => (Severity::Medium, "two edits from"),
            };
            let whose = k.server.as_deref().map_or_else(
                || "the server".to_owned(),
                |s| format!("server `{s}`'s tool"),
            );
            out.push(Hit::new(
                Rule::Typosquat,
                severity,
                whole,
                format!("name is {how} {whose} `{}`", k.name),
            ));
        }
    }
}

/// Why `name` is confusable: letters from more than one of the scripts confused with Latin,
/// or wholly made of look-alikes of Latin letters.
pub(crate) fn confusable(name: &str) -> Option<String> {
    let scripts = unicode::scripts(name);
    if scripts.len() > 1 {
        let names: Vec<&str> = scripts.iter().map(|s| script_name(*s)).collect();
        return Some(format!("name mixes scripts ({})", names.join(" + ")));
    }
    let non_latin = scripts.first().is_some_and(|s| *s != Script::Latin);
    let all_lookalike = name
        .chars()
        .filter(|c| unicode::script(*c).is_some())
        .all(|c| unicode::latin_lookalike(c).is_some());
    (non_latin && all_lookalike)
        .then(|| "name is spelled entirely with look-alikes of Latin letters".to_owned())
}

fn script_name(script: Script) -> &'static str {
    match script {
        Script::Latin => "Latin",
        Script::Cyrillic => "Cyrillic",
        Script::Greek => "Greek",
        Script::Armenian => "Armenian",
        Script::Fullwidth => "fullwidth",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(name: &str) -> Vec<(Rule, Severity)> {
        let context = Context::new()
            .tool("filesystem", "read_file")
            .tool("email", "send_email")
            .server("github");
        let mut out = Vec::new();
        Names::new(&context).check(name, Some("mine"), &mut out);
        out.into_iter().map(|h| (h.rule, h.severity)).collect()
    }

    #[test]
    fn confusables_and_squats_fire() {
        assert_eq!(
            rules("r\u{0435}ad_file"),
            [(Rule::ConfusableName, Severity::Critical)]
        );
        assert_eq!(
            rules("g\u{03bf}ogle_search"),
            [(Rule::ConfusableName, Severity::High)]
        );
        assert_eq!(rules("read_flie"), [(Rule::Typosquat, Severity::High)]);
        assert_eq!(rules("send-email"), [(Rule::Typosquat, Severity::Medium)]);
        assert_eq!(rules("githbu"), [(Rule::Typosquat, Severity::High)]);
    }

    #[test]
    fn near_misses_pass() {
        assert!(rules("поиск_товаров").is_empty());
        assert!(rules("read_file").is_empty());
        assert!(rules("read_files").is_empty());
        assert!(rules("write_file").is_empty());
        assert!(rules("café_menu").is_empty());
    }

    #[test]
    fn a_tool_named_like_its_own_server_imitates_nothing() {
        let context = Context::new().server("crashy").server("github");
        let mut out = Vec::new();
        Names::new(&context).check("crash", Some("crashy"), &mut out);
        assert!(
            out.is_empty(),
            "{:?}",
            out.iter().map(|h| h.rule).collect::<Vec<_>>()
        );
        Names::new(&context).check("githbu", Some("crashy"), &mut out);
        assert_eq!(out.len(), 1);
    }
}
