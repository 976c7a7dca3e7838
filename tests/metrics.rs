//! Metrics and health of the real `tpc` binary: scraped during a real failover of real
//! redis and sentinels behind a real nutcracker, parsed with `prometheus-parse`, and
//! checked against what the processes themselves show (sentinel logs, the restart
//! script's count, `/proc`); `/healthz` while every sentinel is down and back; and a
//! metrics port already taken, which must not stop tpc from following a failover.

mod fake_sentinel;
mod fake_slack;
mod support;
mod tpc_daemon;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus_parse::{HistogramCount, Scrape, Value};
use support::*;

/// One scrape of `/metrics`, parsed.
struct Metrics(Scrape);

impl Metrics {
    /// Scrapes `addr`; panics unless it answers 200 with text Prometheus can parse.
    fn scrape(addr: &str) -> Metrics {
        let (status, body) = http_get(addr, "/metrics").unwrap();
        assert_eq!(status, 200, "{body}");
        let lines = body.lines().map(|l| Ok(l.to_string()));
        Metrics(Scrape::parse(lines).expect("Prometheus text"))
    }

    /// The value of the counter, gauge or untyped sample `name` with exactly `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
            .find_map(|s| match s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => Some(v),
                _ => None,
            })
    }

    /// The cumulative buckets of histogram `name`, `_count` and `_sum`.
    fn histogram(&self, name: &str) -> (Vec<HistogramCount>, f64, f64) {
        let buckets = self
            .0
            .samples
            .iter()
            .find_map(|s| match (&s.value, s.metric == name) {
                (Value::Histogram(b), true) => Some(b.clone()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no histogram {name}"));
        let count = self.value(&format!("{name}_count"), &[]).unwrap();
        let sum = self.value(&format!("{name}_sum"), &[]).unwrap();
        (buckets, count, sum)
    }

    /// Every counter sample and histogram count, by name and labels.
    fn counters(&self) -> BTreeMap<String, f64> {
        let mut all = BTreeMap::new();
        for s in &self.0.samples {
            let key = format!("{}{:?}", s.metric, s.labels);
            match &s.value {
                Value::Counter(v) => {
                    all.insert(key, *v);
                }
                Value::Histogram(buckets) => {
                    for b in buckets {
                        all.insert(format!("{key} le {}", b.less_than), b.count);
                    }
                }
                _ => {}
            }
        }
        all
    }

    /// `tpc_sentinel_up` by sentinel.
    fn links(&self) -> BTreeMap<String, f64> {
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == "tpc_sentinel_up")
            .filter_map(|s| match s.value {
                Value::Gauge(v) => Some((s.labels.get("sentinel")?.to_string(), v)),
                _ => None,
            })
            .collect()
    }
}

/// How many `+switch-master` of `name` the cluster's sentinels logged in all.
fn switches_logged(rig: &Rig, name: &str) -> usize {
    (0..3)
        .map(|i| {
            let log = rig.cluster.dir().join(format!("sentinel-{i}.log"));
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .matches(&format!("+switch-master {name} "))
                .count()
        })
        .sum()
}

/// A field of `/proc/<pid>/status` in kB, as bytes.
fn proc_status_bytes(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024.0
}

/// Scrapes `addr` until told to stop: every scrape must parse, and no counter or
/// histogram bucket may go back. Returns how many scrapes were made.
fn scrape_meanwhile(addr: String, stop: Arc<AtomicBool>) -> thread::JoinHandle<usize> {
    thread::spawn(move || {
        let mut last = BTreeMap::new();
        let mut scrapes = 0;
        while !stop.load(Ordering::Relaxed) {
            let now = Metrics::scrape(&addr).counters();
            for (key, v) in &now {
                let before = last.get(key).copied().unwrap_or(0.0);
                assert!(*v >= before, "{key} went back from {before} to {v}");
            }
            last = now;
            scrapes += 1;
            thread::sleep(Duration::from_millis(50));
        }
        scrapes
    })
}

/// Through a real failover: every sentinel link is up, the messages, switches, writes
/// and reloads counted are those the sentinels logged and nutcracker's restart script
/// counted, the switch-to-reload latency has one observation no longer than the
/// failover took as the test saw it, and the process figures match `/proc`. Then every
/// sentinel is killed (`/healthz` 503, with the reason) and restarted (200 again).
#[test]
fn metrics_and_health_follow_a_real_failover() {
    let _serial = serial();
    let test_start = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let addr = local(free_port());
    let mut rig = Rig::start(&["node-1"], &[], &["-listen_address", &addr]);
    rig.expect_followed("the first config", None);
    let sentinels: Vec<String> = (0..3).map(|i| rig.tpc_sentinel_addr(i)).collect();
    let all_up: BTreeMap<String, f64> = sentinels.iter().map(|s| (s.clone(), 1.0)).collect();
    let m = wait_for(secs(15), "every sentinel link up in the metrics", || {
        let m = Metrics::scrape(&addr);
        (m.links() == all_up).then_some(m)
    });
    assert_eq!(m.value("tpc_masters", &[]), Some(1.0));
    assert_eq!(m.value("tpc_config_in_sync", &[]), Some(1.0));
    assert_eq!(m.histogram("tpc_switch_to_reload_seconds").1, 0.0);
    assert_eq!(http_get(&addr, "/readyz").unwrap(), (200, "ready\n".into()));
    assert_eq!(http_get(&addr, "/healthz").unwrap(), (200, "ok\n".into()));

    let stop = Arc::new(AtomicBool::new(false));
    let scraper = scrape_meanwhile(addr.clone(), stop.clone());
    let started = Instant::now();
    rig.cluster.failover("node-1");
    rig.expect_followed("the failover", Some("node-1"));
    let took = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let scrapes = scraper.join().unwrap();
    assert!(scrapes >= 5, "only {scrapes} scrapes during the failover");

    let switches = switches_logged(&rig, "node-1");
    assert!(switches >= 1, "no sentinel logged the switch");
    let ok_switch = [("status", "ok"), ("channel", "+switch-master")];
    let m = wait_for(secs(10), "every +switch-master counted", || {
        let m = Metrics::scrape(&addr);
        (m.value("tpc_pmessages_total", &ok_switch) == Some(switches as f64)).then_some(m)
    });
    let reloads = rig.nut.reloads() as f64;
    assert_eq!(reloads, 2.0);
    assert_eq!(
        m.value("tpc_switches_applied_total", &[("master", "node-1")]),
        Some(1.0)
    );
    let ok = [("result", "ok")];
    assert_eq!(m.value("tpc_config_writes_total", &ok), Some(2.0));
    assert_eq!(m.value("tpc_reloads_total", &ok), Some(reloads));
    assert_eq!(
        m.value("tpc_reloads_total", &[("result", "error")]),
        Some(0.0)
    );
    let (_, reload_count, _) = m.histogram("tpc_reload_duration_seconds");
    assert_eq!(reload_count, reloads);
    let (buckets, count, sum) = m.histogram("tpc_switch_to_reload_seconds");
    assert_eq!(count, 1.0);
    assert!(
        sum > 0.0 && sum <= took,
        "latency {sum}s, the failover took {took}s"
    );
    assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
    assert_eq!(buckets.last().map(|b| b.count), Some(1.0));
    let since = m.value("tpc_seconds_since_last_reload", &[]).unwrap();
    assert!(
        (0.0..took).contains(&since),
        "{since}s since the last reload"
    );
    assert_eq!(m.value("tpc_config_in_sync", &[]), Some(1.0));

    let pid = rig.tpc.pid();
    let rss = m.value("process_resident_memory_bytes", &[]).unwrap();
    let vm_rss = proc_status_bytes(pid, "VmRSS:");
    assert!(
        rss / 2.0 <= vm_rss && vm_rss <= rss * 2.0,
        "{rss} vs VmRSS {vm_rss}"
    );
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count() as f64;
    let open = m.value("process_open_fds", &[]).unwrap();
    assert!(
        (open - fds).abs() <= 8.0,
        "{open} open fds, /proc has {fds}"
    );
    let start = m.value("process_start_time_seconds", &[]).unwrap();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    assert!(
        test_start.as_secs_f64() - 2.0 <= start && start <= now.as_secs_f64(),
        "started at {start}"
    );
    assert!(m.value("process_cpu_seconds_total", &[]).unwrap() > 0.0);

    for i in 0..3 {
        rig.cluster.kill_sentinel(i);
    }
    let (_, why) = wait_for(secs(15), "/healthz to turn 503", || {
        http_get(&addr, "/healthz").ok().filter(|(s, _)| *s == 503)
    });
    assert_eq!(why.lines().count(), 1, "{why}");
    assert!(
        why.starts_with("no sentinel link is up (3 sentinel(s)"),
        "{why}"
    );
    assert!(Metrics::scrape(&addr).links().values().all(|up| *up == 0.0));
    assert_eq!(
        http_get(&addr, "/readyz").unwrap().0,
        200,
        "ready stays ready"
    );
    for i in 0..3 {
        rig.cluster.restart_sentinel(i);
    }
    wait_until(secs(30), "/healthz to turn 200 again", || {
        http_get(&addr, "/healthz").is_ok_and(|(s, _)| s == 200)
    });
    wait_until(secs(30), "every sentinel link up again", || {
        Metrics::scrape(&addr).links() == all_up
    });
    let status = rig.tpc.terminate();
    assert!(status.success(), "tpc exited with {status}");
}

/// A metrics port already taken: tpc says so in its log and in a notification, and
/// still follows a failover (a fake sentinel, since nothing real is needed to fail).
#[test]
fn a_taken_metrics_port_is_told_and_failovers_are_still_followed() {
    use fake_sentinel::{master, FakeSentinel};
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let sentinel = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let slack = fake_slack::Slack::start();
    let dir = tempfile::tempdir().unwrap();
    let reloads = dir.path().join("reloads");
    let cmd = format!("sh -c 'echo reload >> {}'", reloads.display());
    let args = [
        "-listen_address",
        &addr,
        "-cmd",
        &cmd,
        "-token",
        "xoxb-test",
        "-slack_url",
        &slack.url,
    ];
    let mut tpc = tpc_daemon::Tpc::start(dir, &[sentinel.port], &args);
    let said = format!("Cannot serve metrics and health on {addr} (-listen_address)");
    tpc.wait_log(&said, 1, secs(10));
    slack.wait_for(&said, secs(10));
    tpc.wait_config("127.0.0.1:7001:1 node-1", secs(10));
    sentinel.wait_subscribers(1, secs(5));
    sentinel.fail_over("node-1", 7001, 7002);
    tpc.wait_config("127.0.0.1:7002:1 node-1", secs(10));
    tpc_daemon::wait_until("the second reload", secs(10), || {
        std::fs::read_to_string(&reloads).is_ok_and(|r| r.lines().count() == 2)
    });
    assert!(tpc.is_running());
    tpc.stop();
    drop(taken);
}
