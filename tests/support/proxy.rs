//! A TCP relay in front of a sentinel that a test can cut and restore, to make tpc lose
//! its links on demand.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, sleep, JoinHandle};
use std::time::{Duration, Instant};

use super::*;

/// How long a relayed connection waits for its upstream to accept before giving up: a
/// little longer than tpc waits for an answer, so an attempt made while the sentinel is
/// down goes through as soon as it is back.
const UPSTREAM_PATIENCE: Duration = Duration::from_secs(6);

/// A TCP relay on a free loopback port in front of one upstream address, with a switch.
///
/// Each accepted connection is relayed to a new connection to the upstream; when the
/// upstream refuses, the relay keeps trying for [`UPSTREAM_PATIENCE`] while the client
/// waits. [`Proxy::cut`] closes every relayed connection and makes new ones close at
/// once (the client sees its connection closed by the peer) until [`Proxy::restore`].
/// Dropping it stops the listener and closes every connection.
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

struct Shared {
    upstream: SocketAddr,
    stop: AtomicBool,
    links: Mutex<Links>,
}

/// The switch and the sockets of every relayed connection (both ends), so a cut can
/// shut them down.
struct Links {
    cut: bool,
    open: Vec<TcpStream>,
}

impl Proxy {
    pub fn start(upstream: &str) -> Proxy {
        let port = free_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the proxy port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let shared = Arc::new(Shared {
            upstream: upstream.parse().expect("upstream ip:port"),
            stop: AtomicBool::new(false),
            links: Mutex::new(Links {
                cut: false,
                open: Vec::new(),
            }),
        });
        let acceptor = {
            let shared = shared.clone();
            thread::spawn(move || accept_loop(&listener, &shared))
        };
        Proxy {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:PORT` to give clients.
    pub fn addr(&self) -> String {
        local(self.port)
    }

    /// Closes every relayed connection; new ones are closed as soon as accepted.
    pub fn cut(&self) {
        let mut links = self.shared.lock();
        links.cut = true;
        for s in links.open.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Relays new connections again.
    pub fn restore(&self) {
        self.shared.lock().cut = false;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.cut();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stopped() {
        match listener.accept() {
            Ok((client, _)) => {
                if shared.lock().cut || client.set_nonblocking(false).is_err() {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let shared = shared.clone();
                thread::spawn(move || relay(client, &shared));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => sleep(Duration::from_millis(5)),
            Err(_) => sleep(Duration::from_millis(5)),
        }
    }
}

/// Connects to the upstream (patiently) and copies bytes both ways until either side
/// closes or the proxy is cut.
fn relay(client: TcpStream, shared: &Arc<Shared>) {
    let Some(upstream) = connect_patiently(shared) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let clones = (|| {
        Ok::<_, io::Error>((
            client.try_clone()?,
            upstream.try_clone()?,
            client.try_clone()?,
            upstream.try_clone()?,
        ))
    })();
    let Ok((c_keep, u_keep, c_read, u_write)) = clones else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    {
        let mut links = shared.lock();
        if links.cut {
            let _ = client.shutdown(Shutdown::Both);
            let _ = upstream.shutdown(Shutdown::Both);
            return;
        }
        links.open.push(c_keep);
        links.open.push(u_keep);
    }
    let up = thread::spawn(move || pipe(c_read, u_write));
    pipe(upstream, client);
    let _ = up.join();
}

/// Copies `from` to `to` until EOF or an error, then shuts both down so the other
/// direction ends too.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// A connection to the upstream, retried for [`UPSTREAM_PATIENCE`]; `None` when it
/// never accepts, or the proxy is cut or stopped meanwhile.
fn connect_patiently(shared: &Shared) -> Option<TcpStream> {
    let deadline = Instant::now() + UPSTREAM_PATIENCE;
    loop {
        if shared.stopped() || shared.lock().cut {
            return None;
        }
        if let Ok(s) = TcpStream::connect_timeout(&shared.upstream, secs(1)) {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        sleep(Duration::from_millis(5));
    }
}
