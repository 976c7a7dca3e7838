//! One input as one line of a recording: written by serde_json, read back without
//! copying its text. Lines in exactly the form tpc writes take a fast path (replay must
//! keep up with a million inputs a second); every other line, and every line the fast
//! path is unsure of, goes through serde_json.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::core::replicas::ReplicaInfo;
use crate::core::{EffectId, Input, MasterInfo, Millis, Outcome};

/// An input as one JSON line, newline included.
pub fn input_line(input: &Input<'_>) -> String {
    let mut line = serde_json::to_string(input).expect("an input always serializes");
    line.push('\n');
    line
}

/// Text in an input line: borrowed from the line unless it holds escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(s.to_string())))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(Visit(std::marker::PhantomData))
    }
}

/// One input line as it is written, read without buffering (serde's internally tagged
/// enums buffer every field first, which halves replay speed), borrowing every text
/// that holds no escape.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatInput<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    at: Millis,
    #[serde(borrow)]
    sentinel: Option<Text<'a>>,
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    payload: Option<Text<'a>>,
    masters: Option<Vec<MasterInfo>>,
    replicas: Option<Replicas>,
    #[serde(borrow)]
    reason: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
    master: Option<MasterInfo>,
    id: Option<EffectId>,
    outcome: Option<Outcome>,
    #[serde(borrow)]
    text: Option<Text<'a>>,
}

/// `replicas`: by master in a snapshot, one master's in a master answer.
#[derive(Deserialize)]
#[serde(untagged)]
enum Replicas {
    ByMaster(BTreeMap<String, Vec<ReplicaInfo>>),
    Of(Vec<ReplicaInfo>),
}

fn need<T>(value: Option<T>, kind: &str, field: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("a {kind} input needs \"{field}\""))
}

fn need_text<'a>(value: Option<Text<'a>>, kind: &str, field: &str) -> Result<Cow<'a, str>, String> {
    need(value, kind, field).map(|t| t.0)
}

/// Parses one input line; its text borrows from `line`.
pub fn parse_input(line: &str) -> Result<Input<'_>, String> {
    match plain_message(line) {
        Some(input) => Ok(input),
        None => parse_with_serde(line),
    }
}

fn parse_with_serde(line: &str) -> Result<Input<'_>, String> {
    let f: FlatInput = serde_json::from_str(line).map_err(|e| format!("not an input ({e})"))?;
    let at = f.at;
    let kind = f.kind.0.as_ref();
    Ok(match kind {
        "message" => Input::Message {
            at,
            sentinel: need_text(f.sentinel, kind, "sentinel")?,
            channel: need_text(f.channel, kind, "channel")?,
            payload: need_text(f.payload, kind, "payload")?,
        },
        "snapshot" => Input::Snapshot {
            at,
            sentinel: need_text(f.sentinel, kind, "sentinel")?,
            masters: need(f.masters, kind, "masters")?,
            replicas: match f.replicas {
                None => BTreeMap::new(),
                Some(Replicas::ByMaster(by_master)) => by_master,
                Some(Replicas::Of(_)) => {
                    return Err("a snapshot's \"replicas\" are by master name".into())
                }
            },
        },
        "master_answer" => Input::MasterAnswer {
            at,
            sentinel: need_text(f.sentinel, kind, "sentinel")?,
            name: need_text(f.name, kind, "name")?,
            master: f.master,
            replicas: match f.replicas {
                None => None,
                Some(Replicas::Of(list)) => Some(list),
                // An empty list reads as an empty map too.
                Some(Replicas::ByMaster(m)) if m.is_empty() => Some(Vec::new()),
                Some(Replicas::ByMaster(_)) => {
                    return Err("a master answer's \"replicas\" are a list".into())
                }
            },
        },
        "link_up" => Input::LinkUp {
            at,
            sentinel: need_text(f.sentinel, kind, "sentinel")?,
        },
        "link_down" => Input::LinkDown {
            at,
            sentinel: need_text(f.sentinel, kind, "sentinel")?,
            reason: need_text(f.reason, kind, "reason")?,
        },
        "tick" => Input::Tick { at },
        "config_read" => Input::ConfigRead {
            at,
            id: need(f.id, kind, "id")?,
            text: f.text.map(|t| t.0),
        },
        "done" => Input::Done {
            at,
            id: need(f.id, kind, "id")?,
            outcome: need(f.outcome, kind, "outcome")?,
        },
        other => {
            return Err(format!(
                "unknown input type {other:?} (expected message, snapshot, master_answer, link_up, link_down, tick, config_read or done)"
            ))
        }
    })
}

