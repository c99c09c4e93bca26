//! One JSON-RPC peer connection to an upstream server, over any transport.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use moat_config::{Transport, UpstreamConfig, UpstreamName};
use moat_proto::{Batch, Id, Message, Notification, RawValue, Request, Response, parse_body};
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::error::{UpstreamError, UpstreamErrorKind};
use crate::{http, legacy_sse, stdio};

/// What a connection needs from its surroundings.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// The moat executable, for built-in servers run as child processes.
    pub self_exe: PathBuf,
    /// Shared HTTP client: one connection pool for all upstream sessions.
    pub http: reqwest::Client,
    /// POSTs to plain `http://` servers, on the hot path, skip reqwest: one pool for all too.
    pub plain_http: crate::PlainHttpClient,
    /// Largest message accepted from the server (stdio line, JSON body or SSE event).
    pub max_message: usize,
    /// moat's own tokens for upstreams configured with `oauth`.
    pub tokens: crate::credentials::UpstreamTokens,
}

/// A server-initiated message for the gateway to route.
#[derive(Debug)]
pub enum Inbound {
    /// A request to the client (sampling, elicitation, roots, ping).
    Request {
        /// The request, with the server's id.
        request: Request,
        /// The moat→server request it was sent in the context of, when the transport tells.
        related: Option<i64>,
    },
    /// A notification (progress, logging, list changes, resource updates, cancellation).
    Notification {
        /// The notification.
        notification: Notification,
        /// As for requests.
        related: Option<i64>,
    },
    /// The answer to a request moat sent. It travels in order with the notifications, so that
    /// everything the server said before answering is handled before the answer: hand it to
    /// [`Completer::complete`] once those are.
    Response(Response),
    /// The connection ended; no further events follow.
    Closed(UpstreamError),
}

/// Finishes requests with the responses that arrive as [`Inbound::Response`].
#[derive(Clone)]
pub struct Completer(Arc<Shared>);

impl Completer {
    /// Wakes the caller waiting for this response.
    pub fn complete(&self, response: Response) {
        self.0.complete(response);
    }
}

type Reply = Result<Response, UpstreamErrorKind>;

/// The exchange that carries one request to the server and its answer back (an HTTP POST and its
/// response body), run by whoever waits for the answer rather than by a task of its own.
pub(crate) type Transfer = Pin<Box<dyn Future<Output = ()> + Send>>;

/// State shared by the connection handle and its transport tasks.
pub(crate) struct Shared {
    pub(crate) name: UpstreamName,
    timeout: Duration,
    next_id: AtomicI64,
    pending: Mutex<HashMap<i64, oneshot::Sender<Reply>>>,
    closed: Mutex<Option<String>>,
    events: mpsc::UnboundedSender<Inbound>,
    link: std::sync::OnceLock<Link>,
    pub(crate) cancel: CancellationToken,
}

pub(crate) enum Link {
    Stdio(stdio::StdioLink),
    Http(http::HttpLink),
    LegacySse(legacy_sse::SseLink),
}

/// A live connection to one upstream server. Dropping it ends the connection (the child process
/// is killed, the HTTP session deleted).
pub struct Connection {
    shared: Arc<Shared>,
}

/// How one request is sent.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Extra HTTP headers for this request (ignored by stdio), e.g. `Mcp-Param-*`.
    pub headers: Vec<(String, String)>,
    /// Wait without the connection's timeout (long-lived requests such as `subscriptions/listen`).
    pub unbounded: bool,
}

/// A request sent and not yet answered.
pub struct PendingCall {
    /// The id moat gave the request on this connection.
    pub id: i64,
    rx: oneshot::Receiver<Reply>,
    shared: Arc<Shared>,
    unbounded: bool,
    /// The request's exchange while it still runs; handed to a task of its own if the caller
    /// stops waiting first, so that giving up never cuts an exchange short (the server is told
    /// to cancel instead, as the transport requires).
    transfer: Option<Transfer>,
}

