//! A throwaway Redis Sentinel deployment on loopback: per master name one redis-server
//! master and one replica (or as many as asked), watched by N sentinels, all in a fresh
//! temp dir.
//!
//! Failovers follow the lessons of DESIGN.md §8: wait until every live sentinel sees a
//! healthy replica and the other sentinels, send `SENTINEL FAILOVER`, verify that every
//! live sentinel reports the new address, and retry when it answered OK but aborted.

use super::launch::{
    restart_sentinel, start_sentinel, start_shard, wait_synced, Redis, Sentinel, Shard,
};
use super::procs::Proc;
use super::resp::try_resp;
use super::sentinel::{healthy_replicas, master_addr_by_name, ready_view, role, subscribers};
use super::{info, local, POLL};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long the sentinels may take to see a healthy replica and each other.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long every live sentinel may take to report the new master after an OK.
const SWITCH_TIMEOUT: Duration = Duration::from_secs(20);
/// How many `SENTINEL FAILOVER`s to try before giving up.
const FAILOVER_ATTEMPTS: usize = 4;
/// How long a demoted master may take to become a connected replica.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(45);

/// Masters, replicas and sentinels of one test; everything is stopped on drop.
pub struct Cluster {
    shards: Vec<Shard>,
    sentinels: Vec<Sentinel>,
    dir: TempDir,
}

impl Cluster {
    /// Starts a master and a replica per name and `sentinels` sentinels (quorum: a
    /// majority), and waits until every sentinel sees every master's replica and all the
    /// other sentinels. Panics, listing what is missing, after ~30 s.
    pub fn start(masters: &[&str], sentinels: usize) -> Cluster {
        Cluster::start_with_replicas(masters, sentinels, &[&[]])
    }

    /// [`Cluster::start`] with one replica per entry of `replicas` for every master,
    /// started with that entry's extra `redis-server` arguments (e.g.
    /// `["--replica-priority", "10"]`); waits until every sentinel sees all of them as
    /// healthy replicas.
    pub fn start_with_replicas(
        masters: &[&str],
        sentinels: usize,
        replicas: &[&[&str]],
    ) -> Cluster {
        assert!(
            sentinels >= 1 && !masters.is_empty() && !replicas.is_empty(),
            "need at least one master, one replica and one sentinel"
        );
        let dir = tempfile::Builder::new()
            .prefix("tpc-it-")
            .tempdir()
            .expect("create temp dir");
        let shards: Vec<Shard> = masters
            .iter()
            .map(|name| start_shard(dir.path(), name, replicas))
            .collect();
        let sentinels = (0..sentinels)
            .map(|i| start_sentinel(dir.path(), i, &shards, sentinels / 2 + 1))
            .collect();
        let cluster = Cluster {
            shards,
            sentinels,
            dir,
        };
        for name in masters {
            cluster.wait_ready(name);
            let replicas: Vec<String> = cluster
                .replica_ports(name)
                .iter()
                .map(|&p| local(p))
                .collect();
            cluster.wait_replicas(name, &replicas);
        }
        cluster
    }

    /// The temp dir holding every config, data dir and log of this cluster.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The master names, in the order given to [`Cluster::start`].
    pub fn names(&self) -> Vec<String> {
        self.shards.iter().map(|s| s.name.clone()).collect()
    }

