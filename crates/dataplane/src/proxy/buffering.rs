//! Backend `buffering` (Traefik 1.7's oxy buffer): a body is read whole before it moves on, in
//! memory up to `mem*BodyBytes` and in an unlinked temporary file beyond, refused above
//! `max*BodyBytes` (a request with 413, a response with 502). A buffered request can be sent
//! again, so every retry is safe.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;

/// Memory kept per body when `mem*BodyBytes` is 0 (oxy's default, 1 MiB).
pub(super) const DEFAULT_MEM: u64 = 1 << 20;
/// File reads per frame when a body is sent from disk.
const READ_CHUNK: usize = 64 * 1024;

/// Why a body could not be buffered.
#[derive(Debug, thiserror::Error)]
pub(super) enum BufferError {
    #[error("body larger than {0} bytes")]
    TooLarge(u64),
    #[error("reading the body: {0}")]
    Read(String),
    #[error("spilling the body to disk: {0}")]
    Disk(#[from] std::io::Error),
}

/// A whole body: its first bytes in memory, the rest in a temporary file.
#[derive(Debug, Default)]
pub(super) struct Buffered {
    memory: Vec<Bytes>,
    memory_len: u64,
    file: Option<File>,
    file_len: u64,
}

impl Buffered {
    /// A body already in memory.
    pub(super) fn from_bytes(data: Bytes) -> Buffered {
        Buffered {
            memory_len: data.len() as u64,
            memory: vec![data],
            file: None,
            file_len: 0,
        }
    }

    pub(super) fn len(&self) -> u64 {
        self.memory_len + self.file_len
    }

    /// Reads `body` whole; `max` 0 means no limit, `mem` 0 means [`DEFAULT_MEM`].
    pub(super) async fn read<B>(mut body: B, mem: u64, max: u64) -> Result<Buffered, BufferError>
    where
        B: Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let mem = if mem == 0 { DEFAULT_MEM } else { mem };
        let mut b = Buffered::default();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| BufferError::Read(e.to_string()))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if max > 0 && b.len() + data.len() as u64 > max {
                return Err(BufferError::TooLarge(max));
            }
            if b.file.is_none() && b.memory_len + data.len() as u64 <= mem {
                b.memory_len += data.len() as u64;
                b.memory.push(data);
                continue;
            }
            let file = match &mut b.file {
                Some(f) => f,
                None => b.file.insert(tempfile::tempfile()?),
            };
            file.write_all(&data)?;
            b.file_len += data.len() as u64;
        }
        Ok(b)
    }

    /// The body from `offset` bytes in, one chunk (memory first, then the file).
    fn chunk_at(&self, offset: u64) -> Option<Bytes> {
        if offset < self.memory_len {
            let mut start = 0u64;
            for c in &self.memory {
                let end = start + c.len() as u64;
                if offset < end {
                    return Some(c.slice((offset - start) as usize..));
                }
                start = end;
            }
        }
        let in_file = offset - self.memory_len;
        if in_file >= self.file_len {
            return None;
        }
        let file = self.file.as_ref()?;
        let n = READ_CHUNK.min((self.file_len - in_file) as usize);
        let mut buf = vec![0u8; n];
        // The file was just written: these reads come from the page cache.
        match file.read_exact_at(&mut buf, in_file) {
            Ok(()) => Some(Bytes::from(buf)),
            Err(e) => {
                tracing::warn!("reading a buffered body back: {e}");
                None
            }
        }
    }
}

/// A buffered body being sent; any number of these can read one [`Buffered`].
#[derive(Debug)]
pub(super) struct Replay {
    data: Arc<Buffered>,
    offset: u64,
}

impl Replay {
    pub(super) fn new(data: Arc<Buffered>) -> Replay {
        Replay { data, offset: 0 }
    }

    /// The next frame's bytes, or `None` at the end.
    pub(super) fn next_chunk(&mut self) -> Option<Bytes> {
        let c = self.data.chunk_at(self.offset)?;
        self.offset += c.len() as u64;
        Some(c)
    }

    pub(super) fn remaining(&self) -> u64 {
        self.data.len().saturating_sub(self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    type Frames = futures_util::stream::Iter<
        std::vec::IntoIter<Result<http_body::Frame<Bytes>, std::convert::Infallible>>,
    >;

    fn chunks(n: usize, size: usize) -> StreamBody<Frames> {
        let frames: Vec<_> = (0..n)
            .map(|i| {
                Ok(http_body::Frame::data(Bytes::from(vec![
                    b'a' + (i % 26)
                        as u8;
                    size
                ])))
            })
            .collect();
        StreamBody::new(futures_util::stream::iter(frames))
    }

    fn replay_all(b: Buffered) -> Vec<u8> {
        let mut r = Replay::new(Arc::new(b));
        let mut out = Vec::new();
        while let Some(c) = r.next_chunk() {
            out.extend_from_slice(&c);
        }
        out
    }

    #[tokio::test]
    async fn memory_then_disk_and_back_in_order() {
        let b = Buffered::read(chunks(10, 1000), 3500, 0)
            .await
            .expect("read");
        assert_eq!((b.memory_len, b.file_len), (3000, 7000));
        let all = replay_all(b);
        assert_eq!(all.len(), 10_000);
        assert!(all[..1000].iter().all(|&c| c == b'a'));
        assert!(all[9000..].iter().all(|&c| c == b'j'));
    }

    #[tokio::test]
    async fn above_the_maximum_is_refused() {
        let e = Buffered::read(chunks(10, 1000), 0, 9999)
            .await
            .expect_err("too large");
        assert!(matches!(e, BufferError::TooLarge(9999)));
        let b = Buffered::read(Full::new(Bytes::from_static(b"ok")), 0, 2)
            .await
            .expect("fits");
        assert_eq!(replay_all(b), b"ok");
    }
}
