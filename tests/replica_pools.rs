//! Replica pools end to end (`-template` with a `main` and a `read` pool, and
//! `-replica_pools read`): real redis-servers (a master and two replicas of node-1 with
//! different `replica-priority`), three real sentinels, the real nutcracker restarted
//! with the file tpc writes, and the real tpc binary. Which server a pool routes to is
//! proven through nutcracker itself: each replica holds a key written on it directly,
//! which only a GET routed to that replica can return.
//!
//! And, with a fake sentinel, what a real one will not do on demand: 1000 made-up
//! replicas in `SENTINEL REPLICAS` and a flood of `+slave` events for made-up replicas.
//!
//! The tests take the [`support::serial`] lock: a 2-core machine runs one Sentinel
//! deployment reliably.

mod fake_sentinel;
mod fake_slack;
mod support;
mod tpc_daemon;

use std::fs;
use std::time::{Duration, Instant};

use fake_sentinel::{entries_reply, master, FakeSentinel};
use fake_slack::Slack;
use support::*;

/// The master name the template's servers are named after.
const NAME: &str = "node-1";
/// The template's address for every server, before tpc fills it in.
const PLACEHOLDER: &str = "127.0.0.1:1";
/// What ends the `read` pool's server line in [`template`]'s text.
const READ_MARK: &str = "# follows a replica";
/// How long tpc may take to follow a change the sentinels saw.
const FOLLOW: Duration = Duration::from_secs(15);

/// The operator's file: pool `main` on `main_port` with node-1 at `main`, pool `read` on
/// `read_port` with node-1 at `read`; only the addresses differ between two calls, so
/// the expected config is this text with the expected addresses, made without tpc.
fn template(main_port: u16, read_port: u16, main: &str, read: &str) -> String {
    format!(
        "# writes go to the master, reads to a replica
main:
  listen: 127.0.0.1:{main_port}
  hash: fnv1a_64
  distribution: ketama
  redis: true
  auto_eject_hosts: false
  timeout: 400
  servers:
   - {main}:1 {NAME}

read:
  listen: 127.0.0.1:{read_port}
  hash: fnv1a_64
  distribution: ketama
  redis: true
  timeout: 400
  servers:
   - {read}:1 {NAME}   {READ_MARK}
"
    )
}

/// The rig, the port of the `read` pool, and what the checks below compare with.
struct Pools {
    rig: Rig,
    read_port: u16,
    slack: Slack,
    /// Keys written so far, so every check writes fresh ones.
    round: usize,
}

impl Pools {
    /// node-1 with replicas at priorities 10 and 50 (writable, so a test can put a key
    /// on one alone), tpc with the template and `-replica_pools read`, notifying a fake
    /// Slack.
    fn start() -> Pools {
        let replica = |priority| ["--replica-priority", priority, "--replica-read-only", "no"];
        let (low, high) = (replica("10"), replica("50"));
        let cluster = Cluster::start_with_replicas(&[NAME], 3, &[&low, &high]);
        let (master, _) = cluster.redis_ports(NAME);
        // A demoted master must take keys too once it is a replica.
        let set = resp(
            &local(master),
            &["CONFIG", "SET", "replica-read-only", "no"],
        );
        assert!(set.is_ok(), "CONFIG SET on the master answered {set:?}");
        let slack = Slack::start();
        let read_port = free_port();
        let rig = Rig::follow(cluster, &[], &[], |nut| {
            let path = nut.conf().with_file_name("template.yml");
            let text = template(nut.listen_port(), read_port, PLACEHOLDER, PLACEHOLDER);
            fs::write(&path, text).expect("write the template");
            [
                "-template",
                &path.display().to_string(),
                "-replica_pools",
                "read",
                "-token",
                "xoxb-test",
                "-slack_url",
                &slack.url,
            ]
            .map(String::from)
            .to_vec()
        });
        Pools {
            rig,
            read_port,
            slack,
            round: 0,
        }
    }

    /// The ports of node-1's replicas as started: priority 10, then 50.
    fn replicas(&self) -> (u16, u16) {
        match self.rig.cluster.replica_ports(NAME)[..] {
            [low, high] => (low, high),
            ref other => panic!("two replicas expected, got {other:?}"),
        }
    }

    /// Waits until the config is the template with node-1's `main` server at `main` and
    /// its `read` server at `read`, byte for byte, and `nutcracker -t` accepts it;
    /// returns the text.
    fn expect_config(&self, what: &str, main: u16, read: u16) -> String {
        let nut = &self.rig.nut;
        let want = template(
            nut.listen_port(),
            self.read_port,
            &local(main),
            &local(read),
        );
        let conf = &self.rig.conf;
        let mut seen = String::new();
        let started = Instant::now();
        let deadline = started + FOLLOW;
        while seen != want {
            assert!(
                Instant::now() < deadline,
                "{what}: after {FOLLOW:?} the config is not the template with main at :{main} and read at :{read}; want:\n{want}\nhas:\n{seen}"
            );
            std::thread::sleep(POLL);
            seen = fs::read_to_string(conf).unwrap_or_default();
        }
        assert!(
            nutcracker_accepts(conf),
            "{what}: nutcracker -t rejects:\n{seen}"
        );
        eprintln!("{what}: config as expected after {:?}", started.elapsed());
        seen
    }

