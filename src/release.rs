//! What an Asterisk release string says, and which releases a build may run in: pure logic,
//! no Asterisk (tests/unit_release.rs runs it with plain `cargo test`). src/host.rs applies it
//! at load to the running Asterisk.

/// How the major release and the certified flag read from a version string
/// ("22.10.1", "certified-20.7-cert11", Debian's "22.10.1+dfsg+…").
pub fn parse_version(version: &str) -> (u32, bool) {
    let rest = version.strip_prefix("certified-").or_else(|| version.strip_prefix("certified/"));
    let certified = rest.is_some();
    let digits: String = rest.unwrap_or(version).chars().take_while(|c| c.is_ascii_digit()).collect();
    (digits.parse().unwrap_or(0), certified)
}

/// The major and minor numbers of a version string ("20.20.1" -> (20, 20),
/// "certified-20.7-cert11" -> (20, 7)); None when it does not start with them.
pub fn major_minor(version: &str) -> Option<(u32, u32)> {
    let rest = version.strip_prefix("certified-").or_else(|| version.strip_prefix("certified/")).unwrap_or(version);
    let mut parts = rest.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Whether release `version`'s `struct ast_tcptls_session_args` (tcptls.h) has
/// `suppress_connection_msgs`, which changes its size. The TLS shim embeds that struct and
/// hands it to Asterisk's tcptls client, so its size must be the running Asterisk's. Read from
/// the upstream tags: the field came with "Prequisites for ARI Outbound Websockets" in 20.14.0,
/// 21.9.0 and 22.4.0 (every 23); certified-22.8 has it, certified-20.7 (and older certified
/// lines) do not. None when the string says nothing we know.
pub fn tcptls_suppress_msgs(version: &str) -> Option<bool> {
    let (_, certified) = parse_version(version);
    let (major, minor) = major_minor(version)?;
    Some(if certified {
        major >= 22
    } else {
        match major {
            0..=19 => false,
            20 => minor >= 14,
            21 => minor >= 9,
            22 => minor >= 4,
            _ => true,
        }
    })
}

/// Why a module built against the headers of release `headers` (whose tcptls struct has the
/// field or not: `headers_suppress`, read from the headers themselves) must not run in
/// release `running`, or None. Asterisk itself refuses a module only when its build-options
/// checksum differs (e.g. TEST_FRAMEWORK on one side); two default builds of different
/// releases share it, so the release is checked here: the same major release (22.8-cert and
/// 22.10 share their headers), and the same layout of every Asterisk struct the module
/// embeds (certified-20.7 and 20.20 do not).
pub fn mismatch(headers: &str, headers_suppress: bool, running: &str) -> Option<String> {
    let (built, _) = parse_version(headers);
    let (major, _) = parse_version(running);
    let rebuild = "build it against this Asterisk's headers (make module ASTERISK_INCLUDE_DIR=…, see docs/migrating.md)";
    if built != 0 && major != 0 && built != major {
        return Some(format!("res_agi_rs.so was built against the headers of Asterisk {headers}, but this is Asterisk {running}: {rebuild}"));
    }
    match tcptls_suppress_msgs(running) {
        Some(has) if has != headers_suppress => Some(format!(
            "res_agi_rs.so was built against the headers of Asterisk {}, whose struct ast_tcptls_session_args (tcptls.h) {} suppress_connection_msgs, \
             but this is Asterisk {running}, whose struct {}: {rebuild}",
            if headers.is_empty() { "(unknown release)" } else { headers },
            if headers_suppress { "has" } else { "lacks" },
            if has { "has it" } else { "lacks it" }
        )),
        _ => None,
    }
}
