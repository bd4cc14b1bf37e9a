//! Guest stdout and stderr: kept up to a cap, the rest counted and dropped.
//!
//! A guest that floods its output never fails a write (that would turn noise
//! into a trap); it only loses what is past the cap. What is kept is scrubbed
//! of the connector's secrets before anyone reads it.
//!
//! The buffer is the guest's WASIp2 stream itself, not an `AsyncWrite` behind
//! wasmtime-wasi's worker adapter: that adapter logs every write's raw bytes
//! at debug level, before any scrubbing could happen.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

use crate::redact::Scrubber;

#[derive(Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped_bytes: u64,
}

/// A capped in-memory output stream.
#[derive(Clone)]
pub(crate) struct CappedOutput {
    capacity: usize,
    /// Bytes kept past `capacity` until the text is scrubbed: as long as the
    /// longest secret, so a secret straddling the cap is still found whole.
    slack: usize,
    buffer: Arc<Mutex<Buffer>>,
}

impl CappedOutput {
    pub fn new(capacity: u32, slack: usize) -> CappedOutput {
        CappedOutput {
            capacity: capacity as usize,
            slack,
            buffer: Arc::default(),
        }
    }

    /// What was kept, as text scrubbed of secrets and cut to the cap, and
    /// about how many bytes were dropped (exact when no secret was replaced).
    pub fn take(&self, scrubber: &Scrubber) -> (String, u64) {
        let mut buffer = self
            .buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept = std::mem::take(&mut buffer.kept);
        let mut dropped_bytes = std::mem::take(&mut buffer.dropped_bytes);
        drop(buffer);
        let mut text = scrubber.scrub(&String::from_utf8_lossy(&kept));
        if text.len() > self.capacity {
            let mut cut = self.capacity;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            dropped_bytes += (text.len() - cut) as u64;
            text.truncate(cut);
        }
        (text, dropped_bytes)
    }

    fn append(&self, bytes: &[u8]) {
        let mut buffer = self
            .buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let room = (self.capacity + self.slack).saturating_sub(buffer.kept.len());
        let kept = bytes.len().min(room);
        buffer.kept.extend_from_slice(&bytes[..kept]);
        buffer.dropped_bytes += (bytes.len() - kept) as u64;
    }
}

impl IsTerminal for CappedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

/// What the stream tells the guest it may write at once: any amount is
/// accepted (past the cap it is counted and dropped), so this only sets the
/// guest's chunk size.
const WRITE_PERMIT_BYTES: usize = 64 << 10;

impl StdoutStream for CappedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl Pollable for CappedOutput {
    // `Pollable` is an `async_trait`; this is its desugared form. A write
    // never waits, so the stream is always ready.
    fn ready<'life0, 'async_trait>(
        &'life0 mut self,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(std::future::ready(()))
    }
}

impl OutputStream for CappedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT_BYTES)
    }
}

impl AsyncWrite for CappedOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _context: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        _context: &mut Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_past_the_cap_is_counted_not_kept() {
        let output = CappedOutput::new(4, 0);
        output.append(b"abc");
        output.append(b"def");
        assert_eq!(output.take(&Scrubber::new([])), ("abcd".to_string(), 2));
    }

    #[test]
    fn a_secret_straddling_the_cap_leaves_no_part_of_itself() {
        let scrubber = Scrubber::new(["s3cr3t"]);
        let output = CappedOutput::new(4, scrubber.longest_secret_bytes());
        output.append(b"ab");
        output.append(b"s3cr3t and more");
        let (text, dropped_bytes) = output.take(&scrubber);
        assert_eq!(text, "ab[r");
        assert!(dropped_bytes > 0);
    }
}
