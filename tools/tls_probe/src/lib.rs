//! Blocks once, for 1 ms, on the calling thread with the primitive its feature selects.
use std::time::Duration;

#[no_mangle]
pub extern "C" fn probe_block() {
    #[cfg(feature = "std")]
    {
        let m = std::sync::Mutex::new(());
        let c = std::sync::Condvar::new();
        let g = m.lock().unwrap();
        let _ = c.wait_timeout(g, Duration::from_millis(1));
    }
    #[cfg(feature = "parking_lot")]
    {
        let m = parking_lot::Mutex::new(());
        let c = parking_lot::Condvar::new();
        let mut g = m.lock();
        let _ = c.wait_for(&mut g, Duration::from_millis(1));
    }
    #[cfg(feature = "crossbeam-channel")]
    {
        let (_tx, rx) = crossbeam_channel::bounded::<()>(0);
        let _ = rx.recv_timeout(Duration::from_millis(1));
    }
}
