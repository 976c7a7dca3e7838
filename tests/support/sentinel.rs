//! Reading the state of redis-sentinel and redis-server over RESP: is a sentinel ready
//! for a failover, which role does a server have, who is subscribed.

use super::info;
use super::resp::{try_resp, Value};
use std::collections::{BTreeMap, BTreeSet};

/// One `SENTINEL MASTERS`/`SENTINEL REPLICAS` entry.
type Record = BTreeMap<String, String>;

/// The role a redis-server reports (`ROLE`): `master`, `slave`, or `None` when unreachable.
pub fn role(addr: &str) -> Option<String> {
    try_resp(addr, &["ROLE"]).ok()?.items().first()?.text()
}

/// The master address of `name` as the sentinel at `addr` reports it
/// (`SENTINEL GET-MASTER-ADDR-BY-NAME`); `None` when unknown or unreachable.
pub fn master_addr_by_name(addr: &str, name: &str) -> Option<String> {
    let reply = try_resp(addr, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name]).ok()?;
    match reply.items() {
        [ip, port] => Some(format!("{}:{}", ip.text()?, port.text()?)),
        _ => None,
    }
}

/// The sentinel at `addr` is ready to fail `name` over: out of TILT, the master's flags
/// exactly `master` (no s_down, o_down or failover_in_progress), at least one replica,
/// `sentinels - 1` other sentinels known, and a healthy replica of that master. Returns
/// the master address it sees, or why it is not ready.
pub fn ready_view(addr: &str, name: &str, sentinels: usize) -> Result<String, String> {
    let tilt = info(addr, "sentinel").ok_or("unreachable")?;
    if tilt.get("sentinel_tilt").map(String::as_str) != Some("0") {
        return Err("in TILT mode".into());
    }
    let master = call(addr, &["SENTINEL", "MASTER", name])?.fields();
    let get = |k: &str| master.get(k).cloned().unwrap_or_default();
    let master_addr = format!("{}:{}", get("ip"), get("port"));
    if get("flags") != "master" {
        return Err(format!("master {master_addr} has flags {:?}", get("flags")));
    }
    if get("num-slaves").parse().unwrap_or(0) < 1 {
        return Err(format!("master {master_addr}: no replica known"));
    }
    // Sentinels never forget a peer, so killed ones still count here.
    let others: usize = get("num-other-sentinels").parse().unwrap_or(0);
    if others + 1 < sentinels {
        return Err(format!(
            "sees {others} other sentinels, want {}",
            sentinels - 1
        ));
    }
    let replicas = call(addr, &["SENTINEL", "REPLICAS", name])?.records();
    if !replicas.iter().any(|r| healthy_replica_of(r, &master_addr)) {
        let list = describe_replicas(&replicas);
        return Err(format!("no healthy replica of {master_addr}: {list}"));
    }
    Ok(master_addr)
}

/// The replicas of `name` the sentinel at `addr` reports as healthy replicas of `master`
/// (no down flag, link ok), as `ip:port`; or why it could not say.
pub fn healthy_replicas(addr: &str, name: &str, master: &str) -> Result<BTreeSet<String>, String> {
    let replicas = call(addr, &["SENTINEL", "REPLICAS", name])?.records();
    Ok(replicas
        .iter()
        .filter(|r| healthy_replica_of(r, master))
        .map(|r| format!("{}:{}", r["ip"], r["port"]))
        .collect())
}

/// Number of clients of the server at `addr` subscribed to a channel or pattern (0 when
/// it does not answer).
pub fn subscribers(addr: &str) -> usize {
    let list = try_resp(addr, &["CLIENT", "LIST"])
        .ok()
        .and_then(|v| v.text());
    list.unwrap_or_default()
        .lines()
        .filter(|l| is_subscriber(l))
        .count()
}

/// A reply that is not an error, else the error (or I/O failure) as text.
fn call(addr: &str, args: &[&str]) -> Result<Value, String> {
    match try_resp(addr, args) {
        Ok(Value::Error(e)) => Err(format!("{args:?}: {e}")),
        Ok(v) => Ok(v),
        Err(e) => Err(format!("{args:?}: {e}")),
    }
}

/// A replica entry without s_down/disconnected flags, linked to `master` with
/// master-link-status ok.
fn healthy_replica_of(r: &Record, master: &str) -> bool {
    let get = |k: &str| r.get(k).map_or("", String::as_str);
    get("flags") == "slave"
        && get("master-link-status") == "ok"
        && format!("{}:{}", get("master-host"), get("master-port")) == master
}

/// `[ip:port flags=... link=..., ...]` for a readiness message.
fn describe_replicas(replicas: &[Record]) -> String {
    let list: Vec<String> = replicas
        .iter()
        .map(|r| {
            let get = |k: &str| r.get(k).map_or("?", String::as_str);
            let (ip, port, flags, link) = (
                get("ip"),
                get("port"),
                get("flags"),
                get("master-link-status"),
            );
            format!("{ip}:{port} flags={flags} link={link}")
        })
        .collect();
    format!("[{}]", list.join(", "))
}

/// A `CLIENT LIST` line of a client with a channel or pattern subscription.
fn is_subscriber(line: &str) -> bool {
    line.split(' ').any(|kv| match kv.split_once('=') {
        Some(("sub" | "psub" | "ssub", n)) => n.parse::<u64>().unwrap_or(0) > 0,
        _ => false,
    })
}
