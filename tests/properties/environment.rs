//! The environment builder's property (AsyncAGIStart's Env; the first lines a script or
//! FastAGI server reads), shared by tests/fuzz_parsers.rs and fuzz/: well formed whatever the
//! channel facts, the request first, every argument under its number and in order. The
//! including crate provides `env` and `facts`.
pub fn check(f: &crate::facts::EnvFacts, request: &[u8], args: &[Vec<u8>], enhanced: bool) -> Result<(), String> {
    let out = crate::env::build(f, request, args, enhanced);
    if !out.ends_with(b"\n\n") {
        return Err("does not end with an empty line".into());
    }
    let mut head = b"agi_request: ".to_vec();
    head.extend_from_slice(request);
    if !out.starts_with(&head) {
        return Err("agi_request is not first".into());
    }
    let mut at = 0;
    for (i, a) in args.iter().enumerate() {
        let mut key = format!("agi_arg_{}: ", i + 1).into_bytes();
        key.extend_from_slice(a);
        match out[at..].windows(key.len()).position(|w| w == &key[..]) {
            Some(found) => at += found + key.len(),
            None => return Err(format!("agi_arg_{} missing or out of order", i + 1)),
        }
    }
    Ok(())
}
