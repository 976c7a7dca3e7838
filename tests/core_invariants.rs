//! Property tests: the invariants of DESIGN.md §7 hold on generated sequences of
//! sentinel messages, snapshots, time steps and effect outcomes (some failing).

mod proptest_config;
mod written;

use std::collections::{BTreeMap, BTreeSet};
use written::servers;

use proptest::prelude::*;

use tpc::core::driver::{Driver, Entry};
use tpc::core::render::render;
use tpc::core::{Addr, Core, CoreSettings, Effect, EffectId, Input, MasterInfo, Millis, Outcome};
use tpc::shell::recording::{Header, Reader};

const NAMES: &[&str] = &["node-1", "node-2", "node-3", "other-1"];
const PATTERN: &str = "node";

fn addr(i: usize) -> Addr {
    Addr {
        host: "10.0.0.1".into(),
        port: 6000 + i as u16,
    }
}

/// One generated step of the world.
#[derive(Debug, Clone)]
enum Step {
    Snapshot(Vec<(usize, usize, u64)>),
    Switch {
        name: usize,
        from_current: bool,
        old: usize,
        new: usize,
    },
    Monitor(usize, usize),
    Unmonitor(usize),
    Malformed,
    Advance(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => prop::collection::vec((0..NAMES.len(), 0..5usize, 0..4u64), 0..4).prop_map(Step::Snapshot),
        4 => (0..NAMES.len(), prop::bool::weighted(0.8), 0..5usize, 0..5usize)
            .prop_map(|(name, from_current, old, new)| Step::Switch { name, from_current, old, new }),
        1 => (0..NAMES.len(), 0..5usize).prop_map(|(n, a)| Step::Monitor(n, a)),
        1 => (0..NAMES.len()).prop_map(Step::Unmonitor),
        1 => Just(Step::Malformed),
        4 => (0..25_000u64).prop_map(Step::Advance),
    ]
}

/// A whole generated run.
#[derive(Debug, Clone)]
struct Plan {
    wait: u64,
    write_latency: u64,
    reload_latency: u64,
    /// Whether the n-th effect fails (cycled).
    failures: Vec<bool>,
    steps: Vec<Step>,
}

fn plan(may_fail: bool) -> impl Strategy<Value = Plan> {
    let failures = if may_fail {
        prop::collection::vec(prop::bool::weighted(0.25), 1..16).boxed()
    } else {
        Just(vec![false]).boxed()
    };
    (
        0..20u64,
        0..300u64,
        0..3_000u64,
        failures,
        prop::collection::vec(step(), 1..40),
    )
        .prop_map(
            |(wait_s, write_latency, reload_latency, failures, steps)| Plan {
                wait: wait_s * 1000,
                write_latency,
                reload_latency,
                failures,
                steps,
            },
        )
}

/// What a run did, for the checks.
#[derive(Debug, Default)]
struct Trace {
    /// Every input fed, in order.
    inputs: Vec<Input<'static>>,
    effects: Vec<(Millis, Effect)>,
    reload_starts: Vec<Millis>,
    /// The config on disk when each reload started: the last successful write's text.
    reload_loads: Vec<String>,
    /// Successful writes: when they completed, and the text.
    writes: Vec<(Millis, String)>,
    last_input: Millis,
    final_masters: BTreeMap<String, Addr>,
    final_on_disk: Option<String>,
    failures_seen: usize,
}

struct Sim {
    core: Core,
    plan: Plan,
    now: Millis,
    /// Effects being performed: due time, id, whether it was a write, its text.
    pending: Vec<(Millis, EffectId, Option<String>)>,
    effect_count: usize,
    failing: bool,
    trace: Trace,
}

impl Sim {
    fn new(plan: Plan) -> Sim {
        let settings = CoreSettings {
            master_pattern: PATTERN.into(),
            wait: Millis(plan.wait),
            ..CoreSettings::default()
        };
        Sim {
            core: Core::new(settings, None),
            plan,
            now: Millis::ZERO,
            pending: Vec::new(),
            effect_count: 0,
            failing: true,
            trace: Trace::default(),
        }
    }

