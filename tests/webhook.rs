//! Webhook notifications from the real tpc: a switch posted as JSON (event, master, old
//! and new address, time, host, version) to a local HTTP listener, tried again after a
//! failure, the URL kept out of argv and logs when given by environment, and what is
//! still queued at a stop still sent.

mod fake_sentinel;
mod fake_slack;
mod tpc_daemon;

use std::time::Duration;

use fake_sentinel::{master, FakeSentinel};
use fake_slack::Slack;
use tpc_daemon::{wait_until, Tpc};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The bodies whose `event` is `event`.
fn events(hook: &Slack, event: &str) -> Vec<serde_json::Value> {
    hook.bodies()
        .into_iter()
        .filter(|b| b["event"] == event)
        .collect()
}

#[test]
fn a_switch_is_posted_as_json_retried_and_the_url_stays_secret() {
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let hook = Slack::start();
    let url = format!("{}/hook-secret-5c1e", hook.url);
    let mut tpc = Tpc::start_env(
        tempfile::tempdir().unwrap(),
        &[s.port],
        &[],
        &[("TPC_WEBHOOK_URL", url.as_str())],
    );
    tpc.wait_config("127.0.0.1:7001:1 node-1", secs(10));
    s.wait_subscribers(1, secs(10));
    // The first post of the switch fails: it is tried again.
    hook.fail_next(1);
    s.fail_over("node-1", 7001, 7002);
    wait_until("the switch posted twice", secs(10), || {
        events(&hook, "switch").len() == 2
    });
    let body = &events(&hook, "switch")[1];
    assert_eq!(body["master"], "node-1", "{body}");
    assert_eq!(body["old"], "127.0.0.1:7001", "{body}");
    assert_eq!(body["new"], "127.0.0.1:7002", "{body}");
    assert_eq!(body["tpc_version"], env!("CARGO_PKG_VERSION"));
    assert!(body["text"].as_str().unwrap().contains("node-1"), "{body}");
    assert!(!body["host"].as_str().unwrap().is_empty(), "{body}");
    let time = body["time"].as_str().unwrap();
    assert!(
        time.len() == 20 && time.ends_with('Z') && time.contains('T'),
        "{time}"
    );

    let cmdline = std::fs::read(format!("/proc/{}/cmdline", tpc.pid())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains("5c1e"));
    tpc.stop();
    assert!(!tpc.log().contains("5c1e"), "the URL was logged");
}

#[test]
fn what_is_queued_at_a_stop_still_goes_out() {
    let s = FakeSentinel::start(vec![master("node-1", 7001, 1)]);
    let hook = Slack::start();
    let url = format!("{}/hook", hook.url);
    let mut tpc = Tpc::start(
        tempfile::tempdir().unwrap(),
        &[s.port],
        &["-webhook", &url, "-webhook_format", "slack"],
    );
    tpc.wait_config("127.0.0.1:7001:1 node-1", secs(10));
    s.wait_subscribers(1, secs(10));
    hook.fail_next(1);
    s.fail_over("node-1", 7001, 7002);
    // The first try failed; tpc is stopped before the retry (a second later).
    wait_until("the first try", secs(10), || !hook.bodies().is_empty());
    let status = tpc.terminate();
    assert!(status.success(), "{status:?}");
    let texts = hook.texts();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("+switch-master"))
            .count(),
        2,
        "{texts:?}"
    );
    // Slack's format: only text.
    assert!(hook.bodies().iter().all(|b| b.get("event").is_none()));
}
