use std::os::unix::fs::{PermissionsExt, symlink};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};

use super::*;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "moat-fingerprint-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        Self(fs::canonicalize(path).unwrap())
    }

    /// Writes `rel` (creating its directories); `exec` sets the executable bits.
    fn file(&self, rel: &str, contents: &str, exec: bool) -> PathBuf {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, contents).unwrap();
        if exec {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        path
    }

    fn link(&self, rel: &str, target: &str) -> PathBuf {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        symlink(target, &path).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(
    command: &str,
    args: &[&str],
    cwd: &Path,
    path: Option<&Path>,
) -> Result<Fingerprint, FingerprintError> {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    fingerprint(&Launch {
        command,
        args: &args,
        cwd: Some(cwd),
        path: path.map(Path::as_os_str),
    })
}

/// An npm install: a scoped package with a nested dependency, its `.bin` link, a fake `node`, and
/// an unrelated file.
fn npm_tree(dir: &TempDir) {
    dir.file(
        "node_modules/@s/srv/package.json",
        "{\"name\":\"@s/srv\",\"version\":\"1.0.0\"}",
        false,
    );
    dir.file(
        "node_modules/@s/srv/dist/index.js",
        "#!/usr/bin/env node\nconsole.log(1)\n",
        true,
    );
    dir.file(
        "node_modules/@s/srv/node_modules/dep/index.js",
        "module.exports = 1\n",
        false,
    );
    dir.file("node_modules/other/index.js", "other\n", false);
    dir.link("node_modules/.bin/srv", "../@s/srv/dist/index.js");
    dir.file("bin/node", "#!/bin/sh\n", true);
    dir.file("unrelated.txt", "x", false);
}

#[test]
fn an_npm_package_is_hashed_whole_and_alone() {
    let dir = TempDir::new();
    npm_tree(&dir);
    let bin = dir.0.join("node_modules/.bin/srv");
    let fp = run(bin.to_str().unwrap(), &["stdio"], &dir.0, None).unwrap();
    assert_eq!(fp.kind, Kind::NpmPackage);
    assert_eq!(fp.root, dir.0.join("node_modules/@s/srv"));
    assert_eq!(
        fp.files, 3,
        "package.json, dist/index.js and the nested dependency"
    );
    assert_eq!(fp.sha256.len(), 64);

    // The same package run by `node <script>`, `node` found on PATH, the script relative to cwd.
    let bin_dir = dir.0.join("bin");
    let by_node = run(
        "node",
        &[
            "--no-warnings",
            "node_modules/@s/srv/dist/index.js",
            "stdio",
        ],
        &dir.0,
        Some(&bin_dir),
    )
    .unwrap();
    assert_eq!(by_node, fp);
    // and relative to the working directory, through the .bin link.
    let relative = run("node_modules/.bin/srv", &[], &dir.0, None).unwrap();
    assert_eq!(relative, fp);

    dir.file("unrelated.txt", "y", false);
    dir.file("node_modules/other/index.js", "changed\n", false);
    assert_eq!(
        run(bin.to_str().unwrap(), &[], &dir.0, None).unwrap(),
        fp,
        "files outside the package do not count"
    );

    dir.file(
        "node_modules/@s/srv/package.json",
        "{\"name\":\"@s/srv\",\"version\":\"1.0.1\"}",
        false,
    );
    let changed = run(bin.to_str().unwrap(), &[], &dir.0, None).unwrap();
    assert_ne!(
        changed.sha256, fp.sha256,
        "one byte in the package changes it"
    );

    dir.file(
        "node_modules/@s/srv/node_modules/dep/index.js",
        "module.exports = 2\n",
        false,
    );
    let nested = run(bin.to_str().unwrap(), &[], &dir.0, None).unwrap();
    assert_ne!(
        nested.sha256, changed.sha256,
        "the package's own node_modules count"
    );
}

#[test]
fn the_digest_depends_on_relative_paths_and_bytes_only() {
    let (a, b) = (TempDir::new(), TempDir::new());
    npm_tree(&a);
    npm_tree(&b);
    let fa = run("node_modules/.bin/srv", &[], &a.0, None).unwrap();
    let fb = run("node_modules/.bin/srv", &[], &b.0, None).unwrap();
    assert_ne!(fa.root, fb.root);
    assert_eq!(
        fa.sha256, fb.sha256,
        "another directory, other inodes and times: same digest"
    );

    // Mode bits are not part of it either.
    let index = b.0.join("node_modules/@s/srv/dist/index.js");
    fs::set_permissions(&index, fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(
        run("node_modules/.bin/srv", &[], &b.0, None)
            .unwrap()
            .sha256,
        fa.sha256
    );

    // A renamed file is a different tree.
    fs::rename(
        b.0.join("node_modules/@s/srv/package.json"),
        b.0.join("node_modules/@s/srv/package.jsn"),
    )
    .unwrap();
    assert_ne!(
        run("node_modules/.bin/srv", &[], &b.0, None)
            .unwrap()
            .sha256,
        fa.sha256
    );
}

#[test]
fn the_encoding_is_the_documented_one() {
    let dir = TempDir::new();
    let exe = dir.file("server", "\x7fELF", true);
    let fp = run(exe.to_str().unwrap(), &[], &dir.0, None).unwrap();
    assert_eq!((fp.kind, fp.files, fp.bytes), (Kind::Executable, 1, 4));

    let mut h = Sha256::new();
    h.update(b"moat-fingerprint-v1\n");
    h.update(b"f");
    h.update(6u64.to_be_bytes());
    h.update(b"server");
    h.update(4u64.to_be_bytes());
    h.update(Sha256::digest(b"\x7fELF"));
    let expected: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(fp.sha256, expected);
}

#[test]
fn a_symlinked_executable_is_followed_and_links_in_a_tree_are_their_target_text() {
    let dir = TempDir::new();
    dir.file("opt/server-1.2/server", "\x7fELF one", true);
    dir.link("bin/server", "../opt/server-1.2/server");
    let bin = dir.0.join("bin");
    let fp = run("server", &["--stdio"], &dir.0, Some(&bin)).unwrap();
    assert_eq!(fp.kind, Kind::Executable);
    assert_eq!(fp.root, dir.0.join("opt/server-1.2/server"));
    let direct = run(
        dir.0.join("opt/server-1.2/server").to_str().unwrap(),
        &[],
        &dir.0,
        None,
    )
    .unwrap();
    assert_eq!(direct, fp);

    // Inside a package, a symlink is hashed as its target text, not followed.
    dir.file("node_modules/p/a.js", "a", true);
    dir.file("node_modules/p/b.js", "b", false);
    dir.link("node_modules/p/current.js", "a.js");
    let before = run("node_modules/p/a.js", &[], &dir.0, None).unwrap();
    assert_eq!((before.kind, before.files), (Kind::NpmPackage, 3));
    fs::remove_file(dir.0.join("node_modules/p/current.js")).unwrap();
    dir.link("node_modules/p/current.js", "b.js");
    let after = run("node_modules/p/a.js", &[], &dir.0, None).unwrap();
    assert_ne!(before.sha256, after.sha256);
}

/// A venv: a console script, its distribution with a RECORD, bytecode, and another distribution.
fn venv(dir: &TempDir) -> PathBuf {
    let v = dir.0.join("venv");
    let site = "venv/lib/python3.11/site-packages";
    dir.file("venv/pyvenv.cfg", "home = /usr/bin\n", false);
    dir.file("venv/bin/python", "#!/bin/sh\n", true);
    dir.file(
        "venv/bin/srv",
        &format!(
            "#!{}/bin/python\nfrom srv_pkg import main\nmain()\n",
            v.display()
        ),
        true,
    );
    dir.file(
        &format!("{site}/srv_pkg/__init__.py"),
        "def main(): pass\n",
        false,
    );
    dir.file(&format!("{site}/srv_pkg/server.py"), "SERVER = 1\n", false);
    dir.file(
        &format!("{site}/srv_pkg/__pycache__/server.cpython-311.pyc"),
        "compiled",
        false,
    );
    dir.file(
        &format!("{site}/srv-1.0.dist-info/METADATA"),
        "Name: srv\nVersion: 1.0\n",
        false,
    );
    dir.file(
        &format!("{site}/srv-1.0.dist-info/entry_points.txt"),
        "[console_scripts]\nsrv = srv_pkg:main\n",
        false,
    );
    dir.file(
        &format!("{site}/srv-1.0.dist-info/RECORD"),
        "../../../bin/srv,sha256=x,1\nsrv_pkg/__init__.py,sha256=x,1\nsrv_pkg/server.py,sha256=x,1\nsrv_pkg/__pycache__/server.cpython-311.pyc,,\nsrv-1.0.dist-info/METADATA,sha256=x,1\nsrv-1.0.dist-info/entry_points.txt,sha256=x,1\nsrv-1.0.dist-info/RECORD,,\n",
        false,
    );
    dir.file(&format!("{site}/other/__init__.py"), "x = 1\n", false);
    dir.file(
        &format!("{site}/other-2.0.dist-info/RECORD"),
        "other/__init__.py,sha256=x,1\n",
        false,
    );
    v
}

#[test]
fn a_python_console_script_is_hashed_as_its_distribution() {
    let dir = TempDir::new();
    let v = venv(&dir);
    let site = v.join("lib/python3.11/site-packages");
    let fp = run(v.join("bin/srv").to_str().unwrap(), &["--x"], &dir.0, None).unwrap();
    assert_eq!(fp.kind, Kind::PythonDistribution);
    assert_eq!(fp.root, site.join("srv-1.0.dist-info"));
    assert_eq!(fp.files, 6, "the RECORD's files but the bytecode");

    // `python -m srv_pkg` and `python venv/bin/srv` find the same distribution.
    let python = v.join("bin/python");
    let module = run(
        python.to_str().unwrap(),
        &["-u", "-m", "srv_pkg.server"],
        &dir.0,
        None,
    )
    .unwrap();
    assert_eq!(module, fp);
    let script = run(python.to_str().unwrap(), &["venv/bin/srv"], &dir.0, None).unwrap();
    assert_eq!(script, fp);

    dir.file(
        "venv/lib/python3.11/site-packages/srv_pkg/__pycache__/server.cpython-311.pyc",
        "recompiled",
        false,
    );
    dir.file(
        "venv/lib/python3.11/site-packages/other/__init__.py",
        "x = 2\n",
        false,
    );
    assert_eq!(
        run(v.join("bin/srv").to_str().unwrap(), &[], &dir.0, None).unwrap(),
        fp
    );

    dir.file(
        "venv/lib/python3.11/site-packages/srv_pkg/server.py",
        "SERVER = 2\n",
        false,
    );
    let changed = run(v.join("bin/srv").to_str().unwrap(), &[], &dir.0, None).unwrap();
    assert_ne!(changed.sha256, fp.sha256);

    fs::remove_file(site.join("srv_pkg/server.py")).unwrap();
    let missing = run(v.join("bin/srv").to_str().unwrap(), &[], &dir.0, None).unwrap();
    assert_ne!(
        missing.sha256, changed.sha256,
        "a listed file gone is a change"
    );
    assert_eq!(missing.files, 5);

    // pip's trampoline for long venv paths names python on the second line.
    dir.file(
        "venv/bin/srv",
        "#!/bin/sh\n'''exec' \"/a/long/venv/bin/python\" \"$0\" \"$@\"\n' '''\nmain()\n",
        true,
    );
    let trampoline = run(v.join("bin/srv").to_str().unwrap(), &[], &dir.0, None).unwrap();
    assert_eq!(trampoline.kind, Kind::PythonDistribution);

    let e = run(python.to_str().unwrap(), &["-m", "nowhere"], &dir.0, None).unwrap_err();
    assert!(matches!(e, FingerprintError::ModuleNotFound { .. }), "{e}");
}

#[test]
fn scripts_inline_code_and_missing_things() {
    let dir = TempDir::new();
    dir.file("bin/node", "#!/bin/sh\nnode\n", true);
    dir.file("bin/deno", "#!/bin/sh\ndeno\n", true);
    dir.file("bin/python3", "#!/bin/sh\npython\n", true);
    dir.file("server.js", "console.log(1)\n", false);
    dir.file("local_mod.py", "print(1)\n", false);
    let bin = dir.0.join("bin");
    let script = run("node", &["server.js"], &dir.0, Some(&bin)).unwrap();
    assert_eq!(
        (script.kind, script.root.clone()),
        (Kind::Script, dir.0.join("server.js"))
    );
    let inline = run("node", &["-e", "console.log(1)"], &dir.0, Some(&bin)).unwrap();
    assert_eq!(
        (inline.kind, inline.root),
        (Kind::Executable, dir.0.join("bin/node"))
    );
    let local = run("python3", &["-m", "local_mod"], &dir.0, Some(&bin)).unwrap();
    assert_eq!(
        (local.kind, local.root),
        (Kind::Script, dir.0.join("local_mod.py"))
    );

    let shebang = dir.file("start.sh", "#!/bin/sh\nexec x\n", true);
    assert_eq!(
        run(shebang.to_str().unwrap(), &[], &dir.0, None)
            .unwrap()
            .kind,
        Kind::Script
    );

    let e = run("nothing-here", &[], &dir.0, Some(&bin)).unwrap_err();
    assert!(matches!(e, FingerprintError::NotFound { .. }), "{e}");
    assert!(e.to_string().contains("nothing-here"), "{e}");
    let e = run("node", &["missing.js"], &dir.0, Some(&bin)).unwrap_err();
    assert!(matches!(e, FingerprintError::NotFound { .. }), "{e}");
    let e = run(
        "deno",
        &["run", "-A", "https://deno.land/x/a@1.0.0/m.ts"],
        &dir.0,
        Some(&bin),
    )
    .unwrap_err();
    assert!(matches!(e, FingerprintError::Remote { .. }), "{e}");
    // A file that is not executable is not a command.
    let e = run("./server.js", &[], &dir.0, None).unwrap_err();
    assert!(matches!(e, FingerprintError::NotFound { .. }), "{e}");
}

#[test]
fn limits_are_enforced_with_a_clear_error() {
    let dir = TempDir::new();
    npm_tree(&dir);
    let launch_args: Vec<String> = Vec::new();
    let launch = Launch {
        command: "node_modules/.bin/srv",
        args: &launch_args,
        cwd: Some(&dir.0),
        path: None,
    };
    let few = Limits {
        max_bytes: 1 << 20,
        max_files: 2,
    };
    let e = fingerprint_with(&launch, &few).unwrap_err();
    assert!(
        matches!(e, FingerprintError::TooManyFiles { limit: 2, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("more than 2 files"), "{e}");
    let small = Limits {
        max_bytes: 40,
        max_files: 10,
    };
    let e = fingerprint_with(&launch, &small).unwrap_err();
    assert!(
        matches!(e, FingerprintError::TooLarge { limit: 40, .. }),
        "{e}"
    );
    // 3 files in 4 directories (the package, dist, node_modules, node_modules/dep).
    let enough = Limits {
        max_bytes: 1000,
        max_files: 4,
    };
    assert!(fingerprint_with(&launch, &enough).is_ok());

    // Directories are bounded too, empty or not.
    for i in 0..5 {
        fs::create_dir_all(dir.0.join(format!("node_modules/@s/srv/empty/{i}"))).unwrap();
    }
    let e = fingerprint_with(&launch, &enough).unwrap_err();
    assert!(matches!(e, FingerprintError::TooManyFiles { .. }), "{e}");
}

#[test]
fn npm_package_directories_are_found() {
    let p = |s: &str| npm_package(Path::new(s)).map(|p| p.display().to_string());
    assert_eq!(
        p("/a/node_modules/x/dist/i.js").as_deref(),
        Some("/a/node_modules/x")
    );
    assert_eq!(
        p("/a/node_modules/@s/x/i.js").as_deref(),
        Some("/a/node_modules/@s/x")
    );
    assert_eq!(
        p("/a/node_modules/x/node_modules/y/i.js").as_deref(),
        Some("/a/node_modules/x/node_modules/y")
    );
    assert_eq!(
        p("/a/node_modules/.pnpm/x@1.0.0/node_modules/x/i.js").as_deref(),
        Some("/a/node_modules/.pnpm/x@1.0.0/node_modules/x")
    );
    assert_eq!(p("/a/node_modules/x"), None);
    assert_eq!(p("/usr/bin/node"), None);
}

/// The servers `tests/servers/install.sh` installs (CI always has them).
#[test]
fn the_installed_test_servers_fingerprint_the_same_twice() {
    let servers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/servers");
    let everything = servers.join("node_modules/.bin/mcp-server-everything");
    let time = servers.join(".venv/bin/mcp-server-time");
    if !everything.exists() || !time.exists() {
        eprintln!(
            "note: {} has no installed servers (run scripts/install-test-deps); skipped",
            servers.display()
        );
        return;
    }
    let root = servers.canonicalize().unwrap();
    let npm = run(everything.to_str().unwrap(), &["stdio"], &root, None).unwrap();
    assert_eq!(npm.kind, Kind::NpmPackage);
    assert!(
        npm.root
            .ends_with("node_modules/@modelcontextprotocol/server-everything"),
        "{npm:?}"
    );
    assert!(npm.files > 1);
    assert_eq!(
        run(everything.to_str().unwrap(), &[], &root, None).unwrap(),
        npm
    );
    let node = root.join("node_modules/node/bin/node");
    let script = "node_modules/@modelcontextprotocol/server-everything/dist/index.js";
    assert_eq!(
        run(node.to_str().unwrap(), &[script, "stdio"], &root, None).unwrap(),
        npm
    );

    let py = run(
        time.to_str().unwrap(),
        &["--local-timezone", "UTC"],
        &root,
        None,
    )
    .unwrap();
    assert_eq!(py.kind, Kind::PythonDistribution);
    assert!(
        py.root.to_string_lossy().contains("mcp_server_time-"),
        "{py:?}"
    );
    assert_eq!(run(time.to_str().unwrap(), &[], &root, None).unwrap(), py);
    eprintln!("{npm:?}\n{py:?}");
    let python = root.join(".venv/bin/python");
    assert_eq!(
        run(
            python.to_str().unwrap(),
            &["-m", "mcp_server_time"],
            &root,
            None
        )
        .unwrap(),
        py
    );
}
