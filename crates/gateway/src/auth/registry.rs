//! The agent registry at the door: every authenticated agent is looked up; suspended and pending
//! agents are refused, unknown ones recorded as unregistered (and refused if so configured).
//!
//! Statuses are cached for a second, so a suspension made with `moat agents suspend` (another
//! process, same store) takes effect within about a second without a store query per request.

use std::time::{Duration, Instant};

use dashmap::DashMap;
use moat_identity::Principal;
use moat_store::{AgentStatus, ClientId, Store, StoreError};

const STATUS_TTL: Duration = Duration::from_secs(1);
/// How often an agent's `last_seen` is written (it is a write per agent, not per request).
const TOUCH_EVERY: Duration = Duration::from_secs(60);

pub(crate) struct Registry {
    store: Store,
    deny_unregistered: bool,
    statuses: DashMap<String, (AgentStatus, Instant)>,
    touched: DashMap<String, Instant>,
}

/// Why an agent may not proceed.
#[derive(Debug)]
pub(crate) enum AgentRefusal {
    /// Suspended, pending approval, or unknown where unknown agents are denied.
    Status(String, AgentStatus),
    /// The registry cannot be read: fail closed.
    Unavailable(String),
}

impl std::fmt::Display for AgentRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(id, status) => write!(f, "agent {id:?} is {}", status.as_str()),
            Self::Unavailable(why) => write!(f, "the agent registry cannot be read: {why}"),
        }
    }
}

impl Registry {
    pub(crate) fn new(store: Store, deny_unregistered: bool) -> Self {
        Self {
            store,
            deny_unregistered,
            statuses: DashMap::new(),
            touched: DashMap::new(),
        }
    }

    /// Admits the agent a principal names (its `client_id`, else its subject).
    pub(crate) async fn admit(&self, principal: &Principal) -> Result<(), AgentRefusal> {
        let id = principal
            .client_id
            .clone()
            .unwrap_or_else(|| principal.subject.clone());
        let status = match self
            .statuses
            .get(&id)
            .filter(|e| e.1.elapsed() < STATUS_TTL)
        {
            Some(e) => e.0,
            None => {
                let status = self
                    .lookup(&id)
                    .await
                    .map_err(|e| AgentRefusal::Unavailable(e.to_string()))?;
                self.statuses.insert(id.clone(), (status, Instant::now()));
                status
            }
        };
        match status {
            AgentStatus::Active => {}
            AgentStatus::Unregistered if !self.deny_unregistered => {}
            refused => return Err(AgentRefusal::Status(id, refused)),
        }
        if self
            .touched
            .get(&id)
            .is_none_or(|t| t.elapsed() >= TOUCH_EVERY)
        {
            self.touched.insert(id.clone(), Instant::now());
            if let Err(e) = self.store.agents().touch(&ClientId::new(id.clone())).await {
                tracing::warn!(agent = %id, "cannot record last seen: {e}");
            }
        }
        Ok(())
    }

    async fn lookup(&self, id: &str) -> Result<AgentStatus, StoreError> {
        let agents = self.store.agents();
        let client = ClientId::new(id);
        match agents.find(&client).await? {
            Some(agent) => Ok(agent.status),
            None => {
                tracing::warn!(agent = %id, "unregistered agent seen with a valid token; recorded and flagged");
                Ok(agents.record_seen(&client).await?.status)
            }
        }
    }
}
