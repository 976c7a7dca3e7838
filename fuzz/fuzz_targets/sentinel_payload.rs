//! Fuzzes `SentinelEvent::parse` with arbitrary payloads on every kind of channel.
//!
//! The input is the payload text (e.g. `node-25 127.0.0.1 6025 127.0.0.1 7025`); it is
//! parsed as the payload of each channel below. Beyond "no panic", every master the
//! parser accepts must be safe to write into nutcracker's config: a valid name, valid
//! hosts, non-zero ports, and a rendered config that reads back to the same servers
//! (no YAML injection).
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tpc::core::addr::is_valid_host;
use tpc::core::event::{is_valid_name, Instance, SentinelEvent};
use tpc::core::render::{parse, render, servers_of};
use tpc::core::{Addr, PoolSettings};

/// One channel per branch of the parser: switch, monitor, unmonitor, odown, any other
/// instance event, and a non-instance event.
const CHANNELS: &[&str] = &[
    "+switch-master",
    "+monitor",
    "-monitor",
    "+odown",
    "-odown",
    "+sdown",
    "+slave",
    "+new-epoch",
];

fn check_master(name: &str, addr: &Addr, payload: &str) {
    assert!(is_valid_name(name), "invalid name {name:?} from {payload:?}");
    assert!(
        is_valid_host(&addr.host),
        "invalid host {:?} from {payload:?}",
        addr.host
    );
    assert_ne!(addr.port, 0, "port 0 from {payload:?}");
    let map: BTreeMap<String, Addr> = [(name.to_string(), addr.clone())].into();
    let text = render(&PoolSettings::default(), &map);
    if let Err(e) = parse(&text) {
        panic!("rendered config does not parse ({e}) for {payload:?}:\n{text}");
    }
    assert_eq!(
        servers_of(&text, "redis"),
        map,
        "servers do not round-trip for {payload:?}:\n{text}"
    );
}

fn check_instance(instance: &Instance<'_>, payload: &str) {
    assert!(is_valid_host(instance.addr.host), "{payload:?}");
    assert_ne!(instance.addr.port, 0, "{payload:?}");
    if let Some((_, addr)) = &instance.master {
        assert!(is_valid_host(addr.host), "{payload:?}");
        assert_ne!(addr.port, 0, "{payload:?}");
    }
    // Logged and sent to Slack: formatting must not panic.
    let _ = instance.to_string();
    let _ = instance.master_name();
}

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = std::str::from_utf8(data) else {
        return;
    };
    for channel in CHANNELS {
        match SentinelEvent::parse(channel, payload) {
            Ok(SentinelEvent::SwitchMaster { name, old, new }) => {
                check_master(name, &old, payload);
                check_master(name, &new, payload);
            }
            Ok(SentinelEvent::Monitor { name, addr }) => check_master(name, &addr, payload),
            Ok(SentinelEvent::Unmonitor { name }) => {
                assert!(is_valid_name(name), "invalid name {name:?} from {payload:?}")
            }
            Ok(SentinelEvent::ObjectivelyDown { instance, .. })
            | Ok(SentinelEvent::About { instance }) => check_instance(&instance, payload),
            Ok(SentinelEvent::Other) => {}
            // Errors are logged: formatting must not panic.
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
