//! Name similarity: optimal string alignment distance (Damerau–Levenshtein with adjacent
//! transpositions, no substring edited twice) and the typosquat test built on it.

/// Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`, counted in chars.
pub(crate) fn osa_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    // Three rows: two back (for transpositions), previous, current.
    let mut before: Vec<usize> = vec![0; width];
    let mut prev: Vec<usize> = (0..width).collect();
    let mut cur: Vec<usize> = vec![0; width];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            cur[j] = best;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A name folded for comparison: lowercase, look-alikes mapped to Latin, `-`, `.` and spaces
/// read as `_`.
pub(crate) fn fold(name: &str) -> String {
    crate::unicode::skeleton(name)
        .chars()
        .map(|c| match c {
            '-' | '.' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// How close a name is to a known one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closeness {
    /// Same once case, separators and look-alikes are folded.
    Folded,
    /// One edit apart.
    OneEdit,
    /// Two edits apart (long names only).
    TwoEdits,
}

/// Whether `name` reads as a typosquat of `known`: close but not equal, not merely a plural
/// or a different number (`get_user` / `get_users`, `tool_v1` / `tool_v2` are families, not
/// squats), and long enough that one edit is not most of the name.
pub(crate) fn closeness(name: &str, known: &str) -> Option<Closeness> {
    if name == known {
        return None;
    }
    let (a, b) = (fold(name), fold(known));
    if a == b {
        return Some(Closeness::Folded);
    }
    let shorter = a.chars().count().min(b.chars().count());
    if shorter < 5 || is_plural_pair(&a, &b) || differs_in_digits_only(&a, &b) {
        return None;
    }
    match osa_distance(&a, &b) {
        1 => Some(Closeness::OneEdit),
        2 if shorter >= 10 => Some(Closeness::TwoEdits),
        _ => None,
    }
}

fn is_plural_pair(a: &str, b: &str) -> bool {
    a.strip_suffix('s') == Some(b) || b.strip_suffix('s') == Some(a)
}

fn differs_in_digits_only(a: &str, b: &str) -> bool {
    let strip = |s: &str| {
        s.chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
    };
    a.chars().any(|c| c.is_ascii_digit()) && strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(osa_distance("read_file", "read_flie"), 1);
        assert_eq!(osa_distance("git_commit", "git_commmit"), 1);
        assert_eq!(osa_distance("kitten", "sitting"), 3);
        assert_eq!(osa_distance("", "abc"), 3);
        assert_eq!(osa_distance("ca", "abc"), 3);
    }

    #[test]
    fn squats_and_near_misses() {
        assert_eq!(
            closeness("read_flie", "read_file"),
            Some(Closeness::OneEdit)
        );
        assert_eq!(closeness("read-file", "read_file"), Some(Closeness::Folded));
        assert_eq!(
            closeness("r\u{0435}ad_file", "read_file"),
            Some(Closeness::Folded)
        );
        assert_eq!(closeness("get_user", "get_users"), None);
        assert_eq!(closeness("tool_v1", "tool_v2"), None);
        assert_eq!(closeness("git_add", "git_log"), None);
        assert_eq!(closeness("echo", "echi"), None);
        assert_eq!(closeness("read_file", "read_file"), None);
    }
}
