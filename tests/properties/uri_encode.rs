//! The url encoder's property (AsyncAGIExec's Result, AsyncAGIStart's Env), shared by
//! tests/fuzz_parsers.rs and fuzz/: only printable ASCII out (nothing can break an AMI header
//! line), and lossless. The including crate provides `encode`.
pub fn check(text: &[u8]) -> Result<(), String> {
    let enc = crate::encode::uri_encode(text);
    if !enc.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!("not printable: {enc:?}"));
    }
    let back: Vec<u8> = percent_encoding::percent_decode_str(&enc).collect();
    if back != text {
        return Err(format!("{text:?} came back as {back:?}"));
    }
    Ok(())
}
