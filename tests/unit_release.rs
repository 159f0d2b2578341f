//! The release rules of src/release.rs (issue 27, defect 9): which Asterisk a build may run
//! in. Pure logic, run without Asterisk; the load-time refusal itself is tested on real
//! Asterisks in tests/cross_version.rs and make test-versions.
#[path = "../src/release.rs"]
mod release;
use release::*;

#[test]
fn versions_read_as_asterisk_writes_them() {
    assert_eq!(parse_version("22.10.1"), (22, false));
    assert_eq!(parse_version("certified-20.7-cert11"), (20, true));
    assert_eq!(parse_version("22.10.1+dfsg+~cs6.17.60671434-1"), (22, false));
    assert_eq!(major_minor("certified-22.8-cert4"), Some((22, 8)));
    assert_eq!(major_minor("20.20.1"), Some((20, 20)));
    assert_eq!(major_minor("GIT-master-abc"), None);
}

#[test]
fn the_tcptls_struct_grew_in_these_releases() {
    // Read from the upstream tags' include/asterisk/tcptls.h.
    for (v, has) in [
        ("20.13.0", false),
        ("20.14.0", true),
        ("20.20.1", true),
        ("21.8.0", false),
        ("21.9.0", true),
        ("22.3.0", false),
        ("22.4.0", true),
        ("22.10.1", true),
        ("22.10.1+dfsg+~cs6.17.60671434-1", true),
        ("23.4.1", true),
        ("certified-20.7-cert11", false),
        ("certified-18.9-cert4", false),
        ("certified-22.8-cert4", true),
    ] {
        assert_eq!(tcptls_suppress_msgs(v), Some(has), "{v}");
    }
}

#[test]
fn a_build_runs_only_where_the_structs_it_embeds_match() {
    // The same major and layout: no objection (22.8-cert4's headers in 22.10.1).
    assert_eq!(mismatch("certified-22.8-cert4", true, "22.10.1"), None);
    assert_eq!(mismatch("22.10.1", true, "22.10.1-nossl"), None);
    // Another major: refused.
    let why = mismatch("20.20.1", true, "23.4.1").expect("20 into 23");
    assert!(why.contains("built against the headers of Asterisk 20.20.1, but this is Asterisk 23.4.1"), "{why}");
    // The same major, another layout of struct ast_tcptls_session_args: refused both ways.
    let why = mismatch("certified-20.7-cert11", false, "20.20.1").expect("certified-20.7 into 20.20.1");
    assert!(why.contains("lacks suppress_connection_msgs") && why.contains("has it"), "{why}");
    assert!(mismatch("20.20.1", true, "certified-20.7-cert11").is_some());
    // Headers whose release is unknown are still checked by the layout they have.
    assert!(mismatch("", false, "22.10.1").is_some());
    assert_eq!(mismatch("", true, "22.10.1"), None);
}
