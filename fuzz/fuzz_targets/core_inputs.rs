//! Fuzzes the core state machine: a `Core` fed a sequence of inputs built from the
//! fuzz bytes (messages, snapshots, ticks, outcomes of effects, link changes), with
//! time that never goes backwards, draining `poll_effect()` after each.
//!
//! Names, hosts, ports, channels and sentinels come from small vocabularies, so that
//! failovers actually match known masters, mixed with raw fuzzed strings. Checked:
//! - no panic;
//! - every `WriteConfig` text parses as a nutcracker config, lists exactly the masters
//!   the core knows, and differs from the config on disk;
//! - at most one write or reload is in flight at a time;
//! - two reloads start at least `wait` apart;
//! - every master the core knows has a valid name, a valid host and a non-zero port.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use tpc::core::addr::is_valid_host;
use tpc::core::event::is_valid_name;
use tpc::core::render::{parse, render, servers_of};
use tpc::core::{Addr, Core, CoreSettings, Effect, EffectId, Input, MasterInfo, Millis, Outcome};

const NAMES: &[&str] = &[
    "node-1",
    "node-2",
    "node-25",
    "cache_01.prod",
    "a b",
    "a:b",
    "x\ny",
    "- [y]",
    "é",
    "",
];
const HOSTS: &[&str] = &["127.0.0.1", "10.0.0.1", "::1", "redis-a.local", "fe80::1:"];
const PORTS: &[u16] = &[6379, 6380, 7000, 26379];
const CHANNELS: &[&str] = &[
    "+switch-master",
    "+monitor",
    "-monitor",
    "+odown",
    "-odown",
    "+sdown",
    "+slave",
    "+failover-end",
    "+new-epoch",
    "+tilt",
];
const SENTINELS: &[&str] = &["127.0.0.1:26379", "127.0.0.1:26380", "[::1]:26381"];
const KINDS: &[&str] = &["master", "slave", "sentinel"];
const PATTERNS: &[&str] = &["", "node", "-2", "cache"];
const WAITS: &[u64] = &[60_000, 0, 1_000];

fn pick<T: Copy>(list: &[T], i: u8) -> T {
    list[i as usize % list.len()]
}

