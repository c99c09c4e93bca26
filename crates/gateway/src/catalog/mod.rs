//! The catalog as the gateway enforces it: which tools, prompts and resource templates of which
//! servers agents may see and use. Every listing moat reads (a session's, or the watcher's in
//! `watch.rs`) is compared with the pins: a new definition is vetted (the server's `approval`
//! mode and the poisoning scan), a changed one that was approved is quarantined at once (a rug
//! pull), and only approved definitions of servers that are not suspended are shown or may be
//! called. The rows live in the store; this keeps an in-memory copy, refreshed when the store's
//! history moves (decisions taken with `moat catalog` in another process).
//!
//! Without a store (quick mode, `moat test`) the pins live in memory for the process's life.

mod watch;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicI64, Ordering};

use moat_catalog::{
    ApprovalMode, Definition, EntryStatus, Kind, Observation, ServerStatus, Vetting,
};
use moat_config::Config;
use moat_proto::RawValue;
use moat_scan::{Scanner, Severity};
use moat_store::{CatalogEntry, ServerRecord, Sighting, Store, StoreError};
use parking_lot::RwLock;
use serde_json::Value;

pub(crate) use watch::{definitions, watch};

use crate::events;

/// Why the catalog could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The store failed.
    #[error("catalog store: {0}")]
    Store(#[from] StoreError),
    /// The scanner's patterns did not compile.
    #[error("poisoning scanner: {0}")]
    Scanner(String),
}

/// What the catalog says of one definition, for the gateway's decisions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Standing {
    /// May be shown and used.
    Approved,
    /// Known, not approved: hidden and refused.
    Held(EntryStatus),
    /// Its server is suspended.
    Suspended,
    /// Never seen in a listing.
    Unknown,
}

/// One definition's pin as kept in memory.
#[derive(Clone, Debug)]
struct Pin {
    status: EntryStatus,
    sha256: String,
    /// A keyed hash of the listing entry's raw text when last pinned: the same text again is
    /// the same definition without canonicalising it.
    raw: u64,
}

/// Per server: its status and its pins by kind and name.
#[derive(Debug)]
struct ServerPins {
    name: String,
    status: ServerStatus,
    approval: ApprovalMode,
    /// Its annotations are believed (`policy.servers.<s>.trusted`).
    trusted: bool,
    pins: [HashMap<String, Pin>; 3],
}

impl ServerPins {
    fn kind(&self, kind: Kind) -> &HashMap<String, Pin> {
        &self.pins[kind_index(kind)]
    }

    fn kind_mut(&mut self, kind: Kind) -> &mut HashMap<String, Pin> {
        &mut self.pins[kind_index(kind)]
    }
}

fn kind_index(kind: Kind) -> usize {
    match kind {
        Kind::Tool => 0,
        Kind::Prompt => 1,
        Kind::ResourceTemplate => 2,
    }
}

/// The catalog, shared by every session.
pub struct Catalog {
    store: Option<Store>,
    /// By upstream index (config order).
    servers: RwLock<Vec<ServerPins>>,
    /// The store's history number this copy reflects.
    seq: AtomicI64,
    scanner: Scanner,
    /// Held while a sighting is vetted and recorded, so that two listings seeing the same new
    /// or changed definition at once (a session's and the watcher's) record it once.
    recording: tokio::sync::Mutex<()>,
    /// Keys the raw-text hashes (per process, so a server cannot aim at a collision).
    raw_hasher: RandomState,
}

impl Catalog {
    /// Registers the config's servers and loads their pins. Fails when the store cannot be
    /// read: moat does not serve tools it cannot check.
    pub async fn open(config: &Config, store: Option<Store>) -> Result<Self, CatalogError> {
        let mut context = moat_scan::Context::new();
        for up in &config.upstreams {
            context = context.server(up.name.as_str());
        }
        let mut servers = Vec::with_capacity(config.upstreams.len());
        for up in &config.upstreams {
            let trusted = config
                .policy
                .as_ref()
                .and_then(|p| p.servers.get(up.name.as_str()))
                .is_some_and(|s| s.trusted);
            servers.push(ServerPins {
                name: up.name.as_str().to_owned(),
                status: ServerStatus::Approved,
                approval: up.approval,
                trusted,
                pins: Default::default(),
            });
        }
        let catalog_seq = match &store {
            None => 0,
            Some(store) => {
                let catalog = store.catalog();
                for (up, pins) in config.upstreams.iter().zip(&mut servers) {
                    let row = catalog.register_server(&server_record(up)).await?;
                    pins.status = check_launch(store, up, &row).await?;
                }
                for entry in catalog.entries(None).await? {
                    context = context.tool(&entry.server, &entry.name);
                    if let Some(pins) = servers.iter_mut().find(|s| s.name == entry.server) {
                        insert(pins, &entry);
                    }
                }
                catalog.last_seq().await?
            }
        };
        let scanner = Scanner::new(&context).map_err(|e| CatalogError::Scanner(e.to_string()))?;
        Ok(Self {
            store,
            servers: RwLock::new(servers),
            seq: AtomicI64::new(catalog_seq),
            scanner,
            recording: tokio::sync::Mutex::new(()),
            raw_hasher: RandomState::new(),
        })
    }

