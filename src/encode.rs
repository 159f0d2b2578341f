//! URL encoding exactly as Asterisk's `ast_uri_encode(…, ast_uri_http)`: everything but
//! ASCII letters, digits and the RFC 2396 marks `-_.!~*'()` becomes `%XX` (upper case).
//! Unlike stock, nothing is cut at 1 KB or 2 KB: any length is encoded whole. Also the AMI
//! event body fields (pure, so the fuzz targets and property tests build it without Asterisk).
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::ffi::CStr;

const AST_URI_HTTP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

pub fn uri_encode(text: &[u8]) -> String {
    percent_encode(text, AST_URI_HTTP).to_string()
}

/// `uri_encode(text)` appended to `out` (no temporary string).
pub fn append_uri_encoded(out: &mut Vec<u8>, text: &[u8]) {
    for piece in percent_encode(text, AST_URI_HTTP) {
        out.extend_from_slice(piece.as_bytes());
    }
}

/// Appends `Key: value\r\n` to an AMI event body. A value never carries a line break into
/// the event (it would forge headers), nor a NUL (C would end the event there, and the
/// client would get it run together with the next one): CR, LF and NUL become blanks.
pub fn append_field(body: &mut Vec<u8>, key: &str, value: &[u8]) {
    body.extend_from_slice(key.as_bytes());
    body.extend_from_slice(b": ");
    body.extend(value.iter().map(|&b| if b == b'\r' || b == b'\n' || b == 0 { b' ' } else { b }));
    body.extend_from_slice(b"\r\n");
}

/// `body` with each field appended.
pub fn body(mut body: Vec<u8>, fields: &[(&str, &[u8])]) -> Vec<u8> {
    for (key, value) in fields {
        append_field(&mut body, key, value);
    }
    body
}

/// The text of an event body as C reads it: `body` gets its NUL terminator (in place, no
/// copy), and C's string is what comes before the first NUL. The publish path hands exactly
/// this to Asterisk (events.rs), so the property tests check what an AMI client receives.
pub fn c_text(body: &mut Vec<u8>) -> &CStr {
    end_c_text(body, 0);
    CStr::from_bytes_with_nul(body).unwrap_or(c"")
}

/// Ends the text that starts at `start` in `buf` as C reads it: cut at its first NUL (what C
/// would stop at), then NUL-terminated. An event record of the publish path ends this way.
pub fn end_c_text(buf: &mut Vec<u8>, start: usize) {
    if let Some(p) = buf[start..].iter().position(|&b| b == 0) {
        buf.truncate(start + p);
    }
    buf.push(0);
}
