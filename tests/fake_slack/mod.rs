//! A Slack Web API (or webhook) stand-in for tests: an HTTP listener on a loopback port
//! that answers `{"ok":true}` to every request (or 500 when told to) and keeps the
//! request bodies and `Authorization` headers.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A Slack Web API stand-in: answers `{"ok":true}` and keeps the request bodies and
/// `Authorization` headers.
pub struct Slack {
    /// The Web API base URL to give tpc as -slack_url.
    pub url: String,
    bodies: Arc<Mutex<Vec<String>>>,
    authorizations: Arc<Mutex<Vec<String>>>,
    /// How many of the next requests get a 500 (counted down).
    failing: Arc<Mutex<usize>>,
}

impl Slack {
    /// Starts listening on a free loopback port.
    pub fn start() -> Slack {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let authorizations = Arc::new(Mutex::new(Vec::new()));
        let (seen, seen_auth) = (bodies.clone(), authorizations.clone());
        let failing = Arc::new(Mutex::new(0));
        let fail = failing.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut len = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    if line.to_ascii_lowercase().starts_with("authorization:") {
                        let value = line["authorization:".len()..].trim();
                        seen_auth.lock().unwrap().push(value.to_string());
                    }
                }
                let mut body = vec![0; len];
                let _ = reader.read_exact(&mut body);
                seen.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let status = {
                    let mut left = fail.lock().unwrap();
                    if *left > 0 {
                        *left -= 1;
                        "500 Internal Server Error"
                    } else {
                        "200 OK"
                    }
                };
                let answer = r#"{"ok":true}"#;
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            }
        });
        Slack {
            url: format!("http://127.0.0.1:{port}/api"),
            bodies,
            authorizations,
            failing,
        }
    }

    /// The next `n` requests are answered 500 (and still recorded).
    pub fn fail_next(&self, n: usize) {
        *self.failing.lock().unwrap() = n;
    }

    /// Every request body so far, as JSON.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| serde_json::from_str(b).expect("a JSON body"))
            .collect()
    }

    /// The `text` of every post so far.
    pub fn texts(&self) -> Vec<String> {
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| {
                let v: serde_json::Value = serde_json::from_str(b).expect("a JSON body");
                v["text"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    }

    /// The `Authorization` header of every request so far.
    pub fn authorizations(&self) -> Vec<String> {
        self.authorizations.lock().unwrap().clone()
    }

    /// How many posts so far contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.texts().iter().filter(|t| t.contains(needle)).count()
    }

    /// Waits until a post contains `needle`; panics after `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) {
        let start = Instant::now();
        while self.count(needle) == 0 {
            assert!(
                start.elapsed() < timeout,
                "no Slack post with {needle:?} in {:?}",
                self.texts()
            );
            thread::sleep(Duration::from_millis(25));
        }
    }
}
