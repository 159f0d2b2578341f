//! Why the module uses std's Mutex and Condvar, not parking_lot or crossbeam-channel, on
//! Asterisk's threads (docs/ARCHITECTURE.md, "Dependencies"): a crate that keeps a
//! thread-local with a destructor registers it with glibc (__cxa_thread_atexit_impl), and
//! glibc will not unmap a library while a live thread holds such a destructor of it. Asterisk's
//! threads (manager sessions, taskprocessors, the channel threads of long calls) live on, so
//! `module unload` would leave the old code mapped and `module load` would map a second copy.
//!
//! The probe (tools/tls_probe) blocks once for 1 ms on the calling thread with each crate's
//! primitive; the test loads it with dlopen, calls it from a thread that stays alive, calls
//! dlclose and reads /proc/self/maps. Re-run it when those crates change: if one stops
//! pinning, it becomes a candidate again.
use std::ffi::CString;
use std::path::PathBuf;
use std::process::Command;

fn build(feature: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/tls_probe");
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/tls_probe-{feature}"));
    let st = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--features", feature, "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .expect("cargo build the probe");
    assert!(st.success(), "building the {feature} probe failed");
    let built = target.join("release/libtls_probe.so");
    // A path of its own per feature (dlopen reuses a library loaded from the same path).
    let copy = std::env::temp_dir().join(format!("tls_probe_{}_{}.so", feature.replace('-', "_"), std::process::id()));
    std::fs::copy(&built, &copy).expect("copy the probe");
    copy
}

/// Loads the probe, runs it on a thread that then stays alive, closes it; whether it is still
/// mapped after dlclose.
fn pinned_after_dlclose(feature: &str) -> bool {
    let path = build(feature);
    let (tx, rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let p = path.clone();
    // The "Asterisk thread": calls into the library, then lives on until the check is done.
    let t = std::thread::spawn(move || {
        let c = CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a library built above; its one function takes and returns nothing.
        let handle = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        assert!(!handle.is_null(), "dlopen {}", p.display());
        let sym = unsafe { libc::dlsym(handle, c"probe_block".as_ptr()) };
        assert!(!sym.is_null());
        let f: extern "C" fn() = unsafe { std::mem::transmute(sym) };
        f();
        tx.send(handle as usize).unwrap();
        let _ = done_rx.recv();
    });
    let handle = rx.recv().unwrap() as *mut libc::c_void;
    // SAFETY: the handle dlopen gave; nothing of the library runs any more.
    assert_eq!(unsafe { libc::dlclose(handle) }, 0);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mapped = maps.contains(path.to_str().unwrap());
    done_tx.send(()).unwrap();
    t.join().unwrap();
    let _ = std::fs::remove_file(&path);
    mapped
}

#[test]
fn std_primitives_leave_the_library_unloadable() {
    assert!(!pinned_after_dlclose("std"), "std's Mutex/Condvar pinned the library");
}

#[test]
fn parking_lot_pins_the_library_while_the_thread_lives() {
    assert!(pinned_after_dlclose("parking_lot"), "parking_lot no longer pins: it may be used again (docs/ARCHITECTURE.md)");
}

#[test]
fn crossbeam_channel_pins_the_library_while_the_thread_lives() {
    assert!(pinned_after_dlclose("crossbeam-channel"), "crossbeam-channel no longer pins: it may be used again (docs/ARCHITECTURE.md)");
}
