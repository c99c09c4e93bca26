//! Wrappers: `env [VAR=value…] cmd …` and `sh -c "…"`. A shell command line that is one simple
//! command (words, quotes, leading `VAR=value` and `exec`) is split like the shell would and the
//! command in it is assessed; anything else (operators, redirections, expansions, substitutions,
//! globs, comments) is floating: moat cannot tell what it runs.

use super::{Assessment, assess_at, floating_of};

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"];

pub(super) fn is_shell(program: &str) -> bool {
    SHELLS.contains(&program)
}

/// `sh [options] -c "<command line>"`; without `-c` a shell runs a script file, which is local.
pub(super) fn shell(program: &str, args: &[String], depth: usize) -> Assessment {
    let mut i = 0;
    let mut command_mode = false;
    while let Some(arg) = args.get(i) {
        if arg == "--" || arg == "-" {
            i += 1;
            break;
        }
        if arg.starts_with("--") {
            i += if arg == "--rcfile" || arg == "--init-file" {
                2
            } else {
                1
            };
            continue;
        }
        let Some(flags) = arg.strip_prefix('-').or_else(|| arg.strip_prefix('+')) else {
            break;
        };
        command_mode |= flags.contains('c');
        // `-o pipefail`, `+O extglob`: the option name is the next argument.
        i += if flags.contains(['o', 'O']) { 2 } else { 1 };
    }
    match args.get(i) {
        Some(line) if command_mode => command_line(&format!("{program} -c"), line, depth),
        _ => Assessment::Pinned,
    }
}

/// One simple command, assessed; anything more is floating.
fn command_line(launcher: &str, line: &str, depth: usize) -> Assessment {
    if has_shell_syntax(line) {
        return floating_of(
            launcher,
            line,
            "a shell command line moat cannot analyse (operators, redirections, expansions or globs); run the server's command directly",
        );
    }
    let Some(words) = shlex::split(line) else {
        return floating_of(launcher, line, "unbalanced quotes");
    };
    let start = words
        .iter()
        .position(|w| !is_assignment(w) && w != "exec")
        .unwrap_or(words.len());
    match words.get(start) {
        Some(command) => assess_at(command, &words[start + 1..], depth + 1),
        None => Assessment::Pinned,
    }
}

/// Whether `line` uses shell syntax beyond words and quotes: outside quotes any of
/// `; & | < > ( ) { } $ \` * ? [ ] !`, `#` starting a word, or a line break; inside double
/// quotes `$` and `` ` ``.
fn has_shell_syntax(line: &str) -> bool {
    let mut single = false;
    let mut double = false;
    let mut escaped = false;
    let mut word_start = true;
    for c in line.chars() {
        let at_word_start = std::mem::replace(&mut word_start, c.is_whitespace());
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            // A comment starts only at the beginning of a word (`pkg#commit` is one word).
            '#' if !single && !double && at_word_start => return true,
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '\\' if !single => escaped = true,
            '$' | '`' if !single => return true,
            ';' | '&' | '|' | '<' | '>' | '(' | ')' | '{' | '}' | '*' | '?' | '[' | ']' | '!'
            | '\n' | '\r'
                if !single && !double =>
            {
                return true;
            }
            _ => {}
        }
    }
    false
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// `env [-i] [-u NAME] [-C DIR] [-S "cmd args"] [NAME=value…] cmd args…`.
pub(super) fn env(args: &[String], depth: usize) -> Assessment {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let arg = arg.as_str();
        match arg {
            "--" => {
                i += 1;
                break;
            }
            "-u" | "--unset" | "-C" | "--chdir" | "-P" => i += 2,
            "-S" | "--split-string" => {
                let rest = args.get(i + 2..).unwrap_or_default();
                return split_string(args.get(i + 1).map(String::as_str), rest, depth);
            }
            _ if arg.starts_with("--split-string=") || arg.starts_with("-S") => {
                let s = arg
                    .strip_prefix("--split-string=")
                    .or_else(|| arg.strip_prefix("-S"))
                    .unwrap_or_default();
                return split_string(Some(s), &args[i + 1..], depth);
            }
            _ if arg.starts_with('-') || is_assignment(arg) => i += 1,
            _ => break,
        }
    }
    match args.get(i) {
        Some(command) => assess_at(command, &args[i + 1..], depth + 1),
        None => Assessment::Pinned,
    }
}

/// `env -S "cmd args"` splits its string into words like a shell would (without expansions).
fn split_string(s: Option<&str>, rest: &[String], depth: usize) -> Assessment {
    let Some(s) = s else {
        return Assessment::Pinned;
    };
    if has_shell_syntax(s) {
        return floating_of("env -S", s, "a string moat cannot analyse");
    }
    let Some(mut words) = shlex::split(s) else {
        return floating_of("env -S", s, "unbalanced quotes");
    };
    words.extend(rest.iter().cloned());
    env(&words, depth + 1)
}