/// moat's token for the server, when it is configured with `oauth`: the first one is fetched
/// before the first connection, so a failure names the server at once.
async fn upstream_token(
    cfg: &UpstreamConfig,
    opts: &ConnectOptions,
) -> Result<Option<Arc<crate::credentials::UpstreamToken>>, UpstreamErrorKind> {
    let Some(oauth) = &cfg.oauth else {
        return Ok(None);
    };
    let token = opts
        .tokens
        .for_upstream(cfg.name.as_str(), oauth, &opts.http);
    token.ensure().await?;
    Ok(Some(token))
}

impl Connection {
    /// Starts or reaches the server. Inbound events arrive on the returned receiver.
    pub async fn connect(
        cfg: &UpstreamConfig,
        opts: &ConnectOptions,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Inbound>), UpstreamError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            name: cfg.name.clone(),
            timeout: cfg.timeout,
            next_id: AtomicI64::new(1),
            pending: Mutex::new(HashMap::new()),
            closed: Mutex::new(None),
            events: tx,
            link: std::sync::OnceLock::new(),
            cancel: CancellationToken::new(),
        });
        let err = |kind| UpstreamError::new(&cfg.name, kind);
        let link = match &cfg.transport {
            Transport::Stdio {
                command,
                args,
                env,
                inherit_env,
                cwd,
                ..
            } => {
                let spec = stdio::Spec {
                    command,
                    args,
                    env,
                    inherit_env,
                    cwd: cwd.as_deref(),
                };
                Link::Stdio(stdio::spawn(&shared, &spec, opts.max_message).map_err(err)?)
            }
            Transport::BuiltinFixture => {
                let args = ["fixture".to_owned(), "--stdio".to_owned()];
                let exe = opts.self_exe.to_string_lossy().into_owned();
                let inherit = ["PATH".to_owned()];
                let spec = stdio::Spec {
                    command: &exe,
                    args: &args,
                    env: &[],
                    inherit_env: &inherit,
                    cwd: None,
                };
                Link::Stdio(stdio::spawn(&shared, &spec, opts.max_message).map_err(err)?)
            }
            Transport::Http { url, headers } => {
                let token = upstream_token(cfg, opts).await.map_err(err)?;
                Link::Http(http::HttpLink::new(opts, url, headers, token).map_err(err)?)
            }
            Transport::Sse { url, headers } => {
                let token = upstream_token(cfg, opts).await.map_err(err)?;
                Link::LegacySse(
                    legacy_sse::SseLink::connect(&shared, opts, url, headers, token)
                        .await
                        .map_err(err)?,
                )
            }
        };
        // Set exactly once, before the handle is returned; `link()` is only reached through it.
        let _ = shared.link.set(link);
        Ok((Self { shared }, rx))
    }

    /// The server's name.
    pub fn name(&self) -> &UpstreamName {
        &self.shared.name
    }

    /// Sends a request; await the returned call for the response.
    pub fn call(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<PendingCall, UpstreamError> {
        self.call_as(self.allocate_id(), method, params, &CallOptions::default())
    }

    /// Reserves the id of a request before it is sent, so that whatever the server sends about
    /// the request (progress, related messages) can be routed even if it arrives at once.
    pub fn allocate_id(&self) -> i64 {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends a request under an id from [`Self::allocate_id`], with per-request options.
    pub fn call_as(
        &self,
        id: i64,
        method: &str,
        params: Option<Box<RawValue>>,
        options: &CallOptions,
    ) -> Result<PendingCall, UpstreamError> {
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().insert(id, tx);
        let msg = Request::new(Id::Num(id), method, params).into();
        let transfer = match self.shared.send_with(msg, &options.headers) {
            Ok(transfer) => transfer,
            Err(kind) => {
                self.shared.pending.lock().remove(&id);
                return Err(UpstreamError::new(&self.shared.name, kind));
            }
        };
        Ok(PendingCall {
            id,
            rx,
            shared: self.shared.clone(),
            unbounded: options.unbounded,
            transfer,
        })
    }

    /// Gives up on a request: the server is told to cancel it (a stateless HTTP request by closing
    /// its response stream) and a late answer is ignored.
    pub fn cancel(&self, id: i64, reason: &str) {
        if self.shared.pending.lock().remove(&id).is_some() {
            self.shared.cancel_request(id, reason);
        }
    }

    /// Sends a notification.
    pub fn notify(&self, notification: Notification) -> Result<(), UpstreamError> {
        self.shared
            .send(notification.into())
            .map_err(|k| UpstreamError::new(&self.shared.name, k))
    }

    /// Answers a server-initiated request.
    pub fn respond(&self, response: Response) -> Result<(), UpstreamError> {
        self.shared
            .send(response.into())
            .map_err(|k| UpstreamError::new(&self.shared.name, k))
    }

    /// Records the protocol version in use (sent as a header by HTTP transports).
    pub fn set_protocol_version(&self, protocol_version: &str) {
        if let Some(Link::Http(h)) = self.shared.link.get() {
            h.set_protocol_version(protocol_version);
        }
    }

    /// Opens the server's stream for unsolicited messages where the transport has one
    /// (Streamable HTTP GET), after the session is initialized.
    pub fn open_listen_stream(&self) {
        if let Some(Link::Http(h)) = self.shared.link.get() {
            h.open_listen_stream(&self.shared);
        }
    }

    /// The handle that finishes requests with their [`Inbound::Response`] events.
    pub fn completer(&self) -> Completer {
        Completer(self.shared.clone())
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.lock().is_some()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(Link::Http(h)) = self.shared.link.get() {
            h.delete_session();
        }
        self.shared.cancel.cancel();
        self.shared.close("connection dropped by moat".into());
    }
}

impl PendingCall {
    /// Waits for the response. On timeout the server is told to cancel the request.
    pub async fn wait(mut self) -> Result<Response, UpstreamError> {
        let name = self.shared.name.clone();
        let timeout = self.shared.timeout;
        let outcome = if self.unbounded {
            Ok(self.receive().await)
        } else {
            tokio::time::timeout(timeout, self.receive()).await
        };
        match outcome {
            Ok(Ok(reply)) => reply.map_err(|k| UpstreamError::new(&name, k)),
            Ok(Err(_)) => {
                let reason = self
                    .shared
                    .closed
                    .lock()
                    .clone()
                    .unwrap_or_else(|| "connection ended".into());
                Err(UpstreamError::new(&name, UpstreamErrorKind::Closed(reason)))
            }
            Err(_) => {
                self.shared.pending.lock().remove(&self.id);
                self.detach();
                self.shared.cancel_request(self.id, "timeout in moat");
                Err(UpstreamError::new(
                    &name,
                    UpstreamErrorKind::Timeout(self.shared.timeout),
                ))
            }
        }
    }
}

impl PendingCall {
    /// The reply, driving the request's exchange meanwhile. Saves two task switches per call
    /// over an exchange in a task of its own.
    async fn receive(&mut self) -> Result<Reply, oneshot::error::RecvError> {
        if let Some(transfer) = self.transfer.as_mut() {
            let done = tokio::select! {
                biased;
                reply = &mut self.rx => Some(reply),
                () = transfer => None,
            };
            match done {
                Some(reply) => return reply,
                None => self.transfer = None,
            }
        }
        (&mut self.rx).await
    }

    /// Lets an unfinished exchange run on by itself.
    fn detach(&mut self) {
        if let Some(transfer) = self.transfer.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(transfer);
        }
    }
}

