//! `moat token …`, `moat keys …` and `moat hash-password`: the built-in authorization server
//! from the command line, through the same `Issuer` the HTTP endpoints use.

use std::io::Read;

use anyhow::{Context, Result, anyhow, bail};
use moat_gateway::oauth::{Issuer, Revoked};
use moat_store::chrono::{TimeDelta, Utc};
use moat_store::{SecretHash, Store};

use crate::agents_cmd::store_url;
use crate::cli::{KeysArgs, KeysCommand, ServerStateArgs, TokenArgs, TokenCommand};
use crate::config_args;

async fn issuer(args: &ServerStateArgs) -> Result<Issuer> {
    let config = config_args::load(args.config.as_deref(), &config_args::Overrides::default())?;
    let auth = config
        .auth
        .as_ref()
        .filter(|a| a.server.is_some())
        .ok_or_else(|| anyhow!("the config has no auth.server: moat issues no tokens"))?;
    let url = args
        .store
        .clone()
        .unwrap_or_else(|| store_url(&config, args.config.as_deref()));
    let store = Store::open(&url)
        .await
        .with_context(|| format!("cannot open the store {url}"))?;
    Issuer::new(store, auth).ok_or_else(|| anyhow!("the config has no auth.server"))
}

pub(crate) async fn token(args: TokenArgs) -> Result<()> {
    let issuer = issuer(&args.state).await?;
    match args.command {
        TokenCommand::Issue {
            client,
            scopes,
            subject,
            ttl,
            json,
        } => {
            let ttl = ttl
                .map(|t| humantime::parse_duration(&t).with_context(|| format!("--ttl {t:?}")))
                .transpose()?;
            let subject = subject.unwrap_or_else(|| client.clone());
            let issued = issuer.access_token(&client, &subject, &scopes, ttl).await?;
            if json {
                let body = serde_json::json!({
                    "access_token": issued.token,
                    "token_type": "Bearer",
                    "expires_in": issued.expires_in,
                    "scope": issued.scopes.join(" "),
                    "jti": issued.jti,
                });
                println!("{}", serde_json::to_string_pretty(&body)?);
            } else {
                println!("{}", issued.token);
            }
        }
        TokenCommand::Revoke { token, jti } => match (token, jti) {
            (Some(token), _) => match issuer.revoke_access_token(&token, None).await? {
                Some(Revoked::Now { jti }) => println!("revoked {jti}"),
                Some(Revoked::AlreadyInactive) => println!("already revoked or expired"),
                None => bail!(
                    "not an access token of this server (signature, issuer or audience do not match)"
                ),
            },
            (None, Some(jti)) => {
                // Without the token its expiry is unknown: keep the entry as long as any
                // token moat accepts can live.
                let until = Utc::now() + TimeDelta::hours(24);
                let newly = issuer.store().revocations().revoke(&jti, "", until).await?;
                println!(
                    "{}",
                    if newly {
                        format!("revoked {jti}")
                    } else {
                        "already revoked".into()
                    }
                );
            }
            (None, None) => bail!("name a token or --jti"),
        },
    }
    issuer.store().close().await;
    Ok(())
}

pub(crate) async fn keys(args: KeysArgs) -> Result<()> {
    let issuer = issuer(&args.state).await?;
    match args.command {
        KeysCommand::Rotate { algorithm } => {
            let algorithm = match algorithm.as_deref() {
                None => None,
                Some("EdDSA") => Some(moat_oauth::keys::KeyAlgorithm::EdDsa),
                Some("ES256") => Some(moat_oauth::keys::KeyAlgorithm::Es256),
                Some(other) => bail!("--algorithm {other:?} is not EdDSA or ES256"),
            };
            let key = issuer.rotate_key(algorithm).await?;
            println!("active key {} ({})", key.kid, key.algorithm.as_str());
        }
        KeysCommand::List => {
            let now = Utc::now();
            println!("{:<45} {:<6} {:<10} CREATED", "KID", "ALG", "STATE");
            for key in issuer.store().signing_keys().list().await? {
                let state = if key.is_active() {
                    "active"
                } else if key.is_published(now) {
                    "published"
                } else {
                    "expired"
                };
                println!(
                    "{:<45} {:<6} {:<10} {}",
                    key.kid.as_str(),
                    key.algorithm.as_str(),
                    state,
                    key.created_at.format("%Y-%m-%d %H:%M")
                );
            }
        }
    }
    issuer.store().close().await;
    Ok(())
}

pub(crate) fn hash_password() -> Result<()> {
    let mut password = String::new();
    std::io::stdin()
        .read_to_string(&mut password)
        .context("cannot read the password from stdin")?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!("no password on stdin");
    }
    println!("{}", SecretHash::hash(password)?.as_str());
    Ok(())
}
