//! Launch fingerprints: one SHA-256 over what a stdio server's command runs, so a change to the
//! installed server between two starts can be noticed (the catalog records it at approval; a
//! different fingerprint at a later start suspends the server until it is approved again).
//!
//! What is hashed, by [`Kind`]:
//! - [`Kind::NpmPackage`]: the whole `node_modules/<pkg>` (or `node_modules/@scope/pkg`) directory
//!   a script or executable lies in, nested `node_modules` included;
//! - [`Kind::PythonDistribution`]: the files the `RECORD` of the distribution that declares a
//!   console script (or installed a `-m` module) lists, bytecode excepted;
//! - [`Kind::Script`]: the script an interpreter (`node`, `python`, `deno`, `bun`, a shell) runs;
//! - [`Kind::Executable`]: the executable itself (also an interpreter given inline code).
//!
//! Only files are read (no network, no child process). The digest is a function of the relative
//! paths and bytes (symlinks as their target text): no timestamps, owners, modes or inodes. See
//! `docs/supply-chain.md`.

mod interp;
mod python;
mod tree;

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use interp::{Interpreter, Target};
use tree::Entries;

/// How a stdio server is started, as moat starts it.
#[derive(Debug, Clone, Copy)]
pub struct Launch<'a> {
    /// The command as configured: a path (with a `/`) or a name looked up on `path`.
    pub command: &'a str,
    /// Its arguments.
    pub args: &'a [String],
    /// The child's working directory; relative paths resolve against it. `None`: moat's own.
    pub cwd: Option<&'a Path>,
    /// The child's `PATH`. `None`: moat's own.
    pub path: Option<&'a OsStr>,
}

/// Bounds on what one fingerprint reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of file content hashed.
    pub max_bytes: u64,
    /// Files (and symlinks) hashed.
    pub max_files: usize,
}

impl Default for Limits {
    /// 200 MB and 50,000 files.
    fn default() -> Self {
        Self {
            max_bytes: 200 * 1000 * 1000,
            max_files: 50_000,
        }
    }
}

/// What was hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A script an interpreter runs (or a local module directory for `python -m`).
    Script,
    /// An npm package directory.
    NpmPackage,
    /// The files of an installed Python distribution.
    PythonDistribution,
    /// An executable file.
    Executable,
}

impl Kind {
    /// A stable lowercase name, e.g. for a catalog column: `script`, `npm-package`,
    /// `python-distribution`, `executable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Script => "script",
            Self::NpmPackage => "npm-package",
            Self::PythonDistribution => "python-distribution",
            Self::Executable => "executable",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A launch command's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// SHA-256, lowercase hexadecimal.
    pub sha256: String,
    /// Files (and symlinks) hashed.
    pub files: usize,
    /// Bytes of file content hashed.
    pub bytes: u64,
    /// What was hashed: the file, the package directory, or the distribution's `.dist-info`.
    pub root: PathBuf,
    /// How `root` was chosen.
    pub kind: Kind,
}

