//! Asterisks built with an option off (issue 27, defect 1): 22.10.1 from the upstream tarball
//! with `./configure --without-ssl` and with `--disable-xmldoc` (scripts/sandbox.sh: targets
//! 22.10.1-nossl and 22.10.1-noxmldoc; `make test` builds both, and the module for each).
//! Stock res_agi loads on both; so must ours, with every mode working, and what the build
//! cannot offer refused with a clear line: agis:// and hagis:// without OpenSSL. (`make
//! test-versions` runs the rest of the suite on both rows.)
mod common;
use common::*;
use std::time::Duration;

const NOSSL: &str = "22.10.1-nossl";
const NOXMLDOC: &str = "22.10.1-noxmldoc";

/// The target's own headers say what it was built with (the fact build.rs reads).
fn has(target: &str, define: &str) -> bool {
    let header = sandbox_root().join(format!("opt/asterisk/{target}/include/asterisk/autoconfig.h"));
    let text = std::fs::read_to_string(&header).unwrap_or_else(|e| panic!("{}: {e} (make test builds the {target} Asterisk)", header.display()));
    text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["#define", define, "1"])
}

/// Ours loaded, Async AGI answering, a local script run: the module works on this build.
fn every_mode_works(ast: &Asterisk) {
    assert!(ast.cli("module show like res_agi_rs.so").contains("1 modules loaded"), "{}", ast.log());
    let ami = ast.ami();
    let p = park(&ami, "park", "opts");
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE AGIARGS"), "200 result=1 (opts)\n");
    assert_eq!(agi_result(&ami, &p, "ASYNCAGI BREAK"), "200 result=0\n");
    send_classic(&ami, &["AGISCRIPT=trivial.sh"], 5, Some(("bo-1", "bo-2")));
    let m = ami.wait_event(Duration::from_secs(30), |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some("bo-2"));
    assert_eq!(m.get("Status"), Some("SUCCESS"), "{m:?}");
}

#[test]
fn without_openssl_the_module_loads_and_tls_urls_fail_with_one_line() {
    assert!(!has(NOSSL, "HAVE_OPENSSL"), "the {NOSSL} Asterisk has OpenSSL: it was not built with --without-ssl");
    // Stock res_agi loads there (the reference: such an Asterisk is legitimate).
    {
        let stock = Asterisk::start_on(NOSSL, Flavour::Stock);
        assert!(stock.cli("module show like res_agi.so").contains("1 modules loaded"), "{}", stock.log());
    }
    let ast = Asterisk::start_on(NOSSL, Flavour::Ours);
    assert!(!ast.log().contains("undefined symbol"), "{}", ast.log());
    every_mode_works(&ast);
    // A TLS URL: FAILURE, one line saying why, and no connection at all (never plain text).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let ami = ast.ami();
    for (n, url) in [format!("agis://127.0.0.1:{port}/x"), "hagis://hagi.test/x".to_string()].iter().enumerate() {
        let (id1, id2) = (format!("ns{n}-1"), format!("ns{n}-2"));
        send_classic(&ami, &[&format!("AGISCRIPT={url}")], 5, Some((&id1, &id2)));
        let m = ami.wait_event(Duration::from_secs(30), |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(id2.as_str()));
        assert_eq!(m.get("Status"), Some("FAILURE"), "{url}: {m:?}");
        let line = format!("FastAGI over TLS ('{url}'): this Asterisk was built without OpenSSL, so agis:// and hagis:// cannot be used");
        ast.wait_log(&line);
        assert_eq!(ast.log().matches(&line).count(), 1, "one line per call:\n{}", ast.log());
    }
    assert!(listener.accept().is_err(), "something connected to the agis:// port");
}

#[test]
fn without_xml_docs_the_module_loads_and_registers_what_stock_does() {
    assert!(!has(NOXMLDOC, "AST_XML_DOCS"), "the {NOXMLDOC} Asterisk has XML docs: it was not built with --disable-xmldoc");
    let apps = |ast: &Asterisk| {
        let mut v: Vec<String> = ast
            .cli("core show applications like AGI")
            .lines()
            .filter_map(|l| l.trim().split_once(':').map(|(name, _)| name.trim().to_string()))
            .filter(|n| !n.is_empty() && !n.contains(' '))
            .collect();
        v.sort();
        v
    };
    let stock_apps = {
        let stock = Asterisk::start_on(NOXMLDOC, Flavour::Stock);
        apps(&stock)
    };
    let ast = Asterisk::start_on(NOXMLDOC, Flavour::Ours);
    every_mode_works(&ast);
    // With no documentation to ask, the DeadAGI probe falls back to the release (22 has it).
    let ours = apps(&ast);
    assert_eq!(ours, stock_apps);
    assert!(ours.contains(&"DeadAGI".to_string()), "{ours:?}");
    // The command list and a command's help still answer (no XML to render).
    assert!(ast.cli("agi show commands").contains("noop"), "{}", ast.cli("agi show commands"));
    assert!(ast.cli("agi show commands topic noop").to_lowercase().contains("noop"));
}
