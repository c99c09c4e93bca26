//! Finding the line of a field in YAML text, so errors found after parsing can still point at it.

/// The 1-based line of the key at `path` (dotted, e.g. `upstreams.demo.stdio`), or of the deepest
/// ancestor that can be found. Handles block mappings, which is what moat's config uses.
pub(crate) fn line_of(text: &str, path: &str) -> Option<usize> {
    let mut found = None;
    let mut min_indent = 0usize;
    let mut start = 0usize;
    let lines: Vec<&str> = text.lines().collect();
    for key in path.split('.') {
        let hit = lines.iter().enumerate().skip(start).find_map(|(i, line)| {
            let indent = line.len() - line.trim_start().len();
            // Keys may be quoted ("*": …), as YAML needs for some scope names.
            let body = line
                .trim_start()
                .trim_start_matches("- ")
                .trim_start_matches(['"', '\'']);
            let matches = body.strip_prefix(key).is_some_and(|rest| {
                rest.trim_start_matches(['"', '\''])
                    .trim_start()
                    .starts_with(':')
            });
            (indent >= min_indent && matches).then_some((i, indent))
        });
        match hit {
            Some((i, indent)) => {
                found = Some(i + 1);
                start = i + 1;
                min_indent = indent + 1;
            }
            None => break,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nested_keys_and_falls_back_to_the_parent() {
        let text =
            "listen: x\nupstreams:\n  a:\n    http: {url: y}\n  b:\n    stdio:\n      command: z\n";
        assert_eq!(line_of(text, "listen"), Some(1));
        assert_eq!(line_of(text, "upstreams.b.stdio.command"), Some(7));
        assert_eq!(line_of(text, "upstreams.a.http"), Some(4));
        assert_eq!(line_of(text, "upstreams.b.timeout"), Some(5));
        assert_eq!(line_of(text, "nothing"), None);
        assert_eq!(
            line_of("scopes:\n  \"*\": {description: x}\n", "scopes.*"),
            Some(2)
        );
    }
}
