//! `moat agents …`: the registry of non-human identities, read and changed from the command line.

use anyhow::{Context, Result, bail};
use moat_store::{
    Admission, Agent, AgentStatus, ClientId, GrantType, NewAgent, NewOAuthClient, OpaqueToken,
    Scopes, SecretHash, Store,
};

use crate::cli::{AgentsArgs, AgentsCommand};
use crate::config_args;

/// The store a config names, or the default next to the config file.
pub(crate) fn store_url(
    config: &moat_config::Config,
    config_path: Option<&std::path::Path>,
) -> String {
    config.store.clone().unwrap_or_else(|| {
        let dir = config_path
            .and_then(|p| p.parent())
            .filter(|d| !d.as_os_str().is_empty());
        let file = dir.map_or_else(
            || std::path::PathBuf::from("moat.db"),
            |d| d.join("moat.db"),
        );
        format!("sqlite://{}", file.display())
    })
}

/// The store a command names with `--store`, else its config's (`--config`, else the bundled
/// default), and the config when one was read.
pub(crate) async fn open_store(
    store: Option<&str>,
    config_path: Option<&std::path::Path>,
) -> Result<(Option<moat_config::Config>, Store)> {
    let config = match (store, config_path) {
        (Some(_), None) => None,
        _ => Some(config_args::load(
            config_path,
            &config_args::Overrides::default(),
        )?),
    };
    let url = match (store, &config) {
        (Some(url), _) => url.to_owned(),
        (None, Some(config)) => store_url(config, config_path),
        (None, None) => bail!("name a store with --store or a config with --config"),
    };
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open the store {url}"))?;
    Ok((config, store))
}

pub(crate) async fn run(args: AgentsArgs) -> Result<()> {
    // The config gives the store's default place and the scope dictionary grants are held to.
    let (config, store) =
        open_store(args.store.store.as_deref(), args.store.config.as_deref()).await?;
    let agents = store.agents();
    match args.command {
        AgentsCommand::List { status } => {
            let status = status.as_deref().map(parse_status).transpose()?;
            let list = agents.list(status).await?;
            if args.store.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                print_table(&list);
            }
        }
        AgentsCommand::Show { id } => {
            print_one(&agents.get(&ClientId::new(id)).await?, args.store.json)?
        }
        AgentsCommand::Register {
            id,
            name,
            owner,
            scopes,
            pending,
            redirect_uris,
            client_credentials,
        } => {
            if let Some(config) = &config {
                let undeclared = config.scopes.undeclared(scopes.iter().map(String::as_str));
                if !undeclared.is_empty() {
                    bail!(
                        "not in the config's scope dictionary: {} (declare them under scopes: first)",
                        undeclared.join(", ")
                    );
                }
            }
            let new = NewAgent {
                id: ClientId::new(id),
                name,
                owner,
                allowed_scopes: Scopes::from_tokens(scopes.iter())?,
                admission: if pending {
                    Admission::HoldPending
                } else {
                    Admission::Activate
                },
            };
            if redirect_uris.is_empty() && !client_credentials {
                print_one(&agents.register(&new).await?, args.store.json)?;
            } else {
                let mut grants = Vec::new();
                if !redirect_uris.is_empty() {
                    grants.extend([GrantType::AuthorizationCode, GrantType::RefreshToken]);
                }
                let secret = client_credentials.then(OpaqueToken::generate);
                if client_credentials {
                    grants.push(GrantType::ClientCredentials);
                }
                let client = NewOAuthClient {
                    agent: new,
                    redirect_uris,
                    grant_types: grants,
                    secret_hash: secret
                        .as_ref()
                        .map(|s| SecretHash::hash(s.expose()))
                        .transpose()?,
                };
                let (agent, _) = store.clients().register(&client).await?;
                print_one(&agent, args.store.json)?;
                if let Some(secret) = secret {
                    // Shown once: only its argon2id hash is stored.
                    eprintln!("client secret (shown once, store it now):");
                    println!("{}", secret.expose());
                }
            }
        }
        AgentsCommand::Suspend { id } => {
            print_one(&agents.suspend(&ClientId::new(id)).await?, args.store.json)?
        }
        AgentsCommand::Resume { id } => {
            print_one(&agents.resume(&ClientId::new(id)).await?, args.store.json)?
        }
    }
    store.close().await;
    Ok(())
}

fn parse_status(s: &str) -> Result<AgentStatus> {
    Ok(match s {
        "active" => AgentStatus::Active,
        "suspended" => AgentStatus::Suspended,
        "pending" => AgentStatus::Pending,
        "unregistered" => AgentStatus::Unregistered,
        other => bail!("{other:?} is not a status (active, suspended, pending, unregistered)"),
    })
}

fn print_one(agent: &Agent, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(agent)?);
    } else {
        print_table(std::slice::from_ref(agent));
    }
    Ok(())
}

fn print_table(list: &[Agent]) {
    println!(
        "{:<24} {:<13} {:<20} {:<16} {:<20} SCOPES",
        "ID", "STATUS", "NAME", "OWNER", "LAST SEEN"
    );
    for a in list {
        let flag = if a.status == AgentStatus::Unregistered {
            " (!)"
        } else {
            ""
        };
        let seen = a.last_seen_at.map_or_else(
            || "never".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M").to_string(),
        );
        println!(
            "{:<24} {:<13} {:<20} {:<16} {:<20} {}",
            a.id.to_string(),
            format!("{}{flag}", a.status.as_str()),
            a.name,
            a.owner.as_deref().unwrap_or("-"),
            seen,
            a.allowed_scopes
        );
    }
}
