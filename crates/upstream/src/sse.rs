//! An incremental Server-Sent Events decoder.
//!
//! Written here rather than taken from a crate because moat needs two properties together: it is fed
//! arbitrary byte chunks from a hostile peer, so one event's size is bounded, and it keeps each
//! event's `id` for stream resumption.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// `event:` field; empty means `message`.
    pub event: String,
    /// `data:` lines joined with `\n`.
    pub data: String,
    /// `id:` field, if the event had one.
    pub id: Option<String>,
}

/// Feeds bytes in, takes events out.
#[derive(Debug)]
pub struct SseDecoder {
    /// Bytes of lines not complete yet.
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no line end, so each byte is searched once: an event
    /// arriving in many chunks then costs time linear in its size, not quadratic.
    scanned: usize,
    event: EventState,
    max_event: usize,
}

/// The event being assembled; apart from `buf` so a line can be read from `buf` in place.
#[derive(Debug, Default)]
struct EventState {
    current: SseEvent,
    has_data: bool,
}

/// An event larger than the decoder accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server-sent event larger than {0} bytes")]
pub struct EventTooLarge(pub usize);

/// Past this, a buffer left mostly empty after a large event is given back.
const KEEP_CAPACITY: usize = 64 * 1024;

impl SseDecoder {
    /// A decoder refusing events larger than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        Self {
            buf: Vec::new(),
            scanned: 0,
            event: EventState::default(),
            max_event,
        }
    }

    /// Adds a chunk and returns the events it completes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, EventTooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        let mut from = self.scanned;
        let mut pending_cr = None;
        while let Some(pos) = self.buf[from..]
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
        {
            let end = from + pos;
            let mut next = end + 1;
            if self.buf[end] == b'\r' {
                match self.buf.get(next) {
                    Some(b'\n') => next += 1,
                    None => {
                        // Wait: a '\n' may follow in the next chunk; look at this '\r' again.
                        pending_cr = Some(end);
                        break;
                    }
                    Some(_) => {}
                }
            }
            self.event
                .line(&String::from_utf8_lossy(&self.buf[start..end]), &mut events);
            start = next;
            from = next;
        }
        // Everything after `start` has been searched, but for a '\r' that ends the buffer.
        let searched = pending_cr.unwrap_or(self.buf.len());
        // What is left is at most one partial line, so this moves no more than the chunk added.
        self.buf.drain(..start);
        self.scanned = searched - start;
        if self.buf.capacity() > KEEP_CAPACITY && self.buf.len() < self.buf.capacity() / 4 {
            self.buf.shrink_to(self.buf.len().max(KEEP_CAPACITY));
        }
        if self.buf.len() + self.event.current.data.len() > self.max_event {
            return Err(EventTooLarge(self.max_event));
        }
        Ok(events)
    }
}

impl EventState {
    fn line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if self.has_data {
                out.push(std::mem::take(&mut self.current));
            } else {
                self.current = SseEvent::default();
            }
            self.has_data = false;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.current.event = value.to_owned(),
            "id" if !value.contains('\0') => self.current.id = Some(value.to_owned()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_events_across_arbitrary_chunks() {
        let stream =
            b"id: 1\nevent: message\ndata: {\"a\":\ndata: 1}\n\n: comment\r\n\r\ndata:x\r\n\r\n";
        for split in 0..stream.len() {
            let mut d = SseDecoder::new(1 << 20);
            let mut ev = d.feed(&stream[..split]).unwrap();
            ev.extend(d.feed(&stream[split..]).unwrap());
            assert_eq!(ev.len(), 2, "split at {split}");
            assert_eq!(
                ev[0],
                SseEvent {
                    event: "message".into(),
                    data: "{\"a\":\n1}".into(),
                    id: Some("1".into())
                }
            );
            assert_eq!(ev[1].data, "x");
            assert_eq!(ev[1].id, None);
        }
    }

    #[test]
    fn events_without_data_are_not_dispatched() {
        let mut d = SseDecoder::new(1024);
        assert!(d.feed(b"id: 5\n\nevent: x\n\n").unwrap().is_empty());
    }

    #[test]
    fn oversized_events_are_refused() {
        let mut d = SseDecoder::new(16);
        assert_eq!(d.feed(&[b'a'; 40]), Err(EventTooLarge(16)));
        let mut d = SseDecoder::new(16);
        assert!(d.feed(b"data: 0123456789\ndata: 0123456789\n").is_err());
    }

    #[test]
    fn one_large_event_in_many_small_chunks_is_decoded_exactly() {
        // Multi-byte characters and CRLF endings, so chunk edges fall inside both.
        let line: String = (0..2_000).map(|i| format!("{i}é€,")).collect();
        let lines: Vec<&str> = vec![line.as_str(); 40];
        let mut stream = String::from("id: big\r\nevent: message\r\n");
        for l in &lines {
            stream.push_str("data: ");
            stream.push_str(l);
            stream.push_str("\r\n");
        }
        stream.push_str("\r\ndata: after\r\n\r\n");
        let expected = lines.join("\n");
        assert!(expected.len() > 300_000);

        let mut d = SseDecoder::new(expected.len() + 100);
        let mut events = Vec::new();
        for chunk in stream.as_bytes().chunks(7) {
            events.extend(d.feed(chunk).unwrap());
        }
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].id.as_deref(), Some("big"));
        assert_eq!(events[0].event, "message");
        assert!(events[0].data == expected, "large event's data differs");
        assert_eq!(events[1].data, "after");
        assert_eq!(events[1].id, None);
        assert!(d.buf.capacity() <= KEEP_CAPACITY, "large buffer kept");
    }

    #[test]
    fn a_carriage_return_at_a_chunk_edge_is_one_line_end() {
        let mut d = SseDecoder::new(1024);
        let mut ev = d.feed(b"data: a\r").unwrap();
        ev.extend(d.feed(b"\n\r").unwrap());
        ev.extend(d.feed(b"\ndata: b\r").unwrap());
        ev.extend(d.feed(b"\r").unwrap());
        assert_eq!(ev.len(), 1, "the event ends only when the blank line does");
        ev.extend(d.feed(b"\n").unwrap());
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0].data, "a");
        assert_eq!(ev[1].data, "b");
    }
}
