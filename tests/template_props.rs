//! Property test of template mode (DESIGN.md §7, invariant 11) against an independent
//! model ([`template_model`]): a generated operator's file is rendered from the model,
//! the real [`Core`] is fed a generated sequence of sentinel answers and
//! `+switch-master` messages (its queries answered as the sentinel would), and every
//! config it writes must
//! - (a) be the model rendered with the addresses the model's own bookkeeping expects:
//!   a named server at its master's address when the sentinel knows the master, any
//!   other server as the template writes it;
//! - (b) differ from the template only inside the `host:port` of named server lines;
//! - (c) read with serde_yaml as the model's pools, keys and server lists;
//! - never repeat the config on disk;
//!
//! and once the inputs stop, the config on disk is (a) for the sentinel's last word.

mod proptest_config;
mod template_model;

use std::collections::BTreeMap;

use proptest::prelude::*;
use template_model::{host, model, Model, Server, MASTERS};

use tpc::core::template::Template;
use tpc::core::{Addr, Core, CoreSettings, Effect, EffectId, Input, MasterInfo, Millis, Outcome};

/// The one sentinel tpc follows.
const SENTINEL: &str = "10.0.0.100:26379";

/// A master the sentinel monitors that no server of any template carries.
const UNCARRIED: &str = "x9";

/// Most effects and ticks one run may take: the core settles far sooner.
const MAX_STEPS: usize = 10_000;

/// What the sentinel monitors: master name to address and config epoch.
type Sentinel = BTreeMap<&'static str, (Addr, u64)>;

/// One thing the sentinel does.
#[derive(Debug, Clone)]
enum Op {
    /// It answers `SENTINEL MASTERS` unasked (a reconnect).
    Answer,
    /// It fails over master `MASTERS[i]` to `host:port`, announces it, and answers.
    Failover(usize, String, u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Answer),
        3 => (0..MASTERS.len(), host(), 1..=65535u16).prop_map(|(m, h, p)| Op::Failover(m, h, p)),
    ]
}

/// Where the sentinel first has a master: none (it does not know it), at the address
/// the template's first server of that name has, or elsewhere.
#[derive(Debug, Clone)]
enum Start {
    Unknown,
    AsTemplate,
    At(String, u16),
}

fn start() -> impl Strategy<Value = Start> {
    prop_oneof![
        1 => Just(Start::Unknown),
        2 => Just(Start::AsTemplate),
        2 => (host(), 1..=65535u16).prop_map(|(h, p)| Start::At(h, p)),
    ]
}

/// A generated run.
#[derive(Debug, Clone)]
struct Plan {
    model: Model,
    starts: Vec<Start>,
    /// tpc writes over the template itself (`-out` is the `-template` file).
    in_place: bool,
    /// Each step: milliseconds after the previous one, and what the sentinel does.
    ops: Vec<(u64, Op)>,
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        model(),
        prop::collection::vec(start(), MASTERS.len()),
        any::<bool>(),
        prop::collection::vec((1..20_000u64, op()), 0..12),
    )
        .prop_map(|(model, starts, in_place, ops)| Plan {
            model,
            starts,
            in_place,
            ops,
        })
}

/// The address the model expects for a server while the sentinel says `sentinel`.
fn expected(server: &Server, sentinel: &Sentinel) -> String {
    server
        .master()
        .and_then(|name| sentinel.get(name))
        .map_or_else(
            || server.addr(),
            |(addr, _)| format!("{}:{}", addr.host, addr.port),
        )
}

fn addr(host: &str, port: u16) -> Addr {
    Addr {
        host: host.to_string(),
        port,
    }
}

/// The sentinel before any failover.
fn first_sentinel(model: &Model, starts: &[Start]) -> Sentinel {
    let mut sentinel = Sentinel::new();
    for (i, start) in starts.iter().enumerate() {
        let name = MASTERS[i];
        let in_template = model.servers().find(|s| s.master() == Some(name));
        let at = match (start, in_template) {
            (Start::Unknown, _) => continue,
            (Start::AsTemplate, Some(s)) => addr(&s.host, s.port),
            (Start::AsTemplate, None) => addr("10.0.0.1", 6379),
            (Start::At(h, p), _) => addr(h, *p),
        };
        sentinel.insert(name, (at, 1));
    }
    sentinel.insert(UNCARRIED, (addr("10.0.0.99", 6379), 1));
    sentinel
}

/// The core, with what the sentinel says and every config written. Not the replay
/// [`tpc::core::driver::Driver`]: here the sentinel answers the core's queries, as the
/// daemon's links do.
struct Run {
    core: Core,
    sentinel: Sentinel,
    now: Millis,
    /// Each config written, with what the sentinel said when it was.
    writes: Vec<(String, Sentinel)>,
    steps: usize,
}

