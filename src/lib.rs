//! res_agi_rs: Asynchronous AGI for Asterisk 22, a drop-in replacement for res_agi.so.
//!
//! Layers (see docs/ARCHITECTURE.md): `ffi` is the only unsafe code (bindings, the C shim's
//! declarations, safe wrappers, and the entry points Asterisk calls, each behind `guard`).
//! Above it, safe Rust by feature: `app` (the AGI dialplan application and the per-channel
//! loop), `session` (the per-channel queue), `manager` (Action: AGI), `cli` (agi exec),
//! `events`, `env`, `engine` (parsing, dispatch, results) and `commands` (one unit each).

// Unsafe code is confined to the FFI layer: the compiler refuses it anywhere else.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
pub mod ffi;

pub mod app;
pub mod classic;
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
pub mod manager;
pub mod module;
pub mod parse;
pub mod registry;
pub mod relay;
pub mod session;
