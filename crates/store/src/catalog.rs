//! The catalog: upstream servers and the definitions they showed, pinned by hash, with their
//! status and an append-only history. What a sighting *means* is decided by `moat_catalog`;
//! this module records it, conditionally on the row being as the caller saw it, so two
//! sessions (or two instances) that see the same change record it once.

use chrono::{DateTime, Utc};
use moat_catalog::{EntryStatus, Kind, ServerStatus};
use serde::Serialize;
use sqlx::FromRow;

use crate::backend::{BeginWrite, on_backend};
use crate::clock;
use crate::error::StoreError;
use crate::store::Store;

/// A server as the catalog records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogServer {
    /// Its name in the config.
    pub name: String,
    /// `stdio`, `http` or `sse`.
    pub transport: String,
    /// Its command line or URL.
    pub address: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Its sensitivity label.
    pub label: Option<String>,
    /// Where it stands.
    pub status: ServerStatus,
    /// SHA-256 of what its launch command runs, for servers moat starts.
    pub launch_sha256: Option<String>,
    /// Who last decided its status.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why.
    pub reason: Option<String>,
    /// When moat first ran it.
    pub first_seen: DateTime<Utc>,
    /// When its record last changed.
    pub updated_at: DateTime<Utc>,
}

/// A server as the config declares it, to register or update.
#[derive(Clone, Debug)]
pub struct ServerRecord {
    /// Its name.
    pub name: String,
    /// `stdio`, `http` or `sse`.
    pub transport: String,
    /// Its command line or URL.
    pub address: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// What it is for.
    pub description: Option<String>,
    /// Its sensitivity label.
    pub label: Option<String>,
    /// Its status when it is new.
    pub status: ServerStatus,
}

/// One definition (tool, prompt or resource template) of one server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    /// The server.
    pub server: String,
    /// What kind.
    pub kind: Kind,
    /// Its name on the server (a template's URI template).
    pub name: String,
    /// Where it stands.
    pub status: EntryStatus,
    /// SHA-256 of the definition last seen.
    pub sha256: String,
    /// The definition last seen, canonical JSON.
    pub definition: String,
    /// SHA-256 of the definition last approved.
    pub approved_sha256: Option<String>,
    /// The definition last approved.
    pub approved_definition: Option<String>,
    /// When moat first saw it.
    pub first_seen: DateTime<Utc>,
    /// When moat last saw it listed.
    pub last_seen: DateTime<Utc>,
    /// When a full listing of its server no longer showed it.
    pub removed_at: Option<DateTime<Utc>>,
    /// Who decided its status (`auto` for the server's rules, `moat` for a quarantine).
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// Why.
    pub reason: Option<String>,
}

/// A definition as seen, with what it means (decided by `moat_catalog::observe`).
#[derive(Clone, Debug)]
pub struct Sighting<'a> {
    /// The server.
    pub server: &'a str,
    /// What kind.
    pub kind: Kind,
    /// Its name.
    pub name: &'a str,
    /// SHA-256 of its canonical definition.
    pub sha256: &'a str,
    /// The canonical definition.
    pub definition: &'a str,
    /// The hash the caller found recorded; `None` when it found no row.
    pub was: Option<&'a str>,
    /// The status to record.
    pub status: EntryStatus,
    /// Why (a quarantine's or an automatic approval's reason).
    pub reason: &'a str,
}

/// An operator's decision on a definition.
#[derive(Clone, Debug)]
pub struct EntryDecision<'a> {
    /// Approve (else reject).
    pub approve: bool,
    /// The hash the operator reviewed: the decision applies only if it is still the one seen.
    pub sha256: Option<&'a str>,
    /// Who decided.
    pub by: &'a str,
    /// Why.
    pub reason: Option<&'a str>,
}

/// One line of the catalog's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, FromRow)]
pub struct CatalogEvent {
    /// Its number; increasing.
    pub seq: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// The server.
    pub server: String,
    /// `server`, or the definition's kind.
    pub kind: String,
    /// The definition's name; empty for the server itself.
    pub name: String,
    /// What happened: `registered`, `updated`, `new`, `changed`, `approved`, `rejected`,
    /// `removed`, `server_<status>`, `launch_pinned`.
    pub event: String,
    /// The status after it.
    pub status: String,
    /// The definition's hash, where one is involved.
    pub sha256: Option<String>,
    /// The definition, when it was new or changed.
    pub definition: Option<String>,
    /// Who (`auto`, `moat`, or the operator).
    pub actor: String,
    /// Why.
    pub reason: Option<String>,
}

