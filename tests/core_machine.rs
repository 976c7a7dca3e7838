//! The core's decisions, one behaviour at a time, driven by hand with virtual time.

use tpc::core::{Addr, Core, CoreSettings, Effect, EffectId, Input, MasterInfo, Millis, Outcome};

const WAIT: Millis = Millis(10_000);

/// Confirmations of pub/sub switches come after every wait here, so that the write and
/// reload timers are what these tests see.
const GRACE: Millis = Millis(60_000);

fn settings(pattern: &str) -> CoreSettings {
    CoreSettings {
        master_pattern: pattern.into(),
        wait: WAIT,
        confirm_grace: GRACE,
        ..CoreSettings::default()
    }
}

fn addr(port: u16) -> Addr {
    Addr {
        host: "10.0.0.1".into(),
        port,
    }
}

fn master(name: &str, port: u16, epoch: u64) -> MasterInfo {
    MasterInfo {
        name: name.into(),
        addr: addr(port),
        epoch: Some(epoch),
    }
}

fn snapshot(at: u64, masters: Vec<MasterInfo>) -> Input<'static> {
    Input::Snapshot {
        at: Millis(at),
        sentinel: "s1".into(),
        replicas: Default::default(),
        masters,
    }
}

fn message(at: u64, channel: &str, payload: &str) -> Input<'static> {
    Input::Message {
        at: Millis(at),
        sentinel: "s1".into(),
        channel: channel.to_string().into(),
        payload: payload.to_string().into(),
    }
}

fn switch(at: u64, name: &str, from: u16, to: u16) -> Input<'static> {
    message(
        at,
        "+switch-master",
        &format!("{name} 10.0.0.1 {from} 10.0.0.1 {to}"),
    )
}

fn done(at: u64, id: EffectId, ok: bool) -> Input<'static> {
    Input::Done {
        at: Millis(at),
        id,
        outcome: if ok {
            Outcome::Ok
        } else {
            Outcome::Failed {
                error: "boom".into(),
            }
        },
    }
}

fn drain(core: &mut Core) -> Vec<Effect> {
    std::iter::from_fn(|| core.poll_effect()).collect()
}

/// The only write among `effects`: its id and text.
fn the_write(effects: &[Effect]) -> (EffectId, String) {
    let writes: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::WriteConfig { id, text, .. } => Some((*id, text.to_string())),
            _ => None,
        })
        .collect();
    assert_eq!(writes.len(), 1, "expected one write in {effects:?}");
    writes[0].clone()
}

fn the_reload(effects: &[Effect]) -> EffectId {
    let ids: Vec<_> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::RunReload { id } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 1, "expected one reload in {effects:?}");
    ids[0]
}

fn notes(effects: &[Effect]) -> Vec<String> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Notify { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// Completes the write in `effects` and the reload that follows, at `at`.
fn finish(core: &mut Core, effects: &[Effect], at: u64) {
    let (w, _) = the_write(effects);
    core.handle(done(at, w, true));
    let r = the_reload(&drain(core));
    core.handle(done(at, r, true));
}

/// A core that has written and reloaded `node-1` at port 1 and `node-2` at port 2 at t=0.
fn settled() -> Core {
    let mut core = Core::new(settings(""), None);
    core.handle(snapshot(
        0,
        vec![master("node-1", 1, 1), master("node-2", 2, 1)],
    ));
    let effects = drain(&mut core);
    finish(&mut core, &effects, 0);
    assert!(drain(&mut core).is_empty());
    core
}

#[test]
fn first_snapshot_is_written_then_reloaded() {
    let mut core = Core::new(settings(""), None);
    core.handle(snapshot(
        5,
        vec![master("node-2", 2, 1), master("node-1", 1, 1)],
    ));
    let effects = drain(&mut core);
    let (w, text) = the_write(&effects);
    assert!(
        text.contains("  - 10.0.0.1:1:1 node-1\n  - 10.0.0.1:2:1 node-2\n"),
        "{text}"
    );
    assert!(effects
        .iter()
        .all(|e| !matches!(e, Effect::RunReload { .. })));
    core.handle(done(7, w, true));
    the_reload(&drain(&mut core));
    assert_eq!(core.on_disk(), Some(text.as_str()));
}

#[test]
fn a_switch_after_a_quiet_period_applies_at_once() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 1, 11));
    let effects = drain(&mut core);
    let (w, text) = the_write(&effects);
    assert!(text.contains("10.0.0.1:11:1 node-1"));
    assert_eq!(
        notes(&effects),
        ["+switch-master: node-1 moved from 10.0.0.1:1 to 10.0.0.1:11"]
    );
    core.handle(done(20_001, w, true));
    the_reload(&drain(&mut core));
}

