//! The state machine: it takes [`Input`]s and decides which [`Effect`]s the shell must
//! perform. It never reads a clock and does no I/O.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use tracing::{debug, info, warn};

use crate::core::addr::Addr;
use crate::core::backoff::{self, Retry};
use crate::core::effect::{About, Effect, EffectId};
use crate::core::event::{announced_epoch, is_valid_name, SentinelEvent};
use crate::core::histogram::Histogram;
use crate::core::input::{Input, Outcome};
use crate::core::latency::Latency;
use crate::core::layout::{Disk, Layout, Sources, Target, Unchecked, Written};
use crate::core::links::{Links, Reach};
use crate::core::replicas::{ReplicaInfo, Replicas};
use crate::core::settings::CoreSettings;
use crate::core::shown::shown;
use crate::core::stats::{is_power_of_ten, Stats};
use crate::core::time::Millis;
use crate::core::topology::{
    Decision, MasterInfo, Reported, Switched, Topology, Touched, Withdrawn,
};
use crate::core::truth::SentinelId;

/// The shortest time between two rounds of confirming queries (with a zero grace).
const MIN_ROUND: Millis = Millis(100);
/// Up to this many masters due for confirmation are asked about one by one
/// (`SENTINEL MASTER <name>`); more, with one `SENTINEL MASTERS`.
const CONFIRM_ONE_BY_ONE: usize = 16;

/// A config write the shell is performing.
#[derive(Debug, Clone)]
struct PendingWrite {
    id: EffectId,
    text: Arc<String>,
    written: Written,
    /// It adds or removes servers (or rewrites the file whole), not only moves them.
    structural: bool,
    /// It holds only the moves of a failed structural write (see `moves_due`).
    moves_only: bool,
}

/// tpc's decisions, as a deterministic state machine.
///
/// Use it in this order, like quinn-proto's `Connection`:
/// 1. feed one input with [`Core::handle`] (sentinel message, snapshot, link change,
///    timer tick, or the outcome of an effect);
/// 2. drain [`Core::poll_effect`] until it returns `None`, performing each effect and
///    feeding the outcome of slow ones back later as [`Input::Done`];
/// 3. sleep until the next input or [`Core::poll_timeout`], whichever comes first, and
///    on timeout feed [`Input::Tick`].
///
/// It never calls `Instant::now()`: time comes in with each input. Given the same
/// inputs it produces the same effects.
///
/// Write and reload rules: the first change after a quiet period is written at once
/// and the reload command runs when the write is done; the next reload may not start
/// until `wait` after the previous one, and changes arriving meanwhile are written
/// together when that wait ends. A config that renders the same as the file on disk
/// is neither written nor reloaded. Failed writes and reloads are retried with
/// back-off; a master that moves meanwhile is written at once.
pub struct Core {
    settings: CoreSettings,
    layout: Layout,
    topology: Topology,
    /// The file on disk as tpc last wrote or found it.
    on_disk: Option<Arc<String>>,
    /// What `on_disk` holds.
    disk: Disk,
    /// The masters whose servers may not be on disk where the known masters call for.
    unchecked: Unchecked,
    /// What the sentinels say of the replicas that replica pools follow.
    replicas: Replicas,
    /// Masters whose replica pools' servers point at the master: no healthy replica.
    without_replica: BTreeSet<String>,
    /// While `without_replica` is not empty: when to ask the sentinels again, and how
    /// many times they were asked so. No event says when a replica becomes healthy
    /// (after a failover the sentinels first list the replicas as disconnected), so
    /// tpc asks, less and less often: after 1 s, 2 s, 4 s, ... up to a minute.
    replica_recheck: Option<(Millis, u32)>,
    write: Option<PendingWrite>,
    reload: Option<EffectId>,
    /// A written config has not been loaded by a successful reload yet.
    reload_owed: bool,
    last_reload_start: Option<Millis>,
    write_retry: Retry,
    reload_retry: Retry,
    now: Millis,
    /// Masters some sentinel said are objectively down (and none has said since that
    /// they are not, nor switched them).
    odown: BTreeSet<String>,
    /// Sentinels heard of, whether their link is up, and start-up.
    links: Links,
    /// Masters believed provisionally (a lone higher epoch, or a pub/sub switch), and
    /// when to ask the sentinels again and judge their fresh answers.
    confirm: BTreeMap<String, Millis>,
    /// When the sentinels were last asked to confirm (a round).
    last_round: Option<Millis>,
    /// A provisional address that was written has been overturned: the correction (the
    /// topology at this version) is written and loaded without waiting for `wait`. Any
    /// later change waits as usual.
    correcting: Option<u64>,
    /// When to next query every sentinel and read the file, if reconciling.
    next_reconcile: Option<Millis>,
    /// The read of the file on disk asked for, and how many writes had completed then:
    /// an answer from before a later write says nothing about drift.
    reading: Option<(EffectId, u64)>,
    next_id: u64,
    effects: VecDeque<Effect>,
    stats: Stats,
    /// Moves on their way to nutcracker, and how long they took to get there.
    latency: Latency,
    /// When the last reload command succeeded.
    last_reload_ok: Option<Millis>,
    /// Why the last config write failed, until one succeeds.
    write_error: Option<String>,
    /// Why the last reload failed, until one succeeds.
    reload_error: Option<String>,
    /// A config was written, or found right on disk once start-up ended.
    ready: bool,
    /// Whether the known masters call for a config other than the one on disk, and the
    /// topology and replicas versions that was judged at. Kept rather than recomputed:
    /// rendering and comparing configs on every input would dominate replay time.
    target_differs: ((u64, u64), bool),
    /// tpc must stop ([`Effect::Stop`] was given): nothing more is done.
    stopped: bool,
    /// Links up whose first answer has not come yet.
    fresh_links: BTreeSet<SentinelId>,
    /// A write that adds or removes masters failed (e.g. the disk was full): while it
    /// backs off, servers that only move are written without it, so that a failover is
    /// never held back by the back-off of a change of structure.
    moves_due: bool,
    /// Switches of masters tpc does not know, ever: their warning is said at powers of
    /// ten.
    unknown_switches: u64,
}