    /// Where the definition `name` of kind `kind` on server `idx` stands.
    pub(crate) fn standing(&self, idx: usize, kind: Kind, name: &str) -> Standing {
        let servers = self.servers.read();
        let Some(server) = servers.get(idx) else {
            return Standing::Unknown;
        };
        if server.status == ServerStatus::Suspended {
            return Standing::Suspended;
        }
        match server.kind(kind).get(name).map(|p| p.status) {
            None => Standing::Unknown,
            Some(EntryStatus::Approved) => Standing::Approved,
            Some(held) => Standing::Held(held),
        }
    }

    /// Compares one page of server `idx`'s listing of `kind` (its entries as the server wrote
    /// them) with the pins, recording what is new or changed. Returns the names it saw.
    pub(crate) async fn observe(
        &self,
        idx: usize,
        kind: Kind,
        entries: &[&RawValue],
    ) -> Vec<String> {
        let mut names = Vec::with_capacity(entries.len());
        for entry in entries {
            let raw = self.raw_hash(entry.get());
            let Ok(value) = serde_json::from_str::<Value>(entry.get()) else {
                continue;
            };
            let Ok(definition) = Definition::of(kind, &value) else {
                continue;
            };
            names.push(definition.name.clone());
            if self.is_pinned_as(idx, kind, &definition.name, raw) {
                continue;
            }
            let _one = self.recording.lock().await;
            let facts = {
                let servers = self.servers.read();
                let Some(server) = servers.get(idx) else {
                    return names;
                };
                let pin = server.kind(kind).get(&definition.name);
                if pin.is_some_and(|p| p.raw == raw) {
                    continue;
                }
                let known = pin.map(|p| (p.status, p.sha256.clone()));
                let read_only = server.trusted
                    && value
                        .get("annotations")
                        .and_then(|a| a.get("readOnlyHint"))
                        .and_then(Value::as_bool)
                        == Some(true);
                (known, server.name.clone(), server.approval, read_only)
            };
            if facts
                .0
                .as_ref()
                .is_some_and(|(_, h)| *h == definition.sha256)
            {
                self.set_raw(idx, kind, &definition.name, raw);
                continue;
            }
            let (known, server, vetting, findings) = {
                let (known, server, mode, read_only) = facts;
                // Every new or changed definition is scanned: its findings go on record, and
                // a serious one keeps it from being approved by rules.
                let report = self.scanner.scan_for(&server, &value);
                let flagged = report.max_severity.is_some_and(|s| s >= Severity::High);
                let findings = (!report.findings.is_empty()).then(|| {
                    let ids: Vec<String> = report
                        .findings
                        .iter()
                        .map(|f| format!("{} ({})", f.rule.id(), f.severity.as_str()))
                        .collect();
                    format!("poisoning scan: {}", ids.join(", "))
                });
                let vetting = Vetting {
                    mode,
                    read_only,
                    flagged,
                };
                (known, server, vetting, findings)
            };
            let seen = moat_catalog::observe(
                known.as_ref().map(|(s, h)| (*s, h.as_str())),
                &definition.sha256,
                kind,
                &vetting,
            );
            let status = match seen {
                Observation::Unchanged => {
                    self.set_raw(idx, kind, &definition.name, raw);
                    continue;
                }
                Observation::New(status) | Observation::Changed { now: status, .. } => status,
            };
            let why = match status {
                EntryStatus::Approved => format!("{} approval", vetting.mode),
                EntryStatus::Quarantined => {
                    "its definition changed after it was approved".to_owned()
                }
                _ if vetting.flagged => {
                    "not approved by rules: the poisoning scan found high-severity findings"
                        .to_owned()
                }
                _ => "waiting for an operator".to_owned(),
            };
            let reason = match findings {
                Some(f) => format!("{why}; {f}"),
                None => why,
            };
            self.record(
                idx,
                &server,
                &definition,
                known.as_ref().map(|(_, h)| h.as_str()),
                status,
                &reason,
                raw,
                seen,
            )
            .await;
        }
        names
    }

    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        idx: usize,
        server: &str,
        definition: &Definition,
        was: Option<&str>,
        status: EntryStatus,
        reason: &str,
        raw: u64,
        seen: Observation,
    ) {
        let pin = match &self.store {
            None => Pin {
                status,
                sha256: definition.sha256.clone(),
                raw,
            },
            Some(store) => {
                let sighting = Sighting {
                    server,
                    kind: definition.kind,
                    name: &definition.name,
                    sha256: &definition.sha256,
                    definition: &definition.canonical,
                    was,
                    status,
                    reason,
                };
                match store.catalog().record(&sighting).await {
                    Ok(row) => Pin {
                        status: row.status,
                        raw: if row.sha256 == definition.sha256 {
                            raw
                        } else {
                            0
                        },
                        sha256: row.sha256,
                    },
                    Err(e) => {
                        // Fail closed: what cannot be recorded is not shown.
                        tracing::error!(server, name = %definition.name, "cannot record a catalog sighting: {e}");
                        Pin {
                            status: EntryStatus::Pending,
                            sha256: String::new(),
                            raw: 0,
                        }
                    }
                }
            }
        };
        events::catalog_sighting(server, definition, seen, pin.status, reason);
        if let Some(s) = self.servers.write().get_mut(idx) {
            s.kind_mut(definition.kind)
                .insert(definition.name.clone(), pin);
        }
    }

    /// Whether the entry was last pinned from exactly this text.
    fn is_pinned_as(&self, idx: usize, kind: Kind, name: &str, raw: u64) -> bool {
        self.servers
            .read()
            .get(idx)
            .and_then(|s| s.kind(kind).get(name))
            .is_some_and(|p| p.raw == raw)
    }

    fn set_raw(&self, idx: usize, kind: Kind, name: &str, raw: u64) {
        if let Some(pin) = self
            .servers
            .write()
            .get_mut(idx)
            .and_then(|s| s.kind_mut(kind).get_mut(name))
        {
            pin.raw = raw;
        }
    }

    fn raw_hash(&self, text: &str) -> u64 {
        let mut h = self.raw_hasher.build_hasher();
        h.write(text.as_bytes());
        h.finish()
    }

    /// After a complete listing of server `idx`'s `kind`: what it no longer shows is recorded
    /// as removed (and stays hidden; it is vetted again if it comes back changed).
    pub(crate) async fn listed_all(&self, idx: usize, kind: Kind, names: &[String]) {
        let Some(store) = &self.store else {
            return;
        };
        let (server, gone): (String, Vec<String>) = {
            let servers = self.servers.read();
            let Some(s) = servers.get(idx) else {
                return;
            };
            let gone = s
                .kind(kind)
                .keys()
                .filter(|k| !names.contains(k))
                .cloned()
                .collect();
            (s.name.clone(), gone)
        };
        let catalog = store.catalog();
        let seen: Vec<&str> = names.iter().map(String::as_str).collect();
        if let Err(e) = catalog.touch(&server, kind, &seen).await {
            tracing::warn!(server, "cannot record when definitions were last seen: {e}");
        }
        for name in gone {
            match catalog.mark_removed(&server, kind, &name).await {
                Ok(()) => {
                    tracing::info!(target: "moat::governance", event = "catalog", server, kind = kind.as_str(), name, "no longer listed by its server")
                }
                Err(e) => tracing::warn!(server, name, "cannot record a removal: {e}"),
            }
        }
    }

    /// Reloads from the store when its history moved (a decision taken elsewhere).
    pub(crate) async fn refresh(&self) -> Result<(), CatalogError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let catalog = store.catalog();
        let seq = catalog.last_seq().await?;
        if seq == self.seq.load(Ordering::Acquire) {
            return Ok(());
        }
        let statuses = catalog.servers().await?;
        let entries = catalog.entries(None).await?;
        let mut servers = self.servers.write();
        for s in servers.iter_mut() {
            if let Some(row) = statuses.iter().find(|r| r.name == s.name) {
                s.status = row.status;
            }
            // Raw hashes survive a reload where the pin did not change.
            let mut old = std::mem::take(&mut s.pins);
            let name = s.name.clone();
            for entry in entries.iter().filter(|e| e.server == name) {
                let raw = old[kind_index(entry.kind)]
                    .remove(&entry.name)
                    .filter(|p| p.sha256 == entry.sha256)
                    .map_or(0, |p| p.raw);
                s.kind_mut(entry.kind).insert(
                    entry.name.clone(),
                    Pin {
                        status: entry.status,
                        sha256: entry.sha256.clone(),
                        raw,
                    },
                );
            }
        }
        self.seq.store(seq, Ordering::Release);
        tracing::info!(target: "moat::governance", event = "catalog", seq, "catalog reloaded from the store");
        Ok(())
    }
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("store", &self.store)
            .field("servers", &self.servers.read().len())
            .finish_non_exhaustive()
    }
}

