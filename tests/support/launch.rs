//! Starting redis-server and redis-sentinel processes for a [`super::Cluster`]: each on a
//! free loopback port with its own data dir and log in the cluster's temp dir, and
//! answering PING before it is handed out.

use super::procs::Proc;
use super::resp::{try_resp, Value};
use super::{binary, free_port, info, local, wait_for};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// How long a new process may take to answer PING, and a new replica to sync.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// One master name: the redis-server started as its master and those started as its
/// replicas (their roles swap on failover).
pub struct Shard {
    /// The master name sentinels monitor.
    pub name: String,
    /// Port of the redis-server started as master.
    pub master_port: u16,
    /// Ports of the redis-servers started as its replicas, in start order.
    pub replica_ports: Vec<u16>,
    /// Every redis-server of the shard, the master first.
    pub servers: Vec<Redis>,
}

/// One redis-server, with what it was started with so it can be started again.
pub struct Redis {
    /// Its port.
    pub port: u16,
    /// The port of the master it was started as a replica of.
    pub replica_of: Option<u16>,
    /// Extra `redis-server` arguments it was started with.
    pub args: Vec<String>,
    /// The running process; `None` once killed.
    pub proc: Option<Proc>,
}

impl Redis {
    /// Starts it again after [`Redis::kill`], as it was started first (a replica of the
    /// master it started with), and waits for PONG.
    pub fn restart(&mut self, dir: &Path) {
        assert!(
            self.proc.is_none(),
            "redis-server :{} is still running",
            self.port
        );
        self.proc = Some(start_redis(dir, self.port, self.replica_of, &self.args));
    }

    /// SIGKILLs it (by PID) and reaps it.
    pub fn kill(&mut self) {
        let mut proc = self
            .proc
            .take()
            .unwrap_or_else(|| panic!("redis-server :{} is already dead", self.port));
        proc.kill();
    }
}

/// One sentinel; `proc` is `None` once killed.
pub struct Sentinel {
    /// Its port (kept after it is killed).
    pub port: u16,
    /// The running process.
    pub proc: Option<Proc>,
}

/// Starts the master of `name` and one replica per entry of `replicas` (the extra
/// `redis-server` arguments of that replica), and waits until every replica's link is up
/// (so sentinels discover them on their first INFO).
pub fn start_shard(dir: &Path, name: &str, replicas: &[&[&str]]) -> Shard {
    let master_port = free_port();
    let mut servers = vec![Redis {
        port: master_port,
        replica_of: None,
        args: Vec::new(),
        proc: Some(start_redis(dir, master_port, None, &[])),
    }];
    for args in replicas {
        let port = free_port();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let proc = Some(start_redis(dir, port, Some(master_port), &args));
        servers.push(Redis {
            port,
            replica_of: Some(master_port),
            args,
            proc,
        });
    }
    for replica in &servers[1..] {
        wait_synced(&local(replica.port), name);
    }
    Shard {
        name: name.to_string(),
        master_port,
        replica_ports: servers[1..].iter().map(|r| r.port).collect(),
        servers,
    }
}

/// Waits until the replica at `addr` of `name` reports its link to its master up.
pub fn wait_synced(addr: &str, name: &str) {
    wait_for(
        START_TIMEOUT,
        &format!("replica {addr} of {name} to sync"),
        || {
            let repl = info(addr, "replication")?;
            (repl.get("master_link_status")? == "up").then_some(())
        },
    );
}

/// Writes sentinel `i`'s config (monitoring every shard with `quorum`, down after 1 s,
/// failover timeout 4 s), starts it and waits for PONG.
pub fn start_sentinel(dir: &Path, i: usize, shards: &[Shard], quorum: usize) -> Sentinel {
    let port = free_port();
    let data = mkdir(dir, &format!("sentinel-{i}"));
    let mut conf = format!(
        "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {}\n",
        data.display()
    );
    for s in shards {
        let n = &s.name;
        conf += &format!(
            "sentinel monitor {n} 127.0.0.1 {} {quorum}\n",
            s.master_port
        );
        conf += &format!("sentinel down-after-milliseconds {n} 1000\n");
        conf += &format!("sentinel failover-timeout {n} 4000\n");
        conf += &format!("sentinel parallel-syncs {n} 1\n");
    }
    fs::write(dir.join(format!("sentinel-{i}.conf")), conf).expect("write sentinel.conf");
    restart_sentinel(dir, i, port)
}

/// Starts sentinel `i` on `port` from its config file as it is on disk (the one
/// [`start_sentinel`] wrote, and the sentinel has been rewriting since when this is a
/// restart), appending to its log, and waits for PONG. A sentinel killed before a failover comes back with the
/// master address and config epoch it had then, until it hears of the newer one.
pub fn restart_sentinel(dir: &Path, i: usize, port: u16) -> Sentinel {
    let conf_path = dir.join(format!("sentinel-{i}.conf"));
    let mut cmd = Command::new(binary("redis-sentinel"));
    cmd.arg(&conf_path);
    let log = dir.join(format!("sentinel-{i}.log"));
    let mut proc = Proc::spawn(&format!("sentinel {i} :{port}"), &mut cmd, &log);
    wait_serving(&mut proc, port);
    Sentinel {
        port,
        proc: Some(proc),
    }
}

/// Starts one redis-server on `port` (a replica of `master` if given) with `args`
/// added, without persistence and with immediate diskless full syncs, and waits for PONG.
fn start_redis(dir: &Path, port: u16, master: Option<u16>, args: &[String]) -> Proc {
    let data = mkdir(dir, &format!("redis-{port}"));
    let mut cmd = Command::new(binary("redis-server"));
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(["--repl-diskless-sync-delay", "0", "--dir"])
        .arg(&data);
    if let Some(m) = master {
        cmd.args(["--replicaof", "127.0.0.1", &m.to_string()]);
    }
    cmd.args(args);
    let log = dir.join(format!("redis-{port}.log"));
    let mut proc = Proc::spawn(&format!("redis-server :{port}"), &mut cmd, &log);
    wait_serving(&mut proc, port);
    proc
}

/// Waits until the process answers PING on `port`; panics with its log if it exits or
/// does not answer in time.
fn wait_serving(proc: &mut Proc, port: u16) {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = proc.exited() {
            panic!(
                "{} exited with {status}:\n{}",
                proc.name(),
                proc.log_tail(30)
            );
        }
        if matches!(try_resp(&local(port), &["PING"]), Ok(Value::Simple(s)) if s == "PONG") {
            return;
        }
        if Instant::now() >= deadline {
            panic!(
                "{} did not answer PING in {START_TIMEOUT:?}:\n{}",
                proc.name(),
                proc.log_tail(30)
            );
        }
        sleep(Duration::from_millis(50));
    }
}

/// Creates `dir/name` and returns it.
fn mkdir(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
    path
}