impl Run {
    fn answer(&self) -> Input<'static> {
        Input::Snapshot {
            at: self.now,
            sentinel: SENTINEL.into(),
            replicas: Default::default(),
            masters: self
                .sentinel
                .iter()
                .map(|(name, (addr, epoch))| MasterInfo {
                    name: name.to_string(),
                    addr: addr.clone(),
                    epoch: Some(*epoch),
                })
                .collect(),
        }
    }

    /// The answer to `SENTINEL MASTER <name>`.
    fn answer_about(&self, name: &str) -> Input<'static> {
        Input::MasterAnswer {
            at: self.now,
            sentinel: SENTINEL.into(),
            name: name.to_string().into(),
            master: self.sentinel.get(name).map(|(addr, epoch)| MasterInfo {
                name: name.to_string(),
                addr: addr.clone(),
                epoch: Some(*epoch),
            }),
            replicas: None,
        }
    }

    fn done(&self, id: EffectId) -> Input<'static> {
        Input::Done {
            at: self.now,
            id,
            outcome: Outcome::Ok,
        }
    }

    fn feed(&mut self, input: Input<'static>) {
        self.core.handle(input);
        while let Some(effect) = self.core.poll_effect() {
            self.steps += 1;
            assert!(self.steps < MAX_STEPS, "the core never settles");
            let next = match effect {
                Effect::WriteConfig { id, text, .. } => {
                    self.writes.push((text.to_string(), self.sentinel.clone()));
                    self.done(id)
                }
                Effect::RunReload { id } => self.done(id),
                Effect::Query => self.answer(),
                Effect::QueryMaster { name } => self.answer_about(&name),
                Effect::Stop { error } => panic!("stopped without -strict: {error}"),
                Effect::Notify { .. } | Effect::ReadConfig { .. } => continue,
            };
            self.core.handle(next);
        }
    }

    /// Ticks the core whenever it asks, before `until`.
    fn tick_before(&mut self, until: Millis) {
        while let Some(at) = self.core.poll_timeout().filter(|at| *at < until) {
            self.steps += 1;
            assert!(self.steps < MAX_STEPS, "the core never settles");
            self.now = self.now.max(at);
            self.feed(Input::Tick { at: self.now });
        }
    }

    fn failover(&mut self, master: usize, to: Addr) {
        let name = MASTERS[master];
        let Some((from, epoch)) = self.sentinel.get(name).cloned() else {
            return;
        };
        if from == to {
            return;
        }
        self.sentinel.insert(name, (to.clone(), epoch + 1));
        let words = |a: &Addr| format!("{} {}", a.host, a.port);
        self.feed(Input::Message {
            at: self.now,
            sentinel: SENTINEL.into(),
            channel: "+switch-master".into(),
            payload: format!("{name} {} {}", words(&from), words(&to)).into(),
        });
        self.feed(self.answer());
    }
}

/// The regular expression a config matches when it differs from the model's template
/// only inside the address of named servers.
fn only_addresses_change(model: &Model) -> regex::Regex {
    const HOLE: char = '\u{0}';
    let shape = model.render(|s| match s.master() {
        Some(_) => HOLE.to_string(),
        None => s.addr(),
    });
    let pieces: Vec<String> = shape.split(HOLE).map(regex::escape).collect();
    let pattern = format!("^{}$", pieces.join("[A-Za-z0-9.-]+:[0-9]+"));
    regex::Regex::new(&pattern).expect("a valid pattern")
}

/// The pool names of a config, in file order, as serde_yaml reads them.
fn pool_order(text: &str) -> Vec<String> {
    let file: serde_yaml::Mapping = serde_yaml::from_str(text).expect("YAML");
    file.keys()
        .map(|k| k.as_str().unwrap_or_default().to_string())
        .collect()
}

fn check(plan: Plan) -> Result<(), TestCaseError> {
    let model = &plan.model;
    let template = model.render(Server::addr);
    let parsed = Template::parse(&template)
        .map_err(|e| TestCaseError::fail(format!("the template does not parse: {e}")))?;
    let settings = CoreSettings {
        template: Some(parsed),
        wait: Millis::from_secs(5),
        confirm_grace: Millis::from_secs(1),
        sentinels: 1,
        ..CoreSettings::default()
    };
    let on_disk = plan.in_place.then(|| template.clone());
    let mut run = Run {
        core: Core::new(settings, on_disk.clone()),
        sentinel: first_sentinel(model, &plan.starts),
        now: Millis::ZERO,
        writes: Vec::new(),
        steps: 0,
    };
    run.feed(run.answer());
    for (after, op) in &plan.ops {
        let at = run.now + Millis(*after);
        run.tick_before(at);
        run.now = at;
        match op {
            Op::Answer => run.feed(run.answer()),
            Op::Failover(m, host, port) => run.failover(*m, addr(host, *port)),
        }
    }
    run.tick_before(Millis(u64::MAX));

    let shape = only_addresses_change(model);
    let pools: Vec<&str> = model.pools.iter().map(|p| p.name.as_str()).collect();
    let mut before = on_disk;
    for (text, sentinel) in &run.writes {
        let want = model.render(|s| expected(s, sentinel));
        prop_assert_eq!(text, &want, "(a) the written config");
        prop_assert!(shape.is_match(text), "(b) more than addresses changed");
        let read: serde_yaml::Value = serde_yaml::from_str(text).expect("(c) YAML");
        prop_assert_eq!(read, model.yaml(|s| expected(s, sentinel)), "(c) pools");
        prop_assert_eq!(pool_order(text), pools.clone(), "(c) pool order");
        prop_assert_ne!(Some(text), before.as_ref(), "a write that changes nothing");
        before = Some(text.clone());
    }
    let last = model.render(|s| expected(s, &run.sentinel));
    prop_assert_eq!(before, Some(last), "the config on disk at the end");
    Ok(())
}

proptest! {
    #![proptest_config(proptest_config::config(512, Some("proptest-regressions/template_props.txt")))]

    #[test]
    fn written_configs_follow_the_model(plan in plan()) {
        check(plan)?;
    }
}