#[test]
fn changes_during_the_wait_are_applied_together_when_it_ends() {
    let mut core = settled();
    core.handle(switch(1_000, "node-1", 1, 11));
    core.handle(switch(2_000, "node-2", 2, 12));
    assert!(drain(&mut core)
        .iter()
        .all(|e| matches!(e, Effect::Notify { .. } | Effect::QueryMaster { .. })));
    assert_eq!(core.poll_timeout(), Some(WAIT));
    core.handle(Input::Tick { at: Millis(9_999) });
    assert!(drain(&mut core).is_empty(), "too early");
    core.handle(Input::Tick { at: WAIT });
    let effects = drain(&mut core);
    let Effect::WriteConfig { id, changes, .. } = &effects[0] else {
        panic!("{effects:?}")
    };
    let changes: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        changes,
        [
            "node-1 10.0.0.1:1 -> 10.0.0.1:11",
            "node-2 10.0.0.1:2 -> 10.0.0.1:12"
        ]
    );
    core.handle(done(10_010, *id, true));
    let r = the_reload(&drain(&mut core));
    core.handle(done(10_500, r, true));
    // The next wait starts at that reload.
    core.handle(switch(15_000, "node-1", 11, 21));
    drain(&mut core);
    assert_eq!(core.poll_timeout(), Some(Millis(20_010)));
}

#[test]
fn an_unchanged_config_is_neither_written_nor_reloaded() {
    let mut core = settled();
    core.handle(snapshot(
        30_000,
        vec![master("node-1", 1, 1), master("node-2", 2, 1)],
    ));
    core.handle(switch(30_001, "node-1", 1, 1));
    assert!(drain(&mut core).is_empty());
    assert_eq!(core.poll_timeout(), None);

    let on_disk = core.on_disk().unwrap().to_string();
    let mut restarted = Core::new(settings(""), Some(on_disk));
    restarted.handle(snapshot(
        0,
        vec![master("node-1", 1, 1), master("node-2", 2, 1)],
    ));
    assert!(
        drain(&mut restarted).is_empty(),
        "same file on disk: nothing to do"
    );
}

#[test]
fn a_switch_needs_the_name_and_the_old_address() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 9, 11));
    assert_eq!(drain(&mut core), [query_master("node-1")]);
    core.handle(switch(20_000, "node-9", 1, 11));
    assert_eq!(drain(&mut core), [query_master("node-9")]);
    assert_eq!(core.stats().switches_ignored, 2);
    assert_eq!(core.masters()["node-1"], addr(1));
}

#[test]
fn the_same_switch_twice_counts_once() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 1, 11));
    assert_eq!(notes(&drain(&mut core)).len(), 1);
    core.handle(switch(20_001, "node-1", 1, 11));
    assert!(drain(&mut core).is_empty());
}

#[test]
fn masters_outside_the_pattern_never_appear() {
    let mut core = Core::new(settings("node"), None);
    core.handle(snapshot(
        0,
        vec![master("node-1", 1, 1), master("cache-1", 3, 1)],
    ));
    let (_, text) = the_write(&drain(&mut core));
    assert!(!text.contains("cache-1"));
    core.handle(message(1, "+monitor", "master cache-2 10.0.0.1 4 quorum 2"));
    assert!(!core.masters().contains_key("cache-2"));
}

