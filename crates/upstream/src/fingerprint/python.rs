//! Python distributions: the installed `*.dist-info` a console script or `-m` module belongs to,
//! and the files its `RECORD` lists (compiled `__pycache__/*.pyc` excepted: Python rewrites them).

use std::fs;
use std::path::{Path, PathBuf};

use super::tree::Entries;
use super::{FingerprintError, dir_entries};

/// The `site-packages` (and Debian `dist-packages`) directories of an installation prefix (a venv
/// or `/usr`), sorted.
pub(super) fn site_packages(prefix: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for lib in ["lib", "lib64"] {
        for version in dir_entries(&prefix.join(lib)) {
            let name = version
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            if !name.is_some_and(|n| n.starts_with("python")) {
                continue;
            }
            for leaf in ["site-packages", "dist-packages"] {
                let dir = version.join(leaf);
                if dir.is_dir() {
                    found.push(dir);
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The installation prefix of a console script or interpreter at `<prefix>/bin/<name>`.
pub(super) fn prefix_of(path: &Path) -> Option<&Path> {
    let bin = path.parent()?;
    (bin.file_name()? == "bin").then_some(())?;
    bin.parent()
}

/// The distribution whose `entry_points.txt` declares the console (or GUI) script `name`.
pub(super) fn dist_of_script(site: &[PathBuf], name: &str) -> Option<(PathBuf, PathBuf)> {
    dists(site).find(|(_, dist)| {
        fs::read_to_string(dist.join("entry_points.txt"))
            .is_ok_and(|text| declares_script(&text, name))
    })
}

/// The distribution that installed the top-level package or module of `module` (`a.b` → `a`):
/// named in `top_level.txt`, or a `RECORD` path that is `a/…`, `a.py` or an extension `a.*.so`.
pub(super) fn dist_of_module(site: &[PathBuf], module: &str) -> Option<(PathBuf, PathBuf)> {
    let top = module.split('.').next().unwrap_or(module);
    dists(site).find(|(_, dist)| {
        let listed = fs::read_to_string(dist.join("top_level.txt"))
            .is_ok_and(|t| t.lines().any(|l| l.trim() == top));
        listed
            || fs::read_to_string(dist.join("RECORD")).is_ok_and(|text| {
                record_paths(&text).any(|p| {
                    let first = p.split('/').next().unwrap_or(p);
                    first == top
                        || first == format!("{top}.py")
                        || (p == first
                            && first.starts_with(&format!("{top}."))
                            && first.ends_with(".so"))
                })
            })
    })
}

/// Every `*.dist-info` directory, as (its site-packages, itself), in sorted order.
fn dists(site: &[PathBuf]) -> impl Iterator<Item = (PathBuf, PathBuf)> + '_ {
    site.iter().flat_map(|dir| {
        dir_entries(dir)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "dist-info"))
            .map(move |p| (dir.clone(), p))
    })
}

/// Whether an `entry_points.txt` declares `name` in `[console_scripts]` or `[gui_scripts]`.
fn declares_script(text: &str, name: &str) -> bool {
    let mut in_scripts = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_scripts = line == "[console_scripts]" || line == "[gui_scripts]";
        } else if in_scripts
            && let Some((key, _)) = line.split_once('=')
            && key.trim() == name
        {
            return true;
        }
    }
    false
}

/// The files a distribution's `RECORD` lists (paths relative to its site-packages, possibly
/// `../../../bin/x`), without compiled bytecode.
pub(super) fn record_entries(site: &Path, dist: &Path) -> Result<Entries, FingerprintError> {
    let record = dist.join("RECORD");
    let text = fs::read_to_string(&record).map_err(|e| FingerprintError::io(&record, e))?;
    let mut entries = Entries::default();
    for path in record_paths(&text) {
        if path.ends_with(".pyc") || path.split('/').any(|c| c == "__pycache__") {
            continue;
        }
        entries.push(path.as_bytes(), site.join(path));
    }
    Ok(entries)
}

/// The first field of each `RECORD` line (CSV: a field may be quoted, `""` inside for `"`).
fn record_paths(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|line| {
        let path = match line.strip_prefix('"') {
            // Paths with commas or quotes are rare; a quoted one ends at `",`.
            Some(rest) => rest.split_once("\",").map_or(rest, |(p, _)| p),
            None => line.split(',').next().unwrap_or(line),
        };
        (!path.is_empty()).then_some(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_points_and_record_lines_are_read() {
        let ep = "[console_scripts]\nmcp-server-time = mcp_server_time:main\n\n[other]\nx = y\n";
        assert!(declares_script(ep, "mcp-server-time"));
        assert!(!declares_script(ep, "x"));
        let record = "a/__init__.py,sha256=abc,10\n\"a/we,ird.py\",sha256=d,1\n../../../bin/a,sha256=e,3\nA-1.0.dist-info/RECORD,,\n";
        let paths: Vec<&str> = record_paths(record).collect();
        assert_eq!(
            paths,
            [
                "a/__init__.py",
                "a/we,ird.py",
                "../../../bin/a",
                "A-1.0.dist-info/RECORD"
            ]
        );
    }
}
