//! A cluster with tpc following it: the [`Rig`] the failover and fault tests drive, the
//! checks it makes after each failover, and the helpers they share.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::proxy::Proxy;
use super::*;

/// A cluster, tpc pointed at it (some sentinels through proxies, if asked), and the nutcracker tpc
/// restarts; with what the checks saw last. Fields drop in order: tpc first, then the
/// proxies, nutcracker, and the cluster last.
pub struct Rig {
    pub tpc: Tpc,
    /// `(sentinel index, its proxy)`.
    pub proxies: Vec<(usize, Proxy)>,
    pub nut: Nutcracker,
    pub cluster: Cluster,
    pub conf: PathBuf,
    pub started: Instant,
    /// Servers in the config at the last check.
    pub servers: BTreeMap<String, String>,
    /// The servers of every config tpc was seen to follow with, in order.
    pub followed: Vec<BTreeMap<String, String>>,
    /// Restarts counted and nutcracker PID at the last check.
    pub reloads: usize,
    pub pid: Option<u32>,
}

impl Rig {
    /// Starts the cluster (3 sentinels), a proxy in front of each sentinel in `proxied`,
    /// then tpc with the restart script as its command and `extra` flags.
    pub fn start(masters: &[&str], proxied: &[usize], extra: &[&str]) -> Rig {
        Rig::start_with(masters, proxied, &[], extra)
    }

    /// [`Rig::start`], with tpc also linked to the sentinels at `more` (fakes that
    /// misbehave beside the real ones).
    pub fn start_with(masters: &[&str], proxied: &[usize], more: &[String], extra: &[&str]) -> Rig {
        let extra: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
        Rig::follow(Cluster::start(masters, 3), proxied, more, |_| extra)
    }

    /// tpc following `cluster` (3 sentinels), as [`Rig::start_with`] starts it, with the
    /// flags `extra` gives once the nutcracker tpc restarts is set up (e.g. a
    /// `-template` whose first pool listens on [`Nutcracker::listen_port`]).
    pub fn follow(
        cluster: Cluster,
        proxied: &[usize],
        more: &[String],
        extra: impl FnOnce(&Nutcracker) -> Vec<String>,
    ) -> Rig {
        let proxies: Vec<(usize, Proxy)> = proxied
            .iter()
            .map(|&i| (i, Proxy::start(&cluster.sentinel_addr(i))))
            .collect();
        let conf = cluster.dir().join("nutcracker.yml");
        let listen = free_port();
        let nut = Nutcracker::new(cluster.dir(), &conf, listen);
        let sentinels: Vec<String> = (0..3)
            .map(|i| sentinel_addr_for_tpc(&cluster, &proxies, i))
            .chain(more.iter().cloned())
            .collect();
        let extra = extra(&nut);
        let mut args = vec![
            "-sentinels".to_string(),
            sentinels.join(","),
            "-out".to_string(),
            conf.display().to_string(),
            "-cmd".to_string(),
            nut.command(),
            "-wait".to_string(),
            "1".to_string(),
            "-record".to_string(),
            recording_path(&conf).display().to_string(),
        ];
        // A template gives the pools; without one, tpc's pool listens where nutcracker's
        // test instance does.
        if !extra.iter().any(|a| a == "-template") {
            args.extend([
                "-ip".into(),
                "127.0.0.1".into(),
                "-port".into(),
                listen.to_string(),
            ]);
        }
        args.extend(extra);
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
            followed: Vec::new(),
            reloads: 0,
            pid: None,
        }
    }

    /// The address tpc is given for sentinel `i`: its proxy's, or its own.
    pub fn tpc_sentinel_addr(&self, i: usize) -> String {
        sentinel_addr_for_tpc(&self.cluster, &self.proxies, i)
    }

    /// Every master at the address the live sentinels agree on.
    pub fn cluster_view(&self) -> BTreeMap<String, String> {
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
    pub fn expect_followed(&mut self, what: &str, moved: Option<&str>) {
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
            // Beside the file the config path leads to, when it is a symlink.
            let bak = backup_path(&fs::canonicalize(&self.conf).unwrap_or(self.conf.clone()));
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
        check_keys(
            &self.nut.addr(),
            &servers,
            what,
            moved.map_or(all, |m| vec![m]),
        );
        eprintln!("{what} followed after {:?}", self.started.elapsed());
        self.followed.push(servers.clone());
        (self.servers, self.pid) = (servers, pid);
    }

    /// Waits until tpc has said it is connected to each of the three sentinels.
    pub fn wait_linked_to_all(&self) {
        let addrs: Vec<String> = (0..3).map(|i| self.tpc_sentinel_addr(i)).collect();
        wait_until(secs(15), "tpc to link to every sentinel", || {
            let log = self.tpc.output();
            addrs
                .iter()
                .all(|a| has_line(&log, &format!("Connected to sentinel {a}")))
        });
    }

    /// The length of tpc's log so far, to read only what follows with [`Rig::log_since`].
    pub fn log_len(&self) -> usize {
        self.tpc.output().len()
    }

    /// tpc's log after `offset`.
    pub fn log_since(&self, offset: usize) -> String {
        self.tpc
            .output()
            .get(offset..)
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until tpc's log after `offset` contains `needle`.
    pub fn wait_log(&self, offset: usize, needle: &str, timeout: Duration) {
        wait_until(timeout, &format!("{needle:?} in tpc's log"), || {
            self.log_since(offset).contains(needle)
        });
    }

    /// tpc is still running.
    pub fn expect_running(&mut self) {
        assert!(
            self.tpc.exited().is_none(),
            "tpc exited:\n{}",
            self.tpc.log_tail(60)
        );
    }
}

/// Whether a line of `log` contains `needle` ending the line or followed by a space or
/// `:` (so `127.0.0.1:2000` does not match `127.0.0.1:20001`).
pub fn has_line(log: &str, needle: &str) -> bool {
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
pub fn sentinel_addr_for_tpc(cluster: &Cluster, proxies: &[(usize, Proxy)], i: usize) -> String {
    proxies
        .iter()
        .find(|(j, _)| *j == i)
        .map_or_else(|| cluster.sentinel_addr(i), |(_, p)| p.addr())
}

/// `<file>.bak`, where tpc keeps the config it replaced.
pub fn backup_path(conf: &Path) -> PathBuf {
    let mut name = conf.as_os_str().to_owned();
    name.push(".bak");
    PathBuf::from(name)
}

/// Waits up to `timeout` until the config names exactly the masters `want` and checks
/// that `nutcracker -t` accepts it; returns the servers. Panics with the file otherwise.
pub fn wait_config(
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

/// Where tpc records its inputs: `tpc.jsonl` beside the config.
pub fn recording_path(conf: &Path) -> PathBuf {
    conf.with_file_name("tpc.jsonl")
}
