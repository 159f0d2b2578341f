//! The url encoder (AsyncAGIExec's Result, AsyncAGIStart's Env): printable ASCII out, and
//! lossless. The property: tests/properties/uri_encode.rs.
#![no_main]
#[path = "../../src/encode.rs"]
#[allow(dead_code)]
mod encode;
#[path = "../../tests/properties/uri_encode.rs"]
mod property;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &[u8]| {
    property::check(text).unwrap();
});