/// The catalog; from [`Store::catalog`].
#[derive(Clone, Copy, Debug)]
pub struct Catalog<'s> {
    store: &'s Store,
}

const SERVER_COLUMNS: &str = "name, transport, address, owner, description, label, status, \
     launch_sha256, decided_by, decided_at, reason, first_seen, updated_at";
const ENTRY_COLUMNS: &str = "server, kind, name, status, sha256, definition, approved_sha256, \
     approved_definition, first_seen, last_seen, removed_at, decided_by, decided_at, reason";
const HISTORY: &str = "INSERT INTO catalog_history \
     (at, server, kind, name, event, status, sha256, definition, actor, reason) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

/// A history line to append.
struct Event<'a> {
    server: &'a str,
    kind: &'a str,
    name: &'a str,
    event: &'a str,
    status: &'a str,
    sha256: Option<&'a str>,
    definition: Option<&'a str>,
    actor: &'a str,
    reason: Option<&'a str>,
}

/// Appends `$event` at `$now` inside transaction `$tx`.
macro_rules! append {
    ($tx:ident, $now:expr, $event:expr) => {{
        let e: &Event<'_> = $event;
        sqlx::query(HISTORY)
            .bind($now)
            .bind(e.server)
            .bind(e.kind)
            .bind(e.name)
            .bind(e.event)
            .bind(e.status)
            .bind(e.sha256)
            .bind(e.definition)
            .bind(e.actor)
            .bind(e.reason)
            .execute(&mut *$tx)
            .await?;
    }};
}