impl Drop for PendingCall {
    fn drop(&mut self) {
        self.detach();
    }
}

/// The id of a request moat sent (always numeric), to tag what the server sends in reply.
pub(crate) fn numeric_request_id(msg: &Message) -> Option<i64> {
    match msg {
        Message::Request(Request { id: Id::Num(n), .. }) => Some(*n),
        _ => None,
    }
}

impl Shared {
    fn send(self: &Arc<Self>, msg: Message) -> Result<(), UpstreamErrorKind> {
        if let Some(transfer) = self.send_with(msg, &[])? {
            tokio::spawn(transfer);
        }
        Ok(())
    }

    /// Sends a message; an exchange the caller is to run comes back (Streamable HTTP requests).
    fn send_with(
        self: &Arc<Self>,
        msg: Message,
        headers: &[(String, String)],
    ) -> Result<Option<Transfer>, UpstreamErrorKind> {
        if let Some(reason) = self.closed.lock().clone() {
            return Err(UpstreamErrorKind::Closed(reason));
        }
        match self.link.get() {
            Some(Link::Stdio(s)) => s.send(msg).map(|()| None),
            Some(Link::Http(h)) => h.send(self, msg, headers),
            Some(Link::LegacySse(l)) => l.send(self, msg).map(|()| None),
            None => Err(UpstreamErrorKind::Closed("not connected".into())),
        }
    }

