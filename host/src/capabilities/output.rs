//! Guest stdout and stderr: kept up to a cap, the rest counted and dropped.
//!
//! A guest that floods its output never fails a write (that would turn noise
//! into a trap); it only loses what is past the cap.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

#[derive(Default)]
struct Buffer {
    kept: Vec<u8>,
    dropped_bytes: u64,
}

/// A capped in-memory output stream.
#[derive(Clone)]
pub(crate) struct CappedOutput {
    capacity: usize,
    buffer: Arc<Mutex<Buffer>>,
}

impl CappedOutput {
    pub fn new(capacity: u32) -> CappedOutput {
        CappedOutput {
            capacity: capacity as usize,
            buffer: Arc::default(),
        }
    }

    /// What was kept, as text, and how many bytes were dropped.
    pub fn take(&self) -> (String, u64) {
        let mut buffer = self
            .buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let kept = std::mem::take(&mut buffer.kept);
        (
            String::from_utf8_lossy(&kept).into_owned(),
            std::mem::take(&mut buffer.dropped_bytes),
        )
    }

    fn append(&self, bytes: &[u8]) {
        let mut buffer = self
            .buffer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let room = self.capacity.saturating_sub(buffer.kept.len());
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

impl StdoutStream for CappedOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
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
        let output = CappedOutput::new(4);
        output.append(b"abc");
        output.append(b"def");
        assert_eq!(output.take(), ("abcd".to_string(), 2));
    }
}
