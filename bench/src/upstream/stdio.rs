//! The server over stdio: one JSON-RPC message per line on stdin, one answer per line on stdout.
//! Blocking and single-threaded (nothing is faster for a pipe); output is flushed only when no
//! further input is already buffered, so pipelined requests share a write.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::os::fd::AsFd;

use super::{Reply, Server};

/// Serves until stdin closes.
pub fn serve(server: &Server) -> std::io::Result<()> {
    // Our own reader over fd 0, so we can see whether more input is already buffered.
    let fd = std::io::stdin().as_fd().try_clone_to_owned()?;
    let mut input = BufReader::with_capacity(64 * 1024, File::from(fd));
    let mut out = BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return out.flush();
        }
        let msg = line.trim_ascii();
        if !msg.is_empty()
            && let Reply::Json(answer) = server.handle(msg)
        {
            out.write_all(&answer)?;
            out.write_all(b"\n")?;
        }
        if input.buffer().is_empty() {
            out.flush()?;
        }
    }
}
