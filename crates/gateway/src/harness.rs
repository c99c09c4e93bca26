//! The gateway's pipeline driven without HTTP: requests sent as a given identity go through
//! the same sessions, authorization stage, dispatch and upstreams as over the wire. `moat test`
//! runs golden datasets of a policy with it.

use std::collections::HashMap;
use std::sync::Arc;

use moat_identity::Principal;
use moat_proto::{Id, Message, Notification, Request};
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::session::Session;
use crate::state::GatewayState;

/// Who a request is sent as: the claims a token would carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Identity {
    /// The agent (OAuth client id); `None` for an unauthenticated caller.
    pub agent: Option<String>,
    /// The user the agent acts for.
    pub user: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The user's groups.
    pub groups: Vec<String>,
}

impl Identity {
    fn caller(&self) -> Caller {
        let Some(agent) = &self.agent else {
            return Caller::default();
        };
        Caller::new(
            Some(Principal {
                issuer: "moat-test".into(),
                subject: self.user.clone().unwrap_or_else(|| agent.clone()),
                client_id: Some(agent.clone()),
                scopes: self.scopes.clone(),
                expires_at: u64::MAX,
                token_id: None,
                groups: self.groups.clone(),
            }),
            None,
        )
    }
}

/// A gateway whose pipeline is driven by calls instead of a listener.
pub struct Harness {
    state: Arc<GatewayState>,
    /// One session per identity, opened on its first request.
    sessions: HashMap<Identity, Arc<Session>>,
}

impl Harness {
    pub(crate) fn new(state: Arc<GatewayState>) -> Self {
        Self {
            state,
            sessions: HashMap::new(),
        }
    }

    /// Sends one request as `who` and returns the JSON-RPC response as JSON. Everything a
    /// session sends meanwhile (progress, logs) is dropped.
    pub async fn request(&mut self, who: &Identity, method: &str, params: Value) -> Value {
        let caller = who.caller();
        let session = match self.sessions.get(who) {
            Some(s) => s.clone(),
            None => match self.open(caller.clone()).await {
                Ok(s) => {
                    self.sessions.insert(who.clone(), s.clone());
                    s
                }
                Err(e) => return e,
            },
        };
        let params = serde_json::value::to_raw_value(&params).ok();
        let req = Request::new(Id::Num(1), method, params);
        let (outbox, _) = tokio::sync::mpsc::unbounded_channel();
        let response = match session.admit(req, caller).await {
            Ok(authorized) => match session.clear(authorized, &outbox).await {
                Ok(cleared) => {
                    session
                        .handle_request(cleared, &outbox, &Default::default())
                        .await
                }
                Err(refused) => refused,
            },
            Err(refused) => refused.response,
        };
        serde_json::from_str(&Message::from(response).to_json()).unwrap_or(Value::Null)
    }

    async fn open(&self, caller: Caller) -> Result<Arc<Session>, Value> {
        let params = json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "moat test", "version": env!("CARGO_PKG_VERSION")},
        });
        let params = serde_json::value::to_raw_value(&params).ok();
        let (session, _) = Session::start(self.state.clone(), params.as_deref(), caller)
            .await
            .map_err(|e| json!({"error": e}))?;
        session.handle_notification(Notification::new("notifications/initialized", None));
        Ok(session)
    }
}
