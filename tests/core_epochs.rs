//! DESIGN.md §7 invariant 4, "epochs never go backwards", on generated sequences of
//! snapshots from several sentinels, switches, `+monitor`/`-monitor`, link changes,
//! timer ticks and effect outcomes (some failing).
//!
//! A reference model kept beside the core holds, per known master, the highest config
//! epoch the core has applied for it (a snapshot's epoch it accepted or confirmed, plus
//! one per applied `+switch-master`). After every input it checks that:
//! - a master's address changes only to an address offered by that input: by a
//!   snapshot whose epoch is not lower than the model's (or carries none), by a switch
//!   from the address the core had, or by a `+monitor`;
//! - an offer from a higher epoch than the model's is always taken (the highest epoch
//!   wins), and a refused offer was from a lower one;
//! - time, links and effect outcomes never move a master;
//! - every config written lists exactly the masters the core holds at that moment, so
//!   no written config holds an address offered only from an older epoch.

mod proptest_config;

use std::collections::BTreeMap;

use proptest::prelude::*;

use tpc::core::{Addr, Core, CoreSettings, Effect, EffectId, Input, MasterInfo, Millis, Outcome};

const NAMES: &[&str] = &["node-1", "node-2", "node-3", "other-1"];
const SENTINELS: &[&str] = &["10.0.1.1:26379", "10.0.1.2:26379", "10.0.1.3:26379"];
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
    /// A `SENTINEL MASTERS` answer: by name, the address and the config epoch (if any).
    Snapshot {
        sentinel: usize,
        masters: BTreeMap<usize, (usize, Option<u64>)>,
    },
    Switch {
        sentinel: usize,
        name: usize,
        from_current: bool,
        old: usize,
        new: usize,
    },
    Monitor {
        sentinel: usize,
        name: usize,
        addr: usize,
    },
    Unmonitor {
        sentinel: usize,
        name: usize,
    },
    Link {
        sentinel: usize,
        up: bool,
    },
    Advance(u64),
}

fn snapshot() -> impl Strategy<Value = Step> {
    let entry = (0..5usize, prop::option::weighted(0.9, 0..8u64));
    (
        0..SENTINELS.len(),
        prop::collection::btree_map(0..NAMES.len(), entry, 0..4),
    )
        .prop_map(|(sentinel, masters)| Step::Snapshot { sentinel, masters })
}

fn step() -> impl Strategy<Value = Step> {
    let s = 0..SENTINELS.len();
    prop_oneof![
        6 => snapshot(),
        3 => (s.clone(), 0..NAMES.len(), prop::bool::weighted(0.8), 0..5usize, 0..5usize)
            .prop_map(|(sentinel, name, from_current, old, new)| Step::Switch {
                sentinel, name, from_current, old, new,
            }),
        1 => (s.clone(), 0..NAMES.len(), 0..5usize)
            .prop_map(|(sentinel, name, addr)| Step::Monitor { sentinel, name, addr }),
        1 => (s.clone(), 0..NAMES.len()).prop_map(|(sentinel, name)| Step::Unmonitor { sentinel, name }),
        1 => (s, any::<bool>()).prop_map(|(sentinel, up)| Step::Link { sentinel, up }),
        4 => (0..8_000u64).prop_map(Step::Advance),
    ]
}

