//! Zero-copy forwarding between two plain TCP sockets: splice(2) moves the bytes from one
//! socket into a pipe and from the pipe into the other, so they never enter user space. The
//! pipe (64 KiB by default) bounds what one direction holds in flight. A direction starts with
//! small reads through a 4 KiB buffer and takes a pipe only once a read fills it: a short
//! exchange (a ping, a query) costs no pipe, a bulk transfer moves without copies.

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::{OFlag, SpliceFFlags, splice};
use nix::sys::socket::{Shutdown, shutdown};
use nix::unistd::pipe2;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Bytes asked of one splice call.
const CHUNK: usize = 64 * 1024;

/// A read this full switches a direction to splice(2).
const SMALL: usize = 4 * 1024;

/// Moves bytes from `from` to `to` until the end of data (then half-closes `to`) or an error;
/// counts the bytes delivered.
pub(super) async fn half(from: &TcpStream, to: &TcpStream, counter: &AtomicU64) -> io::Result<()> {
    let mut small = [0u8; SMALL];
    loop {
        from.readable().await?;
        let n = match from.try_read(&mut small) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            end(to);
            return Ok(());
        }
        write_all(to, &small[..n]).await?;
        counter.fetch_add(n as u64, Ordering::Relaxed);
        if n == SMALL {
            break;
        }
    }
    spliced(from, to, counter).await
}

async fn write_all(to: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        to.writable().await?;
        match to.try_write(bytes) {
            Ok(m) => bytes = &bytes[m..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The end of data, passed on as a half-close.
fn end(to: &TcpStream) {
    use std::os::fd::AsRawFd;
    let _ = shutdown(to.as_raw_fd(), Shutdown::Write);
}

async fn spliced(from: &TcpStream, to: &TcpStream, counter: &AtomicU64) -> io::Result<()> {
    let (pipe_out, pipe_in) = pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
    let flags = SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK;
    loop {
        let n = loop {
            from.readable().await?;
            let moved = from.try_io(Interest::READABLE, || {
                splice(from, None, &pipe_in, None, CHUNK, flags).map_err(io::Error::from)
            });
            match moved {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            end(to);
            return Ok(());
        }
        let mut left = n;
        while left > 0 {
            to.writable().await?;
            let moved = to.try_io(Interest::WRITABLE, || {
                splice(&pipe_out, None, to, None, left, flags).map_err(io::Error::from)
            });
            match moved {
                Ok(m) => {
                    left -= m;
                    counter.fetch_add(m as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }
}