impl<'s> Catalog<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Registers a server the config declares, or updates what the config says of it (its
    /// status stays as decided).
    pub async fn register_server(&self, s: &ServerRecord) -> Result<CatalogServer, StoreError> {
        let now = clock::now();
        let known = self.find_server(&s.name).await?;
        let same = known.as_ref().is_some_and(|k| {
            (&k.transport, &k.address, &k.owner, &k.description, &k.label)
                == (&s.transport, &s.address, &s.owner, &s.description, &s.label)
        });
        if same {
            return self.server(&s.name).await;
        }
        on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            let event = if known.is_some() {
                sqlx::query(
                    "UPDATE catalog_servers SET transport = $2, address = $3, owner = $4, \
                     description = $5, label = $6, updated_at = $7 WHERE name = $1",
                )
                .bind(&s.name)
                .bind(&s.transport)
                .bind(&s.address)
                .bind(s.owner.as_deref())
                .bind(s.description.as_deref())
                .bind(s.label.as_deref())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                "updated"
            } else {
                sqlx::query(
                    "INSERT INTO catalog_servers (name, transport, address, owner, description, \
                     label, status, first_seen, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (name) DO NOTHING",
                )
                .bind(&s.name)
                .bind(&s.transport)
                .bind(&s.address)
                .bind(s.owner.as_deref())
                .bind(s.description.as_deref())
                .bind(s.label.as_deref())
                .bind(s.status.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                "registered"
            };
            let status = known.as_ref().map_or(s.status, |k| k.status);
            append!(
                tx,
                now,
                &Event {
                    server: &s.name,
                    kind: "server",
                    name: "",
                    event,
                    status: status.as_str(),
                    sha256: None,
                    definition: None,
                    actor: "config",
                    reason: Some(&s.address),
                }
            );
            tx.commit().await?;
        });
        self.server(&s.name).await
    }

    /// Every server, by name.
    pub async fn servers(&self) -> Result<Vec<CatalogServer>, StoreError> {
        let sql = format!("SELECT {SERVER_COLUMNS} FROM catalog_servers ORDER BY name");
        let rows: Vec<ServerRow> = on_backend!(self.store, |pool| sqlx::query_as(&sql)
            .fetch_all(pool)
            .await?);
        rows.into_iter().map(CatalogServer::try_from).collect()
    }

    /// One server.
    pub async fn server(&self, name: &str) -> Result<CatalogServer, StoreError> {
        self.find_server(name)
            .await?
            .ok_or_else(|| StoreError::not_found("catalog server", name))
    }

    async fn find_server(&self, name: &str) -> Result<Option<CatalogServer>, StoreError> {
        let sql = format!("SELECT {SERVER_COLUMNS} FROM catalog_servers WHERE name = $1");
        let row: Option<ServerRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(&sql).bind(name).fetch_optional(pool).await?
        });
        row.map(CatalogServer::try_from).transpose()
    }

    /// Sets a server's status (an operator's approval or suspension, or moat suspending a
    /// server whose launch changed).
    pub async fn set_server_status(
        &self,
        name: &str,
        status: ServerStatus,
        by: &str,
        reason: Option<&str>,
    ) -> Result<CatalogServer, StoreError> {
        let now = clock::now();
        on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query(
                "UPDATE catalog_servers SET status = $2, decided_by = $3, decided_at = $4, \
                 reason = $5, updated_at = $4 WHERE name = $1",
            )
            .bind(name)
            .bind(status.as_str())
            .bind(by)
            .bind(now)
            .bind(reason)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Err(StoreError::not_found("catalog server", name));
            }
            let event = format!("server_{status}");
            append!(
                tx,
                now,
                &Event {
                    server: name,
                    kind: "server",
                    name: "",
                    event: &event,
                    status: status.as_str(),
                    sha256: None,
                    definition: None,
                    actor: by,
                    reason,
                }
            );
            tx.commit().await?;
        });
        self.server(name).await
    }

    /// Records what a server's launch command runs (its SHA-256).
    pub async fn pin_launch(&self, name: &str, sha256: &str, by: &str) -> Result<(), StoreError> {
        let now = clock::now();
        on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "UPDATE catalog_servers SET launch_sha256 = $2, updated_at = $3 WHERE name = $1",
            )
            .bind(name)
            .bind(sha256)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            append!(
                tx,
                now,
                &Event {
                    server: name,
                    kind: "server",
                    name: "",
                    event: "launch_pinned",
                    status: "",
                    sha256: Some(sha256),
                    definition: None,
                    actor: by,
                    reason: None,
                }
            );
            tx.commit().await?;
        });
        Ok(())
    }

    /// Definitions, by server, kind and name: of one server, or of all.
    pub async fn entries(&self, server: Option<&str>) -> Result<Vec<CatalogEntry>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM catalog_entries WHERE ($1 = '' OR server = $1) \
             ORDER BY server, kind, name"
        );
        let rows: Vec<EntryRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(&sql)
                .bind(server.unwrap_or_default())
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(CatalogEntry::try_from).collect()
    }

    /// One definition.
    pub async fn entry(
        &self,
        server: &str,
        kind: Kind,
        name: &str,
    ) -> Result<CatalogEntry, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM catalog_entries WHERE server = $1 AND kind = $2 AND name = $3"
        );
        let row: Option<EntryRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(&sql)
                .bind(server)
                .bind(kind.as_str())
                .bind(name)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| {
            StoreError::not_found(
                "catalog entry",
                format!("{server}/{name} ({})", kind.as_str()),
            )
        })?
        .try_into()
    }

    /// Records a new or changed definition, provided the row is still as the caller found it
    /// (absent, or with hash `was`), and returns the row as it then stands: the caller's write,
    /// or whatever another writer recorded first.
    pub async fn record(&self, s: &Sighting<'_>) -> Result<CatalogEntry, StoreError> {
        let now = clock::now();
        let approved = s.status == EntryStatus::Approved;
        let decided = s.status != EntryStatus::Pending;
        let actor = if s.status == EntryStatus::Quarantined {
            "moat"
        } else {
            "auto"
        };
        on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            let written = match s.was {
                None => sqlx::query(
                    "INSERT INTO catalog_entries (server, kind, name, status, sha256, definition, \
                     approved_sha256, approved_definition, first_seen, last_seen, decided_by, \
                     decided_at, reason) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12) \
                     ON CONFLICT (server, kind, name) DO NOTHING",
                )
                .bind(s.server)
                .bind(s.kind.as_str())
                .bind(s.name)
                .bind(s.status.as_str())
                .bind(s.sha256)
                .bind(s.definition)
                .bind(approved.then_some(s.sha256))
                .bind(approved.then_some(s.definition))
                .bind(now)
                .bind(decided.then_some(actor))
                .bind(decided.then_some(now))
                .bind(decided.then_some(s.reason))
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                Some(was) => sqlx::query(
                    "UPDATE catalog_entries SET status = $4, sha256 = $5, definition = $6, \
                     approved_sha256 = CASE WHEN $7 THEN $5 ELSE approved_sha256 END, \
                     approved_definition = CASE WHEN $7 THEN $6 ELSE approved_definition END, \
                     last_seen = $8, removed_at = NULL, \
                     decided_by = CASE WHEN $9 THEN $10 ELSE decided_by END, \
                     decided_at = CASE WHEN $9 THEN $8 ELSE decided_at END, \
                     reason = CASE WHEN $9 THEN $11 ELSE reason END \
                     WHERE server = $1 AND kind = $2 AND name = $3 AND sha256 = $12",
                )
                .bind(s.server)
                .bind(s.kind.as_str())
                .bind(s.name)
                .bind(s.status.as_str())
                .bind(s.sha256)
                .bind(s.definition)
                .bind(approved)
                .bind(now)
                .bind(decided)
                .bind(actor)
                .bind(s.reason)
                .bind(was)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if written == 1 {
                append!(
                    tx,
                    now,
                    &Event {
                        server: s.server,
                        kind: s.kind.as_str(),
                        name: s.name,
                        event: if s.was.is_some() { "changed" } else { "new" },
                        status: s.status.as_str(),
                        sha256: Some(s.sha256),
                        definition: Some(s.definition),
                        actor: if decided { actor } else { "moat" },
                        reason: Some(s.reason),
                    }
                );
            }
            tx.commit().await?;
        });
        self.entry(s.server, s.kind, s.name).await
    }

    /// Marks definitions still listed: `last_seen` now, and no longer removed.
    pub async fn touch(&self, server: &str, kind: Kind, names: &[&str]) -> Result<(), StoreError> {
        let now = clock::now();
        on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            for name in names {
                sqlx::query(
                    "UPDATE catalog_entries SET last_seen = $4, removed_at = NULL \
                     WHERE server = $1 AND kind = $2 AND name = $3",
                )
                .bind(server)
                .bind(kind.as_str())
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records that a full listing of `server` no longer shows a definition (once).
    pub async fn mark_removed(
        &self,
        server: &str,
        kind: Kind,
        name: &str,
    ) -> Result<(), StoreError> {
        let now = clock::now();
        on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query(
                "UPDATE catalog_entries SET removed_at = $4 \
                 WHERE server = $1 AND kind = $2 AND name = $3 AND removed_at IS NULL",
            )
            .bind(server)
            .bind(kind.as_str())
            .bind(name)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                append!(
                    tx,
                    now,
                    &Event {
                        server,
                        kind: kind.as_str(),
                        name,
                        event: "removed",
                        status: "",
                        sha256: None,
                        definition: None,
                        actor: "moat",
                        reason: None,
                    }
                );
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// An operator's decision. Approving records the definition seen as the approved one.
    /// `Conflict` when the definition changed since the hash the operator reviewed.
    pub async fn decide(
        &self,
        server: &str,
        kind: Kind,
        name: &str,
        d: &EntryDecision<'_>,
    ) -> Result<CatalogEntry, StoreError> {
        let entry = self.entry(server, kind, name).await?;
        if d.sha256.is_some_and(|h| h != entry.sha256) {
            return Err(StoreError::Conflict {
                what: "catalog decision",
                key: format!(
                    "{server}/{name} changed since it was reviewed: it is now {}",
                    entry.sha256
                ),
            });
        }
        let status = if d.approve {
            EntryStatus::Approved
        } else {
            EntryStatus::Rejected
        };
        let now = clock::now();
        on_backend!(self.store, |pool| {
            let mut tx = pool.begin_write().await?;
            let changed = sqlx::query(
                "UPDATE catalog_entries SET status = $4, decided_by = $5, decided_at = $6, \
                 reason = $7, \
                 approved_sha256 = CASE WHEN $8 THEN sha256 ELSE approved_sha256 END, \
                 approved_definition = CASE WHEN $8 THEN definition ELSE approved_definition END \
                 WHERE server = $1 AND kind = $2 AND name = $3 AND sha256 = $9",
            )
            .bind(server)
            .bind(kind.as_str())
            .bind(name)
            .bind(status.as_str())
            .bind(d.by)
            .bind(now)
            .bind(d.reason)
            .bind(d.approve)
            .bind(&entry.sha256)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 0 {
                return Err(StoreError::Conflict {
                    what: "catalog decision",
                    key: format!("{server}/{name} changed while it was being decided"),
                });
            }
            append!(
                tx,
                now,
                &Event {
                    server,
                    kind: kind.as_str(),
                    name,
                    event: status.as_str(),
                    status: status.as_str(),
                    sha256: Some(&entry.sha256),
                    definition: None,
                    actor: d.by,
                    reason: d.reason,
                }
            );
            tx.commit().await?;
        });
        self.entry(server, kind, name).await
    }

    /// The history of a server (`name` `None`: the server's own events and its definitions'),
    /// or of one definition; oldest first.
    pub async fn history(
        &self,
        server: &str,
        entry: Option<(Kind, &str)>,
    ) -> Result<Vec<CatalogEvent>, StoreError> {
        let sql = "SELECT seq, at, server, kind, name, event, status, sha256, definition, actor, \
                   reason FROM catalog_history WHERE server = $1 AND ($2 = '' OR (kind = $2 AND name = $3)) \
                   ORDER BY seq";
        let (kind, name) = entry.map_or(("", ""), |(k, n)| (k.as_str(), n));
        Ok(on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(server)
                .bind(kind)
                .bind(name)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The number of the latest history line (0 when empty): it changes whenever the catalog
    /// does, so a gateway polls it to pick up decisions made elsewhere.
    pub async fn last_seq(&self) -> Result<i64, StoreError> {
        Ok(on_backend!(self.store, |pool| {
            sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(seq), 0) FROM catalog_history")
                .fetch_one(pool)
                .await?
        }))
    }
}

#[derive(FromRow)]
struct ServerRow {
    name: String,
    transport: String,
    address: String,
    owner: Option<String>,
    description: Option<String>,
    label: Option<String>,
    status: String,
    launch_sha256: Option<String>,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    reason: Option<String>,
    first_seen: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<ServerRow> for CatalogServer {
    type Error = StoreError;

    fn try_from(r: ServerRow) -> Result<Self, StoreError> {
        Ok(Self {
            status: r
                .status
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("catalog server {}: {e}", r.name)))?,
            name: r.name,
            transport: r.transport,
            address: r.address,
            owner: r.owner,
            description: r.description,
            label: r.label,
            launch_sha256: r.launch_sha256,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            reason: r.reason,
            first_seen: r.first_seen,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
struct EntryRow {
    server: String,
    kind: String,
    name: String,
    status: String,
    sha256: String,
    definition: String,
    approved_sha256: Option<String>,
    approved_definition: Option<String>,
    first_seen: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    removed_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
    decided_at: Option<DateTime<Utc>>,
    reason: Option<String>,
}

impl TryFrom<EntryRow> for CatalogEntry {
    type Error = StoreError;

    fn try_from(r: EntryRow) -> Result<Self, StoreError> {
        let corrupt = |what: String| {
            StoreError::Corrupt(format!("catalog entry {}/{}: {what}", r.server, r.name))
        };
        let kind = Kind::parse(&r.kind).ok_or_else(|| corrupt(format!("kind {:?}", r.kind)))?;
        let status = r
            .status
            .parse()
            .map_err(|e: moat_catalog::StatusError| corrupt(e.to_string()))?;
        Ok(Self {
            server: r.server,
            kind,
            name: r.name,
            status,
            sha256: r.sha256,
            definition: r.definition,
            approved_sha256: r.approved_sha256,
            approved_definition: r.approved_definition,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            removed_at: r.removed_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            reason: r.reason,
        })
    }
}
