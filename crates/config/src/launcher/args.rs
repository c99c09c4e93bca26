//! Reading a launcher's own options, up to its first positional argument (the package, image or
//! script); what follows belongs to the program it runs.

/// One option of the launcher, with its value when it takes one.
#[derive(Debug)]
pub(super) struct Opt<'a> {
    /// As written, with its dashes: `--package`, `-p`.
    pub(super) name: String,
    /// `--name=value`, `-pvalue`, or the next argument for an option that takes a value.
    pub(super) value: Option<&'a str>,
}

/// The options before the first positional argument, and where that argument is.
#[derive(Debug)]
pub(super) struct Scan<'a> {
    pub(super) opts: Vec<Opt<'a>>,
    /// Index of the first positional argument.
    pub(super) first: Option<usize>,
}

impl<'a> Scan<'a> {
    /// Whether any of `names` was given.
    pub(super) fn has(&self, names: &[&str]) -> bool {
        self.opts.iter().any(|o| names.contains(&o.name.as_str()))
    }

    /// The values given to any of `names`, in order.
    pub(super) fn values<'s>(&'s self, names: &'s [&str]) -> impl Iterator<Item = &'a str> + 's {
        self.opts
            .iter()
            .filter(move |o| names.contains(&o.name.as_str()))
            .filter_map(|o| o.value)
    }
}

/// How single-dash options are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    /// `-abc` is `-a -b -c`; `-pVALUE` attaches a value (npm, docker, uv, POSIX shells).
    Clustered,
    /// `-tags` is one option (Go).
    Whole,
}

/// Reads options up to the first positional argument. `values` lists the options (with dashes)
/// that take a value in the next argument when not written `--name=value`.
pub(super) fn scan<'a>(args: &'a [String], values: &[&str], style: Style) -> Scan<'a> {
    scan_with(args, &|name| values.contains(&name), style)
}

/// [`scan`] with a predicate for the options that take a value.
pub(super) fn scan_with<'a>(
    args: &'a [String],
    takes_value: &dyn Fn(&str) -> bool,
    style: Style,
) -> Scan<'a> {
    let mut opts = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        if arg == "--" {
            return Scan {
                opts,
                first: (i + 1 < args.len()).then_some(i + 1),
            };
        }
        let whole = arg.starts_with("--") || style == Style::Whole;
        if arg.len() < 2 || !arg.starts_with('-') {
            return Scan {
                opts,
                first: Some(i),
            };
        }
        if whole {
            if let Some((name, value)) = arg.split_once('=') {
                opts.push(opt(name, Some(value)));
            } else if takes_value(arg) {
                i += 1;
                opts.push(opt(arg, args.get(i).map(String::as_str)));
            } else {
                opts.push(opt(arg, None));
            }
        } else {
            i += cluster(&arg[1..], args.get(i + 1), takes_value, &mut opts);
        }
        i += 1;
    }
    Scan { opts, first: None }
}

/// `-abc` or `-pVALUE`: pushes each option; returns 1 when the next argument was its value.
fn cluster<'a>(
    flags: &'a str,
    next: Option<&'a String>,
    takes_value: &dyn Fn(&str) -> bool,
    opts: &mut Vec<Opt<'a>>,
) -> usize {
    for (at, c) in flags.char_indices() {
        let name = format!("-{c}");
        if takes_value(&name) {
            let rest = &flags[at + c.len_utf8()..];
            if rest.is_empty() {
                opts.push(opt(&name, next.map(String::as_str)));
                return 1;
            }
            opts.push(opt(&name, Some(rest.strip_prefix('=').unwrap_or(rest))));
            return 0;
        }
        opts.push(opt(&name, None));
    }
    0
}

fn opt<'a>(name: &str, value: Option<&'a str>) -> Opt<'a> {
    Opt {
        name: name.to_owned(),
        value,
    }
}

/// The first positional argument (a subcommand such as `dlx`, `run`) after global options, and
/// the arguments after it.
pub(super) fn subcommand<'a>(
    args: &'a [String],
    global_values: &[&str],
) -> Option<(&'a str, &'a [String])> {
    let first = scan(args, global_values, Style::Clustered).first?;
    Some((args.get(first)?.as_str(), args.get(first + 1..)?))
}
