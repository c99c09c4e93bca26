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
    buf: Vec<u8>,
    current: SseEvent,
    has_data: bool,
    max_event: usize,
}

/// An event larger than the decoder accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("server-sent event larger than {0} bytes")]
pub struct EventTooLarge(pub usize);

impl SseDecoder {
    /// A decoder refusing events larger than `max_event` bytes.
    pub fn new(max_event: usize) -> Self {
        Self {
            buf: Vec::new(),
            current: SseEvent::default(),
            has_data: false,
            max_event,
        }
    }

    /// Adds a chunk and returns the events it completes.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, EventTooLarge> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(pos) = self.buf[start..]
            .iter()
            .position(|b| *b == b'\n' || *b == b'\r')
        {
            let end = start + pos;
            let mut next = end + 1;
            if self.buf[end] == b'\r' {
                match self.buf.get(next) {
                    Some(b'\n') => next += 1,
                    None => break, // wait: a '\n' may follow in the next chunk
                    Some(_) => {}
                }
            }
            let line = String::from_utf8_lossy(&self.buf[start..end]).into_owned();
            self.line(&line, &mut events);
            start = next;
        }
        self.buf.drain(..start);
        if self.buf.len() + self.current.data.len() > self.max_event {
            return Err(EventTooLarge(self.max_event));
        }
        Ok(events)
    }

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
}
