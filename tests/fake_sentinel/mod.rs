//! A fake sentinel: a small RESP server on a loopback port that answers what tpc asks
//! (`PSUBSCRIBE`, `SENTINEL MASTERS`, `SENTINEL MASTER <name>`, `SENTINEL REPLICAS`,
//! `PING`, and `+OK` to anything else) and lets a test
//! publish events or drop every connection. For faults real sentinels won't produce on
//! demand: it can also answer `SENTINEL MASTERS` with any bytes (garbage, a reply cut
//! off by a closed connection), require a password like `requirepass`, answer slowly or
//! never, and flood its subscribers with events.

#![allow(dead_code)] // Each test file uses a different part of it.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// One master as `SENTINEL MASTERS` reports it.
#[derive(Debug, Clone)]
pub struct FakeMaster {
    pub name: String,
    pub ip: String,
    pub port: u16,
    pub epoch: u64,
}

/// The master `name` at `127.0.0.1:port` in config epoch `epoch`.
pub fn master(name: &str, port: u16, epoch: u64) -> FakeMaster {
    FakeMaster {
        name: name.into(),
        ip: "127.0.0.1".into(),
        port,
        epoch,
    }
}

/// How the fake answers one `SENTINEL MASTERS`, instead of with its masters.
#[derive(Debug, Clone)]
pub enum MastersReply {
    /// These bytes as they are: any RESP reply, or garbage.
    Raw(String),
    /// These bytes, then the connection is closed (a reply cut off mid-way).
    RawThenClose(String),
}

#[derive(Default)]
struct State {
    masters: Vec<FakeMaster>,
    /// The answer to `SENTINEL MASTERS` about `masters`, made when they change: a query
    /// at start costs the fake no more than a real sentinel's ready answer (making it
    /// for 10,000 masters took the fake several milliseconds, which were counted as
    /// tpc's).
    masters_answer: String,
    subscribers: Vec<TcpStream>,
    all: Vec<TcpStream>,
    masters_queries: usize,
    /// Number of `SENTINEL MASTER <name>` answered.
    master_queries: usize,
    /// Connections accepted, ever.
    accepted: usize,
    /// Every command received, in order.
    commands: Vec<Vec<String>>,
    /// Answers for the next `SENTINEL MASTERS`, one each, before the standing ones.
    queued: VecDeque<MastersReply>,
    /// A standing raw answer to `SENTINEL MASTERS`, in place of `masters`.
    raw_masters: Option<String>,
    /// `SENTINEL MASTER <asked>` is answered with this master's entry instead.
    master_answers: Vec<(String, FakeMaster)>,
    /// The raw answer to `SENTINEL REPLICAS <name>` per master name (none: no replica).
    replicas: BTreeMap<String, String>,
    /// Number of `SENTINEL REPLICAS` answered.
    replicas_queries: usize,
    /// `(user, password)` every connection must `AUTH` with first.
    password: Option<(String, String)>,
    /// Commands refused with `-NOAUTH`.
    noauth_replies: usize,
    /// How long every answer waits before it is sent.
    delay: Duration,
    /// Read commands but never answer any.
    silent: bool,
}