    /// The ports of all sentinels, killed ones included, in start order.
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|s| s.port).collect()
    }

    /// The indices of the sentinels still running.
    pub fn live_sentinels(&self) -> Vec<usize> {
        (0..self.sentinels.len())
            .filter(|&i| self.sentinels[i].proc.is_some())
            .collect()
    }

    /// `127.0.0.1:P1,127.0.0.1:P2,...` for tpc's `-sentinels`.
    pub fn sentinels_csv(&self) -> String {
        self.sentinel_ports()
            .iter()
            .map(|&p| local(p))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `:P1,:P2,...`, the original tool's shorthand for localhost.
    pub fn sentinels_shorthand(&self) -> String {
        self.sentinel_ports()
            .iter()
            .map(|p| format!(":{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `(port started as master, port started as its first replica)` of `name`; see
    /// [`Cluster::master_addr`] for which one is the master now.
    pub fn redis_ports(&self, name: &str) -> (u16, u16) {
        let shard = self.shard(name);
        (shard.master_port, shard.replica_ports[0])
    }

    /// The ports of the redis-servers started as replicas of `name`, in start order.
    pub fn replica_ports(&self, name: &str) -> Vec<u16> {
        self.shard(name).replica_ports.clone()
    }

    /// SIGKILLs the redis-server on `port` (by PID).
    pub fn kill_redis(&mut self, port: u16) {
        self.redis(port).1.kill();
    }

    /// Starts the killed redis-server on `port` again as it was started first (a
    /// replica of the master it started with), and waits until it answers PING and, for
    /// a replica, its link to the master is up.
    pub fn restart_redis(&mut self, port: u16) {
        let dir = self.dir.path().to_path_buf();
        let (name, redis) = self.redis(port);
        redis.restart(&dir);
        if redis.replica_of.is_some() {
            wait_synced(&local(port), name);
        }
    }

    /// Waits until every live sentinel reports each of `replicas` (`ip:port`) as a
    /// healthy replica of `name`'s current master (no down flag, link ok). Panics with
    /// what each sentinel reports after ~30 s.
    pub fn wait_replicas(&self, name: &str, replicas: &[String]) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let master = self.master_addr(name);
            let problems: Vec<String> = self
                .live_sentinels()
                .into_iter()
                .filter_map(|i| {
                    let seen = healthy_replicas(&self.sentinel_addr(i), name, &master);
                    match seen {
                        Ok(seen) if replicas.iter().all(|r| seen.contains(r)) => None,
                        Ok(seen) => Some(format!("sentinel {i} sees healthy {seen:?}")),
                        Err(why) => Some(format!("sentinel {i}: {why}")),
                    }
                })
                .collect();
            if problems.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "replicas {replicas:?} of {name} not all healthy after {READY_TIMEOUT:?}:\n  {}",
                    problems.join("\n  ")
                );
            }
            sleep(POLL);
        }
    }

    /// SIGKILLs sentinel `i` (its port stays in [`Cluster::sentinel_ports`]).
    pub fn kill_sentinel(&mut self, i: usize) {
        let s = &mut self.sentinels[i];
        s.proc
            .as_mut()
            .unwrap_or_else(|| panic!("sentinel {i} is already dead"))
            .kill();
        s.proc = None;
    }

    /// Starts the killed sentinel `i` again, on its port and from its config file as it
    /// is on disk, and waits until it answers PING (see [`restart_sentinel`]).
    pub fn restart_sentinel(&mut self, i: usize) {
        let port = self.sentinels[i].port;
        assert!(
            self.sentinels[i].proc.is_none(),
            "sentinel {i} is still running"
        );
        self.sentinels[i] = restart_sentinel(self.dir.path(), i, port);
    }

    /// The master address of `name` as sentinel `i` reports it (`GET-MASTER-ADDR-BY-NAME`).
    pub fn master_addr_from(&self, i: usize, name: &str) -> Option<String> {
        master_addr_by_name(&self.sentinel_addr(i), name)
    }

    /// The master address of `name` according to the first live sentinel that answers.
    pub fn master_addr(&self, name: &str) -> String {
        self.live_sentinels()
            .into_iter()
            .find_map(|i| self.master_addr_from(i, name))
            .unwrap_or_else(|| panic!("no live sentinel knows the address of {name}"))
    }

    /// Number of clients subscribed to a channel or pattern on sentinel `i` (0 when it
    /// does not answer). Sentinels do not subscribe to each other, so these are clients
    /// like tpc.
    pub fn sentinel_subscribers(&self, i: usize) -> usize {
        subscribers(&self.sentinel_addr(i))
    }

    /// `127.0.0.1:PORT` of sentinel `i`.
    pub fn sentinel_addr(&self, i: usize) -> String {
        local(self.sentinels[i].port)
    }

    /// Waits until every live sentinel is out of TILT, agrees on `name`'s master, sees it
    /// healthy (flags exactly `master`: no failover in progress), sees the other
    /// sentinels, and sees a healthy replica with its link up. Panics listing what was
    /// missing after ~30 s.
    pub fn wait_ready(&self, name: &str) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let problems = self.readiness_problems(name);
            if problems.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{name} not ready after {READY_TIMEOUT:?}:\n  {}",
                    problems.join("\n  ")
                );
            }
            sleep(POLL);
        }
    }

    /// What keeps `name` from being ready for a failover; empty when it is ready.
    pub fn readiness_problems(&self, name: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let mut addrs = BTreeSet::new();
        for i in self.live_sentinels() {
            match ready_view(&self.sentinel_addr(i), name, self.sentinels.len()) {
                Ok(addr) => {
                    addrs.insert(addr);
                }
                Err(why) => problems.push(format!("sentinel {i}: {why}")),
            }
        }
        if addrs.len() > 1 {
            problems.push(format!(
                "sentinels disagree on the master of {name}: {addrs:?}"
            ));
        }
        problems
    }

    /// Fails over `name` and returns `(old_addr, new_addr)` once every live sentinel
    /// reports the new address. Retries when `SENTINEL FAILOVER` errs (NOGOODSLAVE,
    /// INPROG) or answers OK and then aborts; panics with the history after 4 attempts.
    pub fn failover(&self, name: &str) -> (String, String) {
        let started = Instant::now();
        let mut history = Vec::new();
        let mut first_old = None;
        for attempt in 0..FAILOVER_ATTEMPTS {
            self.wait_ready(name);
            let now = self.master_addr(name);
            let old = first_old.get_or_insert_with(|| now.clone());
            if *old != now {
                // An earlier attempt completed after its verification gave up.
                return (old.clone(), now);
            }
            let live = self.live_sentinels();
            let via = live[attempt % live.len()];
            match self.try_failover(via, name, old) {
                Ok(new) => {
                    eprintln!(
                        "failover of {name}: {old} -> {new} in {:?} ({} retries)",
                        started.elapsed(),
                        history.len()
                    );
                    return (old.clone(), new);
                }
                Err(why) => {
                    let line = format!("attempt {attempt} via sentinel {via}: {why}");
                    eprintln!("failover of {name}: {line}; retrying");
                    history.push(line);
                }
            }
            sleep(Duration::from_secs(1));
        }
        panic!(
            "failover of {name} failed {FAILOVER_ATTEMPTS} times:\n  {}",
            history.join("\n  ")
        );
    }

    /// Waits until the demoted master `old_addr` of `name` is a replica of the current
    /// master with its link up (`INFO replication`), as back-to-back failovers need.
    pub fn wait_rejoined(&self, name: &str, old_addr: &str) {
        let what = format!("{old_addr} to rejoin {name} as a connected replica");
        let mut last = String::new();
        let deadline = Instant::now() + REJOIN_TIMEOUT;
        while Instant::now() < deadline {
            let master = self.master_addr(name);
            let repl = info(old_addr, "replication").unwrap_or_default();
            let field = |k: &str| repl.get(k).map_or("?", String::as_str).to_string();
            let seen = format!("{}:{}", field("master_host"), field("master_port"));
            if field("role") == "slave" && seen == master && field("master_link_status") == "up" {
                return;
            }
            last = format!(
                "role={} master={seen} (want {master}) link={}",
                field("role"),
                field("master_link_status")
            );
            sleep(POLL);
        }
        panic!("timed out after {REJOIN_TIMEOUT:?} waiting for {what}; last seen: {last}");
    }

    /// Sends `SENTINEL FAILOVER` to sentinel `via` and waits for every live sentinel to
    /// report a new master that says it is one; `Err` describes why not.
    fn try_failover(&self, via: usize, name: &str, old: &str) -> Result<String, String> {
        let reply = try_resp(&self.sentinel_addr(via), &["SENTINEL", "FAILOVER", name])
            .map_err(|e| format!("SENTINEL FAILOVER: {e}"))?;
        if !reply.is_ok() {
            return Err(format!("SENTINEL FAILOVER answered {reply:?}"));
        }
        let deadline = Instant::now() + SWITCH_TIMEOUT;
        let mut seen = BTreeMap::new();
        while Instant::now() < deadline {
            seen = self
                .live_sentinels()
                .into_iter()
                .map(|i| (i, self.master_addr_from(i, name)))
                .collect();
            let addrs: BTreeSet<_> = seen.values().cloned().collect();
            if let [Some(new)] = addrs.into_iter().collect::<Vec<_>>().as_slice() {
                if new != old && role(new).as_deref() == Some("master") {
                    return Ok(new.clone());
                }
            }
            sleep(POLL);
        }
        Err(format!(
            "answered OK, but after {SWITCH_TIMEOUT:?} the sentinels report {seen:?} (old {old})"
        ))
    }

    /// The redis-server on `port`, with the name of its shard.
    fn redis(&mut self, port: u16) -> (&str, &mut Redis) {
        self.shards
            .iter_mut()
            .find_map(|s| {
                let redis = s.servers.iter_mut().find(|r| r.port == port)?;
                Some((s.name.as_str(), redis))
            })
            .unwrap_or_else(|| panic!("no redis-server on port {port}"))
    }

    fn shard(&self, name: &str) -> &Shard {
        self.shards
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no master named {name}"))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for s in self.sentinels.iter().filter_map(|s| s.proc.as_ref()) {
                eprintln!("--- last lines of {} ---\n{}", s.name(), s.log_tail(25));
            }
        }
        // Sentinels first, so they do not react to the redis-servers going away.
        for s in &mut self.sentinels {
            if let Some(p) = s.proc.as_mut() {
                p.kill();
            }
        }
        for shard in &mut self.shards {
            shard
                .servers
                .iter_mut()
                .filter_map(|r| r.proc.as_mut())
                .for_each(Proc::kill);
        }
    }
}
