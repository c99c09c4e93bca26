//! Which interpreters moat looks through, and what each is told to run.

/// An interpreter whose script argument is hashed instead of the interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Interpreter {
    Node,
    Python,
    Deno,
    Bun,
    Shell,
}

/// What the interpreter runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// A script file (or, for deno, a specifier that may be remote).
    Script(String),
    /// `python -m module`.
    Module(String),
    /// Code on the command line (`-e`, `-c`), stdin, a REPL, or a subcommand that names no file:
    /// the command line is the catalog's to record; moat hashes the interpreter.
    Inline,
}

impl Interpreter {
    /// By file name: `node`, `nodejs`, `python`, `python3`, `python3.12`, `deno`, `bun`, and the
    /// POSIX shells.
    pub(super) fn of(name: &str) -> Option<Self> {
        let python = name
            .strip_prefix("python")
            .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        match name {
            "node" | "nodejs" => Some(Self::Node),
            "deno" => Some(Self::Deno),
            "bun" => Some(Self::Bun),
            "sh" | "bash" | "dash" | "zsh" | "ksh" | "ash" | "mksh" => Some(Self::Shell),
            _ if python => Some(Self::Python),
            _ => None,
        }
    }

    /// What `args` tell the interpreter to run.
    pub(super) fn target(self, args: &[String]) -> Target {
        match self {
            Self::Node => node(args),
            Self::Python => python(args),
            Self::Deno => deno(args),
            Self::Bun => bun(args),
            Self::Shell => shell(args),
        }
    }
}

const NODE_VALUES: &[&str] = &[
    "-r",
    "--require",
    "--import",
    "--loader",
    "--experimental-loader",
    "-C",
    "--conditions",
    "--title",
    "--inspect-port",
];

fn node(args: &[String]) -> Target {
    script_after_options(args, NODE_VALUES, &["-e", "--eval", "-p", "--print", "-i"])
}

fn bun(args: &[String]) -> Target {
    const VALUES: &[&str] = &[
        "--cwd",
        "--config",
        "-c",
        "--preload",
        "-r",
        "--tsconfig-override",
        "--define",
        "-d",
        "--loader",
        "-l",
        "--env-file",
    ];
    match script_after_options(args, VALUES, &["-e", "--eval", "-p", "--print"]) {
        Target::Script(s) if s == "run" => {
            script_after_options(after_subcommand(args, VALUES), VALUES, &[])
        }
        Target::Script(s) if s == "x" => Target::Inline,
        other => other,
    }
}

fn deno(args: &[String]) -> Target {
    const VALUES: &[&str] = &[
        "-c",
        "--config",
        "--import-map",
        "--cert",
        "--location",
        "--seed",
        "-L",
        "--log-level",
        "--ext",
        "--preload",
    ];
    match script_after_options(args, VALUES, &[]) {
        Target::Script(s) if s == "run" || s == "serve" => {
            script_after_options(after_subcommand(args, VALUES), VALUES, &[])
        }
        Target::Script(s) if is_file_like(&s) => Target::Script(s),
        _ => Target::Inline,
    }
}

/// A deno script given without `run`: a path, a URL or a registry specifier, not a subcommand.
fn is_file_like(s: &str) -> bool {
    s.contains(['/', '.', ':'])
}

/// `sh script` runs the script; `sh -c '…'` runs a command line.
fn shell(args: &[String]) -> Target {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "--" {
            i += 1;
            break;
        }
        let Some(flags) = arg.strip_prefix('-').or_else(|| arg.strip_prefix('+')) else {
            break;
        };
        if flags.contains('c') || flags == "s" || flags.is_empty() {
            return Target::Inline;
        }
        i += if flags.contains(['o', 'O']) { 2 } else { 1 };
    }
    args.get(i)
        .map_or(Target::Inline, |s| Target::Script(s.clone()))
}

