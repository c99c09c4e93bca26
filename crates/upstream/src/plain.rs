//! POSTs to plain `http://` servers, straight on hyper's pooled client.
//!
//! reqwest, used for everything else, costs about a fifth of moat's instructions per call on top
//! of the hyper client it wraps: it parses the URL into a `Url` and back into a `Uri` on every
//! request, its redirect layer parses it once more, and it clones the headers twice. A `Uri`
//! parsed once and hyper-util's client skip all of that for the one request on the hot path.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// One connection pool for every session's plain-HTTP servers. Behind an `Arc`: every upstream
/// session holds it, and the client itself is a few hundred bytes.
#[derive(Debug, Clone)]
pub struct PlainHttpClient(Arc<Client<HttpConnector, Full<Bytes>>>);

impl Default for PlainHttpClient {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        // As reqwest does: small JSON-RPC messages must not wait for Nagle's algorithm.
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self(Arc::new(client))
    }
}

impl PlainHttpClient {
    /// Sends one POST; `uri` must be absolute `http://`.
    pub(crate) async fn post(
        &self,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Result<Response<Incoming>, hyper_util::client::legacy::Error> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        self.0.request(req).await
    }
}
