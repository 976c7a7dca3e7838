//! The replay summary (`tpc replay`'s per-failover lines) against a reference model:
//! the rule as first written, each switch and entry looked for in every earlier failover
//! (quadratic, kept here and nowhere else). On generated runs of switches, writes,
//! reloads and failures of either, the summary lists the same failovers with the same
//! times; and a long run of back-to-back failovers keeps the same answer.

mod proptest_config;

use std::sync::Arc;

use proptest::prelude::*;

use tpc::core::driver::Entry;
use tpc::core::{Addr, Change, Effect, EffectId, Input, Millis};
use tpc::shell::replay::summary::Summary;

/// One failover as the summary shows it: master, from, to, switched, config, reload, gap.
type Row = (
    String,
    Option<Addr>,
    Addr,
    Option<Millis>,
    Option<Millis>,
    Option<Millis>,
    Option<Millis>,
);

/// The reference: every failover, each with the write and reload it last took.
#[derive(Default)]
struct Model {
    rows: Vec<(Row, Option<EffectId>, Option<EffectId>)>,
}

impl Model {
    fn switch(&mut self, at: Millis, name: &str, old: &Addr, new: &Addr) {
        let known = self
            .rows
            .iter()
            .rev()
            .find(|(r, _, _)| r.0 == name)
            .is_some_and(|(r, _, _)| r.2 == *new);
        if !known && old != new {
            let row = (
                name.into(),
                Some(old.clone()),
                new.clone(),
                Some(at),
                None,
                None,
                None,
            );
            self.rows.push((row, None, None));
        }
    }

    fn entry(&mut self, entry: &Entry) {
        match entry {
            Entry::Effect(at, Effect::WriteConfig { id, changes, .. }) => {
                for c in changes {
                    let (Some(from), Some(to)) = (&c.from, &c.to) else {
                        continue;
                    };
                    let open = self
                        .rows
                        .iter_mut()
                        .find(|(r, _, _)| r.0 == c.name && r.2 == *to && r.5.is_none());
                    match open {
                        Some((r, w, _)) => (r.4, *w) = (Some(*at), Some(*id)),
                        None => {
                            let row = (c.name.clone(), Some(from.clone()), to.clone());
                            let row = (row.0, row.1, row.2, None, Some(*at), None, None);
                            self.rows.push((row, Some(*id), None));
                        }
                    }
                }
            }
            Entry::Effect(at, Effect::RunReload { id }) => {
                for (r, _, reload) in &mut self.rows {
                    if r.4.is_some() && r.5.is_none() {
                        let since = r.3.or(r.4).unwrap_or(*at);
                        (r.5, *reload) = (Some(*at), Some(*id));
                        r.6 = Some(Millis(at.as_u64().saturating_sub(since.as_u64())));
                    }
                }
            }
            Entry::Failed(_, id, _) => {
                for (r, w, reload) in &mut self.rows {
                    if *w == Some(*id) {
                        (r.4, *w) = (None, None);
                    }
                    if *reload == Some(*id) {
                        (r.5, r.6, *reload) = (None, None, None);
                    }
                }
            }
            _ => {}
        }
    }

    /// By master, then in time order, as the summary lists them.
    fn rows(&self) -> Vec<Row> {
        let mut rows: Vec<Row> = self.rows.iter().map(|(r, _, _)| r.clone()).collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    }
}

fn rows(summary: &Summary) -> Vec<Row> {
    summary
        .failovers()
        .into_iter()
        .map(|f| {
            let f = f.clone();
            (
                f.master, f.from, f.to, f.switched, f.config, f.reload, f.gap,
            )
        })
        .collect()
}

fn addr(i: usize) -> Addr {
    Addr {
        host: format!("10.0.0.{i}"),
        port: 6379,
    }
}

fn name(m: usize) -> String {
    format!("node-{m}")
}

