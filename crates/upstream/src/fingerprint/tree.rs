//! One SHA-256 over a set of files named by relative paths, independent of the order they were
//! found in, of timestamps, owners, permissions and inode numbers.
//!
//! The digest input is `moat-fingerprint-v1\n`, then for each entry in byte order of its relative
//! path: a tag (`f` file, `l` symlink, `m` listed but missing, `o` anything else), the path's
//! length (u64, big-endian) and bytes, then for a file its length and the SHA-256 of its bytes,
//! for a symlink the length and bytes of its target text. Lengths make the encoding unambiguous.

use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{FingerprintError, Limits};

const HEADER: &[u8] = b"moat-fingerprint-v1\n";

/// The entries to hash: relative path (bytes, `/`-separated) and where the file is.
#[derive(Debug, Default)]
pub(super) struct Entries {
    list: Vec<(Vec<u8>, PathBuf)>,
}

impl Entries {
    /// Adds one file (or symlink) under a relative name.
    pub(super) fn push(&mut self, rel: impl Into<Vec<u8>>, path: PathBuf) {
        self.list.push((rel.into(), path));
    }

    /// Adds everything under `dir`, named relative to it; symlinks are not followed. At most
    /// `max_files` files, and as many directories (so a tree of empty directories is bounded too).
    pub(super) fn walk(&mut self, dir: &Path, limits: &Limits) -> Result<(), FingerprintError> {
        let mut pending = vec![(Vec::new(), dir.to_path_buf())];
        let mut dirs = 0usize;
        while let Some((prefix, at)) = pending.pop() {
            dirs += 1;
            let entries = fs::read_dir(&at).map_err(|e| FingerprintError::io(&at, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| FingerprintError::io(&at, e))?;
                let kind = entry
                    .file_type()
                    .map_err(|e| FingerprintError::io(&entry.path(), e))?;
                let mut rel = prefix.clone();
                if !rel.is_empty() {
                    rel.push(b'/');
                }
                rel.extend_from_slice(entry.file_name().as_bytes());
                if kind.is_dir() {
                    pending.push((rel, entry.path()));
                } else {
                    self.list.push((rel, entry.path()));
                }
                if self.list.len().max(dirs) > limits.max_files {
                    return Err(FingerprintError::TooManyFiles {
                        root: dir.to_path_buf(),
                        limit: limits.max_files,
                    });
                }
            }
        }
        Ok(())
    }

    /// Hashes the entries in order of their relative paths (each path once).
    pub(super) fn hash(
        mut self,
        root: &Path,
        limits: &Limits,
    ) -> Result<Digested, FingerprintError> {
        self.list.sort_by(|a, b| a.0.cmp(&b.0));
        self.list.dedup_by(|a, b| a.0 == b.0);
        if self.list.len() > limits.max_files {
            return Err(FingerprintError::TooManyFiles {
                root: root.to_path_buf(),
                limit: limits.max_files,
            });
        }
        let mut state = Digested {
            hasher: Sha256::new(),
            files: 0,
            bytes: 0,
        };
        state.hasher.update(HEADER);
        for (rel, path) in &self.list {
            state.entry(rel, path, root, limits)?;
        }
        Ok(state)
    }
}

/// The running digest and what went into it.
pub(super) struct Digested {
    hasher: Sha256,
    pub(super) files: usize,
    pub(super) bytes: u64,
}

impl Digested {
    fn entry(
        &mut self,
        rel: &[u8],
        path: &Path,
        root: &Path,
        limits: &Limits,
    ) -> Result<(), FingerprintError> {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.tagged(b'm', rel);
                return Ok(());
            }
            Err(e) => return Err(FingerprintError::io(path, e)),
        };
        self.files += 1;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(path).map_err(|e| FingerprintError::io(path, e))?;
            self.tagged(b'l', rel);
            self.bytes_with_len(target.as_os_str().as_bytes());
        } else if meta.is_file() {
            let (len, digest) = self.content(path, root, limits)?;
            self.tagged(b'f', rel);
            self.hasher.update(len.to_be_bytes());
            self.hasher.update(digest);
        } else {
            self.tagged(b'o', rel);
        }
        Ok(())
    }

    /// The file's length and SHA-256, read in a stream and stopped at the byte limit.
    fn content(
        &mut self,
        path: &Path,
        root: &Path,
        limits: &Limits,
    ) -> Result<(u64, [u8; 32]), FingerprintError> {
        let file = fs::File::open(path).map_err(|e| FingerprintError::io(path, e))?;
        let room = limits.max_bytes.saturating_sub(self.bytes);
        let mut reader = file.take(room.saturating_add(1));
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut len = 0u64;
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| FingerprintError::io(path, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            len += n as u64;
        }
        if len > room {
            return Err(FingerprintError::TooLarge {
                root: root.to_path_buf(),
                limit: limits.max_bytes,
            });
        }
        self.bytes += len;
        Ok((len, hasher.finalize().into()))
    }

    fn tagged(&mut self, tag: u8, rel: &[u8]) {
        self.hasher.update([tag]);
        self.bytes_with_len(rel);
    }

    fn bytes_with_len(&mut self, bytes: &[u8]) {
        self.hasher.update((bytes.len() as u64).to_be_bytes());
        self.hasher.update(bytes);
    }

    /// The digest in lowercase hexadecimal.
    pub(super) fn hex(self) -> String {
        self.hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
