//! The Asterisk this module runs in: every difference between the versions we support
//! (20 LTS, 22 LTS, 23, the certified releases; docs/differences.md, "Per version") is
//! decided here, once, at load, and nowhere else. Asterisk has no compile-time version
//! macro: where a feature can be probed we probe it, else we read `ast_get_version()`.
use crate::ffi::misc;

/// What differs between the supported versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// `ast_get_version()`, e.g. "22.10.1", "certified-20.7-cert11".
    pub version: String,
    /// The major release (20, 22, 23…), 0 if the string does not start with one.
    pub major: u32,
    /// A certified release ("certified-…" or "certified/…").
    pub certified: bool,
    /// Whether this Asterisk's res_agi has the `DeadAGI` application (23 removed it).
    pub deadagi: bool,
}

/// How the major release and the certified flag read from a version string.
pub fn parse_version(version: &str) -> (u32, bool) {
    let rest = version.strip_prefix("certified-").or_else(|| version.strip_prefix("certified/"));
    let certified = rest.is_some();
    let digits: String = rest.unwrap_or(version).chars().take_while(|c| c.is_ascii_digit()).collect();
    (digits.parse().unwrap_or(0), certified)
}

/// Whether stock res_agi of this Asterisk registers DeadAGI. Probed first: the core's XML
/// documentation (built from the same release's sources) documents DeadAGI exactly where
/// res_agi has it. Where the documentation has nothing at all (not even AGI: a build without
/// it), the release decides: DeadAGI was removed in 23.
pub fn deadagi_probe(documents: impl Fn(&str) -> bool, major: u32) -> bool {
    if documents("DeadAGI") {
        true
    } else if documents("AGI") {
        false
    } else {
        major != 0 && major < 23
    }
}

/// Reads the running Asterisk (call from the load, on Asterisk's thread).
pub fn probe() -> Host {
    let version = String::from_utf8_lossy(&misc::asterisk_version()).into_owned();
    let (major, certified) = parse_version(&version);
    let deadagi = deadagi_probe(|name| misc::xmldoc_documents("application", name), major);
    Host { version, major, certified, deadagi }
}

/// The release of the headers this module was built against (build.rs: ASTERISK_VERSION, or
/// the asterisk-dev package that owns them); empty when the build could not tell.
pub const HEADERS_VERSION: &str = env!("RS_HEADERS_VERSION");

/// Why this module must not run in `host` when built against headers of release `headers`,
/// or None. Asterisk itself refuses a module only when its build-options checksum differs
/// (e.g. TEST_FRAMEWORK on one side); two default builds of different releases share it, so
/// the release is checked here: the same major release (22.8-cert and 22.10 share their
/// headers) or no load.
pub fn mismatch(headers: &str, host: &Host) -> Option<String> {
    let (built, _) = parse_version(headers);
    (built != 0 && host.major != 0 && built != host.major).then(|| {
        format!(
            "res_agi_rs.so was built against the headers of Asterisk {headers}, but this is Asterisk {}: \
             build it against this Asterisk's headers (make module ASTERISK_INCLUDE_DIR=…, see docs/migrating.md)",
            host.version
        )
    })
}
