//! Reading input lines, checked against the inputs themselves: every input reads back
//! as written, borrowing its unescaped text; the same input written by hand (other key
//! order, whitespace, escapes) reads the same; a bad line is refused with its reason.

use std::borrow::Cow;

use proptest::prelude::*;

use super::*;
use crate::core::Addr;

fn read(line: &str) -> Result<Input<'static>, String> {
    parse_input(line).map(Input::into_owned)
}

/// Any text: printable or not, escapes and control characters included.
fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}|.{0,12}|[a-z0-9 :.+-]{0,16}"
}

/// Any address tpc takes (an address is written as the text `host:port`).
fn addr() -> impl Strategy<Value = Addr> {
    ("[a-z0-9][a-z0-9._-]{0,15}", 1..=u16::MAX).prop_map(|(host, port)| Addr { host, port })
}

fn master() -> impl Strategy<Value = MasterInfo> {
    (text(), addr(), any::<Option<u64>>()).prop_map(|(name, addr, epoch)| MasterInfo {
        name,
        addr,
        epoch,
    })
}

fn replicas() -> impl Strategy<Value = Vec<ReplicaInfo>> {
    let replica =
        (addr(), any::<bool>(), any::<u32>()).prop_map(|(addr, down, priority)| ReplicaInfo {
            addr,
            down,
            priority,
        });
    proptest::collection::vec(replica, 0..3)
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Ok),
        text().prop_map(|error| Outcome::Failed { error }),
    ]
}

/// Any input, of every kind.
fn input() -> impl Strategy<Value = Input<'static>> {
    let at = || any::<u64>().prop_map(Millis);
    let cow = || text().prop_map(Cow::Owned);
    let id = || any::<u64>().prop_map(EffectId);
    prop_oneof![
        4 => (at(), cow(), cow(), cow()).prop_map(|(at, sentinel, channel, payload)| {
            Input::Message { at, sentinel, channel, payload }
        }),
        1 => (
            at(),
            cow(),
            proptest::collection::vec(master(), 0..3),
            proptest::collection::btree_map(text(), replicas(), 0..3),
        )
            .prop_map(|(at, sentinel, masters, replicas)| Input::Snapshot {
                at,
                sentinel,
                masters,
                replicas,
            }),
        1 => (at(), cow(), cow(), proptest::option::of(master()), proptest::option::of(replicas()))
            .prop_map(|(at, sentinel, name, master, replicas)| Input::MasterAnswer {
                at,
                sentinel,
                name,
                master,
                replicas,
            }),
        1 => (at(), cow()).prop_map(|(at, sentinel)| Input::LinkUp { at, sentinel }),
        1 => (at(), cow(), cow()).prop_map(|(at, sentinel, reason)| Input::LinkDown {
            at,
            sentinel,
            reason,
        }),
        1 => at().prop_map(|at| Input::Tick { at }),
        1 => (at(), id(), proptest::option::of(cow())).prop_map(|(at, id, text)| {
            Input::ConfigRead { at, id, text }
        }),
        1 => (at(), id(), outcome()).prop_map(|(at, id, outcome)| Input::Done { at, id, outcome }),
    ]
}

/// The texts an input borrows from its line.
fn texts<'i>(input: &'i Input<'_>) -> Vec<&'i Cow<'i, str>> {
    match input {
        Input::Message {
            sentinel,
            channel,
            payload,
            ..
        } => vec![sentinel, channel, payload],
        Input::Snapshot { sentinel, .. } | Input::LinkUp { sentinel, .. } => vec![sentinel],
        Input::MasterAnswer { sentinel, name, .. } => vec![sentinel, name],
        Input::LinkDown {
            sentinel, reason, ..
        } => vec![sentinel, reason],
        Input::ConfigRead { text, .. } => text.iter().collect(),
        Input::Tick { .. } | Input::Done { .. } => vec![],
    }
}

/// Whether JSON must escape a character in a string.
fn must_escape(c: char) -> bool {
    c == '"' || c == '\\' || c < ' '
}

/// A JSON writer for tests, independent of serde_json's: keys in a shuffled order,
/// whitespace between tokens, and characters escaped at random (always those JSON
/// requires), in any of JSON's escape forms.
struct ByHand {
    seed: u64,
    out: String,
}

impl ByHand {
    fn write(value: &serde_json::Value, seed: u64) -> String {
        let mut hand = ByHand {
            seed: seed | 1,
            out: String::new(),
        };
        hand.space();
        hand.value(value);
        hand.space();
        hand.out
    }

    fn next(&mut self) -> u64 {
        // xorshift64
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        self.seed
    }

    /// True one time in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }

    fn space(&mut self) {
        let space = ["", "", " ", "\t", "  ", " \t\r "][(self.next() % 6) as usize];
        self.out.push_str(space);
    }

