//! The core's own work per switch, flat in the number of masters: a core that knows 2 to
//! 50,000 masters (one sentinel's snapshot) is fed `+switch-master` messages on virtual
//! time, every effect succeeding at once. Prints, per size, the median and largest time
//! from the message to the config write the core asks for, and the core's whole time per
//! switch (the write's and the reload's outcomes, the confirming answer, timers).
//! Run with `cargo bench --bench core_switch`; `TPC_CORE_SIZES=2,1000` chooses sizes.
//! Figures, not pass/fail: compare ratios within one run on a shared machine.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use tpc::core::driver::{Driver, Entry, Outcomes};
use tpc::core::{Addr, Core, CoreSettings, Effect, Input, MasterInfo, Millis};

const DEFAULT_SIZES: &[usize] = &[2, 1_000, 10_000, 50_000];
const SWITCHES: usize = 200;
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

fn run(n: usize) -> ((Duration, Duration), (Duration, Duration)) {
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
    driver.feed(
        Input::Snapshot {
            at: Millis(at),
            sentinel: Cow::Borrowed(SENTINEL),
            masters: (0..n).map(|i| master(i, 0)).collect(),
            replicas: Default::default(),
        },
        &mut ignore,
    );
    driver.finish(&mut ignore);
    let (mut to_write, mut whole) = (Vec::new(), Vec::new());
    let mut side = vec![0; n];
    for k in 0..SWITCHES {
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
    (summary(to_write), summary(whole))
}

fn main() {
    let sizes: Vec<usize> = std::env::var("TPC_CORE_SIZES")
        .ok()
        .and_then(|v| v.split(',').map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| DEFAULT_SIZES.to_vec());
    println!("| masters | message → write effect p50 | max | core time per switch p50 | max |");
    println!("|---|---|---|---|---|");
    for n in sizes {
        let ((w50, wmax), (c50, cmax)) = run(n);
        println!(
            "| {n} | {} | {} | {} | {} |",
            us(w50),
            us(wmax),
            us(c50),
            us(cmax)
        );
    }
    println!("({SWITCHES} switches per size, one sentinel, every effect succeeding at once)");
}
