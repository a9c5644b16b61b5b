//! The listener's defences against slow and greedy clients (issue 12, M2). hyper reads a request
//! head within `header_read_timeout` (which also bounds how long a kept-alive connection may sit
//! between requests); [`Acceptor`] refuses a connection beyond the per-IP cap (an IPv6 client
//! counts per /64, the block one subscriber usually holds; trusted proxies count only towards the
//! total) or the total cap, and wraps each accepted stream in [`Guarded`], which closes it after
//! `idle_timeout` without a byte read or written — or, before its first byte arrives, after
//! `header_read_timeout` (hyper's head timer starts only once the HTTP version is known, which
//! takes a first byte, so a connection that never sends one would otherwise wait the idle time). The body deadline lives in `mod.rs`
//! (`body_deadline`): a body trickled in byte by byte keeps the connection busy, not idle.

use crate::config::HttpLimits;
use crate::domain::forwarded::TrustedProxies;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// Descriptors kept free beside the connections: the database pool, outbound requests,
/// log files and the listener itself need them, and `/healthz` must still be answered.
const RESERVED_FDS: u64 = 256;

/// The total cap `max_connections = 0` stands for: the soft descriptor limit less a reserve,
/// within 64..=10,000.
pub fn auto_total(fd_limit: u64) -> usize {
    fd_limit.saturating_sub(RESERVED_FDS).clamp(64, 10_000) as usize
}

/// The key a connection counts under for the per-IP cap.
fn ip_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

struct Shared {
    counts: Mutex<Counts>,
    per_ip_cap: usize,
    total_cap: usize,
    first_byte: Duration,
    idle: Duration,
    proxies: TrustedProxies,
    refused: AtomicU64,
}

/// Accepts a TCP connection into the caps, or refuses it (the stream is closed at once).
#[derive(Clone)]
pub struct Acceptor {
    shared: Arc<Shared>,
}

impl Acceptor {
    pub fn new(limits: &HttpLimits, proxies: TrustedProxies) -> Acceptor {
        let total_cap = match limits.max_connections {
            0 => auto_total(crate::files::open_files_limit()),
            n => n,
        };
        Acceptor {
            shared: Arc::new(Shared {
                counts: Mutex::new(Counts {
                    total: 0,
                    per_ip: HashMap::new(),
                }),
                per_ip_cap: limits.max_connections_per_ip.max(1),
                total_cap: total_cap.max(1),
                first_byte: Duration::from_millis(limits.header_read_timeout_ms.max(1)),
                idle: Duration::from_millis(limits.idle_timeout_ms.max(1)),
                proxies,
                refused: AtomicU64::new(0),
            }),
        }
    }

    /// The total cap in force (after `0` = automatic).
    pub fn total_cap(&self) -> usize {
        self.shared.total_cap
    }

    fn admit(&self, peer: IpAddr) -> Option<Slot> {
        let s = &self.shared;
        // A trusted proxy carries many clients on its connections: only the total holds it.
        let key = (!s.proxies.trusts(peer)).then(|| ip_key(peer));
        let mut c = s.counts.lock().unwrap_or_else(|p| p.into_inner());
        let at_ip = key.map_or(0, |k| c.per_ip.get(&k).copied().unwrap_or(0));
        if c.total >= s.total_cap || at_ip >= s.per_ip_cap {
            let n = s.refused.fetch_add(1, Ordering::Relaxed);
            drop(c);
            // one line per 1,000 refusals: a flood must not become a log flood
            if n.is_multiple_of(1000) {
                tracing::warn!(
                    peer = %peer, refused = n + 1, per_ip_cap = s.per_ip_cap, total_cap = s.total_cap,
                    "connection refused: connection cap reached"
                );
            }
            return None;
        }
        c.total += 1;
        if let Some(k) = key {
            *c.per_ip.entry(k).or_insert(0) += 1;
        }
        Some(Slot {
            shared: self.shared.clone(),
            key,
        })
    }
}

/// One admitted connection's place in the counts, given back when the connection ends.
struct Slot {
    shared: Arc<Shared>,
    key: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.shared.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(k) = self.key
            && let Some(n) = c.per_ip.get_mut(&k)
        {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&k);
            }
        }
    }
}

