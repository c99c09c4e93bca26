//! Tool calls held for a human's approval. Every such call leaves a row: those asked through
//! elicitation are recorded already decided; those put in the queue wait as `pending` until an
//! operator approves or denies them, they time out (`expired`), or their client goes away
//! (`cancelled`). A decision is taken once: the first conditional update wins.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;

use crate::backend::on_backend;
use crate::clock;
use crate::error::StoreError;
use crate::ids::ApprovalId;
use crate::store::Store;

/// Where a held call stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for a decision.
    Pending,
    /// A human approved it: the call went ahead.
    Approved,
    /// A human refused it.
    Denied,
    /// Nobody decided in time: refused.
    Expired,
    /// The client stopped waiting before anyone decided.
    Cancelled,
}

impl ApprovalStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "denied" => Self::Denied,
            "expired" => Self::Expired,
            "cancelled" => Self::Cancelled,
            other => return Err(StoreError::Corrupt(format!("approval status {other:?}"))),
        })
    }
}

/// How the human was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalChannel {
    /// The approval queue (`moat approvals`).
    Queue,
    /// The user, through the client's elicitation.
    Elicitation,
}

impl ApprovalChannel {
    fn as_str(self) -> &'static str {
        match self {
            Self::Queue => "queue",
            Self::Elicitation => "elicitation",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "queue" => Ok(Self::Queue),
            "elicitation" => Ok(Self::Elicitation),
            other => Err(StoreError::Corrupt(format!("approval channel {other:?}"))),
        }
    }
}

/// One held call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Approval {
    /// Its id.
    pub id: ApprovalId,
    /// The agent that made the call.
    pub agent: String,
    /// The user it acted for; `None` when it acted for itself.
    pub subject: Option<String>,
    /// The upstream server.
    pub server: String,
    /// The tool, under the server's own name.
    pub tool: String,
    /// The call's arguments, as JSON text.
    pub arguments: String,
    /// SHA-256 (hex) of the arguments' canonical JSON: what the approval is bound to.
    pub arguments_sha256: String,
    /// The policy rules that held it.
    pub rules: Vec<String>,
    /// Why it was held.
    pub reason: String,
    /// How the human was asked.
    pub channel: ApprovalChannel,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// When it was held.
    pub requested_at: DateTime<Utc>,
    /// When it is denied if nobody decided.
    pub expires_at: DateTime<Utc>,
    /// When it was decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// What the decider said.
    pub note: Option<String>,
}

/// A call to hold.
#[derive(Clone, Debug)]
pub struct NewApproval {
    /// The agent.
    pub agent: String,
    /// The user it acts for.
    pub subject: Option<String>,
    /// The upstream server.
    pub server: String,
    /// The tool.
    pub tool: String,
    /// The arguments, as JSON text.
    pub arguments: String,
    /// SHA-256 (hex) of their canonical JSON.
    pub arguments_sha256: String,
    /// The rules that held it.
    pub rules: Vec<String>,
    /// Why.
    pub reason: String,
    /// How the human is asked.
    pub channel: ApprovalChannel,
    /// When it is denied if nobody decided.
    pub expires_at: DateTime<Utc>,
}

/// A decision on a held call.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Approved or denied (other statuses are not a human's decision).
    pub approve: bool,
    /// Who decided.
    pub by: String,
    /// What they said.
    pub note: Option<String>,
}

impl Verdict {
    fn status(&self) -> ApprovalStatus {
        if self.approve {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Denied
        }
    }
}

/// Held calls; from [`Store::approvals`].
#[derive(Clone, Copy, Debug)]
pub struct Approvals<'s> {
    store: &'s Store,
}

macro_rules! approval_columns {
    () => {
        "id, agent, subject, server, tool, arguments, arguments_sha256, rules, reason, channel, \
         status, requested_at, expires_at, decided_at, decided_by, note"
    };
}

impl<'s> Approvals<'s> {
    pub(crate) fn new(store: &'s Store) -> Self {
        Self { store }
    }

    /// Holds a call: a `pending` row in the queue.
    pub async fn hold(&self, call: &NewApproval) -> Result<Approval, StoreError> {
        self.insert(call, ApprovalStatus::Pending, None).await
    }

    /// Records a call a human decided at once (through elicitation).
    pub async fn record(
        &self,
        call: &NewApproval,
        verdict: &Verdict,
    ) -> Result<Approval, StoreError> {
        self.insert(call, verdict.status(), Some(verdict)).await
    }

