//! Hostile input for everything that parses outside data, without Asterisk (issue #10, point
//! 3): the AGI command-line parser, the url encoder (AsyncAGIExec's Result, AsyncAGIStart's
//! Env), the environment builder, the script/FastAGI line reader, and the AGIInterrupt
//! classifier. Property tests (proptest, stable Rust): arbitrary bytes and structured inputs,
//! each checked for no panic and for its property. `FUZZ_CASES` sets the number of inputs per
//! target: `make test` runs a short run (default 10,000), `make fuzz` runs 10 million each.
#[path = "../src/parse.rs"]
#[allow(dead_code)]
mod parse;
#[path = "../src/encode.rs"]
#[allow(dead_code)]
mod encode;
#[path = "../src/lines.rs"]
mod lines;
#[path = "../src/interrupt.rs"]
mod interrupt;
#[path = "../src/ffi/facts.rs"]
mod facts;
#[path = "../src/env.rs"]
mod env;
/// The properties, shared with the fuzz targets (fuzz/fuzz_targets/).
mod properties {
    #[path = "../properties/command_line.rs"]
    pub mod command_line;
    #[path = "../properties/uri_encode.rs"]
    pub mod uri_encode;
    #[path = "../properties/ami_fields.rs"]
    pub mod ami_fields;
    #[path = "../properties/line_reader.rs"]
    pub mod line_reader;
    #[path = "../properties/environment.rs"]
    pub mod environment;
}
/// What env.rs and interrupt.rs import, from the same files the module uses.
mod ffi {
    pub mod channel {
        pub use crate::facts::EnvFacts;
    }
}

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000)
}

fn runner() -> TestRunner {
    TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() })
}

/// Bytes biased towards what matters to the parsers: quotes, backslashes, blanks, newlines,
/// NUL, high bytes.
fn hostile_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => any::<u8>(),
            2 => prop::sample::select(vec![b'"', b'\\', b' ', b'\t', b'\n', b'\r', 0u8, b'%', b'=', b':']),
            2 => b'a'..=b'z',
        ],
        0..max,
    )
}

#[test]
fn parse_args_never_panics_and_stays_bounded() {
    runner()
        .run(&hostile_bytes(600), |line| {
            properties::command_line::check(&line).map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn plain_words_survive_a_round_trip() {
    let word = prop::collection::vec(prop::sample::select(b"abcXYZ019_-./#*".to_vec()), 1..20);
    runner()
        .run(&prop::collection::vec(word, 0..40), |words| {
            let line = words.join(&b' ');
            let parsed = parse::parse_args(&line);
            prop_assert_eq!(parsed, words.into_iter().take(parse::MAX_ARGS).collect::<Vec<_>>());
            Ok(())
        })
        .unwrap();
}

#[test]
fn uri_encoding_is_safe_and_lossless() {
    runner()
        .run(&hostile_bytes(3000), |text| {
            properties::uri_encode::check(&text).map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn client_values_cannot_forge_an_ami_header() {
    runner()
        .run(&prop::collection::vec(hostile_bytes(200), 0..64), |values| {
            let values: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
            properties::ami_fields::check(&values).map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn line_reader_keeps_every_byte_in_bounded_pieces() {
    // Long runs of one byte (lines of any length up to well past MAX_LINE, newlines or not
    // at their ends) around short hostile pieces, cut into reads of any size.
    let segment = (0usize..12_000, any::<u8>(), any::<bool>(), hostile_bytes(40));
    let input = (prop::collection::vec(segment, 0..6), prop::collection::vec(1usize..9000, 1..20));
    runner()
        .run(&input, |(segments, cuts)| {
            let mut data = Vec::new();
            for (len, byte, newline, mixed) in segments {
                data.extend(std::iter::repeat_n(byte, len));
                if newline {
                    data.push(b'\n');
                }
                data.extend_from_slice(&mixed);
            }
            properties::line_reader::check(&data, &cuts).map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_environment_is_well_formed_whatever_the_facts() {
    let facts = (
        hostile_bytes(200),
        hostile_bytes(200),
        prop::option::of(hostile_bytes(200)),
        any::<i32>(),
        any::<i64>(),
        prop::collection::vec(hostile_bytes(300), 0..30),
        any::<bool>(),
    );
    runner()
        .run(&facts, |(name, context, callerid, pres, threadid, args, enhanced)| {
            let f = facts::EnvFacts {
                name,
                language: b"en".to_vec(),
                tech_type: b"Local".to_vec(),
                uniqueid: b"1.1".to_vec(),
                version: b"22".to_vec(),
                callerid: callerid.clone(),
                calleridname: callerid,
                callingpres: pres,
                callingani2: pres,
                callington: pres,
                callingtns: pres,
                dnid: None,
                rdnis: None,
                context,
                extension: b"s".to_vec(),
                priority: pres,
                accountcode: Vec::new(),
                threadid,
            };
            properties::environment::check(&f, b"agi:async", &args, enhanced).map_err(TestCaseError::fail)?;
            Ok(())
        })
        .unwrap();
}