impl<S: Send + 'static> axum_server::accept::Accept<TcpStream, S> for Acceptor {
    type Stream = Guarded<TcpStream>;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, S)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let admitted = stream.peer_addr().ok().and_then(|a| self.admit(a.ip()));
        let (first, idle) = (self.shared.first_byte, self.shared.idle);
        Box::pin(async move {
            match admitted {
                Some(slot) => {
                    let _ = stream.set_nodelay(true);
                    Ok((Guarded::new(stream, slot, first, idle), service))
                }
                None => Err(io::Error::other("connection cap reached")),
            }
        })
    }
}

/// A stream that fails with `TimedOut` once `idle` passes without a byte moving either way
/// (`first` until the first byte has been read), and holds its connection's [`Slot`] until
/// dropped.
pub struct Guarded<T> {
    inner: T,
    _slot: Slot,
    /// The wait in force: `first` until a byte has been read, then `after_first`.
    idle: Duration,
    after_first: Duration,
    last: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<T> Guarded<T> {
    fn new(inner: T, slot: Slot, first: Duration, idle: Duration) -> Self {
        let last = Instant::now();
        Guarded {
            inner,
            _slot: slot,
            // the first wait is the shorter one: moved to `idle` by the first byte read
            idle: first.min(idle),
            after_first: idle,
            last,
            timer: Box::pin(tokio::time::sleep_until(last + first.min(idle))),
        }
    }

    /// Called when the stream would wait: arms the timer for `last + idle` (moving it only
    /// then, not on every byte) and fails once it has passed.
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let due = self.last + self.idle;
        if self.timer.deadline() != due {
            self.timer.as_mut().reset(due);
        }
        self.timer.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle")
}

impl<T: AsyncRead + Unpin> AsyncRead for Guarded<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.last = Instant::now();
                    self.idle = self.after_first;
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.idle_expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Guarded<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, data) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.last = Instant::now();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.idle_expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_flush(cx) {
            Poll::Pending if self.idle_expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(r) => {
                if matches!(r, Ok(n) if n > 0) {
                    self.last = Instant::now();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.idle_expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_total_keeps_a_reserve_within_bounds() {
        assert_eq!(auto_total(1024), 768);
        assert_eq!(auto_total(100), 64);
        assert_eq!(auto_total(1_048_576), 10_000);
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_v4_as_v4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(ip_key(a), ip_key(b));
        let m: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(ip_key(m), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[tokio::test]
    async fn a_silent_or_stalled_stream_times_out() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let acc = Acceptor::new(&HttpLimits::default(), TrustedProxies::default());
        let slot = |a: &Acceptor| a.admit("192.0.2.9".parse().unwrap()).unwrap();
        // Nothing ever sent: closed after the first-byte wait.
        let (near, far) = tokio::io::duplex(64);
        let mut g = Guarded::new(
            far,
            slot(&acc),
            Duration::from_millis(50),
            Duration::from_secs(60),
        );
        let mut buf = [0u8; 8];
        let e = g.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // After a first byte the idle time applies: a stall that long ends the stream too.
        drop(near);
        let (mut near2, far2) = tokio::io::duplex(64);
        let mut g = Guarded::new(
            far2,
            slot(&acc),
            Duration::from_millis(50),
            Duration::from_millis(300),
        );
        near2.write_all(b"x").await.unwrap();
        assert_eq!(g.read(&mut buf).await.unwrap(), 1);
        let t = Instant::now();
        let e = g.read(&mut buf).await.unwrap_err();
        assert!(
            t.elapsed() >= Duration::from_millis(250),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        // A peer that stops reading: writes stall and end the same way.
        let (_near3, far3) = tokio::io::duplex(8);
        let mut g = Guarded::new(
            far3,
            slot(&acc),
            Duration::from_millis(50),
            Duration::from_millis(50),
        );
        let e = g.write_all(&[0u8; 64]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn caps_per_ip_and_total_and_slots_are_given_back() {
        let limits = HttpLimits {
            max_connections_per_ip: 2,
            max_connections: 3,
            ..HttpLimits::default()
        };
        let acc = Acceptor::new(&limits, TrustedProxies::default());
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        let two: IpAddr = "192.0.2.2".parse().unwrap();
        let s1 = acc.admit(one).unwrap();
        let _s2 = acc.admit(one).unwrap();
        assert!(acc.admit(one).is_none(), "third from one address");
        let _s3 = acc.admit(two).unwrap();
        assert!(acc.admit(two).is_none(), "total reached");
        drop(s1);
        assert!(
            acc.admit(two).is_some(),
            "a closed connection frees its slot"
        );
    }
}