    async fn insert(
        &self,
        call: &NewApproval,
        status: ApprovalStatus,
        verdict: Option<&Verdict>,
    ) -> Result<Approval, StoreError> {
        let sql = concat!(
            "INSERT INTO approvals (",
            approval_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             RETURNING ",
            approval_columns!()
        );
        let rules = serde_json::to_string(&call.rules)
            .map_err(|e| StoreError::Invalid(format!("approval rules: {e}")))?;
        let now = clock::now();
        let row: ApprovalRow = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(ApprovalId::generate().as_str())
                .bind(&call.agent)
                .bind(call.subject.as_deref().unwrap_or_default())
                .bind(&call.server)
                .bind(&call.tool)
                .bind(&call.arguments)
                .bind(&call.arguments_sha256)
                .bind(&rules)
                .bind(&call.reason)
                .bind(call.channel.as_str())
                .bind(status.as_str())
                .bind(now)
                .bind(clock::stored(call.expires_at))
                .bind(verdict.map(|_| now))
                .bind(verdict.map(|v| v.by.as_str()))
                .bind(verdict.and_then(|v| v.note.as_deref()))
                .fetch_one(pool)
                .await?
        });
        row.try_into()
    }

    /// One held call.
    pub async fn get(&self, id: &ApprovalId) -> Result<Approval, StoreError> {
        let sql = concat!(
            "SELECT ",
            approval_columns!(),
            " FROM approvals WHERE id = $1"
        );
        let row: Option<ApprovalRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("approval", id.as_str()))?
            .try_into()
    }

    /// Held calls, newest first: those with `status`, or all; at most `limit`.
    pub async fn list(
        &self,
        status: Option<ApprovalStatus>,
        limit: u32,
    ) -> Result<Vec<Approval>, StoreError> {
        let sql = concat!(
            "SELECT ",
            approval_columns!(),
            " FROM approvals WHERE ($1 = '' OR status = $1) \
              ORDER BY requested_at DESC, id LIMIT $2"
        );
        let status = status.map_or("", ApprovalStatus::as_str);
        let rows: Vec<ApprovalRow> = on_backend!(self.store, |pool| {
            sqlx::query_as(sql)
                .bind(status)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Approval::try_from).collect()
    }

    /// A human's decision on a pending call. `NotFound` for an unknown id; `Conflict` when it
    /// was decided, expired or cancelled already (the first decision stands).
    pub async fn decide(&self, id: &ApprovalId, verdict: &Verdict) -> Result<Approval, StoreError> {
        let status = verdict.status();
        let now = clock::now();
        let sql = "UPDATE approvals SET status = $2, decided_at = $3, decided_by = $4, note = $5 \
                   WHERE id = $1 AND status = 'pending' AND expires_at > $3";
        let changed = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .bind(status.as_str())
                .bind(now)
                .bind(&verdict.by)
                .bind(verdict.note.as_deref())
                .execute(pool)
                .await?
                .rows_affected()
        });
        let approval = self.get(id).await?;
        if changed == 0 {
            let state = match approval.status {
                ApprovalStatus::Pending => "past its deadline",
                other => other.as_str(),
            };
            return Err(StoreError::Conflict {
                what: "decision on approval",
                key: format!("{id} is {state}"),
            });
        }
        Ok(approval)
    }

    /// Ends a pending call that nobody decided (`Expired`) or whose client left (`Cancelled`),
    /// and returns the row as it then stands: if a decision won the race, that decision.
    pub async fn close(
        &self,
        id: &ApprovalId,
        status: ApprovalStatus,
    ) -> Result<Approval, StoreError> {
        let sql = "UPDATE approvals SET status = $2, decided_at = $3 \
                   WHERE id = $1 AND status = 'pending'";
        // Whether this update or an earlier decision settled it, the row says.
        let _settled = on_backend!(self.store, |pool| {
            sqlx::query(sql)
                .bind(id.as_str())
                .bind(status.as_str())
                .bind(clock::now())
                .execute(pool)
                .await?
                .rows_affected()
        });
        self.get(id).await
    }
}

/// An `approvals` row.
#[derive(FromRow)]
struct ApprovalRow {
    id: String,
    agent: String,
    subject: String,
    server: String,
    tool: String,
    arguments: String,
    arguments_sha256: String,
    rules: String,
    reason: String,
    channel: String,
    status: String,
    requested_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    decided_by: Option<String>,
    note: Option<String>,
}

impl TryFrom<ApprovalRow> for Approval {
    type Error = StoreError;

    fn try_from(row: ApprovalRow) -> Result<Self, StoreError> {
        let rules = serde_json::from_str(&row.rules)
            .map_err(|e| StoreError::Corrupt(format!("approval {} rules: {e}", row.id)))?;
        Ok(Self {
            id: ApprovalId::new(row.id),
            agent: row.agent,
            subject: Some(row.subject).filter(|s| !s.is_empty()),
            server: row.server,
            tool: row.tool,
            arguments: row.arguments,
            arguments_sha256: row.arguments_sha256,
            rules,
            reason: row.reason,
            channel: ApprovalChannel::parse(&row.channel)?,
            status: ApprovalStatus::parse(&row.status)?,
            requested_at: row.requested_at,
            expires_at: row.expires_at,
            decided_at: row.decided_at,
            decided_by: row.decided_by,
            note: row.note,
        })
    }
}
