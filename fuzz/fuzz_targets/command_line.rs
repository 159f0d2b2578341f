//! The AGI command-line parser (every line from AMI, the CLI, a script or a FastAGI server),
//! the AGIInterrupt classifier that reads the same lines, and the numeric scanners commands
//! use on their arguments. The property: tests/properties/command_line.rs.
#![no_main]
#[path = "../../src/parse.rs"]
#[allow(dead_code)]
mod parse;
#[path = "../../src/interrupt.rs"]
#[allow(dead_code)]
mod interrupt;
#[path = "../../tests/properties/command_line.rs"]
mod property;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|line: &[u8]| {
    property::check(line).unwrap();
});
