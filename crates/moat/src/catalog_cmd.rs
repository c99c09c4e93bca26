//! `moat catalog …`: the inventory of servers and their pinned definitions, read and decided
//! from the command line. A decision written here reaches every moat on the same store within
//! its catalog poll (a second).

use anyhow::{Context as _, Result, bail};
use moat_catalog::{EntryStatus, Export, ExportedEntry, ExportedServer, Kind, ServerStatus};
use moat_store::{CatalogEntry, CatalogServer, EntryDecision, StoreError};

use crate::agents_cmd::open_store;
use crate::cli::{CatalogArgs, CatalogCommand, ExportFormat};

pub(crate) async fn run(args: CatalogArgs) -> Result<()> {
    let (_, store) = open_store(args.store.store.as_deref(), args.store.config.as_deref()).await?;
    let catalog = store.catalog();
    let json = args.store.json;
    match args.command {
        CatalogCommand::List {
            server,
            status,
            kind,
        } => {
            let status = status
                .map(|s| s.parse::<EntryStatus>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("--status: {e}"))?;
            let kind = kind.map(|k| parse_kind(&k)).transpose()?;
            let entries: Vec<CatalogEntry> = catalog
                .entries(server.as_deref())
                .await?
                .into_iter()
                .filter(|e| status.is_none_or(|s| e.status == s))
                .filter(|e| kind.is_none_or(|k| e.kind == k))
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
            } else {
                print_entries(&entries);
            }
        }
        CatalogCommand::Servers => {
            let servers = catalog.servers().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&servers)?);
            } else {
                print_servers(&servers);
            }
        }
        CatalogCommand::Show { reference, kind } => match split(&reference, kind.as_deref())? {
            Ref::Server(server) => {
                let row = catalog.server(&server).await?;
                let history = catalog.history(&server, None).await?;
                if json {
                    let shown = serde_json::json!({"server": row, "history": history});
                    println!("{}", serde_json::to_string_pretty(&shown)?);
                } else {
                    print_servers(std::slice::from_ref(&row));
                    print_history(&history);
                }
            }
            Ref::Entry(server, kind, name) => {
                let entry = catalog.entry(&server, kind, &name).await?;
                let history = catalog.history(&server, Some((kind, &name))).await?;
                if json {
                    let shown = serde_json::json!({"entry": entry, "history": history});
                    println!("{}", serde_json::to_string_pretty(&shown)?);
                } else {
                    print_entries(std::slice::from_ref(&entry));
                    println!("definition: {}", entry.definition);
                    print_history(&history);
                }
            }
        },
        CatalogCommand::Approve {
            reference,
            kind,
            sha256,
            reason,
            by,
            all_pending,
        } => {
            let by = format!("cli:{}", by.unwrap_or_else(crate::approvals_cmd::login));
            match split(&reference, kind.as_deref())? {
                Ref::Server(server) => {
                    let row = catalog
                        .set_server_status(&server, ServerStatus::Approved, &by, reason.as_deref())
                        .await?;
                    println!("server {} is {}", row.name, row.status);
                    if all_pending {
                        for e in catalog.entries(Some(&server)).await? {
                            if e.status != EntryStatus::Pending {
                                continue;
                            }
                            let d = EntryDecision {
                                approve: true,
                                sha256: Some(&e.sha256),
                                by: &by,
                                reason: reason.as_deref(),
                            };
                            let done = decided(catalog.decide(&server, e.kind, &e.name, &d).await)?;
                            println!(
                                "{} {}/{} is {}",
                                done.kind.as_str(),
                                server,
                                done.name,
                                done.status
                            );
                        }
                    }
                }
                Ref::Entry(server, kind, name) => {
                    let d = EntryDecision {
                        approve: true,
                        sha256: sha256.as_deref(),
                        by: &by,
                        reason: reason.as_deref(),
                    };
                    let done = decided(catalog.decide(&server, kind, &name, &d).await)?;
                    println!(
                        "{} {server}/{name} is {} (sha256 {})",
                        kind.as_str(),
                        done.status,
                        done.sha256
                    );
                }
            }
        }
        CatalogCommand::Reject {
            reference,
            kind,
            reason,
            by,
        } => {
            let Ref::Entry(server, kind, name) = split(&reference, kind.as_deref())? else {
                bail!(
                    "reject takes SERVER/NAME (suspend a whole server with `moat catalog suspend`)"
                );
            };
            let by = format!("cli:{}", by.unwrap_or_else(crate::approvals_cmd::login));
            let d = EntryDecision {
                approve: false,
                sha256: None,
                by: &by,
                reason: Some(&reason),
            };
            let done = decided(catalog.decide(&server, kind, &name, &d).await)?;
            println!("{} {server}/{name} is {}", kind.as_str(), done.status);
        }
        CatalogCommand::Suspend { server, reason, by } => {
            let by = format!("cli:{}", by.unwrap_or_else(crate::approvals_cmd::login));
            let row = catalog
                .set_server_status(&server, ServerStatus::Suspended, &by, Some(&reason))
                .await?;
            println!(
                "server {} is {}: its tools, prompts and templates are hidden and refused",
                row.name, row.status
            );
        }
        CatalogCommand::Diff { reference, kind } => {
            let Ref::Entry(server, kind, name) = split(&reference, kind.as_deref())? else {
                bail!("diff takes SERVER/NAME");
            };
            let entry = catalog.entry(&server, kind, &name).await?;
            match (&entry.approved_sha256, &entry.approved_definition) {
                (Some(h), Some(approved)) if *h == entry.sha256 => {
                    println!(
                        "{} {server}/{name}: the definition seen is the approved one ({h})",
                        kind.as_str()
                    );
                }
                (Some(h), Some(approved_def)) => print!(
                    "{}",
                    moat_catalog::diff(
                        &format!("approved {h}"),
                        approved_def,
                        &format!("seen {} ({})", entry.sha256, entry.status),
                        &entry.definition
                    )
                ),
                _ => {
                    println!(
                        "{} {server}/{name} was never approved; as seen ({}):",
                        kind.as_str(),
                        entry.status
                    );
                    print!(
                        "{}",
                        moat_catalog::diff(
                            "(nothing approved)",
                            "",
                            &format!("seen {}", entry.sha256),
                            &entry.definition
                        )
                    );
                }
            }
        }
        CatalogCommand::Export { format, output } => {
            let document = export(&store).await?;
            let text = match format {
                ExportFormat::Json => serde_json::to_string_pretty(&document)? + "\n",
                ExportFormat::Yaml => serde_yaml_ng::to_string(&document)?,
            };
            match output {
                Some(path) => std::fs::write(&path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => print!("{text}"),
            }
        }
    }
    store.close().await;
    Ok(())
}