fn insert(server: &mut ServerPins, entry: &CatalogEntry) {
    server.kind_mut(entry.kind).insert(
        entry.name.clone(),
        Pin {
            status: entry.status,
            sha256: entry.sha256.clone(),
            raw: 0,
        },
    );
}

/// A server moat starts by command is pinned by what it runs: the first start records the
/// hash, a later start that finds other files suspends the server (and records the new hash,
/// so an operator's approval then admits what they reviewed). Returns the server's status.
async fn check_launch(
    store: &Store,
    up: &moat_config::UpstreamConfig,
    row: &moat_store::CatalogServer,
) -> Result<ServerStatus, CatalogError> {
    let moat_config::Transport::Stdio {
        command, args, cwd, ..
    } = &up.transport
    else {
        return Ok(row.status);
    };
    let launch = moat_upstream::fingerprint::Launch {
        command,
        args,
        cwd: cwd.as_deref(),
        path: None,
    };
    let found = match moat_upstream::fingerprint::fingerprint(&launch) {
        Ok(found) => found,
        Err(e) => {
            // It may still start (a remote script, a launcher that fetches): unpinned, said so.
            tracing::warn!(server = %up.name, "cannot fingerprint what the server runs, so it is not pinned: {e}");
            return Ok(row.status);
        }
    };
    let catalog = store.catalog();
    match &row.launch_sha256 {
        None => {
            catalog.pin_launch(&row.name, &found.sha256, "moat").await?;
            tracing::info!(target: "moat::governance", event = "catalog", server = %up.name, sha256 = %found.sha256, files = found.files, root = %found.root.display(), "launch pinned");
            Ok(row.status)
        }
        Some(pinned) if *pinned == found.sha256 => Ok(row.status),
        Some(pinned) => {
            let reason = format!(
                "what it runs changed: {} now hashes to {} (was {pinned})",
                found.root.display(),
                found.sha256
            );
            tracing::error!(target: "moat::governance", event = "quarantine", alert = "launch_changed", server = %up.name, %reason, "server suspended until approved again (moat catalog approve {})", up.name);
            catalog.pin_launch(&row.name, &found.sha256, "moat").await?;
            let row = catalog
                .set_server_status(&row.name, ServerStatus::Suspended, "moat", Some(&reason))
                .await?;
            Ok(row.status)
        }
    }
}

/// What the catalog records of a configured server.
fn server_record(up: &moat_config::UpstreamConfig) -> ServerRecord {
    use moat_config::Transport;
    let (transport, address) = match &up.transport {
        Transport::Stdio { command, args, .. } => (
            "stdio",
            std::iter::once(command.as_str())
                .chain(args.iter().map(String::as_str))
                .map(|w| shlex::try_quote(w).map_or_else(|_| w.to_owned(), |q| q.into_owned()))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Transport::Http { url, .. } => ("http", url.clone()),
        Transport::Sse { url, .. } => ("sse", url.clone()),
        Transport::BuiltinFixture => ("stdio", "builtin:fixture".to_owned()),
    };
    ServerRecord {
        name: up.name.as_str().to_owned(),
        transport: transport.to_owned(),
        address,
        owner: up.owner.clone(),
        description: up.description.clone(),
        label: None,
        // A server whose definitions are vetted by rules is in service; one that needs an
        // operator waits for one too.
        status: match up.approval {
            ApprovalMode::Required => ServerStatus::Pending,
            ApprovalMode::Auto | ApprovalMode::ReadOnly => ServerStatus::Approved,
        },
    }
}
