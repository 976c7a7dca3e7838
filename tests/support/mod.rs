//! Harness for tpc's integration tests: real `redis-server`, `redis-sentinel` and
//! `nutcracker` processes on free loopback ports, and the real `tpc` binary.
//!
//! - [`Cluster`]: masters with one replica each, watched by N sentinels; reliable
//!   failovers ([`Cluster::failover`]) and rejoin checks ([`Cluster::wait_rejoined`]).
//! - [`Nutcracker`]: a `restart.sh` that (re)starts a daemonized nutcracker, usable as
//!   tpc's reload command, and a guard that stops it.
//! - [`Tpc`]: the binary under test, with its log printed when a test fails.
//! - [`Rig`]: a cluster, tpc following it and the nutcracker it restarts, with the
//!   checks made after each failover; [`Proxy`]: a relay to cut a sentinel link.
//! - [`supervised`]: nutcracker run by tpc itself (`-supervise`), found by tpc's PID.
//! - [`resp()`]/[`Conn`]: a tiny RESP client; [`http_get`] a tiny HTTP one; [`wait_until`]
//!   and friends for polling.
//!
//! Every process is stopped by PID when its guard drops, also when a test panics. A
//! missing binary fails the test loudly; nothing is ever skipped.

#![allow(dead_code, unused_imports)]

pub mod checks;
pub mod cluster;
pub mod http;
pub mod launch;
pub mod nutcracker;
pub mod procs;
pub mod proxy;
pub mod resp;
pub mod rig;
pub mod sentinel;
pub mod supervised;
pub mod tpc;

pub use checks::{check_keys, expect_reloads, secs};
pub use cluster::Cluster;
pub use http::http_get;
pub use nutcracker::{nutcracker_accepts, nutcracker_yaml, Nutcracker};
pub use procs::{PidFileGuard, Proc};
pub use proxy::Proxy;
pub use resp::{resp, try_resp, Conn, Value};
pub use rig::{backup_path, has_line, recording_path, wait_config, Rig};
pub use sentinel::role;
pub use supervised::{marked_as_loaded, nutcracker_child, supervise_args, wait_child_serving};
pub use tpc::Tpc;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How often the polling helpers look again.
pub const POLL: Duration = Duration::from_millis(100);

/// A free TCP port on 127.0.0.1, never handed out twice within this process.
///
/// Ports come from below the kernel's ephemeral range when possible: a port found by
/// binding port 0 is an ephemeral one, and an outgoing connection may take it before
/// the server binds it (or while nutcracker restarts on its fixed listen port). Each
/// candidate is checked by binding it; binding port 0 is the fallback.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    let port = low_free_port(given).unwrap_or_else(|| ephemeral_free_port(given));
    given.insert(port);
    port
}

/// A bindable port in `20000..` the start of the ephemeral range, starting at an offset
/// that differs per process so concurrent test binaries rarely probe the same ports.
fn low_free_port(given: &HashSet<u16>) -> Option<u16> {
    const LOW: u32 = 20000;
    let high = ephemeral_range_start().max(LOW);
    let len = high - LOW;
    if len == 0 {
        return None;
    }
    let nanos = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .ok()?
        .subsec_nanos();
    let seed = std::process::id().wrapping_mul(7919).wrapping_add(nanos) % len;
    (0..len)
        .map(|k| (LOW + (seed + k) % len) as u16)
        .filter(|p| !given.contains(p))
        .find(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok())
}

/// A port from binding 127.0.0.1:0 that was not handed out before.
fn ephemeral_free_port(given: &HashSet<u16>) -> u16 {
    for _ in 0..1000 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local_addr").port();
        if !given.contains(&port) {
            return port;
        }
    }
    panic!("no fresh free port on 127.0.0.1 after 1000 tries");
}

/// The first port of the kernel's ephemeral range (32768 if unreadable).
fn ephemeral_range_start() -> u32 {
    let range = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    range
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(32768)
}

/// `127.0.0.1:PORT`
pub fn local(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// Serializes the tests that hold the guard: a 2-core machine runs one cluster reliably,
/// several at once make sentinels flaky (TILT, slow failovers).
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `f` every [`POLL`] until it returns true; panics naming `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    wait_for(timeout, what, || f().then_some(()));
}

/// Polls `f` every [`POLL`] until it returns `Some`, and returns that value; panics
/// naming `what` after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        sleep(POLL);
    }
}

/// Checks `f` every [`POLL`] for `duration`; panics naming `what` as soon as it is false.
pub fn hold_for(duration: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + duration;
    loop {
        assert!(f(), "{what} stopped holding within {duration:?}");
        if Instant::now() >= deadline {
            return;
        }
        sleep(POLL);
    }
}

/// The absolute path of an installed program; panics (never skips) when it is missing.
pub fn binary(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs =
        path.split(':')
            .chain(["/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin"]);
    let found = dirs.map(|d| Path::new(d).join(name)).find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("`{name}` is not installed (apt-get install redis-server redis-sentinel nutcracker)")
    })
}

/// Number of lines in a file; 0 when it does not exist.
pub fn line_count(path: &Path) -> usize {
    fs::read_to_string(path).map_or(0, |s| s.lines().count())
}

/// The servers of a nutcracker config file as `name -> ip:port` (see [`servers_in`]);
/// `None` when the file is missing.
pub fn config_servers(path: &Path) -> Option<BTreeMap<String, String>> {
    Some(servers_in(&fs::read_to_string(path).ok()?))
}

/// The servers of a nutcracker config as `name -> ip:port`, from lines like
/// `- 127.0.0.1:6379:1 node-1` (quotes allowed).
pub fn servers_in(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("- "))
        .map(|l| l.trim().trim_matches(|c| c == '\'' || c == '"'))
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(addr, name)| {
            let (ip_port, _weight) = addr.rsplit_once(':')?;
            Some((name.trim().to_string(), ip_port.to_string()))
        })
        .collect()
}

/// `INFO <section>` of a redis-server or sentinel as a map; `None` when unreachable.
pub fn info(addr: &str, section: &str) -> Option<BTreeMap<String, String>> {
    let text = try_resp(addr, &["INFO", section]).ok()?.text()?;
    let map = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect();
    Some(map)
}

/// `GET key` on one redis-server; `None` for nil, an error or no connection.
pub fn get(addr: &str, key: &str) -> Option<String> {
    match try_resp(addr, &["GET", key]).ok()? {
        Value::Error(_) => None,
        v => v.text(),
    }
}
