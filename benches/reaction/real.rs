//! Reaction with real sentinels: 2 masters, each a redis-server with two replicas,
//! watched by 3 redis-sentinel processes on loopback (the tests' `Cluster`, which stops every
//! process by PID), failed over one after the other with `SENTINEL FAILOVER`. Each
//! switch is timed from the first `+switch-master` the floor subscriber (subscribed to
//! every sentinel, as tpc is) sees, to the end of each reload command: the floor's,
//! which that subscriber runs, and tpc's, in the same failovers, each writing to its
//! own FIFO.

use super::support::Cluster;
use super::*;

/// Switches when `TPC_REACTION_SWITCHES` does not say: enough for a 99th percentile
/// that is not the largest, in about two minutes (a real failover takes about 1 s).
pub const DEFAULT_SWITCHES: usize = 100;
const MASTERS: [&str; 2] = ["m0", "m1"];
/// How long a real failover may take to be heard, and its reloads to run.
const HEARD_TIMEOUT: Duration = Duration::from_secs(30);

/// Waits until every sentinel has at least `n` subscribers.
fn wait_subscribers(cluster: &Cluster, n: usize) {
    let all = || (0..cluster.sentinel_ports().len()).all(|i| cluster.sentinel_subscribers(i) >= n);
    tpc_daemon::wait_until("subscribers on every sentinel", HEARD_TIMEOUT, all);
}

/// The floor's row and tpc's (`-validate=true`), from `switches` real failovers.
pub fn rows(tpc_reload: &Reload, switches: usize) -> [Row; 2] {
    // A second replica keeps a healthy one at hand right after a failover: the demoted
    // master takes Sentinel's 10 s INFO rounds to become one again.
    let cluster = Cluster::start_with_replicas(&MASTERS, 3, &[&[], &[]]);
    let ports = cluster.sentinel_ports();
    let floor_reload = Reload::new();
    let seen = floor_subscriber(&ports, floor_reload.script.clone());
    wait_subscribers(&cluster, 1);
    let (tpc, start) = start_tpc(&ports, true, tpc_reload);
    wait_subscribers(&cluster, 2);
    let cpu_before = cpu(tpc.pid());
    let (mut floor_times, mut tpc_times) = (Vec::new(), Vec::new());
    for k in 0..switches {
        floor_reload.drain();
        tpc_reload.drain();
        while seen.try_recv().is_ok() {}
        cluster.failover(MASTERS[k % MASTERS.len()]);
        let at = seen
            .recv_timeout(HEARD_TIMEOUT)
            .expect("the floor subscriber heard the +switch-master");
        floor_times.push(floor_reload.next().saturating_duration_since(at));
        tpc_times.push(tpc_reload.next().saturating_duration_since(at));
    }
    let cpu_per_switch = (cpu(tpc.pid()) - cpu_before) / switches as u32;
    let rss = tpc.memory().rss_kib;
    stop_tpc(tpc);
    let masters = format!("{}, real sentinels", MASTERS.len());
    [
        Row {
            masters: masters.clone(),
            what: "floor (bare subscriber)".into(),
            switch: summary(floor_times),
            start: None,
            rss_kib: None,
            cpu_per_switch: None,
            queries: String::new(),
        },
        Row {
            masters,
            what: "tpc, -validate=true".into(),
            switch: summary(tpc_times),
            start: Some(start),
            rss_kib: Some(rss),
            cpu_per_switch: Some(cpu_per_switch),
            queries: String::new(),
        },
    ]
}