#[test]
fn monitor_adds_and_unmonitor_removes() {
    let mut core = settled();
    core.handle(message(
        20_000,
        "+monitor",
        "master node-3 10.0.0.1 3 quorum 2",
    ));
    let effects = drain(&mut core);
    let (_, text) = the_write(&effects);
    assert!(text.contains("10.0.0.1:3:1 node-3"));
    finish(&mut core, &effects, 20_000);
    core.handle(message(40_000, "-monitor", "master node-3 10.0.0.1 3"));
    core.handle(Input::Tick { at: Millis(40_000) });
    let (_, text) = the_write(&drain(&mut core));
    assert!(!text.contains("node-3"));
}

#[test]
fn a_snapshot_never_drops_a_master_it_does_not_list() {
    let mut core = settled();
    core.handle(snapshot(20_000, vec![master("node-1", 1, 1)]));
    assert!(drain(&mut core).is_empty());
    assert!(core.masters().contains_key("node-2"));
}

/// One sentinel naming a master twice in one answer (real Sentinel never does) gives two
/// words for it: neither is taken, in whatever order or epochs they come.
#[test]
fn a_master_given_twice_in_one_answer_is_taken_from_neither_entry() {
    let mut core = settled();
    for twice in [
        vec![
            master("node-1", 11, 5),
            master("node-2", 2, 1),
            master("node-1", 12, 3),
        ],
        vec![
            master("node-1", 12, 3),
            master("node-1", 11, 5),
            master("node-2", 2, 1),
        ],
    ] {
        core.handle(snapshot(20_000, twice));
        assert!(drain(&mut core).is_empty(), "nothing moves");
        assert_eq!(core.masters()["node-1"], addr(1));
    }
    // A master new to tpc given twice is not added.
    core.handle(snapshot(
        30_000,
        vec![
            master("node-1", 1, 1),
            master("node-3", 3, 1),
            master("node-3", 4, 1),
        ],
    ));
    assert!(drain(&mut core).is_empty());
    assert!(!core.masters().contains_key("node-3"));
}

#[test]
fn a_switch_proves_nothing_the_answers_decide() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 1, 11));
    drain(&mut core);
    assert_eq!(core.masters()["node-1"], addr(11));
    // The announcing sentinel's next answer still shows the old address at the same
    // epoch: the switch was wrong, and raised no epoch that could pin it.
    core.handle(snapshot(
        20_001,
        vec![master("node-1", 1, 1), master("node-2", 2, 1)],
    ));
    assert_eq!(core.masters()["node-1"], addr(1));
    // A newer epoch moves it.
    core.handle(snapshot(20_002, vec![master("node-1", 21, 3)]));
    assert_eq!(core.masters()["node-1"], addr(21));
}

#[test]
fn a_lagging_sentinel_cannot_undo_a_confirmed_switch() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 1, 11));
    core.handle(snapshot(20_001, vec![master("node-1", 11, 2)]));
    drain(&mut core);
    // Another sentinel has not heard of the failover yet.
    core.handle(Input::Snapshot {
        at: Millis(20_002),
        sentinel: "s2".into(),
        replicas: Default::default(),
        masters: vec![master("node-1", 1, 1)],
    });
    assert_eq!(core.masters()["node-1"], addr(11));
}

#[test]
fn no_masters_no_config() {
    let mut core = Core::new(settings(""), None);
    core.handle(snapshot(0, vec![]));
    assert!(drain(&mut core).is_empty());
}

