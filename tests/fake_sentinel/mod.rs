//! A fake sentinel: a small RESP server on a loopback port that answers what tpc asks
//! (`PSUBSCRIBE`, `SENTINEL MASTERS`, `PING`, and `+OK` to anything else) and lets a test
//! publish events or drop every connection. For faults real sentinels won't produce on
//! demand.

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

#[derive(Default)]
struct State {
    masters: Vec<FakeMaster>,
    subscribers: Vec<TcpStream>,
    all: Vec<TcpStream>,
    masters_queries: usize,
}

/// The fake sentinel; it listens until the test process ends.
pub struct FakeSentinel {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn array(items: &[String]) -> String {
    format!("*{}\r\n{}", items.len(), items.concat())
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

fn masters_reply(masters: &[FakeMaster]) -> String {
    let entries: Vec<String> = masters
        .iter()
        .map(|m| {
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
        })
        .collect();
    array(&entries)
}

fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    let mut subscribed = false;
    while let Some(cmd) = read_command(&mut reader) {
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
                masters_reply(&s.masters)
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
            masters,
            ..State::default()
        }));
        let st = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                st.lock().unwrap().all.push(stream.try_clone().unwrap());
                let st = st.clone();
                thread::spawn(move || serve(stream, st));
            }
        });
        FakeSentinel { port, state }
    }

    /// Replaces the masters `SENTINEL MASTERS` reports.
    pub fn set_masters(&self, masters: Vec<FakeMaster>) {
        self.state.lock().unwrap().masters = masters;
    }

    /// Number of subscribed connections.
    pub fn subscribers(&self) -> usize {
        self.state.lock().unwrap().subscribers.len()
    }

    /// Number of `SENTINEL MASTERS` answered.
    pub fn masters_queries(&self) -> usize {
        self.state.lock().unwrap().masters_queries
    }

    /// Publishes `payload` on `channel` to every subscriber, as a pattern message.
    pub fn publish(&self, channel: &str, payload: &str) {
        let msg = array(&[bulk("pmessage"), bulk("*"), bulk(channel), bulk(payload)]);
        let mut s = self.state.lock().unwrap();
        s.subscribers
            .retain_mut(|c| c.write_all(msg.as_bytes()).is_ok());
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