    fn feed(&mut self, input: Input<'static>) {
        self.trace.inputs.push(input.clone());
        self.core.handle(input);
        while let Some(effect) = self.core.poll_effect() {
            match &effect {
                Effect::WriteConfig { id, text, .. } => self.pending.push((
                    self.now + Millis(self.plan.write_latency),
                    *id,
                    Some(text.to_string()),
                )),
                Effect::RunReload { id } => {
                    self.trace.reload_starts.push(self.now);
                    let on_disk = self.trace.writes.last().map(|(_, t)| t.clone());
                    self.trace.reload_loads.push(on_disk.unwrap_or_default());
                    self.pending
                        .push((self.now + Millis(self.plan.reload_latency), *id, None));
                }
                Effect::Notify { .. }
                | Effect::Query
                | Effect::QueryMaster { .. }
                | Effect::ReadConfig { .. } => {}
                Effect::Stop { error } => panic!("stopped without a template: {error}"),
            }
            self.trace.effects.push((self.now, effect));
        }
    }

    /// Performs effects and timer ticks due up to `until`.
    fn run_until(&mut self, until: Millis) {
        for _ in 0..10_000 {
            let next_done = self.pending.iter().map(|p| p.0).min();
            let next_tick = self.core.poll_timeout();
            let Some(next) = next_done.into_iter().chain(next_tick).min() else {
                break;
            };
            if next > until {
                break;
            }
            self.now = self.now.max(next);
            if next_done == Some(next) {
                let i = self.pending.iter().position(|p| p.0 == next).unwrap();
                let (_, id, write) = self.pending.remove(i);
                let fail = self.failing
                    && self.plan.failures[self.effect_count % self.plan.failures.len()];
                self.effect_count += 1;
                let outcome = if fail {
                    self.trace.failures_seen += 1;
                    Outcome::Failed {
                        error: "injected".into(),
                    }
                } else {
                    if let Some(text) = write {
                        self.trace.writes.push((self.now, text));
                    }
                    Outcome::Ok
                };
                self.feed(Input::Done {
                    at: self.now,
                    id,
                    outcome,
                });
            } else {
                self.feed(Input::Tick { at: self.now });
            }
        }
        self.now = self.now.max(until);
    }

    fn message(&self, channel: &'static str, payload: String) -> Input<'static> {
        Input::Message {
            at: self.now,
            sentinel: "127.0.0.1:26379".into(),
            channel: channel.into(),
            payload: payload.into(),
        }
    }

    fn input_for(&self, step: &Step) -> Option<Input<'static>> {
        Some(match step {
            Step::Advance(_) => return None,
            Step::Snapshot(list) => Input::Snapshot {
                at: self.now,
                sentinel: "127.0.0.1:26379".into(),
                replicas: Default::default(),
                masters: list
                    .iter()
                    .map(|&(n, a, epoch)| MasterInfo {
                        name: NAMES[n].into(),
                        addr: addr(a),
                        epoch: Some(epoch),
                    })
                    .collect(),
            },
            Step::Switch {
                name,
                from_current,
                old,
                new,
            } => {
                let known = self.core.masters().get(NAMES[*name]).cloned();
                let old = match known {
                    Some(a) if *from_current => a,
                    _ => addr(*old),
                };
                let new = addr(*new);
                self.message(
                    "+switch-master",
                    format!(
                        "{} {} {} {} {}",
                        NAMES[*name], old.host, old.port, new.host, new.port
                    ),
                )
            }
            Step::Monitor(n, a) => {
                let a = addr(*a);
                self.message(
                    "+monitor",
                    format!("master {} {} {} quorum 2", NAMES[*n], a.host, a.port),
                )
            }
            Step::Unmonitor(n) => {
                self.message("-monitor", format!("master {} 10.0.0.1 1", NAMES[*n]))
            }
            Step::Malformed => self.message("+switch-master", "node-1 10.0.0.1".into()),
        })
    }

    /// Plays the plan, then lets everything settle with effects succeeding.
    fn play(mut self) -> Trace {
        for step in self.plan.steps.clone() {
            if let Step::Advance(ms) = step {
                let until = self.now + Millis(ms);
                self.run_until(until);
            } else if let Some(input) = self.input_for(&step) {
                self.trace.last_input = self.now;
                self.feed(input);
            }
        }
        self.failing = false;
        self.run_until(Millis(u64::MAX / 2));
        assert!(self.pending.is_empty(), "effects still pending");
        assert_eq!(self.core.poll_timeout(), None, "core still waiting");
        self.trace.final_masters = self.core.masters();
        self.trace.final_on_disk = self.core.on_disk().map(str::to_string);
        self.trace
    }
}

