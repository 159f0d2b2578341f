//! AMI event bodies from client-supplied values (CommandID, Channel, Owner, Command…): the
//! input, cut at 0xFF bytes, gives the values. However hostile, each field is exactly one
//! `Key: value` line. The property: tests/properties/ami_fields.rs.
#![no_main]
#[path = "../../src/encode.rs"]
#[allow(dead_code)]
mod encode;
#[path = "../../tests/properties/ami_fields.rs"]
mod property;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data.split(|&b| b == 0xFF).take(64).collect();
    property::check(&values).unwrap();
});