/// The approved catalog: servers not suspended, each with its approved definitions as approved.
async fn export(store: &moat_store::Store) -> Result<Export> {
    let catalog = store.catalog();
    let entries = catalog.entries(None).await?;
    let mut servers = Vec::new();
    for s in catalog.servers().await? {
        if s.status == ServerStatus::Suspended {
            continue;
        }
        let approved = entries
            .iter()
            .filter(|e| e.server == s.name && e.status == EntryStatus::Approved)
            .map(|e| {
                Ok(ExportedEntry {
                    kind: e.kind,
                    name: e.name.clone(),
                    sha256: e.sha256.clone(),
                    approved_by: e.decided_by.clone().unwrap_or_default(),
                    approved_at: e.decided_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    definition: serde_json::from_str(&e.definition).with_context(|| {
                        format!("catalog entry {}/{} is not JSON", e.server, e.name)
                    })?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        servers.push(ExportedServer {
            name: s.name,
            status: s.status,
            transport: s.transport,
            address: s.address,
            owner: s.owner,
            label: s.label,
            entries: approved,
        });
    }
    Ok(Export {
        version: moat_catalog::EXPORT_VERSION,
        exported_at: moat_store::chrono::Utc::now().to_rfc3339(),
        servers,
    })
}

/// A decision that lost a race says so.
fn decided(result: Result<CatalogEntry, StoreError>) -> Result<CatalogEntry> {
    match result {
        Err(StoreError::Conflict { key, .. }) => {
            bail!(
                "not decided: {key}; review it again (moat catalog diff) and approve the hash shown"
            )
        }
        other => Ok(other?),
    }
}

enum Ref {
    Server(String),
    Entry(String, Kind, String),
}

/// `SERVER` or `SERVER/NAME` (a name may itself contain `/`: the server is up to the first).
fn split(reference: &str, kind: Option<&str>) -> Result<Ref> {
    let kind = kind.map(parse_kind).transpose()?.unwrap_or(Kind::Tool);
    Ok(match reference.split_once('/') {
        Some((server, name)) if !server.is_empty() && !name.is_empty() => {
            Ref::Entry(server.to_owned(), kind, name.to_owned())
        }
        Some(_) => bail!("{reference:?} is not SERVER/NAME"),
        None => Ref::Server(reference.to_owned()),
    })
}

fn parse_kind(text: &str) -> Result<Kind> {
    Kind::parse(text)
        .with_context(|| format!("unknown kind {text:?} (tool, prompt or resource_template)"))
}

fn print_entries(entries: &[CatalogEntry]) {
    println!(
        "{:<12} {:<18} {:<32} {:<12} {:<14} DECIDED BY",
        "SERVER", "KIND", "NAME", "STATUS", "SHA256"
    );
    for e in entries {
        let removed = if e.removed_at.is_some() {
            " (removed)"
        } else {
            ""
        };
        println!(
            "{:<12} {:<18} {:<32} {:<12} {:<14} {}{removed}",
            e.server,
            e.kind.as_str(),
            e.name,
            e.status.as_str(),
            e.sha256.get(..12).unwrap_or(&e.sha256),
            e.decided_by.as_deref().unwrap_or("-"),
        );
    }
}

fn print_servers(servers: &[CatalogServer]) {
    println!(
        "{:<12} {:<10} {:<6} {:<14} ADDRESS",
        "SERVER", "STATUS", "VIA", "OWNER"
    );
    for s in servers {
        println!(
            "{:<12} {:<10} {:<6} {:<14} {}",
            s.name,
            s.status.as_str(),
            s.transport,
            s.owner.as_deref().unwrap_or("-"),
            s.address
        );
    }
}

fn print_history(history: &[moat_store::CatalogEvent]) {
    println!("history:");
    for e in history {
        let what = if e.name.is_empty() {
            String::new()
        } else {
            format!(" {} {}", e.kind, e.name)
        };
        println!(
            "  #{} {} {}{what} -> {} by {}{}",
            e.seq,
            e.at.to_rfc3339(),
            e.event,
            if e.status.is_empty() { "-" } else { &e.status },
            e.actor,
            e.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    }
}
