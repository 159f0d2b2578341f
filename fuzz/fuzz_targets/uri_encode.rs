//! The url encoder (AsyncAGIExec's Result, AsyncAGIStart's Env): printable ASCII out, and
//! lossless.
#![no_main]
#[path = "../../src/encode.rs"]
#[allow(dead_code)]
mod encode;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &[u8]| {
    let enc = encode::uri_encode(text);
    assert!(enc.bytes().all(|b| b.is_ascii_graphic()));
    let back: Vec<u8> = percent_encoding::percent_decode_str(&enc).collect();
    assert_eq!(back, text);
});
