//! Replica pools (`-replica_pools`), through the core on virtual time: a replica pool's
//! server follows a healthy replica of its master (lowest priority, then address),
//! never one a sentinel reports down nor one only an event announced, falls back to the
//! master (and says so) while none is healthy, and follows the replicas across a
//! failover. Each written config is
//! checked against the template with the expected addresses put in by plain text
//! replacement, not by tpc's own template code.

mod core_run;

use core_run::Run;
use tpc::core::replicas::ReplicaInfo;
use tpc::core::template::Template;
use tpc::core::{Addr, CoreSettings, Input, MasterInfo, Millis};

const TEMPLATE: &str = "\
# writes go to the master, reads to a replica
main:
  listen: 127.0.0.1:22121
  redis: true
  servers:
   - 10.0.0.1:6379:1 m1
   - 10.0.1.1:6379:1 m2
read:
  listen: 127.0.0.1:22122
  redis: true
  servers:
   - 10.0.0.1:6379:1 m1   # follows a replica of m1
   - 10.0.1.1:6379:1 m2
";

fn addr(text: &str) -> Addr {
    Addr::parse(text).unwrap()
}

/// The template with `main`'s and `read`'s addresses of m1 and m2 as given.
fn expected(main: [&str; 2], read: [&str; 2]) -> String {
    let mut lines: Vec<String> = TEMPLATE.lines().map(str::to_string).collect();
    let servers = [(5, main[0]), (6, main[1]), (11, read[0]), (12, read[1])];
    for (line, to) in servers {
        let old = if lines[line].contains("m1") {
            "10.0.0.1:6379"
        } else {
            "10.0.1.1:6379"
        };
        lines[line] = lines[line].replacen(old, to, 1);
    }
    lines.join("\n") + "\n"
}

fn run() -> Run {
    let settings = CoreSettings {
        template: Some(Template::parse(TEMPLATE).unwrap()),
        replica_pools: ["read".to_string()].into(),
        wait: Millis::ZERO,
        sentinels: 1,
        ..CoreSettings::default()
    };
    Run::new(settings, Some(TEMPLATE))
}

fn at(t: u64) -> Millis {
    Millis(t)
}

/// Replicas as a sentinel lists them: (address, down, priority).
type List<'a> = &'a [(&'a str, bool, u32)];

/// A sentinel's answer: m1 at `m1` (m2 where the template has it), and the replicas
/// of `of` as `list`.
fn answer(t: u64, m1: &str, epoch: u64, of: &str, list: List) -> Input<'static> {
    answer_of(t, m1, epoch, &[(of, list)])
}

/// A sentinel's answer: m1 at `m1` (m2 where the template has it), and the replicas of
/// each master listed.
fn answer_of(t: u64, m1: &str, epoch: u64, replicas: &[(&str, List)]) -> Input<'static> {
    let master = |name: &str, a: &str| MasterInfo {
        name: name.into(),
        addr: addr(a),
        epoch: Some(epoch),
    };
    let infos = |list: List| {
        list.iter()
            .map(|(a, down, priority)| ReplicaInfo {
                addr: addr(a),
                down: *down,
                priority: *priority,
            })
            .collect()
    };
    Input::Snapshot {
        at: at(t),
        sentinel: "s1".into(),
        masters: vec![master("m1", m1), master("m2", "10.0.1.1:6379")],
        replicas: replicas
            .iter()
            .map(|(of, list)| (of.to_string(), infos(list)))
            .collect(),
    }
}

fn message(t: u64, channel: &str, payload: &str) -> Input<'static> {
    Input::Message {
        at: at(t),
        sentinel: "s1".into(),
        channel: channel.to_string().into(),
        payload: payload.to_string().into(),
    }
}

fn replica_event(t: u64, channel: &str, replica: &str, master: &str) -> Input<'static> {
    let (host, port) = replica.split_once(':').unwrap();
    let payload = format!(
        "slave {replica} {host} {port} @ m1 {}",
        master.replace(':', " ")
    );
    message(t, channel, &payload)
}

