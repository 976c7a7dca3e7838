//! systemd's `Type=notify` protocol, in a few lines over a Unix datagram socket: when
//! `NOTIFY_SOCKET` is set, `READY=1` once start-up is over, `WATCHDOG=1` every half of
//! `WATCHDOG_USEC` while the daemon loop turns, and `STOPPING=1` at shutdown. Nothing at
//! all when `NOTIFY_SOCKET` is unset.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};

/// The socket systemd listens on.
#[derive(Debug)]
struct Socket {
    socket: UnixDatagram,
    addr: SocketAddr,
}

/// Where tpc is in telling systemd about itself.
#[derive(Debug)]
pub struct Systemd {
    socket: Option<Socket>,
    /// Half of `WATCHDOG_USEC`, when the watchdog is on for tpc.
    every: Option<Duration>,
    next_ping: Option<Instant>,
    /// `READY=1` is sent by then even if no config was written or confirmed yet.
    ready_by: Instant,
    ready_sent: bool,
    stopping_sent: bool,
    /// A failed send was logged as a warning (later ones at debug).
    warned: bool,
}

/// The socket address `NOTIFY_SOCKET` names: a path, or `@name` in the abstract
/// namespace.
fn socket_addr(name: &str) -> std::io::Result<SocketAddr> {
    match name.strip_prefix('@') {
        Some(abstract_name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(abstract_name.as_bytes())
        }
        None => SocketAddr::from_pathname(name),
    }
}

/// Half the watchdog interval, from `WATCHDOG_USEC` and `WATCHDOG_PID` (the watchdog is
/// for another process when that names one).
fn watchdog_every(usec: Option<&str>, pid: Option<&str>) -> Option<Duration> {
    if pid.is_some_and(|p| p.parse() != Ok(std::process::id())) {
        return None;
    }
    let usec: u64 = usec?.parse().ok().filter(|u| *u > 0)?;
    Some(Duration::from_micros(usec / 2))
}

impl Systemd {
    /// From the environment; `ready_after`: the longest start-up takes before
    /// `READY=1` is sent anyway (from now).
    pub fn from_env(ready_after: Duration) -> Systemd {
        let var = |name| std::env::var(name).ok();
        let socket = var("NOTIFY_SOCKET").and_then(|name| {
            let opened = socket_addr(&name).and_then(|addr| {
                let socket = UnixDatagram::unbound()?;
                // A full socket must never stop the daemon loop.
                socket.set_nonblocking(true)?;
                Ok(Socket { socket, addr })
            });
            opened
                .map_err(|e| warn!("Cannot talk to systemd at NOTIFY_SOCKET={name}: {e}"))
                .ok()
        });
        let every = socket.as_ref().and_then(|_| {
            watchdog_every(
                var("WATCHDOG_USEC").as_deref(),
                var("WATCHDOG_PID").as_deref(),
            )
        });
        let now = Instant::now();
        Systemd {
            socket,
            every,
            next_ping: every.map(|_| now),
            ready_by: now + ready_after,
            ready_sent: false,
            stopping_sent: false,
            warned: false,
        }
    }

    /// After each turn of the daemon loop: `READY=1` once `ready` (or start-up took
    /// too long), and `WATCHDOG=1` when a ping is due.
    pub fn turned(&mut self, ready: bool) {
        if self.socket.is_none() {
            return;
        }
        let now = Instant::now();
        if !self.ready_sent && (ready || now >= self.ready_by) {
            self.ready_sent = true;
            let status = if ready {
                "STATUS=Following the sentinels; the config is written"
            } else {
                "STATUS=Following the sentinels; no config written or confirmed yet"
            };
            self.send(&format!("READY=1\n{status}"));
        }
        if let (Some(every), Some(due)) = (self.every, self.next_ping) {
            if now >= due {
                self.send("WATCHDOG=1");
                self.next_ping = Some(now + every);
            }
        }
    }

    /// When the loop must turn next for systemd: a ping, or the ready deadline.
    pub fn next_wake(&self) -> Option<Instant> {
        self.socket.as_ref()?;
        let ready = (!self.ready_sent).then_some(self.ready_by);
        ready.into_iter().chain(self.next_ping).min()
    }

    /// tpc is stopping: `STOPPING=1`, once.
    pub fn stopping(&mut self) {
        if self.socket.is_some() && !self.stopping_sent {
            self.stopping_sent = true;
            self.send("STOPPING=1");
        }
    }

    fn send(&mut self, state: &str) {
        let Some(s) = &self.socket else {
            return;
        };
        if let Err(e) = s.socket.send_to_addr(state.as_bytes(), &s.addr) {
            if self.warned {
                debug!("Cannot tell systemd {state:?}: {e}");
            } else {
                self.warned = true;
                warn!("Cannot tell systemd {state:?} at NOTIFY_SOCKET: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_is_half_its_interval_and_only_for_this_process() {
        let me = std::process::id().to_string();
        assert_eq!(
            watchdog_every(Some("2000000"), None),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            watchdog_every(Some("2000000"), Some(&me)),
            Some(Duration::from_secs(1))
        );
        assert_eq!(watchdog_every(Some("2000000"), Some("1")), None);
        assert_eq!(watchdog_every(Some("0"), None), None);
        assert_eq!(watchdog_every(Some("soon"), None), None);
        assert_eq!(watchdog_every(None, None), None);
    }

    #[test]
    fn abstract_and_path_sockets_are_both_understood() {
        use std::os::linux::net::SocketAddrExt;
        let a = socket_addr("@tpc-test").unwrap();
        assert_eq!(a.as_abstract_name(), Some(&b"tpc-test"[..]));
        let p = socket_addr("/run/systemd/notify").unwrap();
        assert_eq!(
            p.as_pathname(),
            Some(std::path::Path::new("/run/systemd/notify"))
        );
    }
}