#[test]
fn a_failed_write_keeps_the_last_good_config_and_retries_with_backoff() {
    let mut core = settled();
    let good = core.on_disk().unwrap().to_string();
    core.handle(switch(20_000, "node-1", 1, 11));
    let (w, _) = the_write(&drain(&mut core));
    core.handle(done(20_000, w, false));
    let effects = drain(&mut core);
    assert_eq!(notes(&effects), ["Error writing config: boom"]);
    assert_eq!(core.on_disk(), Some(good.as_str()));
    assert_eq!(core.poll_timeout(), Some(Millis(21_000)));
    core.handle(Input::Tick { at: Millis(21_000) });
    let (w, _) = the_write(&drain(&mut core));
    core.handle(done(21_000, w, false));
    assert!(
        notes(&drain(&mut core)).is_empty(),
        "one notification per streak"
    );
    assert_eq!(core.poll_timeout(), Some(Millis(23_000)));
    core.handle(Input::Tick { at: Millis(23_000) });
    let (w, text) = the_write(&drain(&mut core));
    core.handle(done(23_000, w, true));
    let effects = drain(&mut core);
    assert_eq!(notes(&effects), ["Config written again after failures"]);
    the_reload(&effects);
    assert_eq!(core.on_disk(), Some(text.as_str()));
}

#[test]
fn a_failed_reload_is_retried_no_sooner_than_wait() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 1, 11));
    let (w, _) = the_write(&drain(&mut core));
    core.handle(done(20_000, w, true));
    let r = the_reload(&drain(&mut core));
    core.handle(done(20_100, r, false));
    assert_eq!(
        notes(&drain(&mut core)),
        ["Error running reload command: boom"]
    );
    assert_eq!(core.poll_timeout(), Some(Millis(30_000)));
    core.handle(Input::Tick { at: Millis(30_000) });
    let r = the_reload(&drain(&mut core));
    core.handle(done(30_000, r, true));
    assert_eq!(notes(&drain(&mut core)), ["Reload command succeeded again"]);
    assert_eq!(core.stats().reloads, 2);
}

#[test]
fn a_newer_config_supersedes_a_failing_reload() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 1, 11));
    let (w, _) = the_write(&drain(&mut core));
    core.handle(done(20_000, w, true));
    let r = the_reload(&drain(&mut core));
    core.handle(done(20_000, r, false));
    drain(&mut core);
    core.handle(switch(25_000, "node-2", 2, 12));
    drain(&mut core);
    core.handle(Input::Tick { at: Millis(30_000) });
    let effects = drain(&mut core);
    let (w, text) = the_write(&effects);
    assert!(text.contains(":11:1 node-1") && text.contains(":12:1 node-2"));
    core.handle(done(30_000, w, true));
    the_reload(&drain(&mut core));
}

#[test]
fn odown_is_notified_and_malformed_payloads_are_counted() {
    let mut core = settled();
    core.handle(message(1, "+odown", "master node-1 10.0.0.1 1 #quorum 2/2"));
    assert_eq!(
        notes(&drain(&mut core)),
        ["+odown: master node-1 10.0.0.1:1 #quorum 2/2 is objectively down"]
    );
    core.handle(message(2, "+switch-master", "node-1 10.0.0.1"));
    core.handle(message(3, "+sdown", "garbage"));
    assert!(drain(&mut core).is_empty());
    assert_eq!(core.stats().malformed, 2);
    assert_eq!(core.stats().messages, 3);
}

#[test]
fn hostile_names_are_refused() {
    let mut core = Core::new(settings(""), None);
    core.handle(snapshot(
        0,
        vec![MasterInfo {
            name: "evil\n  redis_auth: x".into(),
            addr: addr(1),
            epoch: None,
        }],
    ));
    assert!(drain(&mut core).is_empty());
    assert_eq!(core.stats().refused, 1);
}

#[test]
fn outcomes_for_unknown_ids_are_ignored() {
    let mut core = settled();
    core.handle(done(1, EffectId(999), false));
    assert!(drain(&mut core).is_empty());
}

fn query_master(name: &str) -> Effect {
    Effect::QueryMaster { name: name.into() }
}

