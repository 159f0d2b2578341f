//! res_agi_rs: AGI for Asterisk 22 (scripts, FastAGI, HAGI, EAGI, DeadAGI and Async AGI), a
//! drop-in replacement for res_agi.so.
//!
//! Layers (see docs/ARCHITECTURE.md; every arrow points down, tests/unit_layers.rs checks):
//! `exports` (the top floor: the functions Asterisk calls by name) over the features
//! (`module`, `app`, `classic`, `session`, `relay`, `manager`, `cli`), the command engine
//! (`engine`, `commands`, `registry`, `events`) and small leaves (`context`, `parse`, `env`,
//! `encode`, `failpoint`), all over `ffi`: the ground floor, the only unsafe code, which
//! imports nothing of ours.

// Unsafe code is confined to the FFI layer: the compiler refuses it anywhere else.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
pub mod ffi;

pub mod app;
pub mod classic;
pub mod config;
pub mod cli;
pub mod commands;
pub mod context;
pub mod encode;
pub mod engine;
pub mod env;
// The exported hooks' `#[no_mangle]` counts as unsafe_code; that module has no unsafe block
// (its raw pointers go straight to the adapters in ffi::callback).
#[allow(unsafe_code)]
pub mod exports;
pub mod events;
pub mod failpoint;
pub mod host;
pub mod interrupt;
pub mod lines;
pub mod manager;
pub mod metrics;
pub mod module;
pub mod parse;
pub mod registry;
pub mod release;
pub mod relay;
#[cfg(ast_test_framework)]
pub mod selftest;
pub mod session;
pub mod tls_relay;