/// One generated step.
#[derive(Debug, Clone)]
enum Step {
    /// A `+switch-master` of master `m` from address `old` to `new`.
    Switch {
        m: usize,
        old: usize,
        new: usize,
    },
    /// A write changing masters (`m`, from, to); `to` none: removed.
    Write(Vec<(usize, usize, Option<usize>)>),
    Reload,
    /// The effect `back` effects ago failed (the last one, mostly).
    Fail {
        back: usize,
    },
    /// Time passes.
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    let change = (0..4usize, 0..4usize, prop::option::weighted(0.9, 0..4usize));
    prop_oneof![
        4 => (0..4usize, 0..4usize, 0..4usize).prop_map(|(m, old, new)| Step::Switch { m, old, new }),
        3 => prop::collection::vec(change, 0..4).prop_map(Step::Write),
        3 => Just(Step::Reload),
        1 => prop_oneof![4 => Just(0usize), 1 => 0..6usize].prop_map(|back| Step::Fail { back }),
        2 => (0..2_000u64).prop_map(Step::Wait),
    ]
}

/// Feeds `steps` to the summary and the model alike.
fn play(steps: &[Step]) -> (Summary, Model) {
    let (mut summary, mut model) = (Summary::default(), Model::default());
    let (mut now, mut next_id, mut effects) = (Millis::ZERO, 1u64, Vec::new());
    let entry = |e: Entry, summary: &mut Summary, model: &mut Model| {
        summary.entry(&e);
        model.entry(&e);
    };
    for step in steps {
        match step {
            Step::Switch { m, old, new } => {
                let (a, b) = (addr(*old), addr(*new));
                let payload = format!("{} {} {} {} {}", name(*m), a.host, a.port, b.host, b.port);
                summary.input(&Input::Message {
                    at: now,
                    sentinel: "10.9.0.1:26379".into(),
                    channel: "+switch-master".into(),
                    payload: payload.into(),
                });
                model.switch(now, &name(*m), &a, &b);
            }
            Step::Write(list) => {
                let id = EffectId(next_id);
                next_id += 1;
                effects.push(id);
                let changes = list
                    .iter()
                    .map(|(m, from, to)| Change {
                        name: name(*m),
                        from: Some(addr(*from)),
                        to: to.map(addr),
                    })
                    .collect();
                let write = Effect::WriteConfig {
                    id,
                    text: Arc::new(String::new()),
                    changes,
                };
                entry(Entry::Effect(now, write), &mut summary, &mut model);
            }
            Step::Reload => {
                let id = EffectId(next_id);
                next_id += 1;
                effects.push(id);
                let reload = Effect::RunReload { id };
                entry(Entry::Effect(now, reload), &mut summary, &mut model);
            }
            Step::Fail { back } => {
                if let Some(id) = effects.iter().rev().nth(*back) {
                    let failed = Entry::Failed(now, *id, "injected".into());
                    entry(failed, &mut summary, &mut model);
                }
            }
            Step::Wait(ms) => now = now + Millis(*ms),
        }
    }
    (summary, model)
}

proptest! {
    #![proptest_config(proptest_config::config(512, Some("proptest-regressions/replay_summary.txt")))]

    #[test]
    fn the_summary_is_the_reference_rule(steps in prop::collection::vec(step(), 0..80)) {
        let (summary, model) = play(&steps);
        prop_assert_eq!(rows(&summary), model.rows());
    }
}

/// Back-to-back failovers of twenty masters, each written and reloaded, with a write and
/// a reload failing now and then: the same summary as the reference.
#[test]
fn a_long_run_of_failovers_is_summed_up_as_the_reference_does() {
    let mut steps = Vec::new();
    for k in 0..3_000usize {
        let m = k % 20;
        let side = (k / 20) % 2;
        steps.push(Step::Switch {
            m,
            old: side,
            new: 1 - side,
        });
        steps.push(Step::Wait(10));
        steps.push(Step::Write(vec![(m, side, Some(1 - side))]));
        if k % 97 == 0 {
            steps.push(Step::Fail { back: 0 });
            steps.push(Step::Write(vec![(m, side, Some(1 - side))]));
        }
        steps.push(Step::Reload);
        if k % 89 == 0 {
            steps.push(Step::Fail { back: 0 });
            steps.push(Step::Reload);
        }
    }
    let (summary, model) = play(&steps);
    let got = rows(&summary);
    assert_eq!(got.len(), 3_000);
    assert_eq!(got, model.rows());
}