    /// Waits until a GET through the `read` pool reaches the redis-server on `read` (one
    /// of `master` and `replicas`), and a SET through `main` lands on `master` (read on
    /// it directly).
    fn expect_routes(&mut self, what: &str, master: u16, read: u16, replicas: &[u16]) {
        let (pool, main) = (local(self.read_port), self.rig.nut.addr());
        let deadline = Instant::now() + FOLLOW;
        let mut seen = (None, None);
        while seen != (Some(read), Some("v".to_string())) {
            assert!(
                Instant::now() < deadline,
                "{what}: after {FOLLOW:?}, want GETs through read on :{read} and SETs through main on :{master}; seen (read route, main key on the master) {seen:?}"
            );
            std::thread::sleep(POLL);
            self.round += 1;
            let key = format!("main-{}", self.round);
            let _ = try_resp(&main, &["SET", &key, "v"]);
            seen = (
                self.read_route(&pool, master, replicas),
                get(&local(master), &key),
            );
        }
    }

    /// Which server a GET through the pool at `pool` reaches: a fresh key is written on
    /// `master` first (it reaches the replicas too), then one on each of `replicas`
    /// (replicas pass nothing on); the replica whose key comes back is the route, else
    /// the master if its key comes back. `None` when the pool answers neither (e.g. it
    /// is restarting, or a replica's key was lost to a full sync).
    fn read_route(&mut self, pool: &str, master: u16, replicas: &[u16]) -> Option<u16> {
        self.round += 1;
        let key = |port: u16| format!("who-{port}-{}", self.round);
        let mut written = Vec::new();
        for &port in std::iter::once(&master).chain(replicas) {
            let reply = try_resp(&local(port), &["SET", &key(port), &port.to_string()]);
            if reply.is_ok_and(|r| r.is_ok()) {
                written.push(port);
            }
        }
        let got = |port: u16| get(pool, &key(port)) == Some(port.to_string());
        let from_replica: Vec<u16> = written
            .iter()
            .copied()
            .filter(|&p| p != master && got(p))
            .collect();
        match from_replica[..] {
            [one] => Some(one),
            [] if written.contains(&master) && got(master) => Some(master),
            _ => None,
        }
    }
}

/// One deployment through deaths and a failover (issue 10, item 5): at start the read pool
/// routes to the replica of lowest priority and main to the master; that replica killed,
/// read moves to the other with only its line of the file changed; both killed, read
/// falls back to the master and tpc says so (log and Slack); both back, read follows
/// the first again; a real failover, and main follows the new master while read
/// follows a replica that is not it.
#[test]
fn the_read_pool_follows_a_healthy_replica_through_deaths_and_a_failover() {
    let _serial = serial();
    let mut p = Pools::start();
    let (master, _) = p.rig.cluster.redis_ports(NAME);
    let (low, high) = p.replicas();

    // 1. At start: read on the replica of priority 10, main on the master.
    let first = p.expect_config("the first config", master, low);
    p.expect_routes("the first config", master, low, &[low, high]);

    // 2. That replica dies: read moves to the other one; nothing else in the file moves.
    p.rig.cluster.kill_redis(low);
    let second = p.expect_config("the first replica's death", master, high);
    let lines = |t: &str| {
        t.split_inclusive('\n')
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let (before, after) = (lines(&first), lines(&second));
    let read_line = before
        .iter()
        .position(|l| l.ends_with(&format!("{READ_MARK}\n")));
    assert_eq!(
        before.len(),
        after.len(),
        "the file's lines:\n{first}\n{second}"
    );
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b == a, Some(i) != read_line, "line {i}: {b:?} -> {a:?}");
    }
    p.expect_routes("the first replica's death", master, high, &[low, high]);

    // 3. The other dies too: read falls back to the master, and tpc says why.
    let log = p.rig.log_len();
    p.rig.cluster.kill_redis(high);
    p.expect_config("both replicas' deaths", master, master);
    p.expect_routes("both replicas' deaths", master, master, &[low, high]);
    let said = format!("No healthy replica of {NAME}");
    p.rig.wait_log(log, &said, secs(5));
    p.slack.wait_for(&said, secs(5));

    // Both back: read follows the replica of priority 10 again.
    p.rig.cluster.restart_redis(low);
    p.rig.cluster.restart_redis(high);
    p.rig
        .cluster
        .wait_replicas(NAME, &[local(low), local(high)]);
    p.expect_config("both replicas back", master, low);
    p.expect_routes("both replicas back", master, low, &[low, high]);

    // 4. A real failover: main follows the new master, read a replica that is not it:
    // the healthy one of lowest priority (the demoted master's is Redis's default, 100).
    let (old, new) = p.rig.cluster.failover(NAME);
    let port = |addr: &str| -> u16 { addr.rsplit_once(':').unwrap().1.parse().unwrap() };
    let (old, new) = (port(&old), port(&new));
    assert_eq!(old, master);
    let read = if new == low { high } else { low };
    p.expect_config("the failover", new, read);
    p.expect_routes("the failover", new, read, &[low, high, old]);
    p.rig.expect_running();
}