/// Sentinel s1's answer to `SENTINEL MASTER <name>`.
fn master_answer(at: u64, name: &str, master: Option<MasterInfo>) -> Input<'static> {
    Input::MasterAnswer {
        at: Millis(at),
        sentinel: "s1".into(),
        name: name.to_string().into(),
        master,
        replicas: None,
    }
}

#[test]
fn an_applied_switch_is_confirmed_by_asking_about_its_master_alone() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 1, 11));
    let effects = drain(&mut core);
    assert!(effects.contains(&query_master("node-1")), "{effects:?}");
    assert!(!effects.contains(&Effect::Query), "{effects:?}");
}

/// Every effect from `from` until `until`, ticking the core when it asks and completing
/// writes and reloads at once; and the masters it ends with.
fn run_to(core: &mut Core, from: u64, until: u64) -> (Vec<Effect>, Vec<(String, Addr)>) {
    let (mut now, mut all) = (Millis(from), Vec::new());
    for _ in 0..1_000 {
        let effects = drain(core);
        let slow: Vec<EffectId> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::WriteConfig { id, .. } | Effect::RunReload { id } => Some(*id),
                _ => None,
            })
            .collect();
        all.extend(effects);
        if !slow.is_empty() {
            for id in slow {
                core.handle(done(now.0, id, true));
            }
            continue;
        }
        match core.poll_timeout() {
            Some(t) if t < Millis(until) => {
                now = now.max(t);
                core.handle(Input::Tick { at: now });
            }
            _ => break,
        }
    }
    (all, core.masters().into_iter().collect())
}

#[test]
fn an_answer_about_one_master_weighs_as_its_entry_in_a_whole_answer() {
    let node2 = master("node-2", 2, 1);
    // Confirms the switch; says the old address still; a newer failover elsewhere; an
    // older epoch elsewhere; no word about node-1.
    let cases = [
        Some(master("node-1", 11, 2)),
        Some(master("node-1", 1, 1)),
        Some(master("node-1", 21, 3)),
        Some(master("node-1", 31, 0)),
        None,
    ];
    for case in cases {
        let mut whole = settled();
        let mut one = settled();
        for core in [&mut whole, &mut one] {
            core.handle(switch(20_000, "node-1", 1, 11));
        }
        let mut entries: Vec<MasterInfo> = case.iter().cloned().collect();
        entries.push(node2.clone());
        whole.handle(snapshot(20_010, entries));
        one.handle(master_answer(20_010, "node-1", case.clone()));
        let (whole_effects, whole_masters) = run_to(&mut whole, 20_010, 300_000);
        let (one_effects, one_masters) = run_to(&mut one, 20_010, 300_000);
        assert!(!whole_effects.is_empty(), "{case:?}");
        assert_eq!(one_masters, whole_masters, "{case:?}");
        assert_eq!(one_effects, whole_effects, "{case:?}");
    }
}

#[test]
fn reconciling_queries_every_interval() {
    let mut core = Core::new(
        CoreSettings {
            reconcile: Millis(30_000),
            ..settings("")
        },
        None,
    );
    core.handle(Input::Tick { at: Millis(0) });
    assert_eq!(core.poll_timeout(), Some(Millis(30_000)));
    assert!(core.is_settled());
    core.handle(Input::Tick { at: Millis(29_999) });
    assert!(drain(&mut core).is_empty());
    core.handle(Input::Tick { at: Millis(30_000) });
    assert_eq!(
        drain(&mut core),
        [Effect::Query, Effect::ReadConfig { id: EffectId(1) }]
    );
    assert_eq!(core.poll_timeout(), Some(Millis(60_000)));
}