/// How long after the last input the last reload may start, when no effect fails.
///
/// The core performs one write or one reload at a time. When the last input arrives, one
/// of them may be in flight; the next write starts once it is done and the wait since
/// the last reload start (at or before the last input) has ended, and the reload runs
/// when that write is done. Or start-up has not ended (nothing written yet): it ends
/// `start_grace` after the first report at the latest. So: the longest of the wait, the
/// effect in flight and the start-up grace, then one write.
fn settle_bound(plan: &Plan) -> u64 {
    let start_grace = CoreSettings::default().start_grace.as_u64();
    let longest = plan.wait.max(plan.write_latency).max(plan.reload_latency);
    longest.max(start_grace) + plan.write_latency
}

fn check_converges(plan: Plan) -> Result<(), TestCaseError> {
    let bound = settle_bound(&plan);
    let trace = Sim::new(plan).play();
    if trace.final_masters.is_empty() {
        return Ok(());
    }
    let pool = CoreSettings::default().pool;
    // Every config written, patched in place or rendered whole, is the rendering of the
    // servers it holds.
    for (_, text) in &trace.writes {
        let held: BTreeMap<String, Addr> = servers(text)
            .into_iter()
            .map(|(name, a)| (name, Addr::parse(a.strip_suffix(":1").unwrap()).unwrap()))
            .collect();
        prop_assert_eq!(text, &render(&pool, &held));
    }
    let want = render(&pool, &trace.final_masters);
    prop_assert_eq!(trace.final_on_disk.as_ref(), Some(&want));
    let (written_at, text) = trace.writes.last().expect("a write happened");
    prop_assert_eq!(text, &want);
    let last_reload = *trace.reload_starts.last().expect("a reload happened");
    prop_assert!(last_reload >= *written_at);
    if trace.failures_seen == 0 {
        prop_assert!(
            last_reload.as_u64() <= trace.last_input.as_u64() + bound,
            "reload at {} after last input at {} (bound {} ms)",
            last_reload,
            trace.last_input,
            bound
        );
    }
    Ok(())
}

/// The case of issue 14: the snapshot's write takes 24 ms; the `+monitor` arriving
/// meanwhile needs a second write once it is done, so the reload comes at 48 ms.
#[test]
fn converges_after_a_write_in_flight() {
    let plan = Plan {
        wait: 0,
        write_latency: 24,
        reload_latency: 0,
        failures: vec![false],
        steps: vec![Step::Snapshot(vec![(0, 0, 0)]), Step::Monitor(0, 1)],
    };
    let trace = Sim::new(plan.clone()).play();
    assert_eq!(trace.reload_starts, vec![Millis(48)]);
    check_converges(plan).unwrap();
}

/// A reload in flight when the last input arrives: the write waits for it, and for the
/// wait after it.
#[test]
fn converges_after_a_reload_in_flight() {
    let plan = Plan {
        wait: 1_000,
        write_latency: 10,
        reload_latency: 3_000,
        failures: vec![false],
        steps: vec![
            Step::Snapshot(vec![(0, 0, 0)]),
            Step::Advance(20),
            Step::Monitor(1, 1),
        ],
    };
    let trace = Sim::new(plan.clone()).play();
    // Write 0–10, reload 10–3010, last input at 20, write 3010–3020, reload at 3020.
    assert_eq!(trace.reload_starts, vec![Millis(10), Millis(3_020)]);
    check_converges(plan).unwrap();
}

fn config() -> ProptestConfig {
    proptest_config::config(400, Some("proptest-regressions/core_invariants.txt"))
}