/// Snapshots only, every entry with an epoch: the highest epoch must win outright.
fn epoch_step() -> impl Strategy<Value = Step> {
    let entry = (0..5usize, (0..8u64).prop_map(Some));
    prop_oneof![
        3 => (0..SENTINELS.len(), prop::collection::btree_map(0..NAMES.len(), entry, 0..4))
            .prop_map(|(sentinel, masters)| Step::Snapshot { sentinel, masters }),
        1 => (0..5_000u64).prop_map(Step::Advance),
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

fn plan(steps: impl Strategy<Value = Step>) -> impl Strategy<Value = Plan> {
    (
        0..5u64,
        0..300u64,
        0..2_000u64,
        prop::collection::vec(prop::bool::weighted(0.3), 1..12),
        prop::collection::vec(steps, 1..60),
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

/// The servers of a written config, by name.
fn servers(text: &str) -> BTreeMap<String, Addr> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("- "))
        .map(|line| {
            let (hpw, name) = line.split_once(' ').expect("host:port:weight name");
            let mut parts = hpw.rsplitn(3, ':');
            let (_weight, port, host) = (parts.next(), parts.next(), parts.next());
            let a = Addr {
                host: host.expect("host").into(),
                port: port.expect("port").parse().expect("a port"),
            };
            (name.to_string(), a)
        })
        .collect()
}

/// What a step offers a master, as the model judges it.
enum Offer {
    /// A snapshot entry.
    Snapshot(Addr, Option<u64>),
    /// A `+switch-master` from `old` to `new`.
    Switch(Addr, Addr),
    /// A `+monitor` (no epoch).
    Monitor(Addr),
    /// A `-monitor`: the master may go.
    Unmonitor,
}

/// Drives the core like the daemon does and checks the epoch rules after every input.
struct Sim {
    core: Core,
    settings: CoreSettings,
    plan: Plan,
    now: Millis,
    /// Effects being performed: due time, id, whether it is a write.
    pending: Vec<(Millis, EffectId)>,
    effect_count: usize,
    failing: bool,
    /// The model: per known master, the highest config epoch applied for it.
    floor: BTreeMap<String, u64>,
    /// Configs written (whether or not the write then succeeded).
    written: usize,
}

impl Sim {
    fn new(plan: Plan) -> Sim {
        let settings = CoreSettings {
            master_pattern: PATTERN.into(),
            wait: Millis(plan.wait),
            ..CoreSettings::default()
        };
        Sim {
            core: Core::new(settings.clone(), None),
            settings,
            plan,
            now: Millis::ZERO,
            pending: Vec::new(),
            effect_count: 0,
            failing: true,
            floor: BTreeMap::new(),
            written: 0,
        }
    }

    /// Feeds one input and checks it against the model; `offers` is what the input
    /// offers each master (nothing for ticks, links and outcomes).
    fn feed(
        &mut self,
        input: Input,
        offers: &BTreeMap<String, Offer>,
    ) -> Result<(), TestCaseError> {
        let before = self.core.masters();
        let what = format!("{input:?}");
        self.core.handle(input);
        let after = self.core.masters();
        for name in NAMES {
            let name = name.to_string();
            let (b, a) = (before.get(&name), after.get(&name));
            let floor = self.floor.get(&name).copied();
            if !self.settings.wants(&name) {
                prop_assert!(a.is_none(), "{name} outside the pattern is known");
                continue;
            }
            match offers.get(&name) {
                None => prop_assert_eq!(
                    b,
                    a,
                    "{} moved by an input offering nothing: {}",
                    name,
                    what
                ),
                Some(Offer::Snapshot(offered, epoch)) => match (b, floor) {
                    (None, _) => {
                        prop_assert_eq!(a, Some(offered), "{} not added: {}", name, what);
                        self.floor.insert(name, epoch.unwrap_or(0));
                    }
                    (Some(b), Some(floor)) => {
                        let a = a.expect("a snapshot never removes a master");
                        if a != b {
                            prop_assert_eq!(a, offered, "{} moved elsewhere: {}", name, what);
                            // Invariant 4: never to an address from an older epoch.
                            prop_assert!(
                                epoch.is_none_or(|e| e >= floor),
                                "{name} moved to {a} from epoch {epoch:?}, older than {floor}: {what}"
                            );
                        } else if a != offered {
                            // Refused: only an older epoch may be refused.
                            prop_assert!(
                                epoch.is_some_and(|e| e < floor),
                                "{name}: {offered} at epoch {epoch:?} refused though the known epoch is {floor}: {what}"
                            );
                            continue;
                        }
                        self.floor
                            .insert(name, epoch.map_or(floor, |e| e.max(floor)));
                    }
                    (Some(_), None) => unreachable!("the model knows every known master"),
                },
                Some(Offer::Switch(old, new)) => match (b, floor) {
                    (Some(b), Some(floor)) if b == old && old != new => {
                        prop_assert_eq!(a, Some(new), "{} switch not applied: {}", name, what);
                        // A failover raises the epoch by one.
                        self.floor.insert(name, floor + 1);
                    }
                    _ => prop_assert_eq!(
                        b,
                        a,
                        "{} moved by a switch that does not match: {}",
                        name,
                        what
                    ),
                },
                Some(Offer::Monitor(offered)) => {
                    // No epoch: taken as it is; a new master starts at epoch 0.
                    prop_assert_eq!(
                        a,
                        Some(offered),
                        "{} not at its +monitor address: {}",
                        name,
                        what
                    );
                    self.floor.entry(name).or_insert(0);
                }
                Some(Offer::Unmonitor) => match a {
                    None => {
                        self.floor.remove(&name);
                    }
                    Some(a) => prop_assert_eq!(Some(a), b, "{} moved by -monitor: {}", name, what),
                },
            }
        }
        prop_assert_eq!(
            after.keys().collect::<Vec<_>>(),
            self.floor.keys().collect::<Vec<_>>(),
            "the model and the core know different masters"
        );
        while let Some(effect) = self.core.poll_effect() {
            match effect {
                Effect::WriteConfig { id, text, .. } => {
                    self.written += 1;
                    prop_assert_eq!(
                        &servers(&text),
                        &after,
                        "a written config differs from the masters the core holds"
                    );
                    self.pending
                        .push((self.now + Millis(self.plan.write_latency), id));
                }
                Effect::RunReload { id } => self
                    .pending
                    .push((self.now + Millis(self.plan.reload_latency), id)),
                Effect::Notify { .. } | Effect::Query => {}
            }
        }
        Ok(())
    }

    /// Performs effects and timer ticks due up to `until`.
    fn run_until(&mut self, until: Millis) -> Result<(), TestCaseError> {
        let none = BTreeMap::new();
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
            let input = if next_done == Some(next) {
                let i = self.pending.iter().position(|p| p.0 == next).unwrap();
                let (_, id) = self.pending.remove(i);
                let fail = self.failing
                    && self.plan.failures[self.effect_count % self.plan.failures.len()];
                self.effect_count += 1;
                let outcome = if fail {
                    Outcome::Failed {
                        error: "injected".into(),
                    }
                } else {
                    Outcome::Ok
                };
                Input::Done {
                    at: self.now,
                    id,
                    outcome,
                }
            } else {
                Input::Tick { at: self.now }
            };
            self.feed(input, &none)?;
        }
        self.now = self.now.max(until);
        Ok(())
    }

    fn message(&self, sentinel: usize, channel: &'static str, payload: String) -> Input<'static> {
        Input::Message {
            at: self.now,
            sentinel: SENTINELS[sentinel].into(),
            channel: channel.into(),
            payload: payload.into(),
        }
    }

    /// The input for a step, and what it offers each master.
    fn input_for(&self, step: &Step) -> (Input<'static>, BTreeMap<String, Offer>) {
        let mut offers = BTreeMap::new();
        let input = match step {
            Step::Advance(_) => unreachable!("not an input"),
            Step::Snapshot { sentinel, masters } => {
                let masters: Vec<MasterInfo> = masters
                    .iter()
                    .map(|(&n, &(a, epoch))| MasterInfo {
                        name: NAMES[n].into(),
                        addr: addr(a),
                        epoch,
                    })
                    .collect();
                for m in &masters {
                    offers.insert(m.name.clone(), Offer::Snapshot(m.addr.clone(), m.epoch));
                }
                Input::Snapshot {
                    at: self.now,
                    sentinel: SENTINELS[*sentinel].into(),
                    masters,
                }
            }
            Step::Switch {
                sentinel,
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
                let payload = format!(
                    "{} {} {} {} {}",
                    NAMES[*name], old.host, old.port, new.host, new.port
                );
                offers.insert(NAMES[*name].to_string(), Offer::Switch(old, new));
                self.message(*sentinel, "+switch-master", payload)
            }
            Step::Monitor {
                sentinel,
                name,
                addr: a,
            } => {
                let a = addr(*a);
                let payload = format!("master {} {} {} quorum 2", NAMES[*name], a.host, a.port);
                offers.insert(NAMES[*name].to_string(), Offer::Monitor(a));
                self.message(*sentinel, "+monitor", payload)
            }
            Step::Unmonitor { sentinel, name } => {
                offers.insert(NAMES[*name].to_string(), Offer::Unmonitor);
                let payload = format!("master {} 10.0.0.1 1", NAMES[*name]);
                self.message(*sentinel, "-monitor", payload)
            }
            Step::Link { sentinel, up } => {
                let sentinel = SENTINELS[*sentinel].into();
                if *up {
                    Input::LinkUp {
                        at: self.now,
                        sentinel,
                    }
                } else {
                    Input::LinkDown {
                        at: self.now,
                        sentinel,
                        reason: "connection reset".into(),
                    }
                }
            }
        };
        (input, offers)
    }

    /// Plays the plan, then lets everything settle with effects succeeding.
    fn play(mut self) -> Result<Sim, TestCaseError> {
        for step in self.plan.steps.clone() {
            if let Step::Advance(ms) = step {
                let until = self.now + Millis(ms);
                self.run_until(until)?;
            } else {
                let (input, offers) = self.input_for(&step);
                self.feed(input, &offers)?;
            }
        }
        self.failing = false;
        self.run_until(Millis(u64::MAX / 2))?;
        prop_assert!(self.pending.is_empty(), "effects still pending");
        Ok(self)
    }
}

fn config() -> ProptestConfig {
    proptest_config::config(300, Some("proptest-regressions/core_epochs.txt"))
}

proptest! {
    #![proptest_config(config())]

    /// 4. A master never moves to an address from a lower config epoch than the one
    /// already applied, whatever the interleaving of sentinels, switches and effects;
    /// and what is written is what the core holds.
    #[test]
    fn epochs_never_go_backwards(plan in plan(step())) {
        let sim = Sim::new(plan).play()?;
        // Settled: the file on disk holds exactly the masters the core ended with.
        if !sim.core.masters().is_empty() {
            let on_disk = sim.core.on_disk().expect("a config was written");
            prop_assert_eq!(servers(on_disk), sim.core.masters());
        }
    }

    /// With only snapshots carrying epochs, each master ends at (and, after every
    /// input, is at) the address of the latest offer with the highest epoch seen for
    /// it, whichever sentinel made it.
    #[test]
    fn the_highest_epoch_wins_across_sentinels(plan in plan(epoch_step())) {
        // (highest epoch, address of the latest offer at that epoch), per master.
        let mut best: BTreeMap<String, (u64, Addr)> = BTreeMap::new();
        let mut sim = Sim::new(plan.clone());
        for step in &plan.steps {
            if let Step::Advance(ms) = step {
                let until = sim.now + Millis(*ms);
                sim.run_until(until)?;
                continue;
            }
            let (input, offers) = sim.input_for(step);
            for (name, offer) in &offers {
                let Offer::Snapshot(a, Some(e)) = offer else { unreachable!() };
                if !sim.settings.wants(name) {
                    continue;
                }
                match best.get(name) {
                    Some((top, _)) if e < top => {}
                    _ => {
                        best.insert(name.clone(), (*e, a.clone()));
                    }
                }
            }
            sim.feed(input, &offers)?;
            let want: BTreeMap<String, Addr> =
                best.iter().map(|(n, (_, a))| (n.clone(), a.clone())).collect();
            prop_assert_eq!(sim.core.masters(), want);
        }
    }
}

/// The two daemon scenarios of tests/hardening.rs, at the core: sentinels disagreeing,
/// and a stale answer after a switch.
#[test]
fn disagreeing_sentinels_and_a_stale_answer_after_a_switch() {
    let settings = CoreSettings::default();
    let mut core = Core::new(settings, None);
    let snapshot = |at: u64, sentinel: &'static str, port: u16, epoch: u64| Input::Snapshot {
        at: Millis(at),
        sentinel: sentinel.into(),
        masters: vec![MasterInfo {
            name: "node-1".into(),
            addr: Addr {
                host: "127.0.0.1".into(),
                port,
            },
            epoch: Some(epoch),
        }],
    };
    let port = |core: &Core| core.masters()["node-1"].port;
    // B answers first with an older epoch; A's newer answer wins, and B cannot undo it.
    core.handle(snapshot(0, "b", 7002, 3));
    core.handle(snapshot(1, "a", 7001, 5));
    core.handle(snapshot(2, "b", 7002, 3));
    assert_eq!(port(&core), 7001);
    core.handle(snapshot(3, "b", 7003, 6));
    core.handle(snapshot(4, "a", 7001, 5));
    assert_eq!(port(&core), 7003);
    // A switch raises the epoch by one: the announcing sentinel's lagging answer (still
    // at the old epoch) is stale.
    core.handle(Input::Message {
        at: Millis(5),
        sentinel: "a".into(),
        channel: "+switch-master".into(),
        payload: "node-1 127.0.0.1 7003 127.0.0.1 7004".into(),
    });
    assert_eq!(port(&core), 7004);
    core.handle(snapshot(6, "a", 7003, 6));
    assert_eq!(port(&core), 7004);
    core.handle(snapshot(7, "b", 7005, 7));
    assert_eq!(port(&core), 7005);
}