#[test]
fn losing_every_sentinel_is_said_once_and_so_is_regaining_one() {
    let mut core = settled();
    let up = |at, s: &'static str| Input::LinkUp {
        at: Millis(at),
        sentinel: s.into(),
    };
    let down = |at, s: &'static str| Input::LinkDown {
        at: Millis(at),
        sentinel: s.into(),
        reason: "connection closed".into(),
    };
    core.handle(up(1, "a"));
    core.handle(up(1, "b"));
    core.handle(down(2, "a"));
    assert!(notes(&drain(&mut core)).is_empty(), "b is still up");
    core.handle(down(3, "b"));
    assert_eq!(
        notes(&drain(&mut core)),
        ["No sentinel reachable: tpc cannot follow failovers until one answers"]
    );
    core.handle(down(4, "b"));
    assert!(notes(&drain(&mut core)).is_empty(), "said once");
    core.handle(up(5, "a"));
    assert_eq!(notes(&drain(&mut core)), ["Sentinel a reachable again"]);
}

#[test]
fn a_master_stays_while_another_sentinel_monitors_it() {
    let mut core = settled();
    let other = Input::Snapshot {
        at: Millis(20_000),
        sentinel: "s2".into(),
        replicas: Default::default(),
        masters: vec![master("node-1", 1, 1), master("node-2", 2, 1)],
    };
    core.handle(other);
    core.handle(message(30_000, "-monitor", "master node-2 10.0.0.1 2"));
    assert!(
        core.masters().contains_key("node-2"),
        "s2 still monitors it"
    );
    assert!(drain(&mut core).is_empty());
    let from_s2 = Input::Message {
        at: Millis(31_000),
        sentinel: "s2".into(),
        channel: "-monitor".into(),
        payload: "master node-2 10.0.0.1 2".into(),
    };
    core.handle(from_s2);
    assert!(!core.masters().contains_key("node-2"));
    let (_, text) = the_write(&drain(&mut core));
    assert!(!text.contains("node-2"));
}

#[test]
fn odown_from_every_sentinel_is_notified_once() {
    let mut core = settled();
    for s in ["s1", "s2", "s3"] {
        core.handle(Input::Message {
            at: Millis(1),
            sentinel: s.into(),
            channel: "+odown".into(),
            payload: "master node-1 10.0.0.1 1 #quorum 2/2".into(),
        });
    }
    assert_eq!(notes(&drain(&mut core)).len(), 1);
    core.handle(message(2, "-odown", "master node-1 10.0.0.1 1"));
    core.handle(message(3, "-odown", "master node-1 10.0.0.1 1"));
    assert_eq!(notes(&drain(&mut core)).len(), 1);
}

/// The read of the file asked for with each reconcile, if any among `effects`.
fn the_read(effects: &[Effect]) -> Option<EffectId> {
    effects.iter().find_map(|e| match e {
        Effect::ReadConfig { id } => Some(*id),
        _ => None,
    })
}

