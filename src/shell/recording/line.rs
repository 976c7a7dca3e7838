//! One input as one line of a recording: written and read by serde_json. Reading
//! borrows every text that holds no escape from the line, so replaying a message
//! allocates nothing for it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::Deserialize;

use crate::core::replicas::ReplicaInfo;
use crate::core::{EffectId, Input, MasterInfo, Millis, Outcome};

/// An input as one JSON line, newline included.
pub fn input_line(input: &Input<'_>) -> String {
    let mut line = serde_json::to_string(input).expect("an input always serializes");
    line.push('\n');
    line
}

/// Text in an input line: borrowed from the line unless it holds escapes. (serde
/// borrows a bare `Cow<str>` field, not one in an `Option`.)
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

/// One input line as it is written, read in one pass without buffering (serde's
/// internally tagged enums buffer every field first, which halves replay speed),
/// borrowing every text that holds no escape.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an input such as {\"type\":\"tick\",\"at\":1}"
)]
struct FlatInput<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
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

/// `replicas`: by master (an object) in a snapshot, a list in a master answer. Told
/// apart by the value's shape as it is read, not by trying each in turn, so that an
/// error names what is wrong inside.
enum Replicas {
    ByMaster(BTreeMap<String, Vec<ReplicaInfo>>),
    Of(Vec<ReplicaInfo>),
}

impl<'de> Deserialize<'de> for Replicas {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Replicas;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("replicas by master name (an object) or a list of replicas")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Replicas, A::Error> {
                Deserialize::deserialize(MapAccessDeserializer::new(map)).map(Replicas::ByMaster)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Replicas, A::Error> {
                Deserialize::deserialize(SeqAccessDeserializer::new(seq)).map(Replicas::Of)
            }
        }
        d.deserialize_any(Visit)
    }
}

fn need<T>(value: Option<T>, kind: &str, field: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("a {kind} input needs \"{field}\""))
}

fn need_text<'a>(value: Option<Text<'a>>, kind: &str, field: &str) -> Result<Cow<'a, str>, String> {
    need(value, kind, field).map(|t| t.0)
}

/// Parses one input line; its text borrows from `line`.
pub fn parse_input(line: &str) -> Result<Input<'_>, String> {
    let f: FlatInput = serde_json::from_str(line).map_err(|e| format!("not an input ({e})"))?;
    input_of(f)
}

/// The input a line's fields make, or what it lacks.
fn input_of(f: FlatInput<'_>) -> Result<Input<'_>, String> {
    let at = f.at;
    let kind = f.kind.as_ref();
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

#[cfg(test)]
mod tests;