/// Python's options: `-c` code and `-m` module end them; `-W`, `-X` take a value; the rest are
/// single letters that may be grouped (`-Bu`).
fn python(args: &[String]) -> Target {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "-" || !arg.starts_with('-') {
            return match arg.as_str() {
                "-" => Target::Inline,
                script => Target::Script(script.to_owned()),
            };
        }
        if arg == "--" {
            return args
                .get(i + 1)
                .map_or(Target::Inline, |s| Target::Script(s.clone()));
        }
        if arg.starts_with("--") {
            i += if arg == "--check-hash-based-pycs" {
                2
            } else {
                1
            };
            continue;
        }
        for (at, c) in arg[1..].char_indices() {
            let rest = &arg[1 + at + c.len_utf8()..];
            match c {
                'c' => return Target::Inline,
                'm' if rest.is_empty() => {
                    return args
                        .get(i + 1)
                        .map_or(Target::Inline, |m| Target::Module(m.clone()));
                }
                'm' => return Target::Module(rest.to_owned()),
                'W' | 'X' => {
                    i += usize::from(rest.is_empty());
                    break;
                }
                _ => {}
            }
        }
        i += 1;
    }
    Target::Inline
}

/// The first positional argument, skipping options (`values` take the next argument unless
/// written `--name=value`); any of `inline` means there is no script.
fn script_after_options(args: &[String], values: &[&str], inline: &[&str]) -> Target {
    match first_positional(args, values, inline) {
        Some(i) if args[i] != "-" => Target::Script(args[i].clone()),
        _ => Target::Inline,
    }
}

/// What follows the subcommand at the first positional argument (`run` in `deno run …`).
fn after_subcommand<'a>(args: &'a [String], values: &[&str]) -> &'a [String] {
    first_positional(args, values, &[]).map_or(&[], |i| &args[i + 1..])
}

fn first_positional(args: &[String], values: &[&str], inline: &[&str]) -> Option<usize> {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "--" {
            return (i + 1 < args.len()).then_some(i + 1);
        }
        if arg == "-" || !arg.starts_with('-') {
            return Some(i);
        }
        let name = arg.split_once('=').map_or(arg.as_str(), |(n, _)| n);
        if inline.contains(&name) {
            return None;
        }
        i += if values.contains(&arg.as_str()) { 2 } else { 1 };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(i: Interpreter, line: &str) -> Target {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        i.target(&args)
    }

    fn script(s: &str) -> Target {
        Target::Script(s.to_owned())
    }

    #[test]
    fn interpreters_are_known_by_name() {
        for (name, i) in [
            ("node", Interpreter::Node),
            ("python3", Interpreter::Python),
            ("python3.11", Interpreter::Python),
            ("python", Interpreter::Python),
            ("deno", Interpreter::Deno),
            ("bun", Interpreter::Bun),
            ("bash", Interpreter::Shell),
        ] {
            assert_eq!(Interpreter::of(name), Some(i), "{name}");
        }
        assert_eq!(Interpreter::of("python-config"), None);
        assert_eq!(Interpreter::of("mcp-server-time"), None);
    }

    #[test]
    fn scripts_modules_and_inline_code_are_told_apart() {
        use Interpreter::*;
        assert_eq!(target(Node, "dist/index.js stdio"), script("dist/index.js"));
        assert_eq!(
            target(Node, "--require ./hook.js -r x s.js a"),
            script("s.js")
        );
        assert_eq!(
            target(Node, "--max-old-space-size=100 s.js"),
            script("s.js")
        );
        assert_eq!(target(Node, "-e console.log(1)"), Target::Inline);
        assert_eq!(target(Node, ""), Target::Inline);
        assert_eq!(target(Python, "-u server.py --x"), script("server.py"));
        assert_eq!(target(Python, "-X utf8 -W ignore s.py"), script("s.py"));
        assert_eq!(
            target(Python, "-m mcp_server_time --local-timezone UTC"),
            Target::Module("mcp_server_time".into())
        );
        assert_eq!(
            target(Python, "-Bmpkg.mod"),
            Target::Module("pkg.mod".into())
        );
        assert_eq!(target(Python, "-c print(1)"), Target::Inline);
        assert_eq!(
            target(Deno, "run -A --config d.json main.ts"),
            script("main.ts")
        );
        assert_eq!(target(Deno, "main.ts"), script("main.ts"));
        assert_eq!(target(Deno, "task start"), Target::Inline);
        assert_eq!(target(Bun, "run --smol server.ts"), script("server.ts"));
        assert_eq!(target(Bun, "server.ts"), script("server.ts"));
        assert_eq!(target(Bun, "x pkg@1.2.3"), Target::Inline);
        assert_eq!(target(Shell, "-e start.sh"), script("start.sh"));
        assert_eq!(target(Shell, "-c exec"), Target::Inline);
    }
}
