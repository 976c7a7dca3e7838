//! Fault tests with real `redis-server`, `redis-sentinel` and `nutcracker` processes and
//! the real `tpc` binary (DESIGN.md §4, §7, §8): sentinels dying in the middle of a
//! failover, every sentinel link cut while a failover happens, and a sentinel that comes
//! back with the view it had before the failover. Each test checks what a client sees:
//! the config on disk, `nutcracker -t` accepting it, and where keys written through
//! nutcracker land.
//!
//! The tests take the [`support::serial`] lock: a 2-core machine runs one Sentinel
//! deployment reliably, two at once make failovers slow and flaky.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, sleep, JoinHandle};
use std::time::{Duration, Instant};
use support::*;

/// tpc is linked to all three sentinels and following. A `SENTINEL FAILOVER node-1` is
/// sent to sentinel 2 and, as soon as it answers OK, sentinels 0 and 1 are killed: the
/// failover goes on inside sentinel 2 alone (a forced failover needs no quorum), and only
/// sentinel 2 can tell tpc about it. tpc must follow through that one sentinel.
#[test]
fn follows_a_failover_with_two_of_three_sentinels_killed_during_it() {
    let _serial = serial();
    let mut rig = Rig::start(&["node-1", "node-2"], &[], &[]);
    rig.expect_followed("the first config", None);
    rig.wait_linked_to_all();

    let old = rig.cluster.master_addr("node-1");
    let offset = rig.log_len();
    let new = failover_then_kill(&mut rig.cluster, "node-1", 2, &[0, 1]);
    assert_eq!(rig.cluster.live_sentinels(), vec![2]);
    rig.expect_followed(
        "the node-1 failover with sentinels 0 and 1 killed",
        Some("node-1"),
    );
    assert_eq!(rig.servers["node-1"], new);
    assert_ne!(new, old);

    let log = rig.log_since(offset);
    let heard: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("'+switch-master' from"))
        .collect();
    eprintln!("tpc heard the switch as:\n  {}", heard.join("\n  "));
    for i in [0, 1] {
        let killed = rig.tpc_sentinel_addr(i);
        assert!(
            has_line(&log, &format!("Lost sentinel {killed}")),
            "tpc did not notice that sentinel {i} ({killed}) died"
        );
    }
    rig.expect_running();
}

/// Every sentinel sits behind a TCP proxy. Once tpc follows, all proxies cut their
/// connections and close new ones at once (tpc logs that no sentinel is reachable); node-1 is
/// failed over meanwhile, so tpc hears nothing of it and the file keeps the old address.
/// When the proxies let connections through again, tpc must reconnect, ask the
/// sentinels, and rewrite the config to the new master, restarting nutcracker once.
/// Periodic reconciliation is off: the reconnect alone must repair the config.
#[test]
fn a_failover_while_every_link_is_down_is_repaired_on_reconnect() {
    let _serial = serial();
    let mut rig = Rig::start(
        &["node-1", "node-2"],
        &[0, 1, 2],
        &["-reconcile_interval", "0"],
    );
    rig.expect_followed("the first config", None);
    rig.wait_linked_to_all();

    let offset = rig.log_len();
    let cut = Instant::now();
    rig.proxies.iter().for_each(|(_, p)| p.cut());
    rig.wait_log(offset, "No sentinel reachable", secs(10));
    eprintln!("tpc lost every sentinel {:?} after the cut", cut.elapsed());

    let (old, new) = rig.cluster.failover("node-1");
    // tpc cannot know: the file keeps the old address and nutcracker is not restarted.
    // Holding the cut a few seconds also lets tpc's reconnect back-off grow.
    let (servers, reloads) = (rig.servers.clone(), rig.reloads);
    hold_for(secs(3), "the old config while every link is cut", || {
        config_servers(&rig.conf).as_ref() == Some(&servers) && rig.nut.reloads() == reloads
    });
    assert_eq!(rig.servers["node-1"], old);
    eprintln!("links cut for {:?}; restoring them", cut.elapsed());

    let offset = rig.log_len();
    let restored = Instant::now();
    rig.proxies.iter().for_each(|(_, p)| p.restore());
    let servers = wait_config(&rig.conf, &rig.cluster_view(), "the reconnect", secs(15));
    eprintln!(
        "config repaired {:?} after the links came back",
        restored.elapsed()
    );
    assert_eq!(servers["node-1"], new);
    rig.expect_followed("the failover missed while cut", Some("node-1"));

    let log = rig.log_since(offset);
    assert!(
        log.contains("Connected to sentinel"),
        "tpc did not reconnect:\n{log}"
    );
    let how: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Replacing master node-1"))
        .collect();
    eprintln!("tpc repaired node-1 as:\n  {}", how.join("\n  "));
    rig.expect_running();
}