/// Leaves out every config text (on disk, being written, in queued effects): they hold
/// `redis_auth`.
impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("settings", &self.settings)
            .field("topology", &self.topology)
            .field("on_disk_masters", &self.disk.masters)
            .field("links", &self.links)
            .field("now", &self.now)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Core {
    /// A core with these settings. `on_disk` is the config file's current content, if
    /// there is one: a rendering equal to it is not written again.
    pub fn new(settings: CoreSettings, on_disk: Option<String>) -> Core {
        let layout = Layout::new(&settings);
        let disk = on_disk
            .as_deref()
            .map(|text| layout.read(text))
            .unwrap_or_default();
        Core {
            layout,
            settings,
            topology: Topology::default(),
            on_disk: on_disk.map(Arc::new),
            disk,
            unchecked: Unchecked::All,
            replicas: Replicas::default(),
            without_replica: BTreeSet::new(),
            replica_recheck: None,
            write: None,
            reload: None,
            reload_owed: false,
            last_reload_start: None,
            write_retry: Retry::default(),
            reload_retry: Retry::default(),
            now: Millis::ZERO,
            next_reconcile: None,
            reading: None,
            odown: BTreeSet::new(),
            links: Links::default(),
            confirm: BTreeMap::new(),
            last_round: None,
            correcting: None,
            next_id: 1,
            effects: VecDeque::new(),
            stats: Stats::default(),
            latency: Latency::default(),
            last_reload_ok: None,
            write_error: None,
            reload_error: None,
            ready: false,
            target_differs: ((0, 0), false),
            stopped: false,
            fresh_links: BTreeSet::new(),
            moves_due: false,
            unknown_switches: 0,
        }
    }

    /// The same core, owing a reload of the config on disk: nutcracker is known not to
    /// have loaded it (e.g. a reload failed before tpc restarted).
    pub fn with_reload_owed(mut self, owed: bool) -> Core {
        self.reload_owed = owed;
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> &CoreSettings {
        &self.settings
    }

    /// Known masters and their addresses, by name.
    pub fn masters(&self) -> BTreeMap<String, Addr> {
        self.topology.addrs()
    }

    /// The address of master `name`, if tpc knows it.
    pub fn master(&self, name: &str) -> Option<&Addr> {
        self.topology.get(name).map(|k| &k.addr)
    }

    /// The config text the core last saw written (or found on disk at start).
    pub fn on_disk(&self) -> Option<&str> {
        self.on_disk.as_ref().map(|t| t.as_str())
    }

    /// Counters of what the core saw and did.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Switch-to-reload latencies: from a master's move first seen to the start of the
    /// reload that loads it.
    pub fn switch_latency(&self) -> &Histogram {
        self.latency.histogram()
    }

    /// The sentinels heard of, each with whether its link is up now.
    pub fn links(&self) -> impl Iterator<Item = (&str, bool)> {
        self.links.states()
    }

    /// How many masters tpc knows (and follows).
    pub fn masters_known(&self) -> usize {
        self.topology.len()
    }

    /// Whether the file on disk (as tpc last wrote or read it) is what the known masters
    /// call for.
    pub fn in_sync(&self) -> bool {
        !self.needs_write()
    }

    /// When the last reload command succeeded, on the core's clock.
    pub fn last_reload_ok(&self) -> Option<Millis> {
        self.last_reload_ok
    }

    /// Why the last config write failed, until one succeeds.
    pub fn write_error(&self) -> Option<&str> {
        self.write_error.as_deref()
    }

    /// Why the last reload command failed, until one succeeds.
    pub fn reload_error(&self) -> Option<&str> {
        self.reload_error.as_deref()
    }

    /// Whether start-up is over: a config was written, or the file on disk was found
    /// right once start-up ended. Stays true.
    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// Whether a write or reload is being performed right now.
    pub fn is_busy(&self) -> bool {
        self.write.is_some() || self.reload.is_some()
    }

    /// Feeds one input. Inputs must come in time order; an input from the past is
    /// treated as happening now.
    pub fn handle(&mut self, input: Input) {
        self.now = self.now.max(input.at());
        match input {
            Input::Message {
                sentinel,
                channel,
                payload,
                ..
            } => self.on_message(&sentinel, &channel, &payload),
            Input::Snapshot {
                sentinel,
                masters,
                replicas,
                ..
            } => self.on_snapshot(&sentinel, &masters, &replicas),
            Input::MasterAnswer {
                sentinel,
                name,
                master,
                replicas,
                ..
            } => self.on_master_answer(&sentinel, &name, master.as_ref(), replicas.as_deref()),
            Input::LinkUp { sentinel, .. } => self.on_link(&sentinel, true, ""),
            Input::LinkDown {
                sentinel, reason, ..
            } => self.on_link(&sentinel, false, &reason),
            Input::Tick { .. } => {}
            Input::ConfigRead { id, text, .. } => self.on_config_read(id, text.as_deref()),
            Input::Done { id, outcome, .. } => self.on_done(id, outcome),
        }
        self.confirm_due();
        let settings = &self.settings;
        let was_started = self.links.started();
        self.links
            .check_started(settings.sentinels, settings.start_grace, self.now);
        if self.links.started() && !was_started {
            self.on_started();
        }
        if self.stopped {
            return;
        }
        self.reconcile();
        self.recheck_replicas();
        if self.target_differs.0 != self.target_version() {
            self.compare_target();
        }
        self.drive();
        // Confirmed: nothing to write, and a file to have it in.
        if !self.ready && self.links.started() && self.on_disk.is_some() && !self.is_busy() {
            self.ready = !self.needs_write();
        }
    }

    /// The next effect to perform, if any.
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop_front()
    }

    /// When the core next wants a [`Input::Tick`]: to write or reload once a wait or
    /// back-off ends, or to query the sentinels when reconciling.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.work_timeout()
            .into_iter()
            .chain(self.next_reconcile)
            .chain(self.confirm.values().copied())
            .chain(self.replica_recheck.map(|(due, _)| due))
            .chain(self.links.start_deadline(self.settings.start_grace))
            .min()
    }

    /// Whether the core has nothing left to do but its periodic reconciling: no write or
    /// reload running, owed or waiting.
    pub fn is_settled(&self) -> bool {
        !self.is_busy() && self.work_timeout().is_none()
    }

    /// When a pending write or reload may go ahead.
    fn work_timeout(&self) -> Option<Millis> {
        if self.is_busy() || !self.links.started() {
            return None;
        }
        let write = self
            .needs_write()
            .then(|| self.write_window_end().max(self.write_retry.not_before));
        let reload = self
            .reload_owed
            .then(|| self.reload_window_end().max(self.reload_retry.not_before));
        write.into_iter().chain(reload).min()
    }

    fn on_message(&mut self, sentinel: &str, channel: &str, payload: &str) {
        let parsed = SentinelEvent::parse(channel, payload);
        self.stats.count_message(channel, parsed.is_ok());
        let event = match parsed {
            Ok(event) => event,
            Err(e) => {
                let (channel, payload) = (shown(channel), shown(payload));
                warn!("Ignoring malformed '{channel}' from {sentinel}: {e} (payload {payload})");
                return;
            }
        };
        match event {
            SentinelEvent::SwitchMaster { name, old, new } => {
                self.on_switch(sentinel, name, &old, &new)
            }
            SentinelEvent::Monitor { name, addr } => {
                debug!("'+monitor' from {sentinel}: master {name} {addr}");
                if self.settings.wants(name) {
                    let id = self.links.id(sentinel);
                    self.links.heard(self.now);
                    self.offer(id, name, &addr, None);
                }
            }
            SentinelEvent::Unmonitor { name } => {
                debug!("'-monitor' from {sentinel}: master {name}");
                let id = self.links.id(sentinel);
                self.confirm.remove(name);
                match self.topology.withdraw(name, id) {
                    Withdrawn::Removed(addr) => {
                        info!("Removing master {name} {addr}: no sentinel monitors it any more");
                        if self.topology.is_empty() {
                            warn!("No master left: nutcracker needs at least one server, so the config keeps {name}");
                            self.notify(About::master("last_master_removed", name), format!(
                                "-monitor removed the last master ({name}); the config keeps it, since nutcracker needs at least one server"
                            ));
                        }
                    }
                    Withdrawn::StillMonitored(n) => {
                        info!("Keeping master {name}: {n} other sentinel(s) still monitor it");
                        self.judge(name);
                    }
                    Withdrawn::Unknown => {}
                }
            }
            SentinelEvent::ObjectivelyDown { down, instance } => {
                debug!("'{channel}' from {sentinel}: {instance}");
                let master = instance.master_name();
                // Every sentinel announces it: notify only when the state changes.
                let changed = if down {
                    self.odown.insert(master.to_string())
                } else {
                    self.odown.remove(master)
                };
                if changed && self.settings.wants(master) {
                    let what = if down {
                        "is objectively down"
                    } else {
                        "is no longer objectively down"
                    };
                    let event = if down { "odown" } else { "odown_end" };
                    info!("{master} {what} (first said by {sentinel})");
                    self.notify(
                        About::master(event, master),
                        format!("{channel}: {instance} {what}"),
                    );
                }
            }
            SentinelEvent::About { instance } => {
                debug!("'{channel}' from {sentinel}: {instance}");
                let master = instance.master_name();
                if channel == "+try-failover" && instance.kind == "master" {
                    let id = self.links.id(sentinel);
                    if let Some(epoch) = self.topology.try_failover(master, id) {
                        debug!("{sentinel} leads a failover of {master} at epoch {epoch}");
                    }
                }
                if let ("+promoted-slave", Some((_, from))) = (channel, &instance.master) {
                    let id = self.links.id(sentinel);
                    let (from, to) = (from.to_addr(), instance.addr.to_addr());
                    if let Some(epoch) = self.topology.promoted(master, id, &from, &to) {
                        debug!("{sentinel} promoted {to} for {master} at epoch {epoch}");
                    }
                }
                if instance.kind != "slave" || !self.layout.follows_replicas_of(master) {
                    return;
                }
                match channel {
                    "+sdown" => {
                        let id = self.links.id(sentinel);
                        self.replicas.down(master, id, &instance.addr.to_addr());
                    }
                    // A replica that may be healthy now: only the answers say so.
                    "+slave" | "+convert-to-slave" | "-sdown" => {
                        self.effects.push_back(Effect::Query)
                    }
                    _ => {}
                }
            }
            SentinelEvent::Other => {
                debug!("'{}' from {sentinel}: {}", shown(channel), shown(payload));
                if let Some(epoch) = announced_epoch(channel, payload) {
                    let id = self.links.id(sentinel);
                    self.topology.announce(id, epoch);
                }
            }
        }
    }

    /// Tracks which sentinels are linked; losing the last one, and regaining one, is
    /// said and notified once. A lost sentinel's answers no longer count.
    fn on_link(&mut self, sentinel: &str, up: bool, reason: &str) {
        let id = self.links.id(sentinel);
        let was_up = self.links.is_up(id);
        let reach = self.links.set_up(id, up);
        if !up {
            self.stats.link_errors += 1;
        }
        if up {
            self.fresh_links.insert(id);
            info!("Connected to sentinel {sentinel}");
        } else if was_up {
            warn!("Lost sentinel {sentinel}: {reason}");
        } else {
            warn!("Cannot reach sentinel {sentinel}: {reason}");
        }
        match reach {
            Reach::LostAll => {
                warn!("No sentinel reachable: the config stays as it is until one answers");
                self.notify(
                    About::event("no_sentinel"),
                    "No sentinel reachable: tpc cannot follow failovers until one answers".into(),
                );
            }
            Reach::Regained => self.notify(
                About::event("sentinel_back"),
                format!("Sentinel {sentinel} reachable again"),
            ),
            Reach::Same => {}
        }
        if !up {
            self.replicas.forget(id);
            for name in self.topology.forget_answers(id) {
                self.judge(&name);
            }
        }
    }

    fn on_switch(&mut self, sentinel: &str, name: &str, old: &Addr, new: &Addr) {
        debug!("'+switch-master' from {sentinel}: {name} {old} -> {new}");
        if !self.settings.wants(name) {
            self.stats.switches_ignored += 1;
            debug!("Ignoring switch of {name}: outside -master_pattern");
            return;
        }
        if old == new {
            self.stats.switches_ignored += 1;
            debug!("Ignoring switch of {name}: same address");
            return;
        }
        let id = self.links.id(sentinel);
        // Sentinel sends no -odown after a completed failover: the switch ends it.
        self.odown.remove(name);
        match self.topology.switch(name, id, old, new, self.now) {
            Switched::Recorded => {
                let before = self.topology.get(name).map(|k| k.addr.clone());
                self.judge(name);
                let after = self.topology.get(name).map(|k| k.addr.clone());
                if before.as_ref() == Some(new) {
                    self.stats.switches_ignored += 1;
                    debug!("Switch of {name} to {new} already applied");
                } else if after.as_ref() == Some(new) {
                    self.stats.switches_applied += 1;
                    self.notify(
                        About::moved("switch", name, old, new),
                        format!("+switch-master: {name} moved from {old} to {new}"),
                    );
                    // Applied at once, but it proves nothing: the sentinels' answers
                    // confirm or overturn it.
                    self.query_master(name);
                } else {
                    self.stats.switches_ignored += 1;
                    let at = after.map_or_else(String::new, |a| a.to_string());
                    warn!(
                        "Not following switch of {name} to {new} from {sentinel}: the other sentinels' answers keep it at {at}; asking them"
                    );
                    self.query_master(name);
                }
            }
            Switched::Mismatch(known) => {
                self.stats.switches_ignored += 1;
                warn!(
                    "Ignoring switch of {name} from {old}: tpc knows it at {known}; asking the sentinels"
                );
                self.query_master(name);
            }
            Switched::Contradicted { first } => {
                self.stats.switches_ignored += 1;
                if first {
                    warn!(
                        "Not following switch of {name} to {new} from {sentinel}: its own answer contradicted the same switch before; asking the sentinels"
                    );
                    self.notify(About::moved("switch_refused", name, old, new), format!(
                        "Sentinel {sentinel} announces {name} moved to {new} again, though its own answers said otherwise: tpc does not follow it"
                    ));
                } else {
                    debug!("Not following switch of {name} to {new} from {sentinel} again");
                }
                self.query_master(name);
            }
            Switched::Unknown => {
                self.stats.switches_ignored += 1;
                self.unknown_switches += 1;
                let n = self.unknown_switches;
                // Said at the 1st, 10th, 100th...: a flood of them must not fill the log.
                if is_power_of_ten(n) {
                    warn!("Ignoring switch of unknown master {name}; asking the sentinels ({n} such switch(es) so far)");
                } else {
                    debug!("Ignoring switch of unknown master {name}; asking the sentinels");
                }
                self.query_master(name);
            }
        }
    }

    fn on_snapshot(
        &mut self,
        sentinel: &str,
        masters: &[MasterInfo],
        replicas: &BTreeMap<String, Vec<ReplicaInfo>>,
    ) {
        let id = self.links.id(sentinel);
        // Said once per link; the periodic answers after it at debug.
        if self.fresh_links.remove(&id) {
            info!("Sentinel {sentinel} monitors {} master(s)", masters.len());
        } else {
            debug!("Sentinel {sentinel} monitors {} master(s)", masters.len());
        }
        self.links.answered(id, self.now);
        for (master, list) in replicas {
            self.take_replicas(id, master, list);
        }
        // In name order, once: a walk over both, not a search per master (a deployment
        // may have tens of thousands of them).
        let mut reported: Vec<&str> = masters.iter().map(|m| m.name.as_str()).collect();
        reported.sort_unstable();
        // A master given twice in one answer is given two words by one sentinel: which
        // it means cannot be told, so neither is taken (its last word stands).
        let twice: BTreeSet<&str> = reported
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        if let Some(first) = twice.first() {
            warn!(
                "Sentinel {sentinel} reports {} master(s) more than once in one answer ({first}, ...): taking none of their entries",
                twice.len()
            );
        }
        for m in masters {
            if self.settings.wants(&m.name) && !twice.contains(m.name.as_str()) {
                self.offer(id, &m.name, &m.addr, m.epoch);
            }
        }
        let mut reported = reported
            .into_iter()
            .filter(|name| !twice.contains(name))
            .peekable();
        let unreported: Vec<String> = self
            .topology
            .names()
            .filter(|name| {
                while reported.next_if(|r| *r < name.as_str()).is_some() {}
                reported.peek() != Some(&name.as_str())
            })
            .cloned()
            .collect();
        for name in unreported {
            // Said at debug: a sentinel monitoring fewer masters says so every answer.
            debug!("Sentinel {sentinel} does not report master {name}; keeping it");
            // Its last word about the master still stands, as of this answer.
            if self.topology.restate(&name, id, self.now) {
                self.judge(&name);
            }
        }
    }

    /// One sentinel's answer about one master: the same evidence as that master's entry
    /// in a whole snapshot (an answer without it restates the sentinel's last word).
    fn on_master_answer(
        &mut self,
        sentinel: &str,
        name: &str,
        master: Option<&MasterInfo>,
        replicas: Option<&[ReplicaInfo]>,
    ) {
        let id = self.links.id(sentinel);
        self.links.answered(id, self.now);
        if let Some(list) = replicas {
            self.take_replicas(id, name, list);
        }
        match master {
            Some(m) if self.settings.wants(&m.name) => self.offer(id, &m.name, &m.addr, m.epoch),
            Some(_) => {}
            None => {
                debug!("Sentinel {sentinel} does not report master {name}; keeping it");
                if self.topology.restate(name, id, self.now) {
                    self.judge(name);
                }
            }
        }
    }

    /// A sentinel's answer about `master`'s replicas, when replica pools follow them.
    fn take_replicas(&mut self, id: SentinelId, master: &str, list: &[ReplicaInfo]) {
        if self.layout.follows_replicas_of(master) {
            self.replicas.answer(master, id, list);
        }
    }

    /// Asks the sentinels about `name` alone.
    fn query_master(&mut self, name: &str) {
        self.effects.push_back(Effect::QueryMaster {
            name: name.to_string(),
        });
    }

    fn offer(&mut self, sentinel: SentinelId, name: &str, addr: &Addr, epoch: Option<u64>) {
        if !is_valid_name(name) {
            self.stats.refused += 1;
            warn!(
                "Refusing master {name:?} from {}: a nutcracker server name takes 1 to 255 letters, digits, '.', '-' or '_'",
                self.links.name(sentinel)
            );
            return;
        }
        let reported = self.topology.report(name, sentinel, addr, epoch, self.now);
        if reported != Reported::Again {
            // At start there may be thousands: one line says how many once start-up
            // ends.
            if self.links.started() {
                info!("Adding master {name} {addr}");
            } else {
                debug!("Adding master {name} {addr}");
            }
        }
        // A master new to tpc is where its one report says: judging it changes nothing
        // (at start, that is every master of the first answer).
        if reported == Reported::Created {
            self.confirm.remove(name);
            return;
        }
        self.judge(name);
    }

    /// Judges one master's evidence (see [`crate::core::truth`]) and acts on it.
    fn judge(&mut self, name: &str) {
        let (grace, now) = (self.settings.confirm_grace, self.now);
        let before = self.topology.version();
        let decision = self.topology.judge(name, grace, now);
        let was_due = self.confirm.remove(name).is_some();
        // The topology's version grows only when the address moved.
        let moved = self.topology.version() != before;
        // Most judgements (every master of every answer) change nothing: no more work.
        if !moved && matches!(decision, Decision::Unchanged) {
            debug!("Judged {name}: unchanged");
            return;
        }
        let Some(k) = self.topology.get(name) else {
            return;
        };
        let to = k.addr.clone();
        let agreeing = k.agreeing();
        if moved {
            self.stats.count_move(name);
            let back_on_disk = self.disk.masters.get(name) == Some(&to);
            self.latency.moved(name, back_on_disk, now);
            // A master that moves is written at once, not after the back-off of earlier
            // failed writes (the disk may be writable again): a failover is never held
            // back by old errors. (After a failed change of masters, its moves alone go
            // at once instead: `moves_due`.)
            if !self.moves_due {
                self.write_retry.not_before = self.write_retry.not_before.min(now);
            }
        }
        // Overturning an address tpc believed only provisionally and already wrote is
        // a correction of tpc's own: it does not wait for `wait`.
        let version = self.topology.version();
        let mut corrects = |from: &Addr| {
            if self.disk.masters.get(name) == Some(from) {
                self.correcting = Some(version);
            }
        };
        match decision {
            Decision::Unchanged => {}
            Decision::Moved {
                from,
                corrects: correction,
            } => {
                if correction {
                    corrects(&from);
                }
                info!("Replacing master {name} {from} with {to} (from {agreeing} sentinel(s))");
            }
            Decision::Provisional { from, until } => {
                if let Some(from) = from {
                    info!(
                        "Replacing master {name} {from} with {to}: one sentinel's newer epoch, believed until the others confirm it"
                    );
                }
                self.confirm_at(name, until);
            }
            Decision::Held {
                from,
                corrects: correction,
                outlier,
                epoch,
                until,
            } => {
                match from {
                    Some(from) => {
                        if correction {
                            corrects(&from);
                        }
                        info!(
                            "Replacing master {name} {from} with {to}, as the other sentinels say; {outlier} at the newer epoch {epoch}, which only answers name, stays held off"
                        );
                    }
                    None if !was_due => info!(
                        "Keeping master {name} at {to}, which most sentinels answer, against {outlier} at the newer epoch {epoch}, which only answers name: asking again at the end of the grace"
                    ),
                    None => {}
                }
                self.confirm_at(name, until);
            }
            Decision::Overruled {
                from,
                outlier,
                epoch,
                sentinels,
            } => {
                if let Some(from) = &from {
                    corrects(from);
                }
                self.stats.outliers += 1;
                let who: Vec<&str> = sentinels.iter().map(|s| self.links.name(*s)).collect();
                let who = who.join(", ");
                warn!(
                    "Sentinel(s) {who} report {name} at {outlier} (epoch {epoch}), but the majority reports {to}: keeping {to}"
                );
                self.notify(About::moved("outlier", name, &outlier, &to), format!(
                    "Sentinel(s) {who} report {name} at {outlier} (epoch {epoch}) against the majority of sentinels, which reports {to}: tpc keeps {to}"
                ));
            }
            Decision::Disagreement => {
                self.stats.disagreements += 1;
                // At start nothing is decided yet: holding means keeping the file on disk.
                // Later it means keeping what tpc believes (it may be a newer failover
                // the file does not show yet).
                let disk = self.disk.masters.get(name).cloned();
                let held = match disk {
                    Some(disk) if !self.links.started() && self.topology.hold_at(name, &disk) => {
                        disk
                    }
                    _ => to.clone(),
                };
                warn!("Sentinels disagree about {name} and none has a majority or a newer epoch: keeping {held}");
                self.notify(About::master("disagreement", name), format!(
                    "Sentinels disagree about {name} (no majority, no newer epoch): tpc keeps {held} until they agree"
                ));
            }
        }
        debug!("Judged {name}: {to}");
    }

    /// Asks the sentinels about `name` at the end of the grace `until`; past it, once a
    /// round (until a majority of fresh answers decides), whatever input comes first.
    fn confirm_at(&mut self, name: &str, until: Millis) {
        let grace = self.settings.confirm_grace;
        let due = match self.last_round {
            _ if until > self.now => until,
            Some(round) if round >= until => round + grace.max(MIN_ROUND),
            _ => self.now,
        };
        self.confirm.insert(name.to_string(), due);
    }

    /// Start-up ended: says how many masters tpc follows; in template mode, says once which servers no sentinel knows (they
    /// keep the template's address) and which masters no server carries; under
    /// `strict`, a server no sentinel knows stops tpc before it touches anything.
    fn on_started(&mut self) {
        info!("Start-up over: following {} master(s)", self.topology.len());
        // Each master was added at the address of whichever sentinel answered first:
        // tpc stands on what most answer instead, and the truth rule judges from there
        // (a lone newer epoch that only answers name then moves nothing).
        for (name, most) in self.topology.majority_elsewhere() {
            if self.topology.hold_at(&name, &most) {
                self.judge(&name);
            }
        }
        let Layout::Kept { template, .. } = &self.layout else {
            return;
        };
        // Each line is named: a server in two pools is two lines to fix.
        let unknown: Vec<String> = template
            .holes()
            .iter()
            .filter(|h| self.topology.get(&h.name).is_none())
            .map(|h| format!("{} (pool {}, line {})", h.name, h.pool, h.line))
            .collect();
        let carried: BTreeSet<&str> = template.holes().iter().map(|h| h.name.as_str()).collect();
        let unserved: Vec<&String> = self
            .topology
            .names()
            .filter(|n| !carried.contains(n.as_str()))
            .collect();
        if !unserved.is_empty() {
            let list: Vec<&str> = unserved.iter().map(|n| n.as_str()).collect();
            info!(
                "Masters no server of the template carries (left out): {}",
                list.join(", ")
            );
        }
        if unknown.is_empty() {
            return;
        }
        let filtered =
            !self.settings.master_pattern.is_empty() || !self.settings.master_regex.is_empty();
        let list = if filtered {
            format!(
                "{} (or -master_pattern/-master_regex leave them out)",
                unknown.join(", ")
            )
        } else {
            unknown.join(", ")
        };
        if self.settings.strict {
            self.stopped = true;
            self.effects.push_back(Effect::Stop {
                error: format!(
                    "-strict: no sentinel knows the template's server(s) {list}; name each server after a master the sentinels monitor, or drop -strict to keep their addresses as written"
                ),
            });
        } else {
            warn!("No sentinel knows the template's server(s) {list}: their addresses stay as written");
        }
    }

    /// Asks every sentinel again, and judges again, the masters whose grace ended.
    fn confirm_due(&mut self) {
        let now = self.now;
        let due: Vec<String> = self
            .confirm
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(n, _)| n.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        // One master's confirmation costs one small answer per sentinel; past a few,
        // one whole answer is cheaper than many.
        if due.len() > CONFIRM_ONE_BY_ONE {
            self.effects.push_back(Effect::Query);
        } else {
            for name in &due {
                self.query_master(name);
            }
        }
        self.last_round = Some(now);
        for name in due {
            self.judge(&name);
        }
    }

    /// The file as read on disk: when it is not what tpc last wrote (overwritten,
    /// deleted), it is taken as what is on disk, so the next write repairs it.
    fn on_config_read(&mut self, id: EffectId, text: Option<&str>) {
        let Some((_, writes)) = self.reading.take_if(|(asked, _)| *asked == id) else {
            return;
        };
        if writes != self.stats.writes
            || self.write.is_some()
            || text == self.on_disk.as_ref().map(|t| t.as_str())
        {
            return;
        }
        let what = if text.is_some() {
            "was changed"
        } else {
            "was deleted"
        };
        warn!("The config file {what} behind tpc's back: writing it again");
        self.notify(
            About::event("drift"),
            format!("The config file {what} behind tpc's back: tpc writes it again"),
        );
        self.stats.drift_repairs += 1;
        self.on_disk = text.map(|t| Arc::new(t.to_string()));
        self.disk = text.map(|t| self.layout.read(t)).unwrap_or_default();
        self.unchecked = Unchecked::All;
        self.compare_target();
    }

    fn on_done(&mut self, id: EffectId, outcome: Outcome) {
        if let Some(w) = self.write.take_if(|w| w.id == id) {
            match outcome {
                Outcome::Ok => {
                    self.stats.writes += 1;
                    self.latency.write_done(true);
                    self.write_error = None;
                    self.ready = true;
                    self.on_disk = Some(w.text);
                    // What was written may differ from what the masters call for now
                    // where it changed the file: those masters are checked again.
                    match w.written.moved() {
                        Some(names) => self.unchecked.add(names.iter().cloned()),
                        None => self.unchecked = Unchecked::All,
                    }
                    self.disk.apply(w.written);
                    self.compare_target();
                    self.reload_owed = true;
                    if w.moves_only {
                        info!("Wrote the moves alone; the change of masters is retried");
                    } else if w.structural {
                        self.moves_due = false;
                    }
                    // The moves alone are no recovery: the whole change still fails.
                    if !w.moves_only && self.write_retry.succeeded() {
                        self.notify(
                            About::event("write_recovered"),
                            "Config written again after failures".to_string(),
                        );
                    }
                }
                Outcome::Failed { error } => {
                    self.stats.write_failures += 1;
                    self.latency.write_done(false);
                    self.write_error = Some(error.clone());
                    // A failed write of the moves alone fails for the file itself: they
                    // wait for the retry like everything else.
                    self.moves_due = w.structural && !w.moves_only;
                    let delay = self.write_retry.failed(self.now);
                    warn!("Error writing config: {error}; keeping the last good one, retrying in {delay}");
                    if self.write_retry.failures == 1 {
                        self.notify(
                            About::event("write_failed"),
                            format!("Error writing config: {error}"),
                        );
                    }
                }
            }
        } else if self.reload == Some(id) {
            self.reload = None;
            if let Some(start) = self.last_reload_start {
                self.stats.reload_durations.observe(self.now.since(start));
            }
            match outcome {
                Outcome::Ok => {
                    self.stats.reloads += 1;
                    self.last_reload_ok = Some(self.now);
                    self.reload_error = None;
                    if self.reload_retry.succeeded() {
                        self.notify(
                            About::event("reload_recovered"),
                            "Reload command succeeded again".to_string(),
                        );
                    }
                }
                Outcome::Failed { error } => {
                    self.stats.reload_failures += 1;
                    self.reload_error = Some(error.clone());
                    self.reload_owed = true;
                    let delay = self.reload_retry.failed(self.now);
                    warn!("Error updating config: {error}; retrying in {delay} at the earliest");
                    if self.reload_retry.failures == 1 {
                        self.notify(
                            About::event("reload_failed"),
                            format!("Error running reload command: {error}"),
                        );
                    }
                }
            }
        } else {
            debug!("Outcome for unknown effect {id:?} ignored");
        }
    }

    /// When the current wait after the last reload ends.
    fn window_end(&self) -> Millis {
        self.last_reload_start
            .map_or(Millis::ZERO, |t| t + self.settings.wait)
    }

    /// Whether a correction of tpc's own provisional change is owed, and nothing has
    /// changed since.
    fn is_correcting(&self) -> bool {
        self.correcting == Some(self.topology.version())
    }

    /// When a write may start: a correction of tpc's own provisional change is written
    /// at once, anything else when the wait ends.
    fn write_window_end(&self) -> Millis {
        if self.is_correcting() {
            Millis::ZERO
        } else {
            self.window_end()
        }
    }

    /// When a reload may start: a correction is loaded as soon as it is on disk.
    fn reload_window_end(&self) -> Millis {
        if self.is_correcting() && !self.needs_write() {
            Millis::ZERO
        } else {
            self.window_end()
        }
    }

    /// The versions of what the target is made of.
    fn target_version(&self) -> (u64, u64) {
        (self.topology.version(), self.replicas.version())
    }

    /// Judges whether the known masters call for a new config; and says when a replica
    /// pool's server falls back to its master for want of a healthy replica, and when
    /// it has one again.
    fn compare_target(&mut self) {
        let touched = self.topology.take_touched();
        // A replica pool's server depends on its replicas and on every master's address
        // (it never routes to one).
        let replicas_changed = self.replicas.version() != self.target_differs.0 .1;
        if replicas_changed || !touched.is_empty() {
            self.unchecked.add(self.layout.followed());
        }
        match touched {
            Touched::Names(names) => self.unchecked.add(names),
            Touched::Many => self.unchecked = Unchecked::All,
        }
        let differs = self.layout.differs(
            &self.topology,
            &self.replicas,
            &self.disk,
            &mut self.unchecked,
        );
        self.target_differs = (self.target_version(), differs);
        let without = self.layout.without_replica(&self.topology, &self.replicas);
        if without != self.without_replica {
            for name in without.difference(&self.without_replica) {
                warn!(
                    "No healthy replica of {name}: its replica pools' servers point at the master"
                );
                self.effects.push_back(Effect::Notify {
                    text: format!(
                        "No healthy replica of {name}: its replica pools' servers point at the master until one is back"
                    ),
                    about: About::master("no_replica", name),
                });
            }
            for name in self.without_replica.difference(&without) {
                info!("A healthy replica of {name} again: its replica pools' servers follow it");
            }
            self.without_replica = without;
        }
        if self.without_replica.is_empty() {
            self.replica_recheck = None;
        } else if self.replica_recheck.is_none() {
            self.replica_recheck = Some((self.now + backoff::delay(1), 1));
        }
    }

    /// Asks the sentinels again when the recheck for want of a healthy replica is due.
    fn recheck_replicas(&mut self) {
        let Some((due, asked)) = self.replica_recheck else {
            return;
        };
        if self.now >= due {
            self.effects.push_back(Effect::Query);
            let asked = asked.saturating_add(1);
            self.replica_recheck = Some((self.now + backoff::delay(asked), asked));
        }
    }

    fn needs_write(&self) -> bool {
        self.target_differs.1
    }

    fn drive(&mut self) {
        if self.is_busy() {
            return;
        }
        let now = self.now;
        if !self.links.started() {
            return;
        }
        if self.needs_write() {
            if now < self.write_window_end() {
                return;
            }
            if now >= self.write_retry.not_before {
                self.start_write();
                return;
            }
            if self.moves_due && self.start_moves_only() {
                return;
            }
            // The write is backing off: meanwhile, load what is on disk if still owed.
        }
        if self.reload_owed
            && now >= self.reload_window_end()
            && now >= self.reload_retry.not_before
        {
            let id = self.next_id();
            self.reload_owed = false;
            self.correcting = None;
            self.last_reload_start = Some(now);
            self.latency.reload_started(now);
            self.reload = Some(id);
            self.effects.push_back(Effect::RunReload { id });
        }
    }

    fn start_write(&mut self) {
        let target = self.layout.target(&self.sources());
        self.issue_write(target, false);
    }

    /// What a config is made from now.
    fn sources(&self) -> Sources<'_> {
        Sources {
            topology: &self.topology,
            replicas: &self.replicas,
            disk: &self.disk,
            on_disk: self.on_disk.as_ref().map(|t| t.as_str()),
            unchecked: &self.unchecked,
        }
    }

    /// Writes the servers that move alone, if any and if that needs no check; says
    /// whether it did.
    fn start_moves_only(&mut self) -> bool {
        if !self.disk.rendering {
            return false;
        }
        let target = self.layout.moves_only(&self.sources());
        match target {
            Some(target) => {
                self.issue_write(target, true);
                true
            }
            None => false,
        }
    }

    fn issue_write(&mut self, target: Target, moves_only: bool) {
        let Target {
            text,
            written,
            changes,
        } = target;
        self.latency
            .write_started(changes.iter().map(|c| c.name.as_str()));
        // Moves only, from a rendering: the same servers, the same keys.
        let structural = !self.disk.rendering
            || changes.is_empty()
            || changes.iter().any(|c| c.from.is_none() || c.to.is_none());
        let id = self.next_id();
        let text = Arc::new(text);
        self.effects.push_back(Effect::WriteConfig {
            id,
            text: Arc::clone(&text),
            changes,
        });
        self.write = Some(PendingWrite {
            id,
            text,
            written,
            structural,
            moves_only,
        });
    }

    /// Asks every sentinel for its masters each `reconcile` interval.
    fn reconcile(&mut self) {
        let every = self.settings.reconcile;
        if every == Millis::ZERO {
            return;
        }
        match self.next_reconcile {
            None => self.next_reconcile = Some(self.now + every),
            Some(due) if self.now >= due => {
                self.effects.push_back(Effect::Query);
                let id = self.next_id();
                self.reading = Some((id, self.stats.writes));
                self.effects.push_back(Effect::ReadConfig { id });
                self.next_reconcile = Some(self.now + every);
            }
            Some(_) => {}
        }
    }

    /// Notifies `text`, about `about`. Events: `switch`, `switch_refused`, `outlier`,
    /// `disagreement`, `odown`, `odown_end`, `no_sentinel`, `sentinel_back`, `drift`,
    /// `write_failed`, `write_recovered`, `reload_failed`, `reload_recovered`,
    /// `no_replica`, `last_master_removed`.
    fn notify(&mut self, about: About, text: String) {
        self.effects.push_back(Effect::Notify { text, about });
    }

    fn next_id(&mut self) -> EffectId {
        let id = EffectId(self.next_id);
        self.next_id += 1;
        id
    }
}