    /// Tells the server a request is abandoned. A stateless HTTP request is cancelled by closing
    /// its response stream; everything else by `notifications/cancelled`.
    fn cancel_request(self: &Arc<Self>, id: i64, reason: &str) {
        if let Some(Link::Http(h)) = self.link.get()
            && h.abort(id)
        {
            return;
        }
        let params = serde_json::json!({"requestId": id, "reason": reason});
        let params = serde_json::value::to_raw_value(&params).ok();
        let _ = self.send(Notification::new("notifications/cancelled", params).into());
    }

    /// Hands a body received from the server (one message or a batch) to its consumers.
    pub(crate) fn dispatch_bytes(&self, bytes: &[u8], related: Option<i64>) {
        match parse_body(bytes) {
            Ok(Batch::Single(m)) => self.dispatch(m, related),
            Ok(Batch::Many(items)) => {
                for m in items {
                    match m {
                        Ok(m) => self.dispatch(m, related),
                        Err(e) => self.protocol_error(&e.to_string()),
                    }
                }
            }
            Err(e) => self.protocol_error(&e.to_string()),
        }
    }

    fn protocol_error(&self, why: &str) {
        tracing::warn!(server = %self.name, "ignored a message that is not JSON-RPC: {why}");
    }

    fn dispatch(&self, msg: Message, related: Option<i64>) {
        let event = match msg {
            Message::Response(r) => {
                // Queued behind the notifications that came before it; completed directly only
                // if nobody consumes the queue any more.
                if let Err(mpsc::error::SendError(Inbound::Response(r))) =
                    self.events.send(Inbound::Response(r))
                {
                    self.complete(r);
                }
                return;
            }
            Message::Request(request) => Inbound::Request { request, related },
            Message::Notification(notification) => Inbound::Notification {
                notification,
                related,
            },
        };
        let _ = self.events.send(event);
    }

    fn complete(&self, r: Response) {
        let Some(Id::Num(id)) = r.id else {
            return self.protocol_error(&format!("response to an id moat never sent: {:?}", r.id));
        };
        match self.pending.lock().remove(&id) {
            Some(tx) => {
                let _ = tx.send(Ok(r));
            }
            None => {
                tracing::debug!(server = %self.name, id, "response for an unknown or expired request")
            }
        }
    }

    /// Fails one pending request (the transport could not deliver it or got an HTTP error).
    pub(crate) fn fail(&self, id: i64, kind: UpstreamErrorKind) {
        if let Some(tx) = self.pending.lock().remove(&id) {
            let _ = tx.send(Err(kind));
        }
    }

    /// Ends the connection: every pending request fails with `reason`, the gateway is told once.
    pub(crate) fn close(&self, reason: String) {
        {
            let mut closed = self.closed.lock();
            if closed.is_some() {
                return;
            }
            *closed = Some(reason.clone());
        }
        self.cancel.cancel();
        let pending: Vec<_> = self.pending.lock().drain().collect();
        for (_, tx) in pending {
            let _ = tx.send(Err(UpstreamErrorKind::Closed(reason.clone())));
        }
        let _ = self.events.send(Inbound::Closed(UpstreamError::new(
            &self.name,
            UpstreamErrorKind::Closed(reason),
        )));
    }
}
