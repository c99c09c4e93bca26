use super::*;

fn words(line: &str) -> (String, Vec<String>) {
    let mut w = shlex::split(line).expect("test command line");
    let command = w.remove(0);
    (command, w)
}

fn assess_line(line: &str) -> Assessment {
    let (command, args) = words(line);
    assess(&command, &args)
}

#[track_caller]
fn pinned(lines: &[&str]) {
    for line in lines {
        assert_eq!(assess_line(line), Assessment::Pinned, "{line}");
    }
}

/// Each line floats, naming `package` and a reason containing `why`.
#[track_caller]
fn floats(cases: &[(&str, &str, &str)]) {
    for (line, package, why) in cases {
        let (command, args) = words(line);
        let f = floating(&command, &args).unwrap_or_else(|| panic!("{line} should float"));
        assert_eq!(f.package, *package, "{line}: {f}");
        assert!(f.why.contains(why), "{line}: {f}");
    }
}

#[test]
fn npx_needs_an_exact_version() {
    pinned(&[
        "npx -y @modelcontextprotocol/server-everything@2026.8.31 stdio",
        "npx pkg@1.2.3",
        "npx --yes pkg@v1.2.3 --flag",
        "npx pkg@1.2.3-rc.1+build.5",
        "npx -- pkg@1.2.3 -y",
        "npx --registry https://r.example pkg@1.2.3",
        "npx -p pkg@1.2.3 -p @s/other@0.0.1 some-bin --port 1",
        "npx --package=pkg@1.2.3 bin",
        "npx --no some-local-bin",
        "npx ./local-dir",
        "npx file:../pkg",
        "npx github:owner/repo#0123456789abcdef0123456789abcdef01234567",
        "npx",
        "npm exec -- pkg@1.2.3",
        "npm x pkg@1.2.3",
        "npm start",
        "npm --prefix /srv exec pkg@1.2.3",
    ]);
    floats(&[
        ("npx -y pkg", "pkg", "no version"),
        ("npx pkg", "pkg", "no version"),
        (
            "npx pkg@latest",
            "pkg@latest",
            "\"latest\" is a tag that moves",
        ),
        ("npx pkg@^1", "pkg@^1", "range or tag"),
        ("npx pkg@1", "pkg@1", "range or tag"),
        ("npx pkg@1.2", "pkg@1.2", "range or tag"),
        ("npx pkg@~1.2.3", "pkg@~1.2.3", "range or tag"),
        ("npx pkg@1.2.x", "pkg@1.2.x", "range or tag"),
        ("npx @scope/pkg", "@scope/pkg", "no version"),
        (
            "npx -y @scope/pkg@next arg",
            "@scope/pkg@next",
            "tag that moves",
        ),
        ("npx -p pkg@1.2.3 -p other bin", "other", "no version"),
        ("npx --package pkg bin", "pkg", "no version"),
        ("npx owner/repo", "owner/repo", "full commit"),
        ("npx github:o/r#main", "github:o/r#main", "full commit"),
        (
            "npx https://x.example/p.tgz",
            "https://x.example/p.tgz",
            "URL",
        ),
        ("npx -c 'pkg --flag'", "pkg --flag", "command string"),
        ("npm exec pkg", "pkg", "no version"),
        ("npm x -- pkg@latest", "pkg@latest", "moves"),
        ("/usr/local/bin/npx pkg", "pkg", "no version"),
        ("npx.cmd pkg", "pkg", "no version"),
    ]);
    let f = floating("npx", &["-y".into(), "pkg".into()]).expect("floats");
    assert_eq!(f.launcher, "npx");
    assert_eq!(f.to_string(), "npx runs \"pkg\": no version");
}

#[test]
fn dlx_launchers_need_an_exact_version() {
    pinned(&[
        "pnpm dlx pkg@1.2.3",
        "pnpm --silent dlx @s/p@1.0.0 arg",
        "pnpm dlx --package pkg@1.2.3 bin",
        "pnpm install",
        "pnpm exec local-bin",
        "pnpx pkg@1.2.3",
        "yarn dlx -p pkg@1.2.3 bin",
        "yarn dlx -q pkg@1.2.3",
        "bunx pkg@1.2.3",
        "bunx --bun pkg@1.2.3 --x",
        "bun x pkg@1.2.3",
        "bun run index.ts",
    ]);
    floats(&[
        ("pnpm dlx pkg", "pkg", "no version"),
        ("pnpm dlx pkg@latest", "pkg@latest", "moves"),
        ("pnpm dlx -c 'pkg@1.2.3 | tee'", "pkg@1.2.3 | tee", "shell"),
        ("pnpx pkg@^2", "pkg@^2", "range"),
        ("yarn dlx pkg", "pkg", "no version"),
        ("yarn dlx -p pkg bin", "pkg", "no version"),
        ("bunx pkg", "pkg", "no version"),
        ("bunx -p pkg@1 bin", "pkg@1", "range"),
        ("bun x @s/p", "@s/p", "no version"),
    ]);
    assert_eq!(
        floating("pnpm", &["dlx".into(), "pkg".into()])
            .expect("floats")
            .launcher,
        "pnpm dlx"
    );
}

