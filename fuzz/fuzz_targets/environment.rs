//! The environment builder (AsyncAGIStart's Env; the first lines a script or FastAGI server
//! reads): channel facts and arguments from the input, cut at 0xFF bytes.
#![no_main]
#[path = "../../src/ffi/facts.rs"]
mod facts;
#[path = "../../src/env.rs"]
mod env;
/// What env.rs imports, from the file the module uses.
mod ffi {
    pub mod channel {
        pub use crate::facts::EnvFacts;
    }
}

#[path = "../../tests/properties/environment.rs"]
mod property;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0xFF).map(<[u8]>::to_vec);
    let mut six: Vec<Vec<u8>> = (0..6).map(|_| parts.next().unwrap_or_default()).collect();
    let num = |v: &[u8]| v.iter().fold(0i32, |a, &b| a.wrapping_mul(31).wrapping_add(b as i32));
    let flags = six.pop().unwrap();
    let request = six.pop().unwrap();
    let extension = six.pop().unwrap();
    let callerid = six.pop().unwrap();
    let context = six.pop().unwrap();
    let name = six.pop().unwrap();
    let f = facts::EnvFacts {
        name,
        language: b"en".to_vec(),
        tech_type: b"Local".to_vec(),
        uniqueid: b"1.1".to_vec(),
        version: b"22".to_vec(),
        callerid: (!flags.is_empty()).then(|| callerid.clone()),
        calleridname: Some(callerid.clone()),
        callingpres: num(&flags),
        callingani2: num(&callerid),
        callington: num(&extension),
        callingtns: num(&context),
        dnid: None,
        rdnis: (flags.len() > 2).then(|| flags.clone()),
        context,
        extension,
        priority: num(&request),
        accountcode: Vec::new(),
        threadid: num(&flags) as i64 * 7919,
    };
    let args: Vec<Vec<u8>> = parts.take(200).collect();
    property::check(&f, &request, &args, flags.first().is_some_and(|b| b & 1 == 1)).unwrap();
});
