//! The script/FastAGI line reader's property, shared by tests/fuzz_parsers.rs and fuzz/: what
//! a peer sends, in reads of the given sizes, comes out as lines of at most MAX_LINE bytes,
//! nothing lost or added. As the session does, every complete line is taken before reading
//! more. The including crate provides `lines`.
pub fn check(data: &[u8], cuts: &[usize]) -> Result<(), String> {
    let mut reader = crate::lines::LineReader::default();
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut rest = data;
    let mut i = 0;
    while !rest.is_empty() {
        let n = cuts[i % cuts.len()].clamp(1, rest.len());
        reader.push(&rest[..n]);
        rest = &rest[n..];
        i += 1;
        while let Some(l) = reader.next_line() {
            if l.len() > crate::lines::MAX_LINE {
                return Err(format!("a line of {} bytes", l.len()));
            }
            out.push(l);
        }
    }
    let tail = reader.rest();
    // Rebuild: a piece of MAX_LINE bytes had no newline taken off; a shorter one did.
    let mut rebuilt = Vec::new();
    for l in &out {
        rebuilt.extend_from_slice(l);
        if l.len() < crate::lines::MAX_LINE {
            rebuilt.push(b'\n');
        }
    }
    if let Some(t) = tail {
        rebuilt.extend_from_slice(&t);
    }
    // A piece of exactly MAX_LINE bytes that ended in a newline is ambiguous here; compare
    // only when none occurred.
    if !out.iter().any(|l| l.len() == crate::lines::MAX_LINE) && rebuilt != data {
        return Err(format!("{} bytes in, {} rebuilt", data.len(), rebuilt.len()));
    }
    Ok(())
}