#[test]
fn python_launchers_need_an_exact_version() {
    pinned(&[
        "uvx mcp-server-time@2026.10.19 --local-timezone UTC",
        "uvx mcp-server-time==2026.10.19",
        "uvx --from mcp-server-time==2026.10.19 mcp-server-time",
        "uvx --from 'pkg[extra]==1.0' cmd",
        "uvx --python 3.12 pkg@1.0.0",
        "uvx --with dep==2.0 pkg@1.0",
        "uvx --with 'a==1,b==2' pkg@1.0",
        "uvx --from git+https://github.com/o/r@0123456789abcdef0123456789abcdef01234567 cmd",
        "uvx --from ./local cmd",
        "uv tool run pkg@1.2.3",
        "uv --directory /srv tool run pkg==1.2.3",
        "uv run server.py",
        "uv tool install pkg",
        "pipx run pkg==1.2.3",
        "pipx run --spec pkg==1.2.3 app --x",
        "pipx run ./tool.py",
        "pipx install pkg",
    ]);
    floats(&[
        ("uvx mcp-server-time", "mcp-server-time", "no version"),
        ("uvx pkg@latest", "pkg@latest", "moves"),
        ("uvx pkg>=1.0", "pkg>=1.0", "range"),
        ("uvx pkg==1.*", "pkg==1.*", "range"),
        ("uvx pkg~=1.2", "pkg~=1.2", "range"),
        ("uvx --from pkg cmd", "pkg", "no version"),
        ("uvx --from pkg>=1 cmd", "pkg>=1", "range"),
        ("uvx --with dep pkg@1.0", "dep", "no version"),
        ("uvx --with 'a==1,b' pkg@1.0", "b", "no version"),
        (
            "uvx --from git+https://github.com/o/r cmd",
            "git+https://github.com/o/r",
            "commit",
        ),
        (
            "uvx --from git+https://g/o/r@main cmd",
            "git+https://g/o/r@main",
            "commit",
        ),
        ("uv tool run pkg", "pkg", "no version"),
        ("pipx run pkg", "pkg", "no version"),
        ("pipx run pkg>=1", "pkg>=1", "range"),
        ("pipx run --spec pkg app", "pkg", "no version"),
        (
            "pipx run https://x.example/t.py",
            "https://x.example/t.py",
            "URL",
        ),
    ]);
}

#[test]
fn container_images_need_a_digest_or_a_tag() {
    let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    pinned(&[
        &format!("docker run -i --rm mcp/time@{digest}"),
        &format!("docker run -i --rm -e TZ=UTC -v /a:/b --name t mcp/time:1.2@{digest} --x"),
        &format!("docker --context prod run -it ghcr.io/o/i@{digest}"),
        &format!("docker container run --rm -i img@{digest}"),
        &format!("podman run -i --network=none img@{digest}"),
        "docker ps",
        "docker exec -i c cmd",
        "podman run --rootfs /srv/root /bin/server",
    ]);
    floats(&[
        (
            "docker run -i --rm mcp/time",
            "mcp/time",
            "no tag or digest",
        ),
        ("docker run -i mcp/time:latest", "mcp/time:latest", "moves"),
        ("docker run -e A=1 -p 80:80 -it img", "img", "no tag"),
        (
            "docker run localhost:5000/img",
            "localhost:5000/img",
            "no tag",
        ),
        ("docker run -eA=1 --env-file .env img", "img", "no tag"),
        ("docker run img@sha256:abc", "img@sha256:abc", "digest"),
        ("nerdctl run img", "img", "no tag"),
        ("podman container run img", "img", "no tag"),
    ]);
    let Assessment::Tagged(t) = assess_line("docker run -i --rm mcp/time:1.2.0 --tz UTC") else {
        panic!("a tag other than latest is accepted with a warning")
    };
    assert_eq!(
        (t.image.as_str(), t.tag.as_str()),
        ("mcp/time:1.2.0", "1.2.0")
    );
    assert!(t.to_string().contains("sha256"), "{t}");
    assert!(matches!(
        assess_line("docker run localhost:5000/img:2"),
        Assessment::Tagged(_)
    ));
    assert_eq!(floating("docker", &["run".into(), "img:2".into()]), None);
}