/// The fake sentinel; it listens until the test process ends.
pub struct FakeSentinel {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

/// A RESP bulk string.
pub fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// A RESP array of already encoded items.
pub fn array(items: &[String]) -> String {
    format!("*{}\r\n{}", items.len(), items.concat())
}

/// `n` informative events of a busy deployment about node-1 at 127.0.0.1:7001 and its
/// replicas (nothing tpc acts on), for floods.
pub fn chatter(n: usize) -> impl Iterator<Item = (String, String)> {
    (0..n).map(|i| {
        let port = 10_000 + i % 50_000;
        let replica = format!("slave 127.0.0.1:{port} 127.0.0.1 {port} @ node-1 127.0.0.1 7001");
        match i % 3 {
            0 => ("+sdown".to_string(), replica),
            1 => ("-sdown".to_string(), replica),
            _ => ("+new-epoch".to_string(), i.to_string()),
        }
    })
}

/// What a subscriber to `*` receives for `payload` published on `channel`.
fn pmessage(channel: &str, payload: &str) -> String {
    array(&[bulk("pmessage"), bulk("*"), bulk(channel), bulk(payload)])
}

fn read_command(r: &mut BufReader<TcpStream>) -> Option<Vec<String>> {
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let n: usize = line.trim().strip_prefix('*')?.parse().ok()?;
    let mut words = Vec::with_capacity(n);
    for _ in 0..n {
        line.clear();
        r.read_line(&mut line).ok()?;
        let len: usize = line.trim().strip_prefix('$')?.parse().ok()?;
        let mut buf = vec![0; len + 2];
        r.read_exact(&mut buf).ok()?;
        buf.truncate(len);
        words.push(String::from_utf8(buf).ok()?);
    }
    Some(words)
}

/// A `SENTINEL MASTERS` (or `SENTINEL REPLICAS`) answer made of raw `(field, value)`
/// entries, for values a [`FakeMaster`] cannot hold (hostile names, invalid ports).
pub fn entries_reply(entries: &[Vec<(&str, &str)>]) -> String {
    let entries: Vec<String> = entries
        .iter()
        .map(|fields| {
            let flat: Vec<String> = fields
                .iter()
                .flat_map(|(k, v)| [bulk(k), bulk(v)])
                .collect();
            array(&flat)
        })
        .collect();
    array(&entries)
}

/// One master's flat field list, as `SENTINEL MASTER <name>` answers it.
fn master_fields(m: &FakeMaster) -> String {
    array(&[
        bulk("name"),
        bulk(&m.name),
        bulk("ip"),
        bulk(&m.ip),
        bulk("port"),
        bulk(&m.port.to_string()),
        bulk("flags"),
        bulk("master"),
        bulk("config-epoch"),
        bulk(&m.epoch.to_string()),
    ])
}

fn masters_reply(masters: &[FakeMaster]) -> String {
    let entries: Vec<String> = masters.iter().map(master_fields).collect();
    array(&entries)
}

/// The answer to `AUTH [user] password` when a password is required; `None` when
/// `cmd` is not an AUTH.
fn auth_reply(cmd: &[String], want: &(String, String), authed: &mut bool) -> Option<String> {
    if !cmd[0].eq_ignore_ascii_case("AUTH") {
        return None;
    }
    let (user, pass) = match cmd {
        [_, pass] => ("default", pass.as_str()),
        [_, user, pass] => (user.as_str(), pass.as_str()),
        _ => return Some("-ERR wrong number of arguments for 'auth' command\r\n".into()),
    };
    *authed = user == want.0 && pass == want.1;
    Some(if *authed {
        "+OK\r\n".into()
    } else {
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n".into()
    })
}

fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let mut subscribed = false;
    let mut authed = false;
    while let Some(cmd) = read_command(&mut reader) {
        if cmd.is_empty() {
            return;
        }
        let (password, delay, silent) = {
            let mut s = state.lock().unwrap();
            s.commands.push(cmd.clone());
            (s.password.clone(), s.delay, s.silent)
        };
        if silent {
            continue;
        }
        thread::sleep(delay);
        if let Some(want) = password {
            let reply = match auth_reply(&cmd, &want, &mut authed) {
                Some(reply) => Some(reply),
                None if !authed => {
                    state.lock().unwrap().noauth_replies += 1;
                    Some("-NOAUTH Authentication required.\r\n".into())
                }
                None => None,
            };
            if let Some(reply) = reply {
                if out.write_all(reply.as_bytes()).is_err() {
                    return;
                }
                continue;
            }
        }
        let upper: Vec<String> = cmd.iter().map(|w| w.to_ascii_uppercase()).collect();
        let reply = match upper.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["PSUBSCRIBE", ..] => {
                subscribed = true;
                state
                    .lock()
                    .unwrap()
                    .subscribers
                    .push(out.try_clone().unwrap());
                array(&[bulk("psubscribe"), bulk(&cmd[1]), ":1\r\n".into()])
            }
            ["SENTINEL", "MASTERS"] => {
                let mut s = state.lock().unwrap();
                s.masters_queries += 1;
                match s.queued.pop_front() {
                    Some(MastersReply::Raw(bytes)) => bytes,
                    Some(MastersReply::RawThenClose(bytes)) => {
                        let _ = out.write_all(bytes.as_bytes());
                        let _ = out.flush();
                        let _ = out.shutdown(Shutdown::Both);
                        return;
                    }
                    None => match &s.raw_masters {
                        Some(raw) => raw.clone(),
                        None => s.masters_answer.clone(),
                    },
                }
            }
            ["SENTINEL", "MASTER", _] => {
                let mut s = state.lock().unwrap();
                s.master_queries += 1;
                let instead = s.master_answers.iter().find(|(asked, _)| *asked == cmd[2]);
                match instead
                    .map(|(_, m)| m)
                    .or_else(|| s.masters.iter().find(|m| m.name == cmd[2]))
                {
                    Some(m) => master_fields(m),
                    None => "-ERR No such master with that name\r\n".into(),
                }
            }
            ["SENTINEL", "REPLICAS" | "SLAVES", _] => {
                let mut s = state.lock().unwrap();
                s.replicas_queries += 1;
                s.replicas.get(&cmd[2]).cloned().unwrap_or(array(&[]))
            }
            ["PING", ..] if subscribed => array(&[bulk("pong"), bulk("")]),
            ["PING", ..] => "+PONG\r\n".into(),
            _ => "+OK\r\n".into(),
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

impl FakeSentinel {
    /// Starts listening on a free loopback port.
    pub fn start(masters: Vec<FakeMaster>) -> FakeSentinel {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            masters_answer: masters_reply(&masters),
            masters,
            ..State::default()
        }));
        let st = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                {
                    let mut s = st.lock().unwrap();
                    s.all.push(stream.try_clone().unwrap());
                    s.accepted += 1;
                }
                let st = st.clone();
                thread::spawn(move || serve(stream, st));
            }
        });
        FakeSentinel { port, state }
    }

    /// Replaces the masters `SENTINEL MASTERS` reports.
    pub fn set_masters(&self, masters: Vec<FakeMaster>) {
        let mut s = self.state.lock().unwrap();
        s.masters_answer = masters_reply(&masters);
        s.masters = masters;
    }

    /// Answers the next `SENTINEL MASTERS` queries with `replies`, one each, in order;
    /// later ones get the masters again.
    pub fn queue_masters_replies(&self, replies: Vec<MastersReply>) {
        self.state.lock().unwrap().queued.extend(replies);
    }

    /// Queued answers not given yet.
    pub fn queued_replies(&self) -> usize {
        self.state.lock().unwrap().queued.len()
    }

    /// Answers every `SENTINEL MASTERS` with these bytes (none: with the masters again).
    /// Answers `SENTINEL MASTER <asked>` with `answer`'s entry (a lie about which
    /// master it is).
    pub fn answer_master_with(&self, asked: &str, answer: FakeMaster) {
        self.state
            .lock()
            .unwrap()
            .master_answers
            .push((asked.to_string(), answer));
    }

    pub fn set_raw_masters(&self, raw: Option<String>) {
        self.state.lock().unwrap().raw_masters = raw;
    }

    /// Answers `SENTINEL REPLICAS <name>` with these bytes, e.g. an [`entries_reply`].
    pub fn set_replicas(&self, name: &str, raw: String) {
        self.state.lock().unwrap().replicas.insert(name.into(), raw);
    }

    /// Number of `SENTINEL REPLICAS` answered.
    pub fn replicas_queries(&self) -> usize {
        self.state.lock().unwrap().replicas_queries
    }

    /// Requires `AUTH [user] password` before anything else on every new command, like
    /// `requirepass` (`user` "default" also accepts the one-word `AUTH password`).
    pub fn require_password(&self, user: &str, password: &str) {
        self.state.lock().unwrap().password = Some((user.into(), password.into()));
    }

    /// Waits `delay` before every answer, like a sentinel on a slow or loaded host.
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Accepts connections and reads commands but never answers, like a hung sentinel.
    pub fn set_silent(&self, silent: bool) {
        self.state.lock().unwrap().silent = silent;
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().accepted
    }

    /// Commands refused so far for want of `AUTH`.
    pub fn noauth_replies(&self) -> usize {
        self.state.lock().unwrap().noauth_replies
    }

    /// Every command received so far, in order.
    pub fn commands(&self) -> Vec<Vec<String>> {
        self.state.lock().unwrap().commands.clone()
    }

    /// Number of subscribed connections.
    pub fn subscribers(&self) -> usize {
        self.state.lock().unwrap().subscribers.len()
    }

    /// Number of `SENTINEL MASTERS` answered.
    pub fn masters_queries(&self) -> usize {
        self.state.lock().unwrap().masters_queries
    }

    /// Number of `SENTINEL MASTER <name>` answered.
    pub fn master_queries(&self) -> usize {
        self.state.lock().unwrap().master_queries
    }

    /// Publishes `payload` on `channel` to every subscriber, as a pattern message.
    pub fn publish(&self, channel: &str, payload: &str) {
        let msg = pmessage(channel, payload);
        let mut s = self.state.lock().unwrap();
        s.subscribers
            .retain_mut(|c| c.write_all(msg.as_bytes()).is_ok());
    }

    /// A real failover as a sentinel shows it: `name` moves from `old_port` to
    /// `new_port` one config epoch on in the answers, then `+switch-master` is published.
    pub fn fail_over(&self, name: &str, old_port: u16, new_port: u16) {
        {
            let mut s = self.state.lock().unwrap();
            let m = s
                .masters
                .iter_mut()
                .find(|m| m.name == name)
                .expect("fail_over of a master the fake reports");
            m.port = new_port;
            m.epoch += 1;
            s.masters_answer = masters_reply(&s.masters);
        }
        self.publish(
            "+switch-master",
            &format!("{name} 127.0.0.1 {old_port} 127.0.0.1 {new_port}"),
        );
    }

    /// Publishes every `(channel, payload)` in order to every subscriber, as pattern
    /// messages written in chunks of about 1 MB: a flood faster than one `publish` each.
    /// Returns when every byte was written (tpc read it) or a subscriber went away.
    pub fn flood(&self, messages: impl IntoIterator<Item = (String, String)>) {
        let mut subscribers: Vec<TcpStream> = {
            let s = self.state.lock().unwrap();
            s.subscribers
                .iter()
                .map(|c| c.try_clone().unwrap())
                .collect()
        };
        let mut chunk = String::new();
        let mut write = |chunk: &mut String| {
            subscribers.retain_mut(|c| c.write_all(chunk.as_bytes()).is_ok());
            chunk.clear();
        };
        for (channel, payload) in messages {
            chunk.push_str(&pmessage(&channel, &payload));
            if chunk.len() >= 1 << 20 {
                write(&mut chunk);
            }
        }
        write(&mut chunk);
    }

    /// Closes every connection (tpc must reconnect and query again).
    pub fn drop_connections(&self) {
        let mut s = self.state.lock().unwrap();
        for c in s.all.drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        s.subscribers.clear();
    }

    /// Waits until `n` connections are subscribed.
    pub fn wait_subscribers(&self, n: usize, timeout: Duration) {
        let start = Instant::now();
        while self.subscribers() < n {
            assert!(start.elapsed() < timeout, "no subscriber after {timeout:?}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}
