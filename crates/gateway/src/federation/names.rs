//! How the names of tools, prompts and resources of several servers are shown to a client, and
//! how a name a client sends is traced back to its server. Pure functions over the config.

use moat_config::{Config, UpstreamConfig};

/// The naming rules of one federation, fixed for a session.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    servers: Vec<(String, bool)>,
    separator: String,
}

impl Names {
    pub(crate) fn new(config: &Config) -> Self {
        let n = config.upstreams.len();
        let servers = config
            .upstreams
            .iter()
            .map(|u: &UpstreamConfig| {
                (
                    u.name.as_str().to_owned(),
                    u.prefix.unwrap_or(config.prefix).applies(n),
                )
            })
            .collect();
        Self {
            servers,
            separator: config.separator.clone(),
        }
    }

    pub(crate) fn server(&self, idx: usize) -> &str {
        self.servers.get(idx).map_or("", |(n, _)| n.as_str())
    }

    fn prefixed(&self, idx: usize) -> bool {
        self.servers.get(idx).is_some_and(|(_, p)| *p)
    }

    /// A tool or prompt name as the client sees it.
    pub(crate) fn expose(&self, idx: usize, name: &str) -> String {
        if self.prefixed(idx) {
            format!("{}{}{name}", self.server(idx), self.separator)
        } else {
            name.to_owned()
        }
    }

    /// A resource URI (or URI template) as the client sees it: `<server>+<uri>` when prefixed, which
    /// is still a valid URI (the scheme gains a `server+` part) and splits back unambiguously.
    pub(crate) fn expose_uri(&self, idx: usize, uri: &str) -> String {
        if self.prefixed(idx) {
            format!("{}+{uri}", self.server(idx))
        } else {
            uri.to_owned()
        }
    }

    /// Which prefixed server a client-side name belongs to, and its original name.
    pub(crate) fn resolve_prefixed(&self, name: &str) -> Option<(usize, String)> {
        self.servers
            .iter()
            .enumerate()
            .find_map(|(i, (server, prefixed))| {
                let rest = name
                    .strip_prefix(server.as_str())?
                    .strip_prefix(self.separator.as_str())?;
                (*prefixed && !rest.is_empty()).then(|| (i, rest.to_owned()))
            })
    }

    /// As [`Self::resolve_prefixed`], for resource URIs.
    pub(crate) fn resolve_prefixed_uri(&self, uri: &str) -> Option<(usize, String)> {
        let (server, rest) = uri.split_once('+')?;
        let idx = self.servers.iter().position(|(s, p)| *p && s == server)?;
        Some((idx, rest.to_owned()))
    }

    /// The servers whose names are shown unprefixed.
    pub(crate) fn unprefixed(&self) -> impl Iterator<Item = usize> + '_ {
        self.servers
            .iter()
            .enumerate()
            .filter(|(_, (_, p))| !p)
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(yaml: &str) -> Names {
        Names::new(&Config::from_yaml(yaml, "t").unwrap())
    }

    #[test]
    fn always_prefixes_and_resolves_back() {
        let n = names("upstreams:\n  a:\n    builtin: fixture\n  b_c:\n    builtin: fixture\n");
        assert_eq!(n.expose(1, "echo"), "b_c__echo");
        assert_eq!(n.resolve_prefixed("b_c__echo"), Some((1, "echo".into())));
        assert_eq!(n.resolve_prefixed("a__x__y"), Some((0, "x__y".into())));
        assert_eq!(n.resolve_prefixed("a__"), None);
        assert_eq!(n.resolve_prefixed("zz__echo"), None);
        assert_eq!(n.expose_uri(0, "file:///tmp/x"), "a+file:///tmp/x");
        assert_eq!(
            n.resolve_prefixed_uri("a+file:///tmp/x"),
            Some((0, "file:///tmp/x".into()))
        );
        assert_eq!(n.resolve_prefixed_uri("file:///tmp/x"), None);
        assert_eq!(n.unprefixed().count(), 0);
    }

    #[test]
    fn conditional_prefixes_only_a_federation() {
        let one =
            names("federation: {prefix: conditional}\nupstreams:\n  a:\n    builtin: fixture\n");
        assert_eq!(one.expose(0, "echo"), "echo");
        assert_eq!(one.unprefixed().collect::<Vec<_>>(), vec![0]);
        let two = names(
            "federation: {prefix: conditional}\nupstreams:\n  a:\n    builtin: fixture\n  b:\n    builtin: fixture\n    prefix: never\n",
        );
        assert_eq!(two.expose(0, "echo"), "a__echo");
        assert_eq!(two.expose(1, "echo"), "echo");
        assert_eq!(two.resolve_prefixed("b__echo"), None);
    }
}
