//! The module's own heap, counted: every Rust allocation of res_agi_rs goes through
//! [`Counting`], which hands it to the system allocator (glibc malloc, the same as Asterisk's)
//! and keeps two relaxed counters. `agi show memory` prints them beside glibc's totals for the
//! whole process, so that an operator (and `make soak`) can tell our memory from Asterisk's.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering::Relaxed};

/// Bytes and blocks now allocated by the module's Rust code, and allocations since load.
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

pub struct Counting;

fn grew(bytes: usize) {
    LIVE_BYTES.fetch_add(bytes as isize, Relaxed);
    LIVE_BLOCKS.fetch_add(1, Relaxed);
    ALLOCATIONS.fetch_add(1, Relaxed);
}

fn shrank(bytes: usize) {
    LIVE_BYTES.fetch_sub(bytes as isize, Relaxed);
    LIVE_BLOCKS.fetch_sub(1, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged (so its
// contract is met exactly as the caller met ours) and only adds counting on success.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from `alloc` above, i.e. from `System`.
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Relaxed);
            ALLOCATIONS.fetch_add(1, Relaxed);
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The module's own heap now.
#[derive(Clone, Copy, Debug)]
pub struct ModuleHeap {
    pub live_bytes: isize,
    pub live_blocks: isize,
    pub allocations: u64,
}

pub fn module_heap() -> ModuleHeap {
    ModuleHeap { live_bytes: LIVE_BYTES.load(Relaxed), live_blocks: LIVE_BLOCKS.load(Relaxed), allocations: ALLOCATIONS.load(Relaxed) }
}

/// glibc's totals for the whole process (every arena): what malloc got from the system, what
/// is handed out, what is free but kept, and what is in separate mmaps.
#[derive(Clone, Copy, Debug)]
pub struct ProcessMalloc {
    pub arena_bytes: usize,
    pub in_use_bytes: usize,
    pub free_bytes: usize,
    pub mmapped_bytes: usize,
}

pub fn process_malloc() -> ProcessMalloc {
    // SAFETY: mallinfo2 takes no argument and returns a plain struct; it locks each arena
    // in turn (a walk over the arenas' bins: a diagnostic, not for a hot path).
    let m = unsafe { libc::mallinfo2() };
    ProcessMalloc { arena_bytes: m.arena, in_use_bytes: m.uordblks, free_bytes: m.fordblks, mmapped_bytes: m.hblkhd }
}
