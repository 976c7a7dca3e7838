//! What an operator reads in tpc's log during a real failover (real redis, sentinels,
//! nutcracker and the tpc binary): one line per decision and per action, snapshotted
//! with times, ports, folders and durations taken out. Raw sentinel events, repeated by
//! every sentinel, are at debug and not in it; no warning comes from the normal lag
//! between sentinels.

mod support;

use support::*;

/// The log with what changes from run to run replaced: the time stamp, the temp folder,
/// each port by its order of appearance, durations, and which of the two equally right
/// decisions came first (a switch believed provisionally, or the sentinels' answers).
fn normalized(log: &str) -> String {
    let time = regex::Regex::new(r"^\S+Z\s+").unwrap();
    let dir = regex::Regex::new(r"/tmp/[^/\s']+").unwrap();
    let port = regex::Regex::new(r"127\.0\.0\.1:(\d+)").unwrap();
    let ms = regex::Regex::new(r"in \d+ ms").unwrap();
    let why = regex::Regex::new(
        r"(: one sentinel's newer epoch, believed until the others confirm it| \(from \d+ sentinel\(s\)\))$",
    )
    .unwrap();
    let mut ports: Vec<String> = Vec::new();
    log.lines()
        .map(|line| {
            let line = time.replace(line, "");
            let line = dir.replace_all(&line, "DIR");
            let line = ms.replace_all(&line, "in N ms");
            let line = why.replace(&line, " (DECIDED)");
            port.replace_all(&line, |c: &regex::Captures| {
                let p = c[1].to_string();
                let i = ports.iter().position(|q| *q == p).unwrap_or_else(|| {
                    ports.push(p);
                    ports.len() - 1
                });
                format!("PORT{i}")
            })
            .into_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_failover_reads_as_three_lines() {
    let _serial = serial();
    let mut rig = Rig::start(&["node-1"], &[], &[]);
    rig.expect_followed("the first config", None);
    let offset = rig.log_len();
    rig.cluster.failover("node-1");
    rig.expect_followed("the node-1 failover", Some("node-1"));
    // Every sentinel's events and answers have come in by now.
    std::thread::sleep(secs(3));
    let log = rig.log_since(offset);
    assert!(!log.contains(" WARN "), "{log}");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"));
    settings.bind(|| insta::assert_snapshot!(normalized(&log)));
}