/// Sentinel 0 is killed and node-1 failed over by the other two; tpc follows. Then
/// sentinel 0 is started again from its config file, which still names the old master
/// with the old config epoch: until it hears from the others (a hello, at once to 2 s
/// later; measured 0 to ~1 s here) it answers `SENTINEL MASTERS` with that stale view.
/// Whether tpc asks within that window is printed, not asserted (it did in 13 of 15
/// runs); a tpc that took the stale answer fails the hold below. tpc, reconciling every second, must never
/// move node-1 back: for 8 s the config keeps the new address and nutcracker is not
/// restarted, and keys still land on the new master.
///
/// Sentinel 0 sits behind a proxy that waits for its upstream instead of refusing: tpc's
/// attempts to reconnect while sentinel 0 is down stay pending and go through the moment
/// it is back, so tpc's growing back-off does not make it miss the short stale window.
#[test]
fn a_sentinel_back_with_a_stale_view_cannot_roll_back() {
    let _serial = serial();
    let mut rig = Rig::start(&["node-1", "node-2"], &[0], &["-reconcile_interval", "1"]);
    rig.expect_followed("the first config", None);
    rig.wait_linked_to_all();

    rig.cluster.kill_sentinel(0);
    let (old, new) = rig.cluster.failover("node-1");
    rig.expect_followed("the node-1 failover without sentinel 0", Some("node-1"));

    let offset = rig.log_len();
    rig.cluster.restart_sentinel(0);
    let restarted = Instant::now();
    let s0 = rig.cluster.sentinel_addr(0);
    let first = sentinel_view(&s0, "node-1");
    eprintln!("sentinel 0 restarted; it reports node-1 as {first:?} (old {old}, new {new})");

    let (servers, reloads) = (rig.servers.clone(), rig.reloads);
    let mut caught_up = None;
    hold_for(secs(8), "the new node-1 address with no restart", || {
        if caught_up.is_none() && sentinel_view(&s0, "node-1").is_some_and(|(a, _)| a == new) {
            caught_up = Some(restarted.elapsed());
        }
        config_servers(&rig.conf).as_ref() == Some(&servers) && rig.nut.reloads() == reloads
    });
    assert!(nutcracker_accepts(&rig.conf));
    check_keys(&rig.nut, &servers, "after-stale", vec!["node-1"]);

    let log = rig.log_since(offset);
    let proxy = rig.tpc_sentinel_addr(0);
    assert!(
        has_line(&log, &format!("Connected to sentinel {proxy}")),
        "tpc did not reconnect to the restarted sentinel 0 ({proxy}):\n{log}"
    );
    let ignored: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("Ignoring node-1 at {old} from")))
        .collect();
    eprintln!(
        "sentinel 0 caught up after {caught_up:?}; stale answer reached tpc: {}\n  {}",
        !ignored.is_empty(),
        ignored.join("\n  ")
    );
    rig.expect_running();
}

/// Sends `SENTINEL FAILOVER name` to sentinel `via` (retrying while it refuses), kills
/// the sentinels `kill` right after it answers OK, and returns the new master once `via`
/// reports it and it says it is one. Falls back to [`Cluster::failover`] through the
/// survivors if this failover aborted.
fn failover_then_kill(cluster: &mut Cluster, name: &str, via: usize, kill: &[usize]) -> String {
    let old = cluster.master_addr(name);
    let addr = cluster.sentinel_addr(via);
    let mut answers = Vec::new();
    for _ in 0..4 {
        cluster.wait_ready(name);
        let reply = resp(&addr, &["SENTINEL", "FAILOVER", name]);
        if reply.is_ok() {
            break;
        }
        answers.push(reply);
        sleep(secs(1));
    }
    assert!(answers.len() < 4, "SENTINEL FAILOVER refused: {answers:?}");
    kill.iter().for_each(|&i| cluster.kill_sentinel(i));
    let started = Instant::now();
    while started.elapsed() < secs(20) {
        if let Some(new) = cluster.master_addr_from(via, name) {
            if new != old && role(&new).as_deref() == Some("master") {
                eprintln!(
                    "failover of {name}: {old} -> {new} in {:?}",
                    started.elapsed()
                );
                return new;
            }
        }
        sleep(POLL);
    }
    eprintln!("failover of {name} via sentinel {via} aborted; retrying with the survivors");
    let (first, new) = cluster.failover(name);
    assert_eq!(first, old);
    new
}