/// A message line exactly as [`input_line`] writes it, when no text in it is escaped:
/// `{"type":"message","at":N,"sentinel":"..","channel":"..","payload":".."}`. Anything
/// else is `None`, for serde_json to read (or to explain what is wrong).
fn plain_message(line: &str) -> Option<Input<'_>> {
    let rest = line.strip_prefix(r#"{"type":"message","at":"#)?;
    let (at, rest) = rest.split_once(',')?;
    let at = plain_number(at)?;
    let (sentinel, rest) = plain_text(rest.strip_prefix(r#""sentinel":""#)?)?;
    let (channel, rest) = plain_text(rest.strip_prefix(r#","channel":""#)?)?;
    let (payload, rest) = plain_text(rest.strip_prefix(r#","payload":""#)?)?;
    (rest == "}").then_some(Input::Message {
        at: Millis(at),
        sentinel: Cow::Borrowed(sentinel),
        channel: Cow::Borrowed(channel),
        payload: Cow::Borrowed(payload),
    })
}

/// A JSON number as serde_json writes a `u64`: digits, no leading zero.
fn plain_number(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

/// The text of a JSON string up to its closing quote, and what follows the quote, when
/// the text holds no escape (so it reads as written) and no control character (which
/// JSON forbids unescaped).
fn plain_text(s: &str) -> Option<(&str, &str)> {
    let end = memchr::memchr2(b'"', b'\\', s.as_bytes())?;
    let text = &s[..end];
    // Folded rather than searched, so that it compiles to vector instructions.
    let control = text.bytes().fold(false, |seen, b| seen | (b < 0x20));
    (s.as_bytes()[end] == b'"' && !control).then(|| (text, &s[end + 1..]))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn message(at: u64, sentinel: &str, channel: &str, payload: &str) -> Input<'static> {
        Input::Message {
            at: Millis(at),
            sentinel: sentinel.to_string().into(),
            channel: channel.to_string().into(),
            payload: payload.to_string().into(),
        }
    }

    fn read(line: &str) -> Result<Input<'static>, String> {
        parse_input(line).map(Input::into_owned)
    }

    #[test]
    fn a_master_answer_reads_back_as_written() {
        let master = MasterInfo {
            name: "node-1".into(),
            addr: crate::core::Addr {
                host: "10.0.0.2".into(),
                port: 6379,
            },
            epoch: Some(3),
        };
        for (master, replicas) in [(Some(master), Some(Vec::new())), (None, None)] {
            let answer = Input::MasterAnswer {
                at: Millis(9),
                sentinel: "10.0.0.9:26379".into(),
                name: "node-1".into(),
                master,
                replicas,
            };
            assert_eq!(read(&input_line(&answer)), Ok(answer));
        }
    }

    #[test]
    fn a_written_message_takes_the_fast_path_and_borrows() {
        let m = message(7, "10.0.0.9:26379", "+sdown", "master node-1 10.0.0.1 6379");
        let line = input_line(&m);
        let fast = plain_message(line.trim_end()).expect("the fast path takes it");
        assert_eq!(fast, m);
        assert!(matches!(
            fast,
            Input::Message {
                payload: Cow::Borrowed(_),
                ..
            }
        ));
    }

    #[test]
    fn every_kind_of_input_reads_back_as_written() {
        use crate::core::EffectId;
        for input in [
            Input::ConfigRead {
                at: Millis(3),
                id: EffectId(9),
                text: Some("redis:\n  servers: []\n".into()),
            },
            Input::ConfigRead {
                at: Millis(4),
                id: EffectId(10),
                text: None,
            },
            Input::Tick { at: Millis(5) },
        ] {
            let line = input_line(&input);
            assert_eq!(read(line.trim_end()), Ok(input), "{line}");
        }
    }

    #[test]
    fn other_forms_go_through_serde_json() {
        let m = message(7, "s", "+sdown", "say \"hi\"\\");
        for line in [
            input_line(&m),
            r#"{"at":7,"type":"message","sentinel":"s","channel":"+sdown","payload":"say \"hi\"\\"}"#.into(),
            r#"{ "type": "message", "at": 7, "sentinel": "s", "channel": "+sdown", "payload": "say \u0022hi\"\\" }"#.into(),
        ] {
            assert_eq!(plain_message(line.trim_end()), None, "{line}");
            assert_eq!(read(line.trim_end()), Ok(m.clone()), "{line}");
        }
    }

    #[test]
    fn what_the_fast_path_leaves_is_still_refused() {
        let good = r#"{"type":"message","at":7,"sentinel":"s","channel":"c","payload":"p"}"#;
        assert!(read(good).is_ok());
        for bad in [
            r#"{"type":"message","at":07,"sentinel":"s","channel":"c","payload":"p"}"#,
            r#"{"type":"message","at":-7,"sentinel":"s","channel":"c","payload":"p"}"#,
            r#"{"type":"message","at":99999999999999999999,"sentinel":"s","channel":"c","payload":"p"}"#,
            "{\"type\":\"message\",\"at\":7,\"sentinel\":\"s\",\"channel\":\"c\",\"payload\":\"p\tq\"}",
            r#"{"type":"message","at":7,"sentinel":"s","channel":"c","payload":"p"}}"#,
            r#"{"type":"message","at":7,"sentinel":"s","channel":"c","payload":"p","x":1}"#,
            r#"{"type":"message","at":7,"sentinel":"s","channel":"c"}"#,
        ] {
            assert_eq!(plain_message(bad), None, "{bad}");
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    /// Lines near the fast path's form, mostly in it, to try its edges.
    fn near_message_line() -> impl Strategy<Value = String> {
        let number = prop_oneof![4 => "[1-9][0-9]{0,19}", 1 => "0[0-9]?|-?[0-9.eE+]{0,4}"];
        let text = || prop_oneof![4 => "[a-z \u{7f}é:+-]{0,8}", 1 => "[a-z\"\\\\\t\u{1}]{0,8}"];
        let end = prop_oneof![
            4 => Just("}"),
            1 => Just("} "),
            1 => Just("}}"),
            1 => Just(""),
            1 => Just(",\"x\":1}"),
        ];
        (number, text(), text(), text(), end).prop_map(|(at, s, c, p, end)| {
            format!(r#"{{"type":"message","at":{at},"sentinel":"{s}","channel":"{c}","payload":"{p}"{end}"#)
        })
    }

    proptest! {
        #![proptest_config(crate::testing::proptest_config::config(256, None))]

        #[test]
        fn every_message_reads_back_as_written(
            at in any::<u64>(),
            sentinel in "\\PC{0,12}|.{0,12}",
            channel in "\\PC{0,12}|.{0,12}",
            payload in "\\PC{0,40}|.{0,40}",
        ) {
            let m = message(at, &sentinel, &channel, &payload);
            let line = input_line(&m);
            prop_assert_eq!(read(line.trim_end()), Ok(m));
            let escaped = |t: &str| t.chars().any(|c| c == '"' || c == '\\' || c < ' ');
            let plain = ![&sentinel, &channel, &payload].iter().any(|t| escaped(t));
            prop_assert_eq!(plain_message(line.trim_end()).is_some(), plain);
        }

        #[test]
        fn the_fast_path_agrees_with_serde_json(line in near_message_line()) {
            if let Some(fast) = plain_message(&line) {
                prop_assert_eq!(parse_with_serde(&line), Ok(fast));
            }
        }
    }
}