    fn value(&mut self, value: &serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::Null => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => self.out.push_str(&n.to_string()),
            Value::String(s) => self.string(s),
            Value::Array(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.space();
                    self.value(item);
                    self.space();
                }
                self.out.push(']');
            }
            Value::Object(fields) => {
                let mut fields: Vec<_> = fields.iter().collect();
                if !fields.is_empty() {
                    let turn = (self.next() as usize) % fields.len();
                    fields.rotate_left(turn);
                    if self.one_in(2) {
                        fields.reverse();
                    }
                }
                self.out.push('{');
                for (i, (key, item)) in fields.into_iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.space();
                    self.string(key);
                    self.space();
                    self.out.push(':');
                    self.space();
                    self.value(item);
                    self.space();
                }
                self.out.push('}');
            }
        }
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            if !must_escape(c) && !self.one_in(4) {
                self.out.push(c);
                continue;
            }
            let short = match c {
                '"' => Some("\\\""),
                '\\' => Some("\\\\"),
                '/' => Some("\\/"),
                '\n' => Some("\\n"),
                '\t' => Some("\\t"),
                '\r' => Some("\\r"),
                '\u{8}' => Some("\\b"),
                '\u{c}' => Some("\\f"),
                _ => None,
            };
            match short {
                Some(short) if self.one_in(2) => self.out.push_str(short),
                _ => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        let hex = if self.one_in(2) {
                            format!("\\u{unit:04x}")
                        } else {
                            format!("\\u{unit:04X}")
                        };
                        self.out.push_str(&hex);
                    }
                }
            }
        }
        self.out.push('"');
    }
}

#[test]
fn a_written_message_borrows_its_text() {
    let m = Input::Message {
        at: Millis(7),
        sentinel: "10.0.0.9:26379".into(),
        channel: "+sdown".into(),
        payload: "master node-1 10.0.0.1 6379".into(),
    };
    let line = input_line(&m);
    let read = parse_input(line.trim_end()).unwrap();
    assert_eq!(read, m);
    assert!(texts(&read).iter().all(|t| matches!(t, Cow::Borrowed(_))));
}

#[test]
fn a_bad_replica_says_what_is_wrong_with_it() {
    let snapshot = r#"{"type":"snapshot","at":1,"sentinel":"s","masters":[],"replicas":{"n":[{"addr":"h:70000"}]}}"#;
    let answer = r#"{"type":"master_answer","at":1,"sentinel":"s","name":"n","replicas":[{"addr":"h:x","priority":1}]}"#;
    for (line, port) in [(snapshot, "70000"), (answer, "x")] {
        let why = read(line).unwrap_err();
        let what = format!("port \"{port}\" is not a number from 1 to 65535");
        assert!(why.contains(&what), "{why}");
    }
}

#[test]
fn a_bad_line_is_refused_with_its_reason() {
    let message = |rest: &str| format!(r#"{{"type":"message","at":7,"sentinel":"s"{rest}"#);
    for (line, why) in [
        (r#"{"type":"message","at":07,"sentinel":"s","channel":"c","payload":"p"}"#.to_string(), "invalid number"),
        (r#"{"type":"message","at":-7,"sentinel":"s","channel":"c","payload":"p"}"#.into(), "-7"),
        (r#"{"type":"message","at":99999999999999999999,"sentinel":"s","channel":"c","payload":"p"}"#.into(), "expected u64"),
        (r#"{"type":"message","sentinel":"s","channel":"c","payload":"p"}"#.into(), "missing field `at`"),
        (r#"{"type":"message","at":1,"at":2,"sentinel":"s","channel":"c","payload":"p"}"#.into(), "duplicate field `at`"),
        (message(",\"channel\":\"c\",\"payload\":\"p\tq\"}"), "control character"),
        (message(",\"channel\":\"c\",\"payload\":\"p\\q\"}"), "invalid escape"),
        (message(",\"channel\":\"c\",\"payload\":\"p\"}}"), "trailing characters"),
        (message(",\"channel\":\"c\",\"payload\":\"p\""), "EOF"),
        (message(",\"channel\":\"c\",\"payload\":\"p\",\"x\":1}"), "unknown field `x`"),
        (message(",\"channel\":\"c\"}"), "a message input needs \"payload\""),
        (message(",\"channel\":\"c\",\"payload\":7}"), "expected a string"),
        (r#"{"type":"nope","at":1}"#.into(), "unknown input type \"nope\""),
        (r#"{"type":"snapshot","at":1,"sentinel":"s","masters":[],"replicas":[]}"#.into(), "a snapshot's \"replicas\" are by master name"),
        (r#"{"type":"master_answer","at":1,"sentinel":"s","name":"n","replicas":{"n":[]}}"#.into(), "a master answer's \"replicas\" are a list"),
        (r#"{"type":"done","at":1,"id":3,"outcome":{"status":"bad"}}"#.into(), "unknown variant `bad`"),
        ("\"tick\"".into(), "expected an input such as {\"type\":\"tick\",\"at\":1}"),
    ] {
        match read(&line) {
            Err(e) => assert!(e.contains(why), "{line}: {e} (expected {why:?})"),
            Ok(input) => panic!("{line} read as {input:?}"),
        }
    }
}

proptest! {
    #![proptest_config(crate::testing::proptest_config::config(256, None))]

    #[test]
    fn every_input_reads_back_as_written_borrowing_its_plain_text(input in input()) {
        let line = input_line(&input);
        prop_assert!(line.ends_with('\n') && !line.trim_end().contains('\n'), "{}", line);
        let read = parse_input(line.trim_end());
        prop_assert_eq!(read.as_ref(), Ok(&input));
        let read = read.unwrap_or(Input::Tick { at: Millis(0) });
        for (text, back) in texts(&input).into_iter().zip(texts(&read)) {
            let plain = !text.chars().any(must_escape);
            prop_assert_eq!(matches!(back, Cow::Borrowed(_)), plain, "{:?}", text);
        }
    }

    #[test]
    fn an_input_written_by_hand_reads_the_same(input in input(), seed in any::<u64>()) {
        let value = serde_json::to_value(&input).unwrap_or_default();
        let line = ByHand::write(&value, seed);
        prop_assert_eq!(read(line.trim()), Ok(input), "{}", line);
    }
}
