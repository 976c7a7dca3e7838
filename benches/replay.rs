//! Replay throughput and memory: generates recordings of 100,000 and 1,000,000 inputs
//! (sentinel messages of back-to-back failovers), replays each through the core, and
//! prints inputs per second and peak memory; then the 100,000 once more as a person
//! would write them (a space after each brace). Each file is also only read (parsed,
//! not replayed), the part that the JSON library decides.
//! Run with `cargo bench --bench replay`. Figures, not pass/fail: compare ratios within
//! one run on a shared machine.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use tpc::core::{Addr, CoreSettings, Input, MasterInfo, Millis};
use tpc::shell::cli::{Format, ReplayOptions, Source};
use tpc::shell::recording::{input_line, Header, Reader};
use tpc::shell::replay;

const MASTERS: usize = 20;

fn addr(i: usize, side: usize) -> Addr {
    Addr {
        host: format!("10.0.{side}.{}", i + 1),
        port: 6379,
    }
}

/// The messages one sentinel publishes during a failover of `m` from `old` to `new`,
/// in Redis 7's order.
fn failover(m: usize, old: &Addr, new: &Addr) -> Vec<(&'static str, String)> {
    let master = format!("master node-{m} {} {}", old.host, old.port);
    let replica = |of: &Addr, at: &Addr| {
        format!(
            "slave {0}:{1} {0} {1} @ node-{m} {2} {3}",
            of.host, of.port, at.host, at.port
        )
    };
    vec![
        ("+sdown", master.clone()),
        ("+odown", format!("{master} #quorum 2/2")),
        ("+new-epoch", "7".into()),
        ("+try-failover", master.clone()),
        (
            "+vote-for-leader",
            "6a1e3c8f0b7d4e2a9c5b1f3d7e9a2c4b6d8f0a1e 7".into(),
        ),
        ("+elected-leader", master.clone()),
        ("+failover-state-select-slave", master.clone()),
        ("+selected-slave", replica(new, old)),
        ("+failover-state-send-slaveof-noone", replica(new, old)),
        ("+failover-state-wait-promotion", replica(new, old)),
        ("+promoted-slave", replica(new, old)),
        ("+failover-state-reconf-slaves", master.clone()),
        ("+failover-end", master),
        (
            "+switch-master",
            format!(
                "node-{m} {} {} {} {}",
                old.host, old.port, new.host, new.port
            ),
        ),
        ("+slave", replica(old, new)),
        ("+sdown", replica(old, new)),
        ("-sdown", replica(old, new)),
        ("+convert-to-slave", replica(old, new)),
    ]
}

/// Writes a recording of `n` inputs: a snapshot, then the messages of back-to-back
/// failovers, round-robin over the masters (the busiest stream tpc will ever see).
fn generate(path: &Path, n: usize) {
    let mut out = BufWriter::new(File::create(path).unwrap());
    let settings = CoreSettings {
        wait: Millis(1_000),
        ..CoreSettings::default()
    };
    let mut header = Header::for_daemon(&settings, None);
    header.outcomes = tpc::core::driver::Outcomes::Simulated;
    out.write_all(header.to_line().as_bytes()).unwrap();
    let masters = (0..MASTERS)
        .map(|i| MasterInfo {
            name: format!("node-{i}"),
            addr: addr(i, 0),
            epoch: Some(1),
        })
        .collect();
    let snapshot = Input::Snapshot {
        at: Millis(0),
        sentinel: "10.0.0.250:26379".into(),
        replicas: Default::default(),
        masters,
    };
    out.write_all(input_line(&snapshot).as_bytes()).unwrap();
    let mut side = [0usize; MASTERS];
    let mut written = 1;
    for cycle in 0.. {
        let m = cycle % MASTERS;
        let (old, new) = (addr(m, side[m]), addr(m, 1 - side[m]));
        side[m] = 1 - side[m];
        for (channel, payload) in failover(m, &old, &new) {
            if written == n {
                out.flush().unwrap();
                return;
            }
            let input = Input::Message {
                at: Millis(written as u64 * 10),
                sentinel: "10.0.0.250:26379".into(),
                channel: channel.into(),
                payload: payload.into(),
            };
            out.write_all(input_line(&input).as_bytes()).unwrap();
            written += 1;
        }
    }
}

/// Peak resident memory of this process so far, in KiB (VmHWM).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Replays `path` and prints its figures under `label`.
fn measure(label: &str, path: &Path, n: usize) {
    let size = std::fs::metadata(path).unwrap().len();
    let options = ReplayOptions {
        source: Source::Recording(path.to_path_buf()),
        format: Format::Text,
        masters: None,
        flags: CoreSettings::default(),
        given: vec![],
        clock: Default::default(),
        log_year: None,
        verbose: false,
        expect: None,
        bless: false,
    };
    let start = Instant::now();
    replay::run(&options, std::io::sink()).unwrap();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "replay {n:>9} inputs ({:>5.1} MiB){label}: {:>6.3} s, {:>10.0} inputs/s, peak RSS so far {:>6} KiB",
        size as f64 / (1 << 20) as f64,
        secs,
        n as f64 / secs,
        peak_kib()
    );
}

/// Only reads `path` (every line parsed into an input, none replayed) and prints the
/// figures under `label`.
fn read_only(label: &str, path: &Path, n: usize) {
    let start = Instant::now();
    let (_, mut reader) = Reader::open(BufReader::new(File::open(path).unwrap())).unwrap();
    let mut read = 0;
    while reader.next_input().unwrap().is_some() {
        read += 1;
    }
    assert_eq!(read, n, "{}", path.display());
    let secs = start.elapsed().as_secs_f64();
    println!(
        "read   {n:>9} inputs{label}: {secs:>6.3} s, {:>10.0} inputs/s, peak RSS so far {:>6} KiB",
        n as f64 / secs,
        peak_kib()
    );
}

fn main() {
    // TPC_BENCH_DIR keeps the generated files there (e.g. to profile `tpc replay`).
    let tmp = tempfile::tempdir().unwrap();
    let dir =
        std::env::var_os("TPC_BENCH_DIR").map_or_else(|| tmp.path().to_path_buf(), Into::into);
    for n in [100_000usize, 1_000_000] {
        let path = dir.join(format!("bench-{n}.jsonl"));
        generate(&path, n);
        read_only("", &path, n);
        measure("", &path, n);
    }
    // The same 100,000 inputs, written by hand rather than by tpc (a space after each
    // brace).
    let n = 100_000;
    let by_hand = dir.join(format!("bench-{n}-by-hand.jsonl"));
    let mut out = BufWriter::new(File::create(&by_hand).unwrap());
    let tpc_written = BufReader::new(File::open(dir.join(format!("bench-{n}.jsonl"))).unwrap());
    for line in tpc_written.lines() {
        writeln!(out, "{}", line.unwrap().replacen('{', "{ ", 1)).unwrap();
    }
    out.flush().unwrap();
    drop(out);
    read_only(" by hand", &by_hand, n);
    measure(" by hand", &by_hand, n);
}
