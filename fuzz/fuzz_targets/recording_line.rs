//! Fuzzes the reading of recordings: `recording::parse_input` on one line, and
//! `recording::Reader` on a whole file.
//!
//! As one line (e.g. `{"type":"tick","at":5}`), beyond "no panic", an accepted input
//! must survive a round trip: written again with `input_line` and read back, it is the
//! same input. As a file (the first byte sets the read buffer's size, so lines straddle
//! buffer ends), reading must end in inputs, an error or the end, never a panic.
#![no_main]

use std::io::BufReader;

use libfuzzer_sys::fuzz_target;
use tpc::shell::recording::{input_line, parse_input, Reader};

fuzz_target!(|data: &[u8]| {
    if let Some((&capacity, file)) = data.split_first() {
        let source = BufReader::with_capacity(usize::from(capacity).max(1), file);
        if let Ok((_, mut reader)) = Reader::open(source) {
            while let Ok(Some(_)) = reader.next_input() {}
        }
    }
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(input) = parse_input(line) else {
        return;
    };
    let written = input_line(&input);
    assert!(written.ends_with('\n') && !written[..written.len() - 1].contains('\n'));
    // Trimmed as the Reader trims it.
    match parse_input(written.trim_end()) {
        Ok(back) => assert_eq!(back, input, "{line:?} was written as {written:?}"),
        Err(e) => panic!("{line:?} was written as {written:?}, which does not read back: {e}"),
    }
});
