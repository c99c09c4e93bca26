//! Where server-initiated messages go: the client stream of the request they belong to, else the
//! session's GET stream; and which upstream a client's answer to a server request goes back to.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};

use moat_proto::{Id, Message};
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};

/// A request sent to the client, waiting for its answer.
pub(crate) enum Pending {
    /// An upstream server's, under moat's id: (upstream index, the server's own id, whether
    /// it is `sampling/createMessage`, whose answer is inspected before the server gets it).
    Upstream(usize, Id, bool),
    /// moat's own (elicitation for an approval): the answer goes to the waiting call.
    Moat(oneshot::Sender<moat_proto::Response>),
}

/// The client-bound stream of one POST (or the GET stream).
pub(crate) type Outbox = mpsc::UnboundedSender<Message>;

/// A client request being served by an upstream.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) outbox: Outbox,
    pub(crate) downstream_id: Id,
    /// The progress token as the upstream knows it (raw JSON), if the client asked for progress.
    pub(crate) upstream_token: Option<String>,
    /// The client's own token, where moat replaced it upstream (shared stateless connections,
    /// where two clients may pick the same token).
    pub(crate) client_token: Option<Box<moat_proto::RawValue>>,
}

#[derive(Default)]
pub(crate) struct Routes {
    /// (upstream index, upstream request id) → the client request it serves.
    inflight: Mutex<HashMap<(usize, i64), Route>>,
    /// moat's id for a request sent to the client → whose it is.
    server_requests: Mutex<HashMap<i64, Pending>>,
    next_server_request: AtomicI64,
}

impl Routes {
    pub(crate) fn add(&self, idx: usize, upstream_id: i64, route: Route) {
        self.inflight.lock().insert((idx, upstream_id), route);
    }

    pub(crate) fn remove(&self, idx: usize, upstream_id: i64) {
        self.inflight.lock().remove(&(idx, upstream_id));
    }

    /// The request a message from upstream `idx` belongs to: the one the transport tied it to, or
    /// whose id it names as its subscription; else the one whose progress token it carries; else
    /// that upstream's oldest open request.
    pub(crate) fn target(
        &self,
        idx: usize,
        related: Option<i64>,
        token: Option<&str>,
    ) -> Option<Route> {
        let inflight = self.inflight.lock();
        if let Some(r) = related.and_then(|id| inflight.get(&(idx, id))) {
            return Some(r.clone());
        }
        let mine = inflight.iter().filter(|((i, _), _)| *i == idx);
        let by_token = token.and_then(|t| {
            mine.clone()
                .find(|(_, r)| r.upstream_token.as_deref() == Some(t))
        });
        by_token
            .or_else(|| mine.min_by_key(|((_, id), _)| *id))
            .map(|(_, r)| r.clone())
    }

    /// The upstream request serving the client's request `downstream_id`, to cancel it.
    pub(crate) fn upstream_of(&self, downstream_id: &Id) -> Option<(usize, i64)> {
        self.inflight
            .lock()
            .iter()
            .find(|(_, r)| &r.downstream_id == downstream_id)
            .map(|(k, _)| *k)
    }

    /// Gives a server→client request a moat id unique in the session.
    pub(crate) fn register_server_request(
        &self,
        idx: usize,
        upstream_id: Id,
        sampling: bool,
    ) -> i64 {
        self.register(Pending::Upstream(idx, upstream_id, sampling))
    }

    /// Gives a request of moat's own an id unique in the session; the receiver gets the
    /// client's answer.
    pub(crate) fn register_moat_request(&self) -> (i64, oneshot::Receiver<moat_proto::Response>) {
        let (tx, rx) = oneshot::channel();
        (self.register(Pending::Moat(tx)), rx)
    }

    fn register(&self, pending: Pending) -> i64 {
        let id = self.next_server_request.fetch_add(1, Ordering::Relaxed) + 1;
        self.server_requests.lock().insert(id, pending);
        id
    }

    pub(crate) fn take_server_request(&self, id: i64) -> Option<Pending> {
        self.server_requests.lock().remove(&id)
    }

    /// moat's id for a server's own request id (for its cancellation notices).
    pub(crate) fn server_request_id(&self, idx: usize, upstream_id: &Id) -> Option<i64> {
        self.server_requests
            .lock()
            .iter()
            .find(|(_, p)| matches!(p, Pending::Upstream(i, u, _) if *i == idx && u == upstream_id))
            .map(|(k, _)| *k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(id: i64, token: Option<&str>) -> (Route, mpsc::UnboundedReceiver<Message>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let route = Route {
            outbox: tx,
            downstream_id: Id::Num(id),
            upstream_token: token.map(str::to_owned),
            client_token: None,
        };
        (route, rx)
    }

    fn lands(target: Option<Route>, rx: &mut mpsc::UnboundedReceiver<Message>) -> bool {
        let msg = Message::from(moat_proto::Notification::new("x", None));
        target.unwrap().outbox.send(msg).unwrap();
        rx.try_recv().is_ok()
    }

    #[test]
    fn related_then_token_then_oldest() {
        let routes = Routes::default();
        let (a, mut ra) = route(100, None);
        let (b, mut rb) = route(200, Some("\"tok\""));
        routes.add(0, 5, a);
        routes.add(0, 7, b);
        assert!(lands(routes.target(0, Some(7), None), &mut rb));
        assert!(lands(routes.target(0, None, Some("\"tok\"")), &mut rb));
        assert!(lands(routes.target(0, None, None), &mut ra));
        assert!(routes.target(1, None, None).is_none());
        assert_eq!(routes.upstream_of(&Id::Num(200)), Some((0, 7)));
        routes.remove(0, 5);
        assert!(lands(routes.target(0, None, None), &mut rb));
    }

    #[test]
    fn server_requests_map_both_ways() {
        let routes = Routes::default();
        let a = routes.register_server_request(1, Id::Num(0), false);
        let b = routes.register_server_request(2, Id::Num(0), false);
        assert_ne!(a, b);
        assert_eq!(routes.server_request_id(2, &Id::Num(0)), Some(b));
        assert!(matches!(
            routes.take_server_request(a),
            Some(Pending::Upstream(1, Id::Num(0), false))
        ));
        assert!(routes.take_server_request(a).is_none());
        let (own, mut answer) = routes.register_moat_request();
        assert!(own != a && own != b);
        assert_eq!(routes.server_request_id(2, &Id::Num(0)), Some(b));
        let Some(Pending::Moat(tx)) = routes.take_server_request(own) else {
            panic!("moat's own request");
        };
        tx.send(moat_proto::Response::result(
            Id::Num(own),
            serde_json::value::to_raw_value(&1).unwrap(),
        ))
        .unwrap();
        assert!(answer.try_recv().is_ok());
    }
}
