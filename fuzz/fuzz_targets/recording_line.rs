//! Fuzzes `recording::parse_input`, which reads one JSON line of a recording.
//!
//! The input is one line (e.g. `{"type":"tick","at":5}`). Beyond "no panic", an
//! accepted input must survive a round trip: written again with `input_line` and read
//! back, it is the same input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tpc::shell::recording::{input_line, parse_input};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(input) = parse_input(line) else {
        return;
    };
    let written = input_line(&input);
    assert!(written.ends_with('\n') && !written[..written.len() - 1].contains('\n'));
    match parse_input(&written) {
        Ok(back) => assert_eq!(back, input, "{line:?} was written as {written:?}"),
        Err(e) => panic!("{line:?} was written as {written:?}, which does not read back: {e}"),
    }
});
