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

pub use crate::release::parse_version;

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

/// Whether the headers this module was built against have tcptls.h's
/// `suppress_connection_msgs` (build.rs).
pub const HEADERS_TCPTLS_SUPPRESS: bool = matches!(env!("RS_HEADERS_TCPTLS_SUPPRESS").as_bytes(), b"yes");

/// Why this module must not run in `host` when built against headers of release `headers`,
/// or None (crate::release::mismatch: the same major release, and the same layout of the
/// Asterisk structs the module embeds).
pub fn mismatch(headers: &str, host: &Host) -> Option<String> {
    crate::release::mismatch(headers, HEADERS_TCPTLS_SUPPRESS, &host.version)
}
