//! Pure logic of the engine, without Asterisk: the argument parser (stock's parse_args,
//! byte for byte), the sscanf-like scans, and the url encoding (ast_uri_encode's rules).
#[path = "../src/parse.rs"]
mod parse;
#[path = "../src/encode.rs"]
#[allow(dead_code)]
mod encode;

use parse::{atoi, c_strchr, parse_args, same_words, scan_int, scan_long, starts_with_ci, words_start, MAX_ARGS};

fn words(s: &str) -> Vec<String> {
    parse_args(s.as_bytes()).into_iter().map(|w| String::from_utf8(w).unwrap()).collect()
}

#[test]
fn splits_on_spaces_and_tabs() {
    assert_eq!(words("GET VARIABLE  FOO"), ["GET", "VARIABLE", "FOO"]);
    assert_eq!(words("\tNOOP \t x "), ["NOOP", "x"]);
    assert!(words("").is_empty());
    assert!(words("   ").is_empty());
}

#[test]
fn quotes_group_and_may_stay_open() {
    assert_eq!(words(r#"SET VARIABLE X "a b""#), ["SET", "VARIABLE", "X", "a b"]);
    assert_eq!(words(r#"STREAM FILE beep """#), ["STREAM", "FILE", "beep", ""]);
    assert_eq!(words(r#"SET VARIABLE X "open to the end"#), ["SET", "VARIABLE", "X", "open to the end"]);
    // A quote inside a word toggles quoting without starting a new word.
    assert_eq!(words(r#"a"b c"d e"#), ["ab cd", "e"]);
}

#[test]
fn backslash_escapes() {
    assert_eq!(words(r#"a\ b c"#), ["a b", "c"]);
    assert_eq!(words(r#"x\"y"#), [r#"x"y"#]);
    assert_eq!(words(r#"x\\y"#), [r#"x\y"#]);
    // A trailing backslash escapes nothing and disappears.
    assert_eq!(words(r"x\"), ["x"]);
}

#[test]
fn bytes_pass_through() {
    let w = parse_args(b"SET VARIABLE B \xff\xfe\x01");
    assert_eq!(w[3], b"\xff\xfe\x01");
}

#[test]
fn at_most_max_args_minus_one_words() {
    let line = vec!["w"; 200].join(" ");
    assert_eq!(parse_args(line.as_bytes()).len(), MAX_ARGS - 1);
}

/// Found by coverage-guided fuzzing (fuzz/, target command_line): words opened by a quote
/// were not bounded (stock writes past its argv array there).
#[test]
fn quoted_words_are_bounded_too() {
    let line: String = (0..200).map(|i| format!("\"w{i}\" ")).collect();
    let w = words(&line);
    assert_eq!(w.len(), MAX_ARGS - 1);
    assert_eq!(w.last().unwrap(), &format!("w{}", MAX_ARGS - 2));
    // Mixed: quoted and bare words past the bound are dropped alike.
    let line: String = (0..300).map(|i| if i % 2 == 0 { format!("\"q {i}\" ") } else { format!("b{i} ") }).collect();
    assert_eq!(parse_args(line.as_bytes()).len(), MAX_ARGS - 1);
}

#[test]
fn scans_like_sscanf() {
    assert_eq!(scan_int(b"100"), Some(100));
    assert_eq!(scan_int(b" -5x"), Some(-5));
    assert_eq!(scan_int(b"+7"), Some(7));
    assert_eq!(scan_int(b"x5"), None);
    assert_eq!(scan_int(b""), None);
    assert_eq!(scan_int(b"-"), None);
    assert_eq!(scan_long(b"123456789012"), Some(123456789012));
}

#[test]
fn atoi_and_strchr_like_c() {
    assert_eq!(atoi(b"42abc"), 42);
    assert_eq!(atoi(b"abc"), 0);
    assert_eq!(atoi(b" -7"), -7);
    // strchr finds the terminating NUL: 0 is "in" every set.
    assert!(c_strchr(b"123", 0));
    assert!(c_strchr(b"123", b'2' as i32));
    assert!(!c_strchr(b"123", b'4' as i32));
    // -1 becomes 0xFF, as C converts it.
    assert!(!c_strchr(b"123", -1));
    assert!(starts_with_ci(b"AGI:Async", b"agi:async"));
    assert!(starts_with_ci(b"onward", b"on"));
    assert!(!starts_with_ci(b"o", b"on"));
}

#[test]
fn command_words_match_like_find_command() {
    assert!(words_start(&["GET", "Variable", "X"], &["get", "variable"]));
    assert!(!words_start(&["GET"], &["get", "variable"]));
    assert!(!words_start(&["GETVARIABLE"], &["get"]));
    assert!(same_words(&["Database", "GET"], &["database", "get"]));
    assert!(!same_words(&["database", "get", "x"], &["database", "get"]));
}

#[test]
fn url_encoding_matches_ast_uri_http() {
    assert_eq!(encode::uri_encode(b"200 result=1 (a/b)\n"), "200%20result%3D1%20(a%2Fb)%0A");
    assert_eq!(encode::uri_encode(b"-_.!~*'()"), "-_.!~*'()");
    assert_eq!(encode::uri_encode(b"\xff\x00"), "%FF%00");
    assert_eq!(encode::uri_encode(b"+@;"), "%2B%40%3B");
    let long = vec![b' '; 5000];
    assert_eq!(encode::uri_encode(&long).len(), 15000, "never truncated");
}
