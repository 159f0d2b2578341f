//! Generates the Asterisk bindings with bindgen and compiles the C shim with cc, both from the
//! headers of the target Asterisk. Nothing of Asterisk is copied into this repository.
use std::env;
use std::path::{Path, PathBuf};

fn include_dir() -> PathBuf {
    if let Ok(dir) = env::var("ASTERISK_INCLUDE_DIR") {
        return PathBuf::from(dir);
    }
    let cache = env::var("RES_AGI_RS_CACHE").unwrap_or_else(|_| "/var/cache/res_agi_rs".into());
    let sandbox = Path::new(&cache).join("include");
    if sandbox.join("asterisk.h").exists() {
        return sandbox;
    }
    PathBuf::from("/usr/include")
}

/// The version of the Asterisk whose headers we build against: ASTERISK_VERSION if given (the
/// Makefile gives it for a source build: its tag, or what `asterisk -V` of the prefix says),
/// else the asterisk-dev package that owns the headers (dpkg's status beside them). Empty
/// when neither tells: the module then cannot check at load that it runs in the same release.
fn headers_version(inc: &Path) -> String {
    if let Ok(v) = env::var("ASTERISK_VERSION") {
        return v.trim().trim_start_matches("Asterisk ").to_string();
    }
    // <root>/usr/include/asterisk.h -> <root>/var/lib/dpkg/status
    let header = std::fs::canonicalize(inc.join("asterisk.h")).unwrap_or_default();
    let root = header.parent().and_then(Path::parent).and_then(Path::parent);
    if let Some(status) = root.map(|r| r.join("var/lib/dpkg/status")) {
        println!("cargo:rerun-if-changed={}", status.display());
        if let Ok(text) = std::fs::read_to_string(&status) {
            for para in text.split("\n\n") {
                if para.lines().any(|l| l == "Package: asterisk-dev") {
                    if let Some(v) = para.lines().find_map(|l| l.strip_prefix("Version: ")) {
                        // Debian's "1:22.10.1~dfsg+~cs6.17.60671434-1": the upstream release.
                        let v = v.split_once(':').map_or(v, |(_, rest)| rest);
                        return v.split(['~', '+', '-']).next().unwrap_or(v).to_string();
                    }
                }
            }
        }
    }
    println!(
        "cargo:warning=res_agi_rs: cannot tell which Asterisk release the headers in {} come from; set \
         ASTERISK_VERSION (e.g. 22.10.1) so the module can refuse to load into another release",
        inc.display()
    );
    String::new()
}

/// The C shim, by topic.
const SHIM_FILES: [&str; 3] = ["asterisk-headers/shim.c", "asterisk-headers/shim_http.c", "asterisk-headers/shim_tls.c"];

/// What the target Asterisk was built with, read once from its headers: every build option we
/// depend on is decided here and published to both sides, as a `cfg` for Rust (declared with
/// rustc-check-cfg) and as an `RS_*` macro for the shim. A feature the target lacks is still
/// compiled in as a refusal with a clear log line, never as a missing symbol at load.
struct Facts {
    /// TEST_FRAMEWORK (buildopts.h): dev mode; Asterisk's `test` CLI and ast_test_register.
    test_framework: bool,
    /// HAVE_OPENSSL (autoconfig.h): iostream.h's DO_SSL, Asterisk's TLS (agis://, hagis://).
    openssl: bool,
    /// AST_XML_DOCS (autoconfig.h): xmldoc.h's functions exist only then (--disable-xmldoc).
    xml_docs: bool,
    /// asterisk/res_prometheus.h present: the metrics can join res_prometheus's scrape where
    /// res_prometheus.so runs (looked up at run time: shim_http.c).
    prometheus: bool,
    /// Whether tcptls.h's `struct ast_tcptls_session_args`, which the TLS shim embeds and
    /// hands to Asterisk, has `suppress_connection_msgs` (20.14, 21.9, 22.4 and later,
    /// certified-22.8; not certified-20.7): its size differs, so a module built on one side
    /// must not run on the other (src/release.rs).
    tcptls_suppress_msgs: bool,
}

/// Whether `header` has `#define NAME 1`.
fn defines(header: &str, name: &str) -> bool {
    header.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["#define", name, "1"])
}

fn facts(inc: &Path) -> Facts {
    let read = |name: &str| {
        println!("cargo:rerun-if-changed={}", inc.join(name).display());
        std::fs::read_to_string(inc.join(name)).unwrap_or_else(|e| panic!("res_agi_rs: cannot read {}: {e}", inc.join(name).display()))
    };
    let (buildopts, autoconfig) = (read("asterisk/buildopts.h"), read("asterisk/autoconfig.h"));
    Facts {
        test_framework: defines(&buildopts, "TEST_FRAMEWORK"),
        openssl: defines(&autoconfig, "HAVE_OPENSSL"),
        xml_docs: defines(&autoconfig, "AST_XML_DOCS"),
        prometheus: {
            // (Watched only where it is: cargo reruns a script whose watched file is missing
            // on every build. Headers installed anew change buildopts.h, watched above.)
            let header = inc.join("asterisk/res_prometheus.h");
            if header.is_file() {
                println!("cargo:rerun-if-changed={}", header.display());
            }
            header.is_file()
        },
        tcptls_suppress_msgs: read("asterisk/tcptls.h").contains("suppress_connection_msgs"),
    }
}

