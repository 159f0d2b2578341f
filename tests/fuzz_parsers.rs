//! Hostile input for everything that parses outside data, without Asterisk (issue #10, point
//! 3): the AGI command-line parser, the url encoder (AsyncAGIExec's Result, AsyncAGIStart's
//! Env), the environment builder, the script/FastAGI line reader, and the AGIInterrupt
//! classifier. Property tests (proptest, stable Rust): arbitrary bytes and structured inputs,
//! each checked for no panic and for its property. `FUZZ_CASES` sets the number of inputs per
//! target: `make test` runs a short run (default 10,000), `make fuzz` runs 10 million each.
#[path = "../src/parse.rs"]
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
            let words = parse::parse_args(&line);
            prop_assert!(words.len() <= parse::MAX_ARGS);
            // Words are made of the line's bytes, never more of them.
            prop_assert!(words.iter().map(Vec::len).sum::<usize>() <= line.len());
            prop_assert!(words.iter().all(|w| !w.is_empty() || line.contains(&b'"')));
            // The interrupt classifier reads the same lines.
            let _ = interrupt::classify(&line);
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
            let enc = encode::uri_encode(&text);
            // Only characters that cannot break an AMI header line.
            prop_assert!(enc.bytes().all(|b| b.is_ascii_graphic()));
            let back: Vec<u8> = percent_encoding::percent_decode_str(&enc).collect();
            prop_assert_eq!(back, text);
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
            let mut reader = lines::LineReader::default();
            let mut out: Vec<Vec<u8>> = Vec::new();
            let mut rest = &data[..];
            let mut i = 0;
            while !rest.is_empty() {
                let n = cuts[i % cuts.len()].min(rest.len());
                reader.push(&rest[..n]);
                rest = &rest[n..];
                i += 1;
                // As the session does: every complete line is taken before reading more, so
                // what is buffered stays below a line plus one read.
                while let Some(l) = reader.next_line() {
                    prop_assert!(l.len() <= lines::MAX_LINE);
                    out.push(l);
                }
            }
            let tail = reader.rest();
            // Rebuild: a piece of MAX_LINE bytes had no newline taken off; a shorter one did.
            let mut rebuilt = Vec::new();
            for l in &out {
                rebuilt.extend_from_slice(l);
                if l.len() < lines::MAX_LINE || l.is_empty() {
                    rebuilt.push(b'\n');
                }
            }
            if let Some(t) = tail {
                rebuilt.extend_from_slice(&t);
            }
            // A piece of exactly MAX_LINE bytes that ended in a newline is ambiguous here;
            // compare only when none occurred.
            if !out.iter().any(|l| l.len() == lines::MAX_LINE) {
                prop_assert_eq!(rebuilt, data);
            }
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
            let out = env::build(&f, b"agi:async", &args, enhanced);
            prop_assert!(out.ends_with(b"\n\n"));
            prop_assert!(out.starts_with(b"agi_request: agi:async\n"));
            // Every argument is there, under its number, in order (values are passed as
            // stock passes them).
            let mut at = 0;
            for (i, a) in args.iter().enumerate() {
                let mut key = format!("agi_arg_{}: ", i + 1).into_bytes();
                key.extend_from_slice(a);
                let found = out[at..].windows(key.len()).position(|w| w == &key[..]);
                prop_assert!(found.is_some(), "agi_arg_{} missing", i + 1);
                at += found.unwrap() + key.len();
            }
            Ok(())
        })
        .unwrap();
}
