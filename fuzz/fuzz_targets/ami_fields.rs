//! AMI event bodies from client-supplied values (CommandID, Channel, Owner, Command…): the
//! input, cut at 0xFF bytes, gives the values. However hostile, each field is exactly one
//! `Key: value` line: no CR or LF can forge a header or an event.
#![no_main]
#[path = "../../src/encode.rs"]
#[allow(dead_code)]
mod encode;

use libfuzzer_sys::fuzz_target;

const KEYS: [&str; 4] = ["CommandID", "Channel", "Owner", "Result"];

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data.split(|&b| b == 0xFF).take(64).collect();
    let fields: Vec<(&str, &[u8])> = values.iter().enumerate().map(|(i, v)| (KEYS[i % KEYS.len()], *v)).collect();
    let body = encode::body(b"Event: AsyncAGIExec\r\n".to_vec(), &fields);
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    // One line per field plus the event line, then the empty rest after the last LF.
    assert_eq!(lines.len(), fields.len() + 2);
    assert_eq!(body.iter().filter(|&&b| b == b'\r').count(), fields.len() + 1);
    for (line, (key, value)) in lines[1..].iter().zip(&fields) {
        assert!(line.starts_with(key.as_bytes()));
        assert!(line.ends_with(b"\r"));
        assert_eq!(line.len(), key.len() + 2 + value.len() + 1);
    }
});