#[test]
fn go_and_deno_need_a_version_for_remote_code() {
    pinned(&[
        "go run github.com/o/mcp@v1.2.3",
        "go run -tags netgo -ldflags=-s github.com/o/mcp/cmd/x@v0.0.0-20240101000000-0123456789ab",
        "go run github.com/o/mcp@0123456789abcdef0123456789abcdef01234567",
        "go run ./cmd/server",
        "go run main.go",
        "go build ./...",
        "deno run -A server.ts",
        "deno run --allow-net https://deno.land/x/mcp@v1.2.3/main.ts",
        "deno run -A https://esm.sh/pkg@1.2.3",
        "deno run -A https://raw.githubusercontent.com/o/r/0123456789abcdef0123456789abcdef01234567/m.ts",
        "deno run -A npm:@s/pkg@1.2.3",
        "deno run jsr:@std/http@1.0.0/file-server",
        "deno task start",
        "deno eval 'console.log(1)'",
    ]);
    floats(&[
        (
            "go run github.com/o/mcp@latest",
            "github.com/o/mcp@latest",
            "moves",
        ),
        (
            "go run -C /srv github.com/o/mcp@main",
            "github.com/o/mcp@main",
            "range or tag",
        ),
        (
            "go run github.com/o/mcp@v1",
            "github.com/o/mcp@v1",
            "range or tag",
        ),
        (
            "deno run -A https://deno.land/x/mcp/main.ts",
            "https://deno.land/x/mcp/main.ts",
            "remote URL",
        ),
        (
            "deno run https://raw.githubusercontent.com/o/r/main/m.ts",
            "https://raw.githubusercontent.com/o/r/main/m.ts",
            "remote URL",
        ),
        ("deno run -A npm:pkg", "npm:pkg", "no version"),
        ("deno run jsr:@std/http@^1/x", "jsr:@std/http@^1/x", "range"),
        (
            "deno https://x.example/m.ts",
            "https://x.example/m.ts",
            "remote URL",
        ),
        (
            "deno run -c deno.json https://x.example/m.ts",
            "https://x.example/m.ts",
            "remote",
        ),
    ]);
}

#[test]
fn shell_command_lines_are_split_when_simple_and_refused_otherwise() {
    pinned(&[
        "sh -c 'npx -y pkg@1.2.3'",
        "bash -lc 'exec npx pkg@1.2.3 --flag \"a b\"'",
        "sh -c 'NODE_ENV=production node server.js'",
        "sh server.sh",
        "bash -e -o pipefail -c 'uvx pkg@1.0.0'",
        "sh -c ''",
    ]);
    floats(&[
        ("sh -c 'npx -y pkg'", "pkg", "no version"),
        ("bash -lc 'exec uvx pkg'", "pkg", "no version"),
        (
            "sh -c 'cd /srv && node x.js'",
            "cd /srv && node x.js",
            "cannot analyse",
        ),
        (
            "sh -c 'echo hi >&2; exec node x'",
            "echo hi >&2; exec node x",
            "cannot analyse",
        ),
        ("sh -c 'node $SERVER'", "node $SERVER", "cannot analyse"),
        (
            "sh -c \"node \\\"$(which x)\\\"\"",
            "node \"$(which x)\"",
            "cannot analyse",
        ),
        (
            "zsh -c 'curl https://x | sh'",
            "curl https://x | sh",
            "cannot analyse",
        ),
        (
            "sh -c 'node x # comment'",
            "node x # comment",
            "cannot analyse",
        ),
    ]);
    // Shell syntax inside single quotes is literal.
    pinned(&["sh -c \"node server.js '--greeting=a;b|c'\""]);
    let f = floating("sh", &["-c".into(), "a && b".into()]).expect("floats");
    assert_eq!(f.launcher, "sh -c");
}

#[test]
fn env_wrappers_are_looked_through() {
    pinned(&[
        "env NODE_ENV=production npx pkg@1.2.3",
        "/usr/bin/env -i PATH=/bin -u HOME uvx pkg@1.0",
        "env -S 'npx -y pkg@1.2.3' --flag",
        "env",
    ]);
    floats(&[
        ("env NODE_ENV=production npx pkg", "pkg", "no version"),
        ("env -u X -C /srv -- uvx pkg", "pkg", "no version"),
        ("env -S 'npx -y pkg'", "pkg", "no version"),
        ("env --split-string='bunx pkg'", "pkg", "no version"),
        ("env -S 'a;b'", "a;b", "cannot analyse"),
        (
            "env env env env env env npx pkg@1.2.3",
            "npx pkg@1.2.3",
            "nested too deep",
        ),
    ]);
}

#[test]
fn other_commands_are_not_launchers() {
    pinned(&[
        "node server.js",
        "/opt/mcp/bin/server --port 1",
        "python3 -m mcp_server_time",
        "tests/servers/.venv/bin/mcp-server-time --local-timezone UTC",
        "npxx pkg",
    ]);
}

#[test]
fn exact_versions_are_recognised() {
    for v in [
        "1.2.3",
        "v1.2.3",
        "=1.2.3",
        "0.0.0-20240101-abc",
        "1.2.3+b.1",
        "10.20.30-rc.1",
    ] {
        assert!(is_exact_semver(v), "{v}");
    }
    for v in [
        "", "1", "1.2", "1.2.x", "^1.2.3", "~1.2.3", ">=1.2.3", "1.2.3-", "1.2.3+", "a.b.c",
        "latest",
    ] {
        assert!(!is_exact_semver(v), "{v}");
    }
    assert!(is_commit("0123456789abcdef0123456789abcdef01234567"));
    assert!(!is_commit("0123456"));
}