#[test]
fn a_file_changed_or_deleted_behind_tpcs_back_is_written_again_on_reconcile() {
    let mut core = Core::new(
        CoreSettings {
            reconcile: Millis(30_000),
            ..settings("")
        },
        None,
    );
    core.handle(snapshot(0, vec![master("node-1", 1, 1)]));
    let effects = drain(&mut core);
    let (_, good) = the_write(&effects);
    finish(&mut core, &effects, 0);
    drain(&mut core);

    // Unchanged: nothing to do.
    core.handle(Input::Tick { at: Millis(30_000) });
    let read = the_read(&drain(&mut core)).expect("a read with the reconcile");
    core.handle(Input::ConfigRead {
        at: Millis(30_001),
        id: read,
        text: Some(good.clone().into()),
    });
    assert!(drain(&mut core).is_empty());

    // Overwritten by hand: written again, reloaded, and said.
    core.handle(Input::Tick { at: Millis(60_000) });
    let read = the_read(&drain(&mut core)).unwrap();
    core.handle(Input::ConfigRead {
        at: Millis(60_001),
        id: read,
        text: Some("redis:\n  servers: []\n".into()),
    });
    let effects = drain(&mut core);
    assert_eq!(the_write(&effects).1, good);
    assert!(notes(&effects).iter().any(|n| n.contains("was changed")));
    finish(&mut core, &effects, 60_002);

    // Deleted: written again.
    core.handle(Input::Tick { at: Millis(90_000) });
    let read = the_read(&drain(&mut core)).unwrap();
    core.handle(Input::ConfigRead {
        at: Millis(90_001),
        id: read,
        text: None,
    });
    let effects = drain(&mut core);
    assert_eq!(the_write(&effects).1, good);
    assert!(notes(&effects).iter().any(|n| n.contains("was deleted")));

    // A read that started before a write completed says nothing about drift.
    finish(&mut core, &effects, 90_002);
    core.handle(Input::Tick {
        at: Millis(120_000),
    });
    let read = the_read(&drain(&mut core)).unwrap();
    core.handle(switch(120_001, "node-1", 1, 11));
    core.handle(snapshot(120_001, vec![master("node-1", 11, 2)]));
    let effects = drain(&mut core);
    let (w, _) = the_write(&effects);
    core.handle(done(120_002, w, true));
    core.handle(Input::ConfigRead {
        at: Millis(120_003),
        id: read,
        text: Some(good.into()),
    });
    let effects = drain(&mut core);
    assert!(
        effects
            .iter()
            .all(|e| !matches!(e, Effect::WriteConfig { .. })),
        "{effects:?}"
    );
}

#[test]
fn sentinels_disagreeing_at_the_same_epoch_hold_the_file_on_disk_and_are_said_once() {
    let on_disk = {
        let mut core = settled();
        core.handle(Input::Tick { at: Millis(1) });
        core.on_disk().unwrap().to_string()
    };
    let mut core = Core::new(
        CoreSettings {
            reconcile: Millis(1_000),
            sentinels: 2,
            ..settings("")
        },
        Some(on_disk.clone()),
    );
    let answer = |at: u64, sentinel: &'static str, port: u16| Input::Snapshot {
        at: Millis(at),
        sentinel: sentinel.into(),
        replicas: Default::default(),
        masters: vec![master("node-1", port, 5), master("node-2", 2, 1)],
    };
    let mut effects = Vec::new();
    for round in 0..5 {
        let at = round * 1_000;
        // The one that disagrees with the file answers first.
        core.handle(answer(at + 1, "b", 9));
        core.handle(answer(at + 2, "a", 1));
        core.handle(Input::Tick {
            at: Millis(at + 1_000),
        });
        effects.extend(drain(&mut core));
    }
    assert!(
        effects.iter().all(|e| matches!(
            e,
            Effect::Query | Effect::Notify { .. } | Effect::ReadConfig { .. }
        )),
        "{effects:?}"
    );
    assert_eq!(notes(&effects).len(), 1, "{effects:?}");
    assert!(notes(&effects)[0].contains("keeps 10.0.0.1:1"));
    assert_eq!(core.masters()["node-1"], addr(1));
    assert_eq!(core.stats().disagreements, 1);
}

/// Sentinel sends no `-odown` after a completed failover: the switch ends the odown, so
/// the new master's own `+odown` later is notified too.
#[test]
fn a_switch_ends_the_odown_so_the_next_one_is_notified() {
    let mut core = settled();
    core.handle(message(1, "+odown", "master node-1 10.0.0.1 1 #quorum 2/2"));
    core.handle(switch(2, "node-1", 1, 11));
    core.handle(snapshot(3, vec![master("node-1", 11, 2)]));
    core.handle(message(
        60_000,
        "+odown",
        "master node-1 10.0.0.1 11 #quorum 2/2",
    ));
    let odowns: Vec<String> = notes(&drain(&mut core))
        .into_iter()
        .filter(|n| n.starts_with("+odown"))
        .collect();
    assert_eq!(odowns.len(), 2, "{odowns:?}");
    assert!(odowns[1].contains("10.0.0.1:11"), "{odowns:?}");
}

