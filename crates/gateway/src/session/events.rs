//! Resumable SSE streams: every event a session sends on a stream is numbered and kept for a
//! while, so a client that lost its connection can come back with `Last-Event-ID` and get what it
//! missed (and the rest of the stream, if it is still going).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use moat_proto::Message;
use parking_lot::Mutex;
use tokio::sync::mpsc;

/// Events kept per stream for replay; older ones are dropped first.
const KEEP_EVENTS: usize = 1024;
/// How long a finished stream stays available for resumption.
const KEEP_FINISHED: Duration = Duration::from_secs(60);
/// Finished streams kept per session for clients that lost them; older ones are dropped first.
const KEEP_BROKEN_STREAMS: usize = 64;
/// What the priming event asks a client to wait before reconnecting.
const RETRY: Duration = Duration::from_millis(1000);

/// One SSE frame, ready for the wire.
pub(crate) fn frame(id: Option<&str>, data: &str) -> Bytes {
    // Compact JSON has no raw line breaks, so one `data:` line carries the whole message.
    match id {
        Some(id) => Bytes::from(format!("id: {id}\ndata: {data}\n\n")),
        None => Bytes::from(format!("data: {data}\n\n")),
    }
}

struct Log {
    buffer: VecDeque<(u64, Bytes)>,
    subscriber: Option<mpsc::UnboundedSender<Bytes>>,
    finished: bool,
}

#[derive(Default)]
pub(crate) struct EventLog {
    streams: Mutex<HashMap<u64, Log>>,
    next_stream: AtomicU64,
}

impl EventLog {
    /// Starts a stream fed by `source` until it ends and returns the live client's receiver.
    /// With `priming`, the first frame is an event with an id and empty data (SEP-1699), which
    /// lets a client resume even before any message was sent.
    pub(crate) fn start(
        self: &Arc<Self>,
        source: impl Stream<Item = Message> + Send + 'static,
        priming: bool,
    ) -> (u64, mpsc::UnboundedReceiver<Bytes>) {
        let sid = self.next_stream.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = mpsc::unbounded_channel();
        if priming {
            let _ = tx.send(Bytes::from(format!(
                "id: {sid}-0\nretry: {}\ndata: \n\n",
                RETRY.as_millis()
            )));
        }
        let log = Log {
            buffer: VecDeque::new(),
            subscriber: Some(tx),
            finished: false,
        };
        self.streams.lock().insert(sid, log);
        tokio::spawn(self.clone().pump(sid, source));
        (sid, rx)
    }

    async fn pump(self: Arc<Self>, sid: u64, source: impl Stream<Item = Message> + Send + 'static) {
        let mut source = std::pin::pin!(source);
        let mut seq = 0u64;
        while let Some(msg) = source.next().await {
            seq += 1;
            let bytes = frame(Some(&format!("{sid}-{seq}")), &msg.to_json());
            let mut streams = self.streams.lock();
            let Some(log) = streams.get_mut(&sid) else {
                return;
            };
            if log.buffer.len() == KEEP_EVENTS {
                log.buffer.pop_front();
            }
            log.buffer.push_back((seq, bytes.clone()));
            if log
                .subscriber
                .as_ref()
                .is_some_and(|s| s.send(bytes).is_err())
            {
                log.subscriber = None;
            }
        }
        {
            let mut streams = self.streams.lock();
            let Some(log) = streams.get_mut(&sid) else {
                return;
            };
            // A client still reading got everything: nothing to keep. Only a stream whose client
            // went away is kept for a while, so its client can come back for the rest.
            if log.subscriber.as_ref().is_some_and(|s| !s.is_closed()) {
                streams.remove(&sid);
                return;
            }
            log.finished = true;
            log.subscriber = None;
            let kept = streams.values().filter(|l| l.finished).count();
            if kept > KEEP_BROKEN_STREAMS {
                // Oldest first: stream ids grow with time.
                if let Some(oldest) = streams
                    .iter()
                    .filter(|(_, l)| l.finished)
                    .map(|(id, _)| *id)
                    .min()
                {
                    streams.remove(&oldest);
                }
            }
        }
        tokio::time::sleep(KEEP_FINISHED).await;
        self.streams.lock().remove(&sid);
    }

