//! What the core tells operators, driven by hand on virtual time: the switch-to-reload
//! latency and reload durations (histograms), moves per master, messages per channel,
//! links, and the health and readiness facts `/healthz` and `/readyz` serve. Every
//! expected figure is worked out here from the times fed in.

use tpc::core::histogram::Histogram;
use tpc::core::{Addr, Core, CoreSettings, Effect, EffectId, Input, MasterInfo, Millis, Outcome};

const WAIT: Millis = Millis(10_000);

/// A core fed by hand: each input's effects are kept until taken.
struct Hand {
    core: Core,
    effects: Vec<Effect>,
}

impl Hand {
    fn new(on_disk: Option<String>) -> Hand {
        let settings = CoreSettings {
            wait: WAIT,
            // Confirming queries come late: the writes and reloads are what is seen.
            confirm_grace: Millis(600_000),
            ..CoreSettings::default()
        };
        Hand {
            core: Core::new(settings, on_disk),
            effects: Vec::new(),
        }
    }

    fn feed(&mut self, input: Input<'static>) {
        self.core.handle(input);
        self.effects
            .extend(std::iter::from_fn(|| self.core.poll_effect()));
    }

    /// The id of the one write (`write: true`) or reload asked for since last taken.
    fn take(&mut self, write: bool) -> EffectId {
        let ids: Vec<EffectId> = self
            .effects
            .drain(..)
            .filter_map(|e| match e {
                Effect::WriteConfig { id, .. } if write => Some(id),
                Effect::RunReload { id } if !write => Some(id),
                _ => None,
            })
            .collect();
        assert_eq!(
            ids.len(),
            1,
            "one {} expected",
            ["reload", "write"][write as usize]
        );
        ids[0]
    }

    fn done(&mut self, at: u64, id: EffectId, error: Option<&str>) {
        let outcome = match error {
            None => Outcome::Ok,
            Some(e) => Outcome::Failed { error: e.into() },
        };
        self.feed(Input::Done {
            at: Millis(at),
            id,
            outcome,
        });
    }

    /// Writes and reloads: the write done at `written`, the reload done at `reloaded`.
    fn write_and_reload(&mut self, written: u64, reloaded: u64) {
        let w = self.take(true);
        self.done(written, w, None);
        let r = self.take(false);
        self.done(reloaded, r, None);
    }
}

fn addr(port: u16) -> Addr {
    Addr {
        host: "10.0.0.1".into(),
        port,
    }
}

