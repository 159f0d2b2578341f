//! The script/FastAGI line reader: what a peer sends, in reads of any size (the first bytes
//! choose the cuts), comes out as lines of at most MAX_LINE bytes, nothing lost or added.
//! A run byte (0xFE, count) repeats a byte so that lines longer than MAX_LINE are reached.
//! The property: tests/properties/line_reader.rs.
#![no_main]
#[path = "../../src/lines.rs"]
mod lines;
#[path = "../../tests/properties/line_reader.rs"]
mod property;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let (cuts, rest) = input.split_at(input.len().min(4));
    let cuts: Vec<usize> = if cuts.is_empty() { vec![4096] } else { cuts.iter().map(|&c| 1 + c as usize * 37).collect() };
    // Expand runs: 0xFE n b → b repeated n*64 times.
    let mut data = Vec::new();
    let mut i = 0;
    // At most 10 KB in all: enough for lines past MAX_LINE (8,191), small enough for 10 million runs.
    while i < rest.len() && data.len() < 10 * 1024 {
        if rest[i] == 0xFE && i + 2 < rest.len() {
            data.extend(std::iter::repeat_n(rest[i + 2], rest[i + 1] as usize * 64));
            i += 3;
        } else {
            data.push(rest[i]);
            i += 1;
        }
    }
    property::check(&data, &cuts).unwrap();
});