#[test]
fn a_replica_pool_follows_a_healthy_replica_and_falls_back_to_the_master() {
    let mut run = run();
    run.feed(Input::LinkUp {
        at: at(0),
        sentinel: "s1".into(),
    });
    run.feed(answer(
        1,
        "10.0.0.1:6379",
        1,
        "m1",
        &[("10.0.0.2:6379", false, 100), ("10.0.0.3:6379", false, 50)],
    ));
    // The first config, at once: lowest priority first; m2 has no replica: its master.
    assert_eq!(run.writes.len(), 1, "one write at start");
    assert_eq!(
        run.last(),
        expected(
            ["10.0.0.1:6379", "10.0.1.1:6379"],
            ["10.0.0.3:6379", "10.0.1.1:6379"]
        )
    );
    // The chosen replica goes down: the next one.
    run.feed(replica_event(
        10,
        "+sdown",
        "10.0.0.3:6379",
        "10.0.0.1:6379",
    ));
    assert_eq!(
        run.last(),
        expected(
            ["10.0.0.1:6379", "10.0.1.1:6379"],
            ["10.0.0.2:6379", "10.0.1.1:6379"]
        )
    );
    // No healthy replica: the master, said once.
    let notes = run.notes.len();
    run.feed(replica_event(
        20,
        "+sdown",
        "10.0.0.2:6379",
        "10.0.0.1:6379",
    ));
    assert_eq!(
        run.last(),
        expected(
            ["10.0.0.1:6379", "10.0.1.1:6379"],
            ["10.0.0.1:6379", "10.0.1.1:6379"]
        )
    );
    let said: Vec<&String> = run.notes[notes..]
        .iter()
        .filter(|n| n.contains("No healthy replica of m1"))
        .collect();
    assert_eq!(said.len(), 1, "{:?}", run.notes);

    // A failover to .2 (down as a replica a moment ago, but the sentinels promoted it):
    // the master moves; .3 comes back and the read pool follows it.
    run.feed(message(
        30,
        "+switch-master",
        "m1 10.0.0.1 6379 10.0.0.2 6379",
    ));
    run.feed(answer(
        31,
        "10.0.0.2:6379",
        2,
        "m1",
        &[("10.0.0.1:6379", true, 100), ("10.0.0.3:6379", true, 50)],
    ));
    assert_eq!(
        run.last(),
        expected(
            ["10.0.0.2:6379", "10.0.1.1:6379"],
            ["10.0.0.2:6379", "10.0.1.1:6379"]
        )
    );
    // .3 is back (-sdown): the sentinels are asked, and their answer says it is healthy.
    let (writes, queries) = (run.writes.len(), run.queries.len());
    run.feed(replica_event(
        40,
        "-sdown",
        "10.0.0.3:6379",
        "10.0.0.2:6379",
    ));
    assert_eq!(
        run.writes.len(),
        writes,
        "an event alone says nothing of health"
    );
    assert_eq!(run.queries.len(), queries + 1, "-sdown asks the sentinels");
    run.feed(answer(
        41,
        "10.0.0.2:6379",
        2,
        "m1",
        &[("10.0.0.1:6379", true, 100), ("10.0.0.3:6379", false, 50)],
    ));
    assert_eq!(
        run.last(),
        expected(
            ["10.0.0.2:6379", "10.0.1.1:6379"],
            ["10.0.0.3:6379", "10.0.1.1:6379"]
        )
    );
    // The old master is back as a replica; priority 100 against .3's 50: .3 stays.
    let writes = run.writes.len();
    run.feed(replica_event(
        50,
        "+convert-to-slave",
        "10.0.0.1:6379",
        "10.0.0.2:6379",
    ));
    run.feed(answer(
        51,
        "10.0.0.2:6379",
        2,
        "m1",
        &[("10.0.0.1:6379", false, 100), ("10.0.0.3:6379", false, 50)],
    ));
    assert_eq!(run.writes.len(), writes, "nothing to change");
}