fn snapshot(at: u64, sentinel: &'static str, masters: &[(&str, u16, u64)]) -> Input<'static> {
    Input::Snapshot {
        at: Millis(at),
        sentinel: sentinel.into(),
        replicas: Default::default(),
        masters: masters
            .iter()
            .map(|(name, port, epoch)| MasterInfo {
                name: name.to_string(),
                addr: addr(*port),
                epoch: Some(*epoch),
            })
            .collect(),
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
    let payload = format!("{name} 10.0.0.1 {from} 10.0.0.1 {to}");
    message(at, "+switch-master", &payload)
}

/// A core that started with node-1 and node-2 on ports 1 and 2, written and reloaded.
fn started() -> Hand {
    let mut hand = Hand::new(None);
    hand.feed(snapshot(0, "s1", &[("node-1", 1, 1), ("node-2", 2, 1)]));
    hand.write_and_reload(0, 0);
    hand
}

/// `(bound in ms, count)` of the non-empty buckets.
fn filled(h: &Histogram) -> Vec<(u64, u64)> {
    h.buckets()
        .filter(|(_, n)| *n > 0)
        .map(|(bound, n)| (bound.as_u64(), n))
        .collect()
}

#[test]
fn switch_to_reload_latency_runs_from_first_seen_to_the_reload_start() {
    let mut hand = started();
    assert_eq!(hand.core.switch_latency().count(), 0, "start-up is no move");
    // Past the wait: written at once; the write takes 40 ms, the reload starts then.
    hand.feed(switch(20_000, "node-1", 1, 11));
    hand.write_and_reload(20_040, 20_290);
    assert_eq!(filled(hand.core.switch_latency()), [(50, 1)]);
    assert_eq!(hand.core.switch_latency().sum(), Millis(40));
    // Within the wait of that reload (started at 20 040): both moves wait until 30 040,
    // and each counts from when it was first seen.
    hand.feed(switch(21_000, "node-2", 2, 12));
    hand.feed(switch(22_000, "node-1", 11, 21));
    hand.feed(Input::Tick { at: Millis(30_040) });
    hand.write_and_reload(30_100, 30_200);
    let latency = hand.core.switch_latency();
    assert_eq!(filled(latency), [(50, 1), (10_000, 2)]);
    assert_eq!(latency.sum(), Millis(40 + 9_100 + 8_100));
    // Reload durations: 0 at start, 250 ms, 100 ms.
    let durations = &hand.core.stats().reload_durations;
    assert_eq!(filled(durations), [(5, 1), (100, 1), (250, 1)]);
    assert_eq!(durations.sum(), Millis(350));
}

#[test]
fn a_failed_write_keeps_counting_and_a_move_undone_before_its_write_counts_nothing() {
    let mut hand = started();
    hand.feed(switch(20_000, "node-1", 1, 11));
    let w = hand.take(true);
    hand.done(20_010, w, Some("disk full"));
    assert_eq!(hand.core.write_error(), Some("disk full"));
    // Retried after its back-off; the latency still counts from 20 000.
    let retry = hand.core.poll_timeout().unwrap();
    hand.feed(Input::Tick { at: retry });
    hand.write_and_reload(retry.as_u64(), retry.as_u64());
    assert_eq!(hand.core.write_error(), None);
    let latency = hand.core.switch_latency();
    assert_eq!(
        (latency.count(), latency.sum()),
        (1, retry - Millis(20_000))
    );
    // node-2 moves and back within the wait: nothing to write, nothing to count.
    let quiet = retry.as_u64() + 1;
    hand.feed(switch(quiet, "node-2", 2, 12));
    hand.feed(switch(quiet + 1, "node-2", 12, 2));
    hand.feed(Input::Tick {
        at: Millis(quiet + 20_000),
    });
    assert!(hand
        .effects
        .iter()
        .all(|e| !matches!(e, Effect::WriteConfig { .. })));
    assert_eq!(hand.core.switch_latency().count(), 1);
    assert_eq!(hand.core.stats().moves["node-2"], 2);
}

#[test]
fn moves_are_counted_per_master_whichever_way_they_come() {
    let mut hand = started();
    hand.feed(switch(20_000, "node-1", 1, 11));
    // The same switch again (another sentinel would say it too): no second move.
    hand.feed(switch(20_001, "node-1", 1, 11));
    // node-2 moves by an answer with a newer epoch.
    hand.feed(snapshot(
        20_002,
        "s1",
        &[("node-1", 11, 2), ("node-2", 12, 2)],
    ));
    let moves = &hand.core.stats().moves;
    assert_eq!(
        moves
            .iter()
            .map(|(n, c)| (n.as_str(), *c))
            .collect::<Vec<_>>(),
        [("node-1", 1), ("node-2", 1)]
    );
    assert_eq!(hand.core.masters_known(), 2);
}

#[test]
fn messages_count_per_channel_and_link_errors_apart() {
    let mut hand = started();
    hand.feed(message(1, "+sdown", "master node-1 10.0.0.1 1"));
    hand.feed(message(2, "+sdown", "garbage"));
    hand.feed(message(3, "+tilt", "#tilt mode entered"));
    let down = |at| Input::LinkDown {
        at: Millis(at),
        sentinel: "s1".into(),
        reason: "connection refused".into(),
    };
    hand.feed(down(4));
    hand.feed(down(5));
    let stats = hand.core.stats();
    let sdown = stats.channels["+sdown"];
    assert_eq!((sdown.ok, sdown.error), (1, 1));
    assert_eq!(
        (stats.channels["+tilt"].ok, stats.channels["+tilt"].error),
        (1, 0)
    );
    assert_eq!(stats.link_errors, 2);
}

#[test]
fn links_ready_in_sync_and_reload_errors_are_told() {
    let mut hand = Hand::new(None);
    let up = |at, s: &'static str| Input::LinkUp {
        at: Millis(at),
        sentinel: s.into(),
    };
    hand.feed(up(0, "s1"));
    hand.feed(up(0, "s2"));
    hand.feed(snapshot(1, "s1", &[("node-1", 1, 1)]));
    assert!(
        !hand.core.is_ready(),
        "s2 has not answered, nothing written"
    );
    hand.feed(snapshot(2, "s2", &[("node-1", 1, 1)]));
    assert!(
        !hand.core.is_ready() && !hand.core.in_sync(),
        "being written"
    );
    let w = hand.take(true);
    hand.done(3, w, None);
    assert!(hand.core.is_ready() && hand.core.in_sync());
    let r = hand.take(false);
    hand.done(50, r, Some("exit code 1"));
    assert_eq!(hand.core.reload_error(), Some("exit code 1"));
    assert_eq!(hand.core.last_reload_ok(), None);
    let retry = hand.core.poll_timeout().unwrap();
    hand.feed(Input::Tick { at: retry });
    let r = hand.take(false);
    hand.done(retry.as_u64() + 7, r, None);
    assert_eq!(hand.core.reload_error(), None);
    assert_eq!(hand.core.last_reload_ok(), Some(retry + Millis(7)));
    hand.feed(Input::LinkDown {
        at: retry + Millis(8),
        sentinel: "s2".into(),
        reason: "EOF".into(),
    });
    let links: Vec<(&str, bool)> = hand.core.links().collect();
    assert_eq!(links, [("s1", true), ("s2", false)]);
}

#[test]
fn a_file_found_right_at_start_makes_tpc_ready_without_a_write() {
    let mut first = started();
    let on_disk = first.core.on_disk().map(str::to_string);
    first.effects.clear();
    let mut hand = Hand::new(on_disk);
    hand.feed(snapshot(0, "s1", &[("node-1", 1, 1), ("node-2", 2, 1)]));
    assert!(hand.effects.is_empty(), "{:?}", hand.effects);
    assert!(hand.core.is_ready() && hand.core.in_sync());
    // A file that differs is not ready until written.
    let mut stale = Hand::new(Some("old: config\n".into()));
    stale.feed(snapshot(0, "s1", &[("node-1", 1, 1)]));
    assert!(!stale.core.is_ready() && !stale.core.in_sync());
}
