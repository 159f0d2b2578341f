//! The AGI command-line parser's property (every line from AMI, the CLI, a script or a
//! FastAGI server), shared by tests/fuzz_parsers.rs (proptest) and fuzz/ (libFuzzer): at most
//! MAX_ARGS words, made of the line's bytes, an empty word only from quotes; the AGIInterrupt
//! classifier and the numeric scanners read the same input without panicking. The including
//! crate provides `parse` and `interrupt` (the module's own files).
pub fn check(line: &[u8]) -> Result<(), String> {
    let words = crate::parse::parse_args(line);
    if words.len() > crate::parse::MAX_ARGS {
        return Err(format!("{} words, more than MAX_ARGS", words.len()));
    }
    if words.iter().map(Vec::len).sum::<usize>() > line.len() {
        return Err("the words hold more bytes than the line".into());
    }
    if words.iter().any(Vec::is_empty) && !line.contains(&b'"') {
        return Err("an empty word without a quote".into());
    }
    let _ = crate::interrupt::classify(line);
    for w in &words {
        let _ = crate::parse::scan_int(w);
        let _ = crate::parse::scan_long(w);
        let _ = crate::parse::atoi(w);
    }
    Ok(())
}
