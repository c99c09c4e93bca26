//! The `moat` command line: a thin layer over the library crates.

mod agents_cmd;
mod approvals_cmd;
mod catalog_cmd;
mod cli;
mod config_args;
mod discover_cmd;
mod log_redact;
mod policy_load;
mod scan_cmd;
mod test_cmd;
mod token_cmd;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{Cli, Command};

// glibc's malloc and free were a sixth of moat's instructions per call; see BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("moat: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("moat: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(cli: &Cli) {
    let default = match cli.command {
        // The fixture's stdout is its protocol channel: logs go to stderr, and only warnings.
        Command::Fixture(_) => "warn",
        // Expected denials would drown the table.
        Command::Test(_) => "error",
        // Reports go to stdout; nothing there is worth a log line.
        Command::Discover(_) | Command::Scan(_) => "warn",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MOAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only for a person at a terminal: logs read by programs stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(log_redact::RedactingStderr)
        .with_ansi(ansi)
        .init();
}

/// What `moat check` shows of the guard and the limits: every setting with its default filled in.
fn print_guard(config: &moat_config::Config) {
    let guard = &config.guard;
    let classes: Vec<String> = guard
        .effective()
        .iter()
        .map(|(class, action)| format!("{class}={}", action.as_str()))
        .collect();
    println!("guard: results are inspected: {}", classes.join(", "));
    match &guard.injection {
        Some((action, settings)) => println!(
            "guard: injection: {} at score {} (links allowed to: {})",
            action.as_str(),
            settings.threshold,
            list_or(&settings.allowed_hosts, "no host")
        ),
        None => println!("guard: injection: off"),
    }
    for (scope, o) in &guard.overrides {
        let scope = match scope {
            moat_config::GuardScope::Tool(pattern) => format!("tool {pattern}"),
            moat_config::GuardScope::Label(label) => format!("label {}", label.name()),
        };
        let mut changes: Vec<String> = o
            .actions
            .iter()
            .map(|(class, action)| format!("{}={}", class.name(), action.as_str()))
            .collect();
        if let Some(injection) = o.injection {
            changes.push(format!(
                "injection={}",
                injection.map_or("off", |a| a.as_str())
            ));
        }
        println!("guard: for {scope}: {}", changes.join(", "));
    }
    let a = &config.limits.arguments;
    println!(
        "guard: arguments: schema={}, strict for {}; depth <= {}, strings <= {} bytes, <= {} arguments",
        guard.schema.name(),
        list_or(&guard.strict, "no tool"),
        a.max_depth,
        a.max_string_bytes,
        a.max_arguments
    );
    let egress = &guard.egress;
    if egress.enforce {
        let domains: Vec<String> = egress
            .domains
            .iter()
            .map(|(tool, hosts)| format!("{tool} -> {}", hosts.join(" ")))
            .collect();
        println!(
            "guard: egress: schemes {}, private networks allowed: {}, domain allowlists: {}",
            egress.base.schemes.join(","),
            list_or(&egress.base.allowed_networks, "none"),
            list_or(&domains, "none")
        );
    } else {
        println!("guard: egress: off");
    }
    for rule in &config.limits.rates {
        let per: Vec<String> = rule
            .per
            .iter()
            .map(|p| format!("{p:?}").to_lowercase())
            .collect();
        println!(
            "limits: rate {:?}: {} per {:?} (burst {}) per {} for {}",
            rule.name,
            rule.limit.count,
            rule.limit.period,
            rule.limit.burst,
            per.join("+"),
            list_or(&rule.tools, "every request")
        );
    }
    for up in &config.upstreams {
        if let Some(n) = up.max_concurrency {
            println!(
                "limits: upstream {}: at most {n} requests in flight",
                up.name.as_str()
            );
        }
    }
}

fn list_or(items: &[String], none: &str) -> String {
    if items.is_empty() {
        none.to_owned()
    } else {
        items.join(", ")
    }
}

