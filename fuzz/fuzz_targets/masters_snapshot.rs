//! Fuzzes reading one entry of a `SENTINEL MASTERS` answer: `snapshot::pairs` on the
//! flat field/value list, then `snapshot::master_from_fields`.
//!
//! The input is the flat list, one word per line (`name\nnode-1\nip\n127.0.0.1\n...`);
//! when it holds a NUL byte the words are split on NUL instead, so values can hold
//! newlines. Beyond "no panic", an accepted master must be safe to write into
//! nutcracker's config (valid name and host, non-zero port, the rendered config reads
//! back to the same server) and must survive a recording (JSON) round trip.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tpc::core::addr::is_valid_host;
use tpc::core::event::is_valid_name;
use tpc::core::render::{parse, render, servers_of};
use tpc::core::snapshot::{master_from_fields, pairs};
use tpc::core::{Addr, MasterInfo, PoolSettings};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let sep = if text.contains('\0') { '\0' } else { '\n' };
    let flat: Vec<String> = text.split(sep).map(str::to_string).collect();
    let fields = match pairs(&flat) {
        Ok(fields) => fields,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert!(fields.len() <= flat.len() / 2);

    let m = match master_from_fields(&fields) {
        Ok(m) => m,
        Err(e) => {
            // Errors are logged: formatting must not panic.
            let _ = e.to_string();
            return;
        }
    };
    let ctx = format!("{fields:?}");
    assert!(is_valid_name(&m.name), "invalid name {:?} from {ctx}", m.name);
    assert!(is_valid_host(&m.addr.host), "invalid host {:?} from {ctx}", m.addr.host);
    assert_ne!(m.addr.port, 0, "port 0 from {ctx}");
    // What was read is what the fields say.
    assert_eq!(Some(m.name.as_str()), fields.get("name"), "{ctx}");
    assert_eq!(Some(m.addr.host.as_str()), fields.get("ip"), "{ctx}");
    if fields.get("config-epoch").is_none() {
        assert_eq!(m.epoch, None, "{ctx}");
    }

    // No YAML injection: the rendered config reads back to this one server.
    let map: BTreeMap<String, Addr> = [(m.name.clone(), m.addr.clone())].into();
    let config = render(&PoolSettings::default(), &map);
    if let Err(e) = parse(&config) {
        panic!("rendered config does not parse ({e}) for {ctx}:\n{config}");
    }
    assert_eq!(servers_of(&config, "redis"), map, "{ctx}:\n{config}");

    // Snapshots are recorded as JSON and replayed: the master must come back equal.
    let json = serde_json::to_string(&m).expect("a master serializes");
    let back: MasterInfo = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("recorded master {json} does not read back: {e}"));
    assert_eq!(back, m, "{json}");
});