/// A switch tpc followed and loaded, then overturned by the answers, is corrected at
/// once, not after `wait`; the next change waits as usual.
#[test]
fn a_switch_overturned_by_the_answers_is_corrected_without_waiting() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 1, 11));
    let effects = drain(&mut core);
    finish(&mut core, &effects, 20_001);
    // The sentinel's answer still shows the old address at the old epoch.
    core.handle(snapshot(
        20_002,
        vec![master("node-1", 1, 1), master("node-2", 2, 1)],
    ));
    let effects = drain(&mut core);
    let (w, text) = the_write(&effects);
    assert!(text.contains("10.0.0.1:1:1 node-1"), "{text}");
    core.handle(done(20_003, w, true));
    let r = the_reload(&drain(&mut core));
    core.handle(done(20_004, r, true));
    // An ordinary change now waits for the window after that reload.
    core.handle(snapshot(20_005, vec![master("node-2", 12, 2)]));
    assert!(drain(&mut core)
        .iter()
        .all(|e| !matches!(e, Effect::WriteConfig { .. })));
    assert_eq!(core.poll_timeout(), Some(Millis(20_003) + WAIT));
}

/// A failover that comes while a failed write backs off is written at once, not after
/// the back-off (the disk may be writable again); the failure streak is said once.
#[test]
fn a_failover_during_a_write_back_off_is_tried_at_once() {
    let mut core = settled();
    core.handle(switch(20_000, "node-1", 1, 11));
    let (w, _) = the_write(&drain(&mut core));
    core.handle(done(20_001, w, false));
    core.handle(Input::Tick { at: Millis(21_001) });
    let (w, _) = the_write(&drain(&mut core));
    core.handle(done(21_002, w, false));
    // Backing off until 23 002 ms: a switch at 21 500 ms is not held back by it.
    assert!(drain(&mut core)
        .iter()
        .all(|e| !matches!(e, Effect::WriteConfig { .. })));
    core.handle(switch(21_500, "node-2", 2, 12));
    let (_, text) = the_write(&drain(&mut core));
    assert!(
        text.contains("10.0.0.1:11:1 node-1") && text.contains("10.0.0.1:12:1 node-2"),
        "{text}"
    );
}

/// A write that adds a master fails (say the disk was full): a failover that comes
/// while it backs off is written at once without it; the added master follows when the
/// retry succeeds.
#[test]
fn a_failing_change_of_masters_never_holds_a_failover_back() {
    let mut core = settled();
    core.handle(message(
        20_000,
        "+monitor",
        "master node-3 10.0.0.1 3 quorum 2",
    ));
    let effects = drain(&mut core);
    let (w, text) = the_write(&effects);
    assert!(text.contains("node-3"));
    core.handle(done(20_001, w, false));
    assert!(drain(&mut core)
        .iter()
        .all(|e| !matches!(e, Effect::WriteConfig { .. })));

    core.handle(switch(20_100, "node-1", 1, 11));
    let effects = drain(&mut core);
    let (w, text) = the_write(&effects);
    assert!(
        text.contains("  - 10.0.0.1:11:1 node-1\n  - 10.0.0.1:2:1 node-2\n"),
        "{text}"
    );
    assert!(!text.contains("node-3"), "{text}");
    core.handle(done(20_101, w, true));
    let r = the_reload(&drain(&mut core));
    core.handle(done(20_102, r, true));

    // Past the back-off (and the wait after that reload), the whole change is retried.
    core.handle(Input::Tick { at: Millis(40_000) });
    let (w, text) = the_write(&drain(&mut core));
    assert!(
        text.contains("10.0.0.1:11:1 node-1") && text.contains("10.0.0.1:3:1 node-3"),
        "{text}"
    );
    core.handle(done(40_001, w, true));
    the_reload(&drain(&mut core));
}