/// Why no fingerprint could be made. Every variant is a reason not to start the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintError {
    /// The command (or the script it is given) does not exist or is not executable.
    #[error("{what:?} not found ({searched})")]
    NotFound {
        /// The command or script as written.
        what: String,
        /// Where it was looked for.
        searched: String,
    },
    /// `python -m module` names a module in no distribution moat can find.
    #[error("python module {module:?} is not installed in {searched}")]
    ModuleNotFound {
        /// The module as written.
        module: String,
        /// The directories searched.
        searched: String,
    },
    /// The script is a URL or registry specifier: moat hashes local files only.
    #[error("{script:?} is not a local file: moat hashes only local files (run a local copy)")]
    Remote {
        /// The script as written.
        script: String,
    },
    /// More files than [`Limits::max_files`].
    #[error("{}: more than {limit} files to hash", root.display())]
    TooManyFiles {
        /// What was being hashed.
        root: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// More bytes than [`Limits::max_bytes`].
    #[error("{}: more than {limit} bytes to hash", root.display())]
    TooLarge {
        /// What was being hashed.
        root: PathBuf,
        /// The limit.
        limit: u64,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl FingerprintError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The fingerprint of what `launch` runs, within [`Limits::default`].
pub fn fingerprint(launch: &Launch<'_>) -> Result<Fingerprint, FingerprintError> {
    fingerprint_with(launch, &Limits::default())
}

/// The fingerprint of what `launch` runs, within `limits`.
pub fn fingerprint_with(
    launch: &Launch<'_>,
    limits: &Limits,
) -> Result<Fingerprint, FingerprintError> {
    let cwd = match launch.cwd {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().map_err(|e| FingerprintError::io(Path::new("."), e))?,
    };
    let exe = resolve_command(launch, &cwd)?;
    let real = canonical(&exe)?;
    let interpreter = [Path::new(launch.command), &exe, &real]
        .iter()
        .find_map(|p| Interpreter::of(&file_name(p)));
    let Some(interpreter) = interpreter else {
        return executable(&exe, &real, limits);
    };
    match interpreter.target(launch.args) {
        Target::Script(script) => run_script(interpreter, &script, &cwd, limits),
        Target::Module(module) => python_module(&[&exe, &real], &module, &cwd, limits),
        Target::Inline => one_file(&real, Kind::Executable, limits),
    }
}

/// A command run directly: its npm package, its Python distribution, or the file.
fn executable(exe: &Path, real: &Path, limits: &Limits) -> Result<Fingerprint, FingerprintError> {
    if let Some(package) = npm_package(real) {
        return directory(&package, Kind::NpmPackage, limits);
    }
    let head = script_head(real);
    if head.as_deref().is_some_and(|h| h.contains("python")) {
        for path in [exe, real] {
            if let Some(found) = console_script(path) {
                return distribution(found, limits);
            }
        }
    }
    let kind = if head.is_some() {
        Kind::Script
    } else {
        Kind::Executable
    };
    one_file(real, kind, limits)
}

/// The script an interpreter is given, or the npm package or Python distribution it belongs to.
fn run_script(
    interpreter: Interpreter,
    script: &str,
    cwd: &Path,
    limits: &Limits,
) -> Result<Fingerprint, FingerprintError> {
    if ["http:", "https:", "npm:", "jsr:", "data:"]
        .iter()
        .any(|p| script.starts_with(p))
    {
        return Err(FingerprintError::Remote {
            script: script.to_owned(),
        });
    }
    let path = cwd.join(script);
    if !path.exists() {
        return Err(FingerprintError::NotFound {
            what: script.to_owned(),
            searched: format!("relative to {}", cwd.display()),
        });
    }
    let real = canonical(&path)?;
    match interpreter {
        Interpreter::Node | Interpreter::Bun | Interpreter::Deno => {
            if let Some(package) = npm_package(&real) {
                return directory(&package, Kind::NpmPackage, limits);
            }
        }
        Interpreter::Python => {
            if let Some(found) = console_script(&path).or_else(|| console_script(&real)) {
                return distribution(found, limits);
            }
        }
        Interpreter::Shell => {}
    }
    one_file(&real, Kind::Script, limits)
}

/// `python -m module`: a module in the working directory (first on `sys.path`), then the
/// distributions of the interpreter's prefix (a venv's, or the installation's), then its
/// standard library.
fn python_module(
    interpreters: &[&Path],
    module: &str,
    cwd: &Path,
    limits: &Limits,
) -> Result<Fingerprint, FingerprintError> {
    let top = module.split('.').next().unwrap_or(module);
    let local = cwd.join(format!("{top}.py"));
    if local.is_file() {
        return one_file(&canonical(&local)?, Kind::Script, limits);
    }
    if cwd.join(top).join("__init__.py").is_file() {
        return directory(&canonical(&cwd.join(top))?, Kind::Script, limits);
    }
    let mut searched = Vec::new();
    for prefix in interpreters.iter().filter_map(|p| python::prefix_of(p)) {
        let site = python::site_packages(prefix);
        if let Some(found) = python::dist_of_module(&site, module) {
            return distribution(found, limits);
        }
        for lib in dir_entries(&prefix.join("lib")) {
            if lib.join(format!("{top}.py")).is_file() {
                return one_file(&lib.join(format!("{top}.py")), Kind::Script, limits);
            }
            if lib.join(top).join("__init__.py").is_file() {
                return directory(&lib.join(top), Kind::Script, limits);
            }
        }
        searched.extend(site.into_iter().map(|p| p.display().to_string()));
    }
    Err(FingerprintError::ModuleNotFound {
        module: module.to_owned(),
        searched: if searched.is_empty() {
            "no site-packages found".into()
        } else {
            searched.join(", ")
        },
    })
}

/// A console script at `<prefix>/bin/<name>` and the distribution that declares it.
fn console_script(path: &Path) -> Option<(PathBuf, PathBuf)> {
    let prefix = python::prefix_of(path)?;
    python::dist_of_script(&python::site_packages(prefix), &file_name(path))
}

fn distribution(
    (site, dist): (PathBuf, PathBuf),
    limits: &Limits,
) -> Result<Fingerprint, FingerprintError> {
    let entries = python::record_entries(&site, &dist)?;
    finish(entries, canonical(&dist)?, Kind::PythonDistribution, limits)
}

fn directory(dir: &Path, kind: Kind, limits: &Limits) -> Result<Fingerprint, FingerprintError> {
    let mut entries = Entries::default();
    entries.walk(dir, limits)?;
    finish(entries, dir.to_path_buf(), kind, limits)
}

fn one_file(path: &Path, kind: Kind, limits: &Limits) -> Result<Fingerprint, FingerprintError> {
    let mut entries = Entries::default();
    let name = path.file_name().unwrap_or(path.as_os_str());
    entries.push(name.as_encoded_bytes(), path.to_path_buf());
    finish(entries, path.to_path_buf(), kind, limits)
}

fn finish(
    entries: Entries,
    root: PathBuf,
    kind: Kind,
    limits: &Limits,
) -> Result<Fingerprint, FingerprintError> {
    let digested = entries.hash(&root, limits)?;
    let (files, bytes) = (digested.files, digested.bytes);
    Ok(Fingerprint {
        sha256: digested.hex(),
        files,
        bytes,
        root,
        kind,
    })
}

/// Where the command is, as the child would be started: a path with a `/` relative to the
/// working directory, else the first executable of that name on `PATH`.
fn resolve_command(launch: &Launch<'_>, cwd: &Path) -> Result<PathBuf, FingerprintError> {
    let not_found = |searched: String| FingerprintError::NotFound {
        what: launch.command.to_owned(),
        searched,
    };
    if launch.command.contains('/') {
        let path = cwd.join(launch.command);
        return if is_executable(&path) {
            Ok(path)
        } else {
            Err(not_found(format!("relative to {}", cwd.display())))
        };
    }
    let own = std::env::var_os("PATH");
    let search = launch.path.or(own.as_deref()).unwrap_or_default();
    std::env::split_paths(search)
        .map(|dir| cwd.join(dir).join(launch.command))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| not_found(format!("PATH={}", search.to_string_lossy())))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn canonical(path: &Path) -> Result<PathBuf, FingerprintError> {
    fs::canonicalize(path).map_err(|e| FingerprintError::io(path, e))
}

/// The package directory a file lies in: the innermost `node_modules/<pkg>` or
/// `node_modules/@scope/<pkg>` (not `.bin`, `.pnpm` and other dot directories).
fn npm_package(file: &Path) -> Option<PathBuf> {
    let parts: Vec<&OsStr> = file.components().map(|c| c.as_os_str()).collect();
    (0..parts.len()).rev().find_map(|i| {
        let name = parts.get(i + 1)?.to_str()?;
        if parts[i] != "node_modules" || name.starts_with('.') {
            return None;
        }
        let end = if name.starts_with('@') { i + 3 } else { i + 2 };
        (end < parts.len()).then(|| parts[..end].iter().collect())
    })
}

/// The first KiB of a file that starts with `#!`. More than the first line: pip writes a
/// `#!/bin/sh` trampoline that names python on the next line when the venv's path is long.
fn script_head(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut head = [0u8; 1024];
    let n = fs::File::open(path)
        .and_then(|f| f.take(1024).read(&mut head))
        .unwrap_or(0);
    let head = &head[..n];
    head.starts_with(b"#!")
        .then(|| String::from_utf8_lossy(head).into_owned())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The entries of a directory, sorted; none when it cannot be read.
fn dir_entries(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    found.sort();
    found
}

#[cfg(test)]
mod tests;