fn main() {
    for var in ["ASTERISK_INCLUDE_DIR", "RES_AGI_RS_CACHE", "ASTERISK_VERSION"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    for file in SHIM_FILES.iter().chain(&["asterisk-headers/wrapper.h", "asterisk-headers/child_fds.h", "build.rs"]) {
        println!("cargo:rerun-if-changed={file}");
    }

    let inc = include_dir();
    if !inc.join("asterisk.h").exists() || !inc.join("asterisk/buildopts.h").exists() {
        panic!(
            "\n\nres_agi_rs: Asterisk headers not found in {} (looked for asterisk.h and \
             asterisk/buildopts.h).\nSet ASTERISK_INCLUDE_DIR to a directory holding only \
             asterisk.h and asterisk/ of the target Asterisk 22 (package asterisk-dev), or run \
             `make sandbox` to provision the sandbox Asterisk, whose headers are then used \
             from $RES_AGI_RS_CACHE/include (default /var/cache/res_agi_rs/include).\n\n",
            inc.display()
        );
    }
    // The build options (see Facts): Asterisk's test framework exists only with
    // TEST_FRAMEWORK (dev mode; Debian turns it on): our /res/agi_rs/ tests are compiled only
    // there (src/selftest.rs). Without OpenSSL, agis:// and hagis:// refuse with a log line
    // (shim_tls.c); without XML docs the documentation lookups give nothing (src/ffi/misc.rs).
    let facts = facts(&inc);
    let mut shim_defines = Vec::new();
    for (cfg, on, define) in [
        ("ast_test_framework", facts.test_framework, "RS_TEST_FRAMEWORK"),
        ("ast_openssl", facts.openssl, "RS_TLS"),
        ("ast_xml_docs", facts.xml_docs, "RS_XML_DOCS"),
        ("ast_prometheus", facts.prometheus, "RS_PROMETHEUS"),
    ] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if on {
            println!("cargo:rustc-cfg={cfg}");
            shim_defines.push(define);
        }
    }
    // The release the headers are from, and the layout of the tcptls struct we embed, for
    // the load-time check (src/host.rs).
    println!("cargo:rustc-env=RS_HEADERS_VERSION={}", headers_version(&inc));
    println!("cargo:rustc-env=RS_HEADERS_TCPTLS_SUPPRESS={}", if facts.tcptls_suppress_msgs { "yes" } else { "no" });
    println!("cargo:rerun-if-changed={}", inc.join("asterisk/version.h").display());

    // The shim: AST_MODULE_INFO (with the target's AST_BUILDOPT_SUM) and one plain function
    // per C macro we need. Linked whole so the linker keeps AST_MODULE_INFO's constructor,
    // which nothing references by name.
    let mut shim = cc::Build::new();
    for define in shim_defines {
        shim.define(define, "1");
    }
    shim.files(SHIM_FILES)
        .include(&inc)
        .define("AST_MODULE", "\"res_agi_rs\"")
        .define("AST_MODULE_SELF_SYM", "__internal_res_agi_rs_self")
        .define("_GNU_SOURCE", None)
        .flag("-fPIC")
        .warnings(true)
        .flag_if_supported("-Wno-unused-parameter")
        .flag_if_supported("-Wno-old-style-declaration")
        .link_lib_modifier("+whole-archive")
        .compile("res_agi_rs_shim");

    let bindings = bindgen::Builder::default()
        .header("asterisk-headers/wrapper.h")
        .clang_arg(format!("-I{}", inc.display()))
        // utils.h defines RAII_VAR with blocks under clang.
        .clang_arg("-fblocks")
        .clang_arg("-D_GNU_SOURCE")
        .clang_arg("-DAST_MODULE=\"res_agi_rs\"")
        .clang_arg("-DAST_MODULE_SELF_SYM=__internal_res_agi_rs_self")
        .allowlist_function("ast_.*")
        .allowlist_function("__ast_.*")
        .allowlist_function("pbx_.*")
        .allowlist_function("astman_.*")
        .allowlist_type("ast_.*")
        .allowlist_type("agi_.*")
        .allowlist_var("ast_null_frame")
        .allowlist_var("ast_uri_http")
        .allowlist_var("ast_say_.*")
        .allowlist_var("COLOR_.*")
        .allowlist_var("ast_format_slin")
        .allowlist_var("ast_options")
        .allowlist_var("THRESHOLD_.*")
        .allowlist_var("AST_.*")
        .allowlist_var("EVENT_FLAG_.*")
        .allowlist_var("RESULT_.*")
        .allowlist_var("__LOG_.*")
        .allowlist_var("AST_MODULE_LOAD_.*")
        // Inline helpers and macro-generated functions exist in no library: calling them
        // would fail to link. Those we need have a plain twin in shim.c.
        .blocklist_function("ast_str_.*_va")
        .generate_inline_functions(false)
        // Bitfields and packed structs of the scheduler/timing code are never touched from
        // Rust; keeping them opaque avoids layout warnings.
        .opaque_type("ast_channel")
        .opaque_type("ast_module")
        .opaque_type("mansession")
        .opaque_type("message")
        .opaque_type("ast_filestream")
        .layout_tests(false)
        .derive_default(true)
        .prepend_enum_name(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen failed over asterisk-headers/wrapper.h");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("cannot write bindings.rs");
}
