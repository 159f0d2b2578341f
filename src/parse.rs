//! AGI command-line parsing, byte for byte as stock res_agi's parse_args: words split on
//! spaces and tabs, double quotes group (and start a word when opened after whitespace),
//! a backslash makes the next character literal, an unbalanced quote runs to the end of
//! the line, and at most MAX_ARGS - 1 words are kept. Also the numeric scans AGI commands
//! use (C's sscanf "%30d" / "%30ld").
//!
//! Pure code with no dependencies, tested from tests/unit_parse.rs.

/// Stock res_agi's MAX_ARGS.
pub const MAX_ARGS: usize = 128;

pub fn parse_args(s: &[u8]) -> Vec<Vec<u8>> {
    let mut argv: Vec<Vec<u8>> = Vec::new();
    let (mut quoted, mut escaped, mut whitespace) = (false, false, true);
    for &c in s {
        let mut normal = false;
        match c {
            b'"' => {
                if escaped {
                    normal = true;
                } else {
                    quoted = !quoted;
                    if quoted && whitespace && argv.len() < MAX_ARGS - 1 {
                        // Starting a quote coming off whitespace starts a new word too. Stock
                        // does so without checking its argv[MAX_ARGS] bound and writes past
                        // the array (found by fuzzing, docs/differences.md); here the bound
                        // holds as for any word: past it, what follows is dropped.
                        argv.push(Vec::new());
                        whitespace = false;
                    }
                    escaped = false;
                }
            }
            b' ' | b'\t' => {
                if !quoted && !escaped {
                    whitespace = true;
                } else {
                    normal = true;
                }
            }
            b'\\' => {
                if escaped {
                    normal = true;
                } else {
                    escaped = true;
                }
            }
            _ => normal = true,
        }
        if normal {
            if whitespace {
                if argv.len() >= MAX_ARGS - 1 {
                    // Stock logs "Too many arguments, truncating" and drops the character.
                    continue;
                }
                argv.push(Vec::new());
                whitespace = false;
            }
            if let Some(last) = argv.last_mut() {
                last.push(c);
            }
            escaped = false;
        }
    }
    argv
}

/// C's `sscanf(s, "%30ld", &v) == 1`: optional leading whitespace, an optional sign, then
/// digits (at most 30 characters in all); what follows is ignored. None when no digit.
pub fn scan_long(s: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let start = i;
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut v: i128 = 0;
    while i < s.len() && s[i].is_ascii_digit() && i - start < 30 {
        v = (v * 10 + (s[i] - b'0') as i128).min(i64::MAX as i128 + 1);
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    let v = if neg { -v } else { v };
    Some(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// C's `sscanf(s, "%30d", &v) == 1` (the long value cut to int, as glibc stores it).
pub fn scan_int(s: &[u8]) -> Option<i32> {
    scan_long(s).map(|v| v as i32)
}

/// C's `atoi`: like `scan_int`, with 0 when there is no number.
pub fn atoi(s: &[u8]) -> i32 {
    scan_int(s).unwrap_or(0)
}

/// C's `strchr(set, c) != NULL` for the character `c` as C converts it (the terminating NUL
/// always matches).
pub fn c_strchr(set: &[u8], c: i32) -> bool {
    let c = c as u8;
    c == 0 || set.contains(&c)
}

/// C's `strncasecmp(s, prefix, strlen(prefix)) == 0`: `s` starts with `prefix`, ignoring
/// ASCII case.
pub fn starts_with_ci(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Whether the words `first` begin `words` (ASCII case ignored): how AGI finds a command
/// from the words of a line, and how the CLI matches topics.
pub fn words_start<A: AsRef<[u8]>, B: AsRef<[u8]>>(words: &[A], first: &[B]) -> bool {
    first.len() <= words.len() && words.iter().zip(first).all(|(w, f)| w.as_ref().eq_ignore_ascii_case(f.as_ref()))
}

/// Whether two word lists are the same command (ASCII case ignored).
pub fn same_words<A: AsRef<[u8]>, B: AsRef<[u8]>>(a: &[A], b: &[B]) -> bool {
    a.len() == b.len() && words_start(a, b)
}
