//! Legacy HTTP+SSE servers (protocol 2024-11-05): a GET event stream whose first `endpoint` event
//! names the URL to POST messages to; every answer arrives on the stream.

use std::sync::Arc;

use futures::StreamExt;
use moat_config::Value;
use moat_proto::Message;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};

use crate::connection::{ConnectOptions, Shared, numeric_request_id};
use crate::credentials::{UpstreamToken, add_token};
use crate::error::UpstreamErrorKind;
use crate::http::resolve_headers;
use crate::sse::SseDecoder;

pub(crate) struct SseLink {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    headers: HeaderMap,
    /// moat's own token for this server, when it needs one.
    token: Option<Arc<UpstreamToken>>,
}

impl SseLink {
    pub(crate) async fn connect(
        shared: &Arc<Shared>,
        opts: &ConnectOptions,
        url: &str,
        headers: &[(String, Value)],
        token: Option<Arc<UpstreamToken>>,
    ) -> Result<Self, UpstreamErrorKind> {
        let headers = resolve_headers(headers)?;
        let mut first = headers.clone();
        add_token(&mut first, token.as_deref());
        let base =
            reqwest::Url::parse(url).map_err(|e| UpstreamErrorKind::Connect(e.to_string()))?;
        let resp = opts
            .http
            .get(base.clone())
            .headers(first)
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| UpstreamErrorKind::Connect(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(UpstreamErrorKind::Connect(format!(
                "GET {url}: HTTP {}",
                resp.status()
            )));
        }
        let mut stream = resp.bytes_stream();
        let mut decoder = SseDecoder::new(opts.max_message);
        // The endpoint event comes first; anything before it is ignored.
        let endpoint = loop {
            let chunk = stream
                .next()
                .await
                .ok_or_else(|| {
                    UpstreamErrorKind::Connect("stream ended before the endpoint event".into())
                })?
                .map_err(|e| UpstreamErrorKind::Connect(e.to_string()))?;
            let events = decoder
                .feed(&chunk)
                .map_err(|e| UpstreamErrorKind::Protocol(e.to_string()))?;
            let mut rest = events.into_iter().skip_while(|e| e.event != "endpoint");
            if let Some(ev) = rest.next() {
                let endpoint = base.join(ev.data.trim()).map_err(|e| {
                    UpstreamErrorKind::Protocol(format!("bad endpoint {:?}: {e}", ev.data))
                })?;
                for ev in rest {
                    shared.dispatch_bytes(ev.data.as_bytes(), None);
                }
                break endpoint;
            }
        };
        let reader = shared.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    n = stream.next() => n,
                    () = reader.cancel.cancelled() => return,
                };
                let events = match next {
                    Some(Ok(chunk)) => decoder.feed(&chunk).map_err(|e| e.to_string()),
                    Some(Err(e)) => Err(e.to_string()),
                    None => Err("event stream ended".to_owned()),
                };
                match events {
                    Ok(events) => {
                        for ev in events
                            .into_iter()
                            .filter(|e| e.event.is_empty() || e.event == "message")
                        {
                            reader.dispatch_bytes(ev.data.as_bytes(), None);
                        }
                    }
                    Err(why) => return reader.close(why),
                }
            }
        });
        Ok(Self {
            client: opts.http.clone(),
            endpoint,
            headers,
            token,
        })
    }

    pub(crate) fn send(&self, shared: &Arc<Shared>, msg: Message) -> Result<(), UpstreamErrorKind> {
        let related = numeric_request_id(&msg);
        let mut headers = self.headers.clone();
        add_token(&mut headers, self.token.as_deref());
        let req = self
            .client
            .post(self.endpoint.clone())
            .headers(headers)
            .header(CONTENT_TYPE, "application/json")
            .body(msg.to_bytes());
        let shared = shared.clone();
        tokio::spawn(async move {
            let failed = match req.send().await {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(UpstreamErrorKind::Protocol(format!("HTTP {}", r.status()))),
                Err(e) => Some(UpstreamErrorKind::Connect(e.to_string())),
            };
            if let (Some(kind), Some(id)) = (failed, related) {
                shared.fail(id, kind);
            }
        });
        Ok(())
    }
}
