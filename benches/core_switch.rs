//! The core's own work per switch, flat in the number of masters: a core that knows 2 to
//! 50,000 masters (one sentinel's snapshot) is fed `+switch-master` messages on virtual
//! time, every effect succeeding at once. Prints, per size, the median and largest time
//! from the message to the config write the core asks for, and the core's whole time per
//! switch (the write's and the reload's outcomes, the confirming answer, timers); and
//! at start, from the sentinel's answer (every master) to the first config write.
//! Run with `cargo bench --bench core_switch`; `TPC_CORE_SIZES=2,1000` chooses sizes and
//! `TPC_CORE_SWITCHES=N` the number of switches.
//! Figures, not pass/fail: compare ratios within one run on a shared machine.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use tpc::core::driver::{Driver, Entry, Outcomes};
use tpc::core::{Addr, Core, CoreSettings, Effect, Input, MasterInfo, Millis};

const DEFAULT_SIZES: &[usize] = &[2, 1_000, 10_000, 50_000];
const DEFAULT_SWITCHES: usize = 200;
const SENTINEL: &str = "127.0.0.1:26379";

fn addr(i: usize, side: usize) -> Addr {
    Addr {
        host: format!("10.{side}.{}.{}", i / 250, i % 250 + 1),
        port: 6379,
    }
}

fn master(i: usize, side: usize) -> MasterInfo {
    MasterInfo {
        name: format!("node-{i}"),
        addr: addr(i, side),
        epoch: Some(0),
    }
}

/// Median and largest.
fn summary(mut times: Vec<Duration>) -> (Duration, Duration) {
    times.sort();
    (times[times.len() / 2], times[times.len() - 1])
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// Message → write and whole switch (median and largest), and snapshot → first write.
type Figures = ((Duration, Duration), (Duration, Duration), Duration);

fn run(n: usize, switches: usize) -> Figures {
    let mut driver = Driver::new(
        Core::new(CoreSettings::default(), None),
        Outcomes::Simulated,
    );
    let mut ignore = |_| {};
    let mut at = 1_000;
    driver.feed(
        Input::LinkUp {
            at: Millis(at),
            sentinel: Cow::Borrowed(SENTINEL),
        },
        &mut ignore,
    );
    let masters = (0..n).map(|i| master(i, 0)).collect();
    let started = Instant::now();
    let mut first_write = None;
    let mut first = |entry| {
        if let Entry::Effect(_, Effect::WriteConfig { .. }) = entry {
            first_write.get_or_insert_with(|| started.elapsed());
        }
    };
    driver.feed(
        Input::Snapshot {
            at: Millis(at),
            sentinel: Cow::Borrowed(SENTINEL),
            masters,
            replicas: Default::default(),
        },
        &mut first,
    );
    driver.finish(&mut first);
    let start = first_write.expect("the snapshot is written");
    let (mut to_write, mut whole) = (Vec::new(), Vec::new());
    let mut side = vec![0; n];
    for k in 0..switches {
        let i = k * 7919 % n;
        let (old, new) = (addr(i, side[i]), addr(i, side[i] + 1));
        side[i] += 1;
        at += 10_000;
        let payload = format!(
            "node-{i} {} {} {} {}",
            old.host, old.port, new.host, new.port
        );
        let mut wrote = None;
        let started = Instant::now();
        let mut out = |entry| {
            if let Entry::Effect(_, Effect::WriteConfig { .. }) = entry {
                wrote.get_or_insert_with(Instant::now);
            }
        };
        driver.feed(
            Input::Message {
                at: Millis(at),
                sentinel: Cow::Borrowed(SENTINEL),
                channel: Cow::Borrowed("+switch-master"),
                payload: Cow::Owned(payload),
            },
            &mut out,
        );
        driver.feed(
            Input::MasterAnswer {
                at: Millis(at + 5),
                sentinel: Cow::Borrowed(SENTINEL),
                name: Cow::Owned(format!("node-{i}")),
                master: Some(MasterInfo {
                    name: format!("node-{i}"),
                    addr: new,
                    epoch: Some(side[i] as u64),
                }),
                replicas: None,
            },
            &mut out,
        );
        driver.finish(&mut out);
        let wrote = wrote.expect("every switch is written");
        to_write.push(wrote - started);
        whole.push(started.elapsed());
    }
    (summary(to_write), summary(whole), start)
}

fn env_list(name: &str) -> Option<Vec<usize>> {
    let v = std::env::var(name).ok()?;
    v.split(',').map(|s| s.trim().parse().ok()).collect()
}

fn main() {
    let sizes = env_list("TPC_CORE_SIZES").unwrap_or_else(|| DEFAULT_SIZES.to_vec());
    let switches = env_list("TPC_CORE_SWITCHES")
        .and_then(|v| v.first().copied())
        .unwrap_or(DEFAULT_SWITCHES)
        .max(1);
    println!("| masters | message → write effect p50 | max | core time per switch p50 | max | answer → first write |");
    println!("|---|---|---|---|---|---|");
    for n in sizes {
        let ((w50, wmax), (c50, cmax), start) = run(n, switches);
        println!(
            "| {n} | {} | {} | {} | {} | {} |",
            us(w50),
            us(wmax),
            us(c50),
            us(cmax),
            us(start)
        );
    }
    println!("({switches} switches per size, one sentinel, every effect succeeding at once)");
}