/// `n` made-up replicas of node-1 at 127.0.0.1:1000 and up: addresses that sort before
/// any real one here, so tpc would choose them if it took them for healthy.
fn made_up(n: usize) -> impl Iterator<Item = u16> {
    (0..n).map(|i| 1000 + (i % 5000) as u16)
}

/// A sentinel that knows node-1 (master at :7001) with 1000 made-up replicas it reports
/// down (stale records of replicas long gone: real sentinels keep them until `SENTINEL
/// RESET`), at priority 1, listed before the one healthy replica at :7003 (Redis's
/// default priority 100), and then floods `+slave` for made-up replicas: tpc keeps
/// running in bounded memory, asks the sentinel a few times rather than once per event,
/// applies a failover published after the flood, and every config its reload command
/// loaded has the read pool on :7003.
#[test]
fn made_up_replicas_cost_bounded_memory_and_are_never_chosen() {
    let _serial = serial();
    let sentinel = FakeSentinel::start(vec![master(NAME, 7001, 1)]);
    let ports: Vec<String> = made_up(1000).map(|p| p.to_string()).collect();
    let mut entries: Vec<Vec<(&str, &str)>> = ports
        .iter()
        .map(|p| {
            vec![
                ("ip", "127.0.0.1"),
                ("port", p.as_str()),
                ("flags", "s_down,slave,disconnected"),
                ("master-link-status", "err"),
                ("slave-priority", "1"),
            ]
        })
        .collect();
    entries.push(vec![
        ("ip", "127.0.0.1"),
        ("port", "7003"),
        ("flags", "slave"),
        ("master-link-status", "ok"),
        ("slave-priority", "100"),
    ]);
    sentinel.set_replicas(NAME, entries_reply(&entries));
    let dir = tempfile::tempdir().unwrap();
    let (template_path, loaded) = (dir.path().join("template.yml"), dir.path().join("loaded"));
    let text = template(free_port(), free_port(), PLACEHOLDER, PLACEHOLDER);
    fs::write(&template_path, text).unwrap();
    // Each reload appends the config it loads, and a separator.
    let out = dir.path().join("nutcracker.yml");
    let cmd = format!(
        "sh -c 'cat {} >> {l} && echo --- >> {l}'",
        out.display(),
        l = loaded.display()
    );
    let mut tpc = tpc_daemon::Tpc::start(
        dir,
        &[sentinel.port],
        &[
            "-template",
            &template_path.display().to_string(),
            "-replica_pools",
            "read",
            "-reconcile_interval",
            "0",
            "-cmd",
            &cmd,
        ],
    );
    let read = format!("- 127.0.0.1:7003:1 {NAME}   {READ_MARK}");
    tpc.wait_config(&read, secs(20));
    sentinel.wait_subscribers(1, secs(10));

    let before = tpc.memory();
    let queries = sentinel.replicas_queries();
    let events = made_up(100_000).map(|p| {
        let payload = format!("slave 127.0.0.1:{p} 127.0.0.1 {p} @ {NAME} 127.0.0.1 7001");
        ("+slave".to_string(), payload)
    });
    sentinel.flood(events);
    sentinel.fail_over(NAME, 7001, 7002);
    tpc.wait_config(&format!("- 127.0.0.1:7002:1 {NAME}\n"), secs(60));
    // Give every query the flood owes time to go out.
    std::thread::sleep(secs(2));
    let after = tpc.memory();
    let asked = sentinel.replicas_queries() - queries;
    eprintln!(
        "tpc: {} KiB before, peak {} KiB, {} KiB after 100,000 +slave; {asked} SENTINEL REPLICAS",
        before.rss_kib, after.peak_kib, after.rss_kib
    );
    assert!(tpc.is_running(), "tpc exited:\n{}", tpc.log());
    assert!(
        after.rss_kib < before.rss_kib * 2 && after.peak_kib < before.rss_kib * 3,
        "tpc grew from {} KiB to {} KiB (peak {} KiB)",
        before.rss_kib,
        after.rss_kib,
        after.peak_kib
    );
    assert!(asked <= 10, "{asked} SENTINEL REPLICAS for the flood");
    let history = fs::read_to_string(&loaded).unwrap_or_default();
    let configs: Vec<&str> = history.split_terminator("---\n").collect();
    assert!(configs.len() >= 2, "loaded:\n{history}");
    for config in configs {
        assert!(
            config.contains(&read),
            "the read pool left :7003:\n{config}"
        );
    }
    assert!(tpc.terminate().success());
}
