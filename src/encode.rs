//! URL encoding exactly as Asterisk's `ast_uri_encode(…, ast_uri_http)`: everything but
//! ASCII letters, digits and the RFC 2396 marks `-_.!~*'()` becomes `%XX` (upper case).
//! Unlike stock, nothing is cut at 1 KB or 2 KB: any length is encoded whole.
use percent_encoding::{percent_encode, AsciiSet, NON_ALPHANUMERIC};

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