/// `(ip:port, config-epoch)` of `name` as the sentinel at `addr` reports it.
fn sentinel_view(addr: &str, name: &str) -> Option<(String, String)> {
    let fields = try_resp(addr, &["SENTINEL", "MASTER", name]).ok()?.fields();
    let get = |k: &str| fields.get(k).cloned();
    Some((
        format!("{}:{}", get("ip")?, get("port")?),
        get("config-epoch")?,
    ))
}

/// A cluster, tpc pointed at it (some sentinels through proxies), and the nutcracker tpc
/// restarts; with what the checks saw last. Fields drop in order: tpc first, then the
/// proxies, nutcracker, and the cluster last.
struct Rig {
    tpc: Tpc,
    /// `(sentinel index, its proxy)`.
    proxies: Vec<(usize, Proxy)>,
    nut: Nutcracker,
    cluster: Cluster,
    conf: PathBuf,
    started: Instant,
    /// Servers in the config at the last check.
    servers: BTreeMap<String, String>,
    /// Restarts counted and nutcracker PID at the last check.
    reloads: usize,
    pid: Option<u32>,
}

impl Rig {
    /// Starts the cluster (3 sentinels), a proxy in front of each sentinel in `proxied`,
    /// then tpc with the restart script as its command and `extra` flags.
    fn start(masters: &[&str], proxied: &[usize], extra: &[&str]) -> Rig {
        let cluster = Cluster::start(masters, 3);
        let proxies: Vec<(usize, Proxy)> = proxied
            .iter()
            .map(|&i| (i, Proxy::start(&cluster.sentinel_addr(i))))
            .collect();
        let conf = cluster.dir().join("nutcracker.yml");
        let listen = free_port();
        let nut = Nutcracker::new(cluster.dir(), &conf, listen);
        let sentinels: Vec<String> = (0..3)
            .map(|i| sentinel_addr_for_tpc(&cluster, &proxies, i))
            .collect();
        let mut args = vec![
            "-sentinels".to_string(),
            sentinels.join(","),
            "-out".to_string(),
            conf.display().to_string(),
            "-cmd".to_string(),
            nut.command(),
            "-wait".to_string(),
            "1".to_string(),
            "-ip".to_string(),
            "127.0.0.1".to_string(),
            "-port".to_string(),
            listen.to_string(),
            "-record".to_string(),
            conf.with_file_name("tpc.jsonl").display().to_string(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let tpc = Tpc::spawn_in(cluster.dir(), &args);
        Rig {
            tpc,
            proxies,
            nut,
            cluster,
            conf,
            started: Instant::now(),
            servers: BTreeMap::new(),
            reloads: 0,
            pid: None,
        }
    }

    /// The address tpc is given for sentinel `i`: its proxy's, or its own.
    fn tpc_sentinel_addr(&self, i: usize) -> String {
        sentinel_addr_for_tpc(&self.cluster, &self.proxies, i)
    }

    /// Every master at the address the live sentinels agree on.
    fn cluster_view(&self) -> BTreeMap<String, String> {
        self.cluster
            .names()
            .into_iter()
            .map(|n| (n.clone(), self.cluster.master_addr(&n)))
            .collect()
    }

    /// After `moved` failed over (or tpc started, `None`): the config names every master
    /// at its current address and only `moved` changed, `nutcracker -t` accepts it, the
    /// previous config is kept as `.bak`, the restart script ran exactly once more and
    /// nutcracker has a new PID, and keys written through nutcracker land on the current
    /// masters (at least one on `moved`, or on each master at the start).
    fn expect_followed(&mut self, what: &str, moved: Option<&str>) {
        let servers = wait_config(&self.conf, &self.cluster_view(), what, secs(20));
        for (name, addr) in &self.servers {
            let changed = servers[name] != *addr;
            assert_eq!(
                changed,
                Some(name.as_str()) == moved,
                "{what}: {name} {addr} -> {}",
                servers[name]
            );
        }
        if moved.is_some() {
            let bak = backup_path(&self.conf);
            assert_eq!(
                config_servers(&bak).as_ref(),
                Some(&self.servers),
                "{what}: {} does not hold the previous config",
                bak.display()
            );
        }
        self.reloads += 1;
        expect_reloads(&self.nut, self.reloads);
        let pid = self.nut.pid();
        assert_ne!(pid, self.pid, "{what}: nutcracker was not restarted");
        let all: Vec<&str> = servers.keys().map(String::as_str).collect();
        check_keys(&self.nut, &servers, what, moved.map_or(all, |m| vec![m]));
        eprintln!("{what} followed after {:?}", self.started.elapsed());
        (self.servers, self.pid) = (servers, pid);
    }

    /// Waits until tpc has said it is connected to each of the three sentinels.
    fn wait_linked_to_all(&self) {
        let addrs: Vec<String> = (0..3).map(|i| self.tpc_sentinel_addr(i)).collect();
        wait_until(secs(15), "tpc to link to every sentinel", || {
            let log = self.tpc.output();
            addrs
                .iter()
                .all(|a| has_line(&log, &format!("Connected to sentinel {a}")))
        });
    }

    /// The length of tpc's log so far, to read only what follows with [`Rig::log_since`].
    fn log_len(&self) -> usize {
        self.tpc.output().len()
    }

    /// tpc's log after `offset`.
    fn log_since(&self, offset: usize) -> String {
        self.tpc
            .output()
            .get(offset..)
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until tpc's log after `offset` contains `needle`.
    fn wait_log(&self, offset: usize, needle: &str, timeout: Duration) {
        wait_until(timeout, &format!("{needle:?} in tpc's log"), || {
            self.log_since(offset).contains(needle)
        });
    }

    /// tpc is still running.
    fn expect_running(&mut self) {
        assert!(
            self.tpc.exited().is_none(),
            "tpc exited:\n{}",
            self.tpc.log_tail(60)
        );
    }
}

/// Whether a line of `log` contains `needle` ending the line or followed by a space or
/// `:` (so `127.0.0.1:2000` does not match `127.0.0.1:20001`).
fn has_line(log: &str, needle: &str) -> bool {
    log.lines().any(|l| {
        l.match_indices(needle).any(|(at, _)| {
            matches!(
                l[at + needle.len()..].chars().next(),
                None | Some(' ' | ':')
            )
        })
    })
}

/// The address tpc is given for sentinel `i`: its proxy's, or its own.
fn sentinel_addr_for_tpc(cluster: &Cluster, proxies: &[(usize, Proxy)], i: usize) -> String {
    proxies
        .iter()
        .find(|(j, _)| *j == i)
        .map_or_else(|| cluster.sentinel_addr(i), |(_, p)| p.addr())
}

/// `<file>.bak`, where tpc keeps the config it replaced.
fn backup_path(conf: &Path) -> PathBuf {
    let mut name = conf.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// Waits up to `timeout` until the config names exactly the masters `want` and checks
/// that `nutcracker -t` accepts it; returns the servers. Panics with the file otherwise.
fn wait_config(
    conf: &Path,
    want: &BTreeMap<String, String>,
    what: &str,
    timeout: Duration,
) -> BTreeMap<String, String> {
    let deadline = Instant::now() + timeout;
    while config_servers(conf).as_ref() != Some(want) {
        if Instant::now() >= deadline {
            let text = fs::read_to_string(conf).unwrap_or_else(|e| format!("({e})"));
            panic!(
                "timed out after {timeout:?} waiting for the config after {what}: want {want:?}, file has:\n{text}"
            );
        }
        sleep(POLL);
    }
    let text = fs::read_to_string(conf).unwrap_or_default();
    assert!(
        nutcracker_accepts(conf),
        "nutcracker -t rejects the config after {what}:\n{text}"
    );
    want.clone()
}

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
struct Proxy {
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
    fn start(upstream: &str) -> Proxy {
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
    fn addr(&self) -> String {
        local(self.port)
    }

    /// Closes every relayed connection; new ones are closed as soon as accepted.
    fn cut(&self) {
        let mut links = self.shared.lock();
        links.cut = true;
        for s in links.open.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Relays new connections again.
    fn restore(&self) {
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