async fn run(cli: Cli) -> Result<std::process::ExitCode> {
    // One process-wide crypto provider for every rustls user (upstream HTTPS client, TLS listener).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let done = match cli.command {
        // The one command whose exit status says more than success or failure.
        Command::Discover(args) => return discover_cmd::run(args).await,
        Command::Scan(args) => return scan_cmd::run(args).await,
        Command::Serve(args) => serve(args).await,
        Command::Check(args) => {
            let config =
                config_args::load(args.config.as_deref(), &config_args::Overrides::default())?;
            for warning in config.scopes.warnings() {
                eprintln!("warning: {warning}");
            }
            for warning in config.upstreams.iter().filter_map(|u| u.launch_warning()) {
                eprintln!("warning: {warning}");
            }
            println!(
                "ok: {} upstream(s), listening on {}{}",
                config.upstreams.len(),
                config.listen,
                if config.tls.is_some() {
                    " (TLS 1.3)"
                } else {
                    ""
                }
            );
            check_policy(&config, args.config.as_deref())?;
            print_guard(&config);
            Ok(())
        }
        Command::Agents(args) => agents_cmd::run(args).await,
        Command::Catalog(args) => catalog_cmd::run(args).await,
        Command::Approvals(args) => approvals_cmd::approvals(args).await,
        Command::Consents(args) => approvals_cmd::consents(args).await,
        Command::Token(args) => token_cmd::token(args).await,
        Command::Keys(args) => token_cmd::keys(args).await,
        Command::HashPassword => token_cmd::hash_password(),
        Command::Test(args) => test_cmd::run(&args.cases, args.config.as_deref()).await,
        Command::Fixture(args) => match args.listen {
            Some(addr) => {
                let listener = tokio::net::TcpListener::bind(&addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                eprintln!("listening on http://{}/mcp", listener.local_addr()?);
                Ok(moat_fixture::serve_http(listener).await?)
            }
            None => Ok(moat_fixture::serve_stdio().await?),
        },
    };
    done.map(|()| std::process::ExitCode::SUCCESS)
}

async fn serve(args: cli::ServeArgs) -> Result<()> {
    // Quick mode: upstreams named on the command line, no config file.
    let quick = args.config.is_none() && !args.upstream.is_empty();
    let overrides = config_args::Overrides {
        listen: args.listen,
        upstreams: args.upstream,
        prefix: args.prefix,
    };
    let config = config_args::load(args.config.as_deref(), &overrides)?;
    log_redact::install(&config.guard)?;
    let policy = policy_load::compile(&config, args.config.as_deref())?.map(std::sync::Arc::new);
    if policy.is_none() {
        tracing::warn!(
            "no policy: in the config: every caller may use every tool its token admits"
        );
    }
    let self_exe = std::env::current_exe().context("cannot locate the moat executable")?;
    // The store holds the catalog, the agent registry and the approval queue: the config's
    // `store:`, else moat.db beside the config file (the working directory for the bundled
    // one). Quick mode keeps the catalog in memory, pinning for the process's life what its
    // command line vouches for.
    let store = match (&config.auth, &config.store, &config.policy) {
        (None, None, None) if quick => None,
        _ => {
            let url = agents_cmd::store_url(&config, args.config.as_deref());
            let store = moat_store::Store::open(&url)
                .await
                .with_context(|| format!("cannot open the store {url}"))?;
            tracing::info!(store = %url, "store opened");
            Some(store)
        }
    };
    let catalog = moat_gateway::Catalog::open(&config, store.clone())
        .await
        .context("cannot read the catalog (moat does not serve tools it cannot check)")?;
    let running = config.clone();
    let options = moat_gateway::Options {
        self_exe,
        store,
        policy,
        catalog: Some(std::sync::Arc::new(catalog)),
    };
    let gateway = moat_gateway::Gateway::new(config, options)?;
    let watcher = tokio::spawn(policy_load::watch(
        gateway.reloader(),
        running,
        args.config.clone(),
        overrides,
    ));
    let served = gateway.serve(shutdown_signal()).await;
    watcher.abort();
    served?;
    tracing::info!("moat stopped");
    Ok(())
}

/// `moat check` for the policy: Cedar files compiled, then warnings (dry runs, undeclared
/// default scopes, broad grants, reviews overdue).
fn check_policy(config: &moat_config::Config, path: Option<&std::path::Path>) -> Result<()> {
    let Some(cfg) = &config.policy else {
        eprintln!("warning: no policy: every caller may use every tool its token admits");
        return Ok(());
    };
    let policy = policy_load::compile(config, path)?.context("the policy is missing")?;
    let today = moat_config::Date::from_unix(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0)),
    );
    for warning in cfg.warnings(&config.scopes, today) {
        eprintln!("warning: {warning}");
    }
    for p in policy.overdue(today) {
        eprintln!(
            "warning: Cedar policy {:?} ({}, owner {}) is overdue for review",
            p.id,
            p.file,
            p.owner.as_deref().unwrap_or("unknown")
        );
    }
    for p in policy.cedar_policies().iter().filter(|p| p.owner.is_none()) {
        eprintln!("warning: Cedar policy {:?} has no @owner", p.id);
    }
    println!(
        "ok: policy with {} role(s) and {} Cedar policy(ies)",
        cfg.roles.len(),
        policy.cedar_policies().len()
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