proptest! {
    #![proptest_config(config())]

    /// 1. Two reload commands never start less than `wait` apart, except to load at once
    /// the correction of a master the previous reload moved provisionally (a pub/sub
    /// switch the answers overturned).
    #[test]
    fn reloads_are_rate_limited(plan in plan(true)) {
        let wait = plan.wait;
        let trace = Sim::new(plan).play();
        let starts = &trace.reload_starts;
        // Addresses announced by a pub/sub switch: what tpc may believe provisionally.
        let switched: BTreeSet<(String, String)> = trace.inputs.iter().filter_map(|input| match input {
            Input::Message { channel, payload, .. } if channel == "+switch-master" => {
                let w: Vec<&str> = payload.split(' ').collect();
                (w.len() == 5).then(|| (w[0].to_string(), format!("{}:{}:1", w[3], w[4])))
            }
            _ => None,
        }).collect();
        for i in 1..starts.len() {
            if starts[i].since(starts[i - 1]).as_u64() >= wait {
                continue;
            }
            let (previous, now) = (servers(&trace.reload_loads[i - 1]), servers(&trace.reload_loads[i]));
            let corrects = previous.iter().any(|(name, a)| switched.contains(&(name.clone(), a.clone())) && now.get(name) != Some(a));
            prop_assert!(corrects, "reloads {:?}: {:?} then {:?} is no correction", starts, previous, now);
        }
    }

    /// 2. Once inputs stop, the last config written is the rendering of the known masters
    /// and a reload ran after it; without failures, within [`settle_bound`].
    #[test]
    fn converges(plan in plan(true)) {
        check_converges(plan)?;
    }

    // 3. (No lost failover) is checked against an independent model of the sentinels
    // in tests/core_truth.rs (check 4), not against what the core says it accepted.

    /// 5. A master outside the pattern never appears in any config.
    #[test]
    fn the_filter_holds(plan in plan(true)) {
        let trace = Sim::new(plan).play();
        for (_, effect) in &trace.effects {
            if let Effect::WriteConfig { text, .. } = effect {
                prop_assert!(!text.contains("other-1"));
            }
        }
    }

    /// 6. Once settled, a snapshot or switch that changes nothing writes and runs nothing.
    #[test]
    fn no_op_changes_do_nothing(plan in plan(false)) {
        let settings = CoreSettings { master_pattern: PATTERN.into(), wait: Millis(plan.wait), ..CoreSettings::default() };
        let trace = Sim::new(plan).play();
        let mut core = Core::new(settings, trace.final_on_disk.clone());
        let at = Millis(1_000_000);
        let masters = trace.final_masters.iter()
            .map(|(n, a)| MasterInfo { name: n.clone(), addr: a.clone(), epoch: None })
            .collect();
        core.handle(Input::Snapshot {
            at,
            sentinel: "s".into(),
            masters,
            replicas: Default::default(),
        });
        for (name, a) in &trace.final_masters {
            let payload = format!("{name} {} {} {} {}", a.host, a.port, a.host, a.port);
            core.handle(Input::Message { at, sentinel: "s".into(), channel: "+switch-master".into(), payload: payload.into() });
        }
        prop_assert_eq!(core.poll_effect(), None);
        prop_assert_eq!(core.poll_timeout(), None);
    }

    /// A recording of a run (its inputs as the daemon writes them), replayed through
    /// `tpc replay`'s reader and driver, gives the same effects at the same times.
    #[test]
    fn a_recorded_run_replays_to_the_same_effects(plan in plan(true)) {
        let settings = CoreSettings { master_pattern: PATTERN.into(), wait: Millis(plan.wait), ..CoreSettings::default() };
        let trace = Sim::new(plan).play();
        let header = Header::for_daemon(&settings, None);
        let text = tpc::shell::replay::to_recording(&header, &trace.inputs);
        let (header, mut reader) = Reader::open(text.as_bytes()).unwrap();
        let mut driver = Driver::new(Core::new(header.settings, header.on_disk), header.outcomes);
        let mut replayed = Vec::new();
        while let Some(input) = reader.next_input().unwrap() {
            driver.feed(input, &mut |e| if let Entry::Effect(at, effect) = e { replayed.push((at, effect)) });
        }
        prop_assert_eq!(replayed, trace.effects);
    }

    /// 7. The same inputs give the same effects.
    #[test]
    fn deterministic(plan in plan(true)) {
        let a = Sim::new(plan.clone()).play();
        let b = Sim::new(plan).play();
        prop_assert_eq!(format!("{:?}", a.effects), format!("{:?}", b.effects));
    }
}