    /// Reattaches a client to the stream of `last_event_id`: the events after it are replayed,
    /// then the stream continues live if it has not finished. `None` for an unknown id.
    pub(crate) fn resume(&self, last_event_id: &str) -> Option<mpsc::UnboundedReceiver<Bytes>> {
        let (sid, seq) = last_event_id.trim().split_once('-')?;
        let (sid, seq): (u64, u64) = (sid.parse().ok()?, seq.parse().ok()?);
        let mut streams = self.streams.lock();
        let log = streams.get_mut(&sid)?;
        let (tx, rx) = mpsc::unbounded_channel();
        for (_, bytes) in log.buffer.iter().filter(|(s, _)| *s > seq) {
            let _ = tx.send(bytes.clone());
        }
        if !log.finished {
            log.subscriber = Some(tx);
        }
        Some(rx)
    }

    /// Whether a client is reading the stream now.
    pub(crate) fn has_subscriber(&self, sid: u64) -> bool {
        self.streams
            .lock()
            .get(&sid)
            .and_then(|l| l.subscriber.as_ref())
            .is_some_and(|s| !s.is_closed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_proto::Notification;

    fn note(i: u32) -> Message {
        Notification::new(format!("n/{i}"), None).into()
    }

    async fn take(rx: &mut mpsc::UnboundedReceiver<Bytes>, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(String::from_utf8(rx.recv().await.unwrap().to_vec()).unwrap());
        }
        out
    }

    #[tokio::test]
    async fn replays_what_was_missed_and_continues_live() {
        let log = Arc::new(EventLog::default());
        let (src_tx, src_rx) = mpsc::unbounded_channel();
        let (sid, mut first) = log.start(
            tokio_stream::wrappers::UnboundedReceiverStream::new(src_rx),
            true,
        );
        src_tx.send(note(1)).unwrap();
        let got = take(&mut first, 2).await;
        assert_eq!(got[0], format!("id: {sid}-0\nretry: 1000\ndata: \n\n"));
        assert!(got[1].starts_with(&format!("id: {sid}-1\n")), "{}", got[1]);
        drop(first); // the client's connection breaks
        src_tx.send(note(2)).unwrap();
        src_tx.send(note(3)).unwrap();
        // Wait until the pump has logged both (it runs on another task).
        while log.streams.lock().get(&sid).map_or(0, |l| l.buffer.len()) < 3 {
            tokio::task::yield_now().await;
        }
        assert!(!log.has_subscriber(sid));
        let mut again = log.resume(&format!("{sid}-1")).unwrap();
        let got = take(&mut again, 2).await;
        assert!(got[0].contains("n/2") && got[1].contains("n/3"), "{got:?}");
        assert!(log.has_subscriber(sid));
        src_tx.send(note(4)).unwrap();
        assert!(take(&mut again, 1).await[0].contains("n/4"));
        drop(src_tx);
        assert!(
            again.recv().await.is_none(),
            "a finished stream closes its subscriber"
        );
        assert!(log.resume("nonsense").is_none());

        // A stream whose client left before the end stays available for a while.
        let (src_tx, src_rx) = mpsc::unbounded_channel();
        let (sid, gone) = log.start(
            tokio_stream::wrappers::UnboundedReceiverStream::new(src_rx),
            false,
        );
        drop(gone);
        src_tx.send(note(5)).unwrap();
        drop(src_tx);
        while !log.streams.lock().get(&sid).is_some_and(|l| l.finished) {
            tokio::task::yield_now().await;
        }
        let mut late = log.resume(&format!("{sid}-0")).unwrap();
        assert!(take(&mut late, 1).await[0].contains("n/5"));
        assert!(late.recv().await.is_none());
        assert!(log.resume("999-0").is_none());
    }
}