#[test]
fn replicas_come_from_answers_and_events_of_followed_masters_only() {
    let mut run = run();
    run.feed(answer(
        1,
        "10.0.0.1:6379",
        1,
        "m2",
        &[("10.0.1.2:6379", false, 1)],
    ));
    // m2 is in the read pool too: its replica from the answer is followed; m1 has no
    // answer about replicas yet, so its read server points at its master.
    assert_eq!(
        run.last(),
        expected(
            ["10.0.0.1:6379", "10.0.1.1:6379"],
            ["10.0.0.1:6379", "10.0.1.2:6379"]
        )
    );
    // A replica announced by an event (+slave comes before the sentinel has even
    // connected to it): the sentinels are asked, but it is not chosen on the event's word,
    // not even once .2 is down.
    let (writes, queries) = (run.writes.len(), run.queries.len());
    let m2 = |t, channel, replica: &str| {
        let (host, port) = replica.split_once(':').unwrap();
        message(
            t,
            channel,
            &format!("slave {replica} {host} {port} @ m2 10.0.1.1 6379"),
        )
    };
    run.feed(m2(3, "+slave", "10.0.1.3:6379"));
    assert_eq!(run.writes.len(), writes);
    assert_eq!(run.queries.len(), queries + 1, "+slave asks the sentinels");
    run.feed(m2(4, "+sdown", "10.0.1.2:6379"));
    assert_eq!(
        run.last(),
        expected(
            ["10.0.0.1:6379", "10.0.1.1:6379"],
            ["10.0.0.1:6379", "10.0.1.1:6379"]
        )
    );
    // The answer lists it healthy: now it is followed.
    run.feed(answer(
        5,
        "10.0.0.1:6379",
        1,
        "m2",
        &[("10.0.1.2:6379", true, 1), ("10.0.1.3:6379", false, 100)],
    ));
    assert_eq!(
        run.last(),
        expected(
            ["10.0.0.1:6379", "10.0.1.1:6379"],
            ["10.0.0.1:6379", "10.0.1.3:6379"]
        )
    );
    // A master that no pool names: ignored.
    let writes = run.writes.len();
    run.feed(answer(
        6,
        "10.0.0.1:6379",
        1,
        "other",
        &[("10.9.9.9:6379", false, 1)],
    ));
    run.feed(message(
        7,
        "+slave",
        "slave 10.9.9.8:6379 10.9.9.8 6379 @ other 10.9.9.9 6379",
    ));
    assert_eq!(run.writes.len(), writes);
}

/// Right after a failover the sentinels list the replicas as disconnected, and no event
/// follows once they connect: while no replica is healthy, tpc asks again after 1 s,
/// 2 s, 4 s, ... (a minute at most), and stops once one is.
#[test]
fn while_no_replica_is_healthy_the_sentinels_are_asked_again_less_and_less_often() {
    let mut run = run();
    run.feed(Input::LinkUp {
        at: at(0),
        sentinel: "s1".into(),
    });
    let m2: List = &[("10.0.1.2:6379", false, 100)];
    let m1 = |down| [("10.0.0.2:6379", down, 100)];
    run.feed(answer_of(
        1,
        "10.0.0.1:6379",
        1,
        &[("m1", &m1(false)), ("m2", m2)],
    ));
    let read_on = |replica| {
        expected(
            ["10.0.0.1:6379", "10.0.1.1:6379"],
            [replica, "10.0.1.2:6379"],
        )
    };
    assert_eq!(run.last(), read_on("10.0.0.2:6379"));
    let asked = run.queries.len();
    run.feed(Input::Tick { at: at(999) });
    run.feed(answer_of(
        1000,
        "10.0.0.1:6379",
        1,
        &[("m1", &m1(true)), ("m2", m2)],
    ));
    assert_eq!(
        run.queries.len(),
        asked,
        "not asked while every pool has a replica"
    );
    assert_eq!(run.last(), read_on("10.0.0.1:6379"));
    run.feed(Input::Tick { at: at(200_000) });
    let again: Vec<u64> = run.queries[asked..].to_vec();
    assert_eq!(
        again,
        [2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 124_000, 184_000],
        "asked again at these times (ms)"
    );
    run.feed(answer_of(
        200_001,
        "10.0.0.1:6379",
        1,
        &[("m1", &m1(false)), ("m2", m2)],
    ));
    assert_eq!(run.last(), read_on("10.0.0.2:6379"));
    let asked = run.queries.len();
    run.feed(Input::Tick { at: at(1_000_000) });
    assert_eq!(
        run.queries.len(),
        asked,
        "not asked again once a replica is healthy"
    );
}
