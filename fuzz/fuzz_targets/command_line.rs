//! The AGI command-line parser (every line from AMI, the CLI, a script or a FastAGI server),
//! the AGIInterrupt classifier that reads the same lines, and the numeric scanners commands
//! use on their arguments.
#![no_main]
#[path = "../../src/parse.rs"]
#[allow(dead_code)]
mod parse;
#[path = "../../src/interrupt.rs"]
#[allow(dead_code)]
mod interrupt;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    let words = parse::parse_args(line);
    assert!(words.len() <= parse::MAX_ARGS);
    assert!(words.iter().map(Vec::len).sum::<usize>() <= line.len());
    let _ = interrupt::classify(line);
    for w in &words {
        let _ = parse::scan_int(w);
        let _ = parse::scan_long(w);
        let _ = parse::atoi(w);
    }
});