#[derive(Arbitrary, Debug)]
enum Name {
    Known(u8),
    Raw(String),
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Known(i) => pick(NAMES, *i).to_string(),
            Name::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Host {
    Known(u8),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Port {
    Known(u8),
    Raw(u16),
}

#[derive(Arbitrary, Debug)]
struct HostPort {
    host: Host,
    port: Port,
}

impl HostPort {
    fn words(&self) -> (String, String) {
        let host = match &self.host {
            Host::Known(i) => pick(HOSTS, *i).to_string(),
            Host::Raw(s) => s.clone(),
        };
        let port = match self.port {
            Port::Known(i) => pick(PORTS, i),
            Port::Raw(p) => p,
        };
        (host, port.to_string())
    }

    /// The address as the shell would build it; none when the shell would refuse it.
    fn addr(&self) -> Option<Addr> {
        let (host, port) = self.words();
        Addr::parse_parts(&host, &port).ok()
    }
}

#[derive(Arbitrary, Debug)]
enum Payload {
    /// `<name> <old-ip> <old-port> <new-ip> <new-port>`
    Switch {
        name: Name,
        old: HostPort,
        new: HostPort,
    },
    /// `<type> <name> <ip> <port> [@ <master> <ip> <port>] [extra]`
    Instance {
        kind: u8,
        name: Name,
        addr: HostPort,
        master: Option<(Name, HostPort)>,
        extra: Option<String>,
    },
    Raw(String),
}

impl Payload {
    fn text(&self) -> String {
        match self {
            Payload::Switch { name, old, new } => {
                let (oh, op) = old.words();
                let (nh, np) = new.words();
                format!("{} {oh} {op} {nh} {np}", name.text())
            }
            Payload::Instance {
                kind,
                name,
                addr,
                master,
                extra,
            } => {
                let (h, p) = addr.words();
                let mut s = format!("{} {} {h} {p}", pick(KINDS, *kind), name.text());
                if let Some((m, maddr)) = master {
                    let (mh, mp) = maddr.words();
                    s.push_str(&format!(" @ {} {mh} {mp}", m.text()));
                }
                if let Some(extra) = extra {
                    s.push(' ');
                    s.push_str(extra);
                }
                s
            }
            Payload::Raw(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Master {
    name: Name,
    addr: HostPort,
    epoch: Option<u8>,
}

impl Master {
    /// As a snapshot reports it: the shell only builds masters with valid addresses
    /// (names are checked by the core).
    fn info(&self) -> Option<MasterInfo> {
        Some(MasterInfo {
            name: self.name.text(),
            addr: self.addr.addr()?,
            epoch: self.epoch.map(u64::from),
        })
    }
}

#[derive(Arbitrary, Debug)]
enum OnDisk {
    /// A config tpc itself rendered for these masters.
    Rendered(Vec<Master>),
    /// Any text.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Dt {
    Same,
    Small(u8),
    Medium(u16),
    Large(u32),
    /// Up to the time the core asked to be woken at, if any.
    Timeout,
}

#[derive(Arbitrary, Debug)]
enum Which {
    /// The write or reload in flight, if any.
    InFlight,
    Raw(u8),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Message {
        sentinel: u8,
        channel: u8,
        payload: Payload,
    },
    Snapshot {
        sentinel: u8,
        masters: Vec<Master>,
    },
    Tick,
    Done {
        which: Which,
        /// None: it worked; else the error.
        failed: Option<String>,
    },
    LinkUp {
        sentinel: u8,
    },
    LinkDown {
        sentinel: u8,
        reason: String,
    },
}

#[derive(Arbitrary, Debug)]
struct Case {
    wait: u8,
    pattern: u8,
    on_disk: Option<OnDisk>,
    steps: Vec<(Dt, Op)>,
}

struct Checker {
    settings: CoreSettings,
    in_flight: Vec<EffectId>,
    last_reload: Option<Millis>,
}

impl Checker {
    fn drain(&mut self, core: &mut Core, now: Millis) {
        let on_disk_before = core.on_disk().map(str::to_string);
        while let Some(effect) = core.poll_effect() {
            match effect {
                Effect::WriteConfig {
                    id, text, changes, ..
                } => {
                    if let Err(e) = parse(&text) {
                        panic!("WriteConfig text does not parse ({e}):\n{text}");
                    }
                    let known = core.masters();
                    assert_eq!(
                        servers_of(&text, &self.settings.pool.name),
                        known,
                        "WriteConfig servers are not the known masters:\n{text}"
                    );
                    assert_ne!(
                        on_disk_before.as_deref(),
                        Some(text.as_str()),
                        "WriteConfig rewrites the config on disk unchanged"
                    );
                    for c in &changes {
                        assert_eq!(c.to.as_ref(), known.get(&c.name), "change {c}");
                    }
                    self.start(id);
                }
                Effect::RunReload { id } => {
                    if let Some(prev) = self.last_reload {
                        assert!(
                            now - prev >= self.settings.wait,
                            "reload at {now} only {} after the one at {prev} (wait {})",
                            now - prev,
                            self.settings.wait
                        );
                    }
                    self.last_reload = Some(now);
                    self.start(id);
                }
                Effect::Notify { text, .. } => assert!(!text.is_empty()),
                Effect::Query | Effect::QueryMaster { .. } | Effect::ReadConfig { .. } => {}
                // Default settings are not -strict: nothing stops the core.
                Effect::Stop { error } => panic!("the core stopped: {error}"),
            }
        }
        for (name, addr) in core.masters() {
            assert!(is_valid_name(&name), "core knows invalid name {name:?}");
            assert!(is_valid_host(&addr.host), "core knows invalid host {addr:?}");
            assert_ne!(addr.port, 0, "core knows port 0 for {name}");
        }
    }

    fn start(&mut self, id: EffectId) {
        assert!(
            !self.in_flight.contains(&id),
            "effect id {id:?} given out twice"
        );
        self.in_flight.push(id);
        assert!(
            self.in_flight.len() <= 1,
            "more than one write/reload in flight: {:?}",
            self.in_flight
        );
    }
}

fuzz_target!(|case: Case| {
    let mut settings = CoreSettings::default();
    settings.wait = Millis(pick(WAITS, case.wait));
    settings.master_pattern = pick(PATTERNS, case.pattern).to_string();
    let on_disk = case.on_disk.as_ref().map(|d| match d {
        OnDisk::Rendered(masters) => render(
            &settings.pool,
            &masters
                .iter()
                .filter_map(Master::info)
                .filter(|m| is_valid_name(&m.name))
                .map(|m| (m.name, m.addr))
                .collect(),
        ),
        OnDisk::Raw(text) => text.clone(),
    });
    let mut core = Core::new(settings.clone(), on_disk);
    let mut checker = Checker {
        settings,
        in_flight: Vec::new(),
        last_reload: None,
    };
    let mut now = Millis::ZERO;
    for (dt, op) in case.steps.iter().take(200) {
        now = match dt {
            Dt::Same => now,
            Dt::Small(d) => now + Millis(u64::from(*d)),
            Dt::Medium(d) => now + Millis(u64::from(*d)),
            Dt::Large(d) => now + Millis(u64::from(*d)),
            Dt::Timeout => core.poll_timeout().map_or(now, |t| t.max(now)),
        };
        let at = now;
        let input = match op {
            Op::Message {
                sentinel,
                channel,
                payload,
            } => Input::Message {
                at,
                sentinel: pick(SENTINELS, *sentinel).into(),
                channel: pick(CHANNELS, *channel).into(),
                payload: payload.text().into(),
            },
            Op::Snapshot { sentinel, masters } => Input::Snapshot {
                at,
                sentinel: pick(SENTINELS, *sentinel).into(),
                masters: masters.iter().filter_map(Master::info).collect(),
                replicas: Default::default(),
            },
            Op::Tick => Input::Tick { at },
            Op::Done { which, failed } => {
                let id = match which {
                    Which::InFlight => match checker.in_flight.first() {
                        Some(id) => *id,
                        None => continue,
                    },
                    Which::Raw(n) => EffectId(u64::from(*n)),
                };
                checker.in_flight.retain(|i| *i != id);
                let outcome = match failed {
                    None => Outcome::Ok,
                    Some(error) => Outcome::Failed {
                        error: error.clone(),
                    },
                };
                Input::Done { at, id, outcome }
            }
            Op::LinkUp { sentinel } => Input::LinkUp {
                at,
                sentinel: pick(SENTINELS, *sentinel).into(),
            },
            Op::LinkDown { sentinel, reason } => Input::LinkDown {
                at,
                sentinel: pick(SENTINELS, *sentinel).into(),
                reason: reason.clone().into(),
            },
        };
        core.handle(input);
        checker.drain(&mut core, now);
        let _ = core.poll_timeout();
        let _ = core.stats();
    }
});
