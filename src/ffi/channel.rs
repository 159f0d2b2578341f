//! Channels: a borrowed channel (`Chan`), a counted reference (`ChannelRef`, unref on Drop)
//! and a lock guard (`ChanLock`, unlock on Drop), with the accessors the features need.
use super::{bytes, cstring, opt_bytes, shim, sys, AstStr};
use std::any::Any;
use std::ffi::{c_void, CStr};
use std::marker::PhantomData;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A channel Asterisk lent us for the length of a callback (the dialplan app's channel).
/// Not `Clone`, not `Send`: it cannot outlive the callback or leave its thread.
pub struct Chan {
    ptr: NonNull<sys::ast_channel>,
    _not_send: PhantomData<*mut ()>,
}

/// Data kept in our channel datastore.
pub type DatastoreData = Arc<dyn Any + Send + Sync>;

impl Chan {
    /// # Safety
    /// `p` must be a live channel that stays valid while the returned value is used.
    pub(crate) unsafe fn from_raw(p: *mut sys::ast_channel) -> Option<Chan> {
        NonNull::new(p).map(|ptr| Chan { ptr, _not_send: PhantomData })
    }

    pub(crate) fn raw(&self) -> *mut sys::ast_channel {
        self.ptr.as_ptr()
    }

    /// The channel's name, read under its lock: a masquerade on another thread can rename it.
    pub fn name(&self) -> String {
        let _l = self.lock();
        // SAFETY: live channel (type invariant), locked; the name is copied at once.
        String::from_utf8_lossy(&bytes(unsafe { sys::ast_channel_name(self.raw()) })).into_owned()
    }

    pub fn uniqueid(&self) -> String {
        // SAFETY: live channel; copied at once.
        String::from_utf8_lossy(&bytes(unsafe { sys::ast_channel_uniqueid(self.raw()) })).into_owned()
    }

    pub fn language(&self) -> Vec<u8> {
        // SAFETY: live channel; copied at once.
        bytes(unsafe { sys::ast_channel_language(self.raw()) })
    }

    /// The application data of the running dialplan application (`ast_channel_data`).
    pub fn app_data(&self) -> Vec<u8> {
        // SAFETY: live channel; copied at once.
        bytes(unsafe { sys::ast_channel_data(self.raw()) })
    }

    /// The channel state (`enum ast_channel_state`, as the number AGI prints).
    pub fn state(&self) -> u32 {
        // SAFETY: live channel.
        unsafe { sys::ast_channel_state(self.raw()) as u32 }
    }

    pub fn is_up(&self) -> bool {
        self.state() == sys::AST_STATE_UP as u32
    }

    pub fn lock(&self) -> ChanLock<'_> {
        // SAFETY: live channel; the guard unlocks exactly once on Drop.
        unsafe { shim::rs_shim_channel_lock(self.raw()) };
        ChanLock { chan: self }
    }

    /// `ast_check_hangup`: true once the channel is hung up or a soft hangup is pending.
    pub fn check_hangup(&self) -> bool {
        // SAFETY: live channel; ast_check_hangup reads flags only.
        unsafe { sys::ast_check_hangup(self.raw()) != 0 }
    }

    pub fn check_hangup_locked(&self) -> bool {
        // SAFETY: live channel; the function takes the channel lock itself.
        unsafe { sys::ast_check_hangup_locked(self.raw()) != 0 }
    }

    /// Takes back the soft-hangup bit `INTERRUPT_SOFTHANGUP` (set by
    /// `ChanLock::interrupt_softhangup`); other bits (a real hangup, a redirect) stay.
    pub fn clear_interrupt_softhangup(&self) {
        // SAFETY: live channel; the function takes the channel lock itself.
        unsafe { sys::ast_channel_clear_softhangup(self.raw(), INTERRUPT_SOFTHANGUP) }
    }

    /// Whether the pending soft hangup is an async goto (AMI Redirect, ChannelRedirect).
    pub fn redirect_pending(&self) -> bool {
        let _l = self.lock();
        // SAFETY: live channel, read under its lock.
        let flags = unsafe { sys::ast_channel_softhangup_internal_flag(self.raw()) };
        flags & sys::AST_SOFTHANGUP_ASYNCGOTO as i32 != 0
    }

    /// Whether `INTERRUPT_SOFTHANGUP` (AGIInterrupt's bit) is set now.
    pub fn interrupt_pending(&self) -> bool {
        let _l = self.lock();
        // SAFETY: live channel, read under its lock.
        let flags = unsafe { sys::ast_channel_softhangup_internal_flag(self.raw()) };
        flags & INTERRUPT_SOFTHANGUP != 0
    }

    /// `ast_waitfor`: waits up to `ms` (-1: forever) for a frame; <0 on error or hangup.
    pub fn waitfor(&self, ms: i32) -> i32 {
        // SAFETY: called on the channel's own thread, which owns reading it.
        unsafe { sys::ast_waitfor(self.raw(), ms) }
    }

    /// Reads one frame and drops it; tells whether the channel is gone.
    pub fn read_and_discard(&self) -> FrameRead {
        // SAFETY: channel thread; the frame is freed exactly once below.
        unsafe {
            let f = sys::ast_read(self.raw());
            if f.is_null() {
                return FrameRead::Gone;
            }
            let hangup = (*f).frametype == sys::AST_FRAME_CONTROL
                && (*f).subclass.integer == sys::AST_CONTROL_HANGUP as i32;
            shim::rs_shim_frfree(f);
            if hangup {
                FrameRead::HangupControl
            } else {
                FrameRead::Other
            }
        }
    }

    /// Wakes the channel's thread out of `ast_waitfor` by queueing a null frame.
    /// Must not be called with the channel locked by this thread's caller (it locks).
    pub fn wake(&self) -> bool {
        // SAFETY: live channel; ast_queue_frame copies the frame and locks internally.
        unsafe { sys::ast_queue_frame(self.raw(), &raw mut sys::ast_null_frame) == 0 }
    }

    pub fn set_var(&self, name: &CStr, value: &CStr) {
        // SAFETY: live channel, valid C strings; the helper locks as needed.
        unsafe { sys::pbx_builtin_setvar_helper(self.raw(), name.as_ptr(), value.as_ptr()) };
    }

    /// `pbx_builtin_getvar_helper` under the channel lock (a channel variable only).
    pub fn get_var(&self, name: &CStr) -> Option<Vec<u8>> {
        let _l = self.lock();
        // SAFETY: the value points into the channel's variables, copied while locked.
        opt_bytes(unsafe { sys::pbx_builtin_getvar_helper(self.raw(), name.as_ptr()) })
    }

    /// A variable as the dialplan sees it, builtin ones included, of any length.
    pub fn retrieve_variable(&self, name: &CStr) -> Option<Vec<u8>> {
        let mut buf = AstStr::new(16)?;
        // SAFETY: live channel; the result points into buf or the channel's variables and
        // is copied before either can change (this thread runs the channel).
        let r = unsafe {
            sys::ast_str_retrieve_variable(buf.as_mut_ptr(), 0, self.raw(), std::ptr::null_mut(), name.as_ptr())
        };
        opt_bytes(r)
    }

    /// A dialplan function read (`ast_func_read2`), of any length; None on failure.
    pub fn func_read(&self, expr: &CStr) -> Option<Vec<u8>> {
        let mut buf = AstStr::new(16)?;
        // SAFETY: live channel, valid C string, buf owned by us.
        let r = unsafe { sys::ast_func_read2(self.raw(), expr.as_ptr(), buf.as_mut_ptr(), 0) };
        (r == 0).then(|| buf.to_bytes())
    }

    /// `ast_str_substitute_variables` on this channel, of any length.
    pub fn substitute(&self, template: &CStr) -> Option<Vec<u8>> {
        let mut buf = AstStr::new(16)?;
        // SAFETY: live channel, valid C string, buf owned by us.
        unsafe { sys::ast_str_substitute_variables(buf.as_mut_ptr(), 0, self.raw(), template.as_ptr()) };
        Some(buf.to_bytes())
    }

    pub fn answer(&self) -> i32 {
        // SAFETY: channel thread.
        unsafe { sys::ast_answer(self.raw()) }
    }

    /// Soft hangup as AGI's HANGUP does (hangup source "dialplan/agi").
    pub fn softhangup_explicit(&self) {
        // SAFETY: live channel; both functions lock internally.
        unsafe {
            sys::ast_set_hangupsource(self.raw(), c"dialplan/agi".as_ptr(), 0);
            sys::ast_softhangup(self.raw(), sys::AST_SOFTHANGUP_EXPLICIT as i32);
        }
    }

    /// `ast_waitfordigit_full(chan, ms, NULL, audio, ctrl)`: a digit, 0 on timeout, 1 when a
    /// new command arrived on `fds.ctrl`, -1 on hangup.
    pub fn wait_for_digit(&self, ms: i32, fds: AgiFds) -> i32 {
        // SAFETY: channel thread; the descriptors are the caller's, open for the call.
        unsafe { sys::ast_waitfordigit_full(self.raw(), ms, std::ptr::null(), fds.audio, fds.ctrl) }
    }

    /// Sets AST_FLAG_DISABLE_WORKAROUNDS; returns whether it was already set.
    pub fn disable_workarounds(&self) -> bool {
        let _l = self.lock();
        // SAFETY: flags of a live channel, changed under its lock.
        unsafe {
            let f = sys::ast_channel_flags(self.raw());
            let was = (*f).flags & sys::AST_FLAG_DISABLE_WORKAROUNDS as u32 != 0;
            (*f).flags |= sys::AST_FLAG_DISABLE_WORKAROUNDS as u32;
            was
        }
    }

    pub fn enable_workarounds(&self) {
        // SAFETY: live channel; the function locks internally.
        unsafe { sys::ast_channel_clear_flag(self.raw(), sys::AST_FLAG_DISABLE_WORKAROUNDS as u32) }
    }

    /// Runs a dialplan application on this channel (`pbx_exec`).
    pub fn exec_app(&self, app: &App, data: &CStr) -> i32 {
        // SAFETY: channel thread; app came from pbx_findapp (applications are never freed
        // while registered, and pbx_exec takes its module reference).
        unsafe { sys::pbx_exec(self.raw(), app.0, data.as_ptr()) }
    }

    /// The facts AGI's environment reports, read under the channel lock; `threadid` is the
    /// channel thread's (see `current_thread_id`).
    pub fn env_facts(&self, threadid: i64) -> EnvFacts {
        let _l = self.lock();
        let c = self.raw();
        // SAFETY: live channel, read under its lock; strings are copied; party structs are
        // owned by the channel and valid while locked.
        unsafe {
            let caller = &*sys::ast_channel_caller(c);
            let dialed = &*sys::ast_channel_dialed(c);
            let redirecting = &*sys::ast_channel_redirecting(c);
            let tech = sys::ast_channel_tech(c);
            EnvFacts {
                name: bytes(sys::ast_channel_name(c)),
                language: bytes(sys::ast_channel_language(c)),
                tech_type: if tech.is_null() { Vec::new() } else { bytes((*tech).type_) },
                uniqueid: bytes(sys::ast_channel_uniqueid(c)),
                version: bytes(sys::ast_get_version()),
                callerid: (caller.id.number.valid != 0).then(|| bytes(caller.id.number.str_)),
                calleridname: (caller.id.name.valid != 0).then(|| bytes(caller.id.name.str_)),
                callingpres: sys::ast_party_id_presentation(&caller.id),
                callingani2: caller.ani2,
                callington: caller.id.number.plan,
                callingtns: dialed.transit_network_select,
                dnid: opt_bytes(dialed.number.str_),
                rdnis: (redirecting.from.number.valid != 0).then(|| bytes(redirecting.from.number.str_)),
                context: bytes(sys::ast_channel_context(c)),
                extension: bytes(sys::ast_channel_exten(c)),
                priority: sys::ast_channel_priority(c),
                accountcode: bytes(sys::ast_channel_accountcode(c)),
                threadid,
            }
        }
    }
}

/// `pthread_self()` of the calling thread, as AGI's `agi_threadid` reports it.
pub fn current_thread_id() -> i64 {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as i64 }
}

/// A channel reference that may move to another thread.
pub struct SendableChannel(ChannelRef);

// SAFETY: a channel is a reference-counted ao2 object whose counting is thread-safe; the
// accessors used from another thread either take the channel lock (env_facts, lock) or
// read fields fixed at creation (uniqueid). The reference is released on whichever thread
// drops it, which ao2 allows.
unsafe impl Send for SendableChannel {}

impl SendableChannel {
    pub fn new(chan: &Chan) -> SendableChannel {
        SendableChannel(ChannelRef::from_chan(chan))
    }
    pub fn chan(&self) -> &Chan {
        &self.0
    }
}

/// The descriptors an AGI command's playback and waits watch, as stock's handlers pass them:
/// `ctrl` (the script's or server's commands: a line arriving ends a playback or a wait at
/// once, "a new command") and `audio` (EAGI: what the channel hears also goes there). -1
/// for none (Async AGI).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgiFds {
    pub audio: i32,
    pub ctrl: i32,
}

impl AgiFds {
    pub const NONE: AgiFds = AgiFds { audio: -1, ctrl: -1 };
}

/// What `read_and_discard` saw.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameRead {
    /// `ast_read` returned NULL: hung up.
    Gone,
    /// A HANGUP control frame.
    HangupControl,
    Other,
}

pub use super::facts::EnvFacts;

/// A dialplan application found by name.
pub struct App(*mut sys::ast_app);

pub fn find_app(name: &CStr) -> Option<App> {
    // SAFETY: valid C string; NULL checked.
    let p = unsafe { sys::pbx_findapp(name.as_ptr()) };
    (!p.is_null()).then_some(App(p))
}

/// A counted reference to a channel, released on Drop.
pub struct ChannelRef(Chan);

impl ChannelRef {
    /// `ast_channel_get_by_name` (name or uniqueid, as stock res_agi looks channels up).
    pub fn by_name(name: &[u8]) -> Option<ChannelRef> {
        let name = cstring(name);
        // SAFETY: valid C string; a non-NULL result carries a reference we now own.
        let p = unsafe { sys::ast_channel_get_by_name(name.as_ptr()) };
        // SAFETY: p is live while we hold its reference (released in Drop).
        unsafe { Chan::from_raw(p) }.map(ChannelRef)
    }

    /// Takes a new reference to a channel we were lent.
    pub fn from_chan(chan: &Chan) -> ChannelRef {
        // SAFETY: chan is live; ast_channel_ref returns the same pointer with one more ref.
        let p = unsafe { shim::rs_shim_channel_ref(chan.raw()) };
        // SAFETY: as above, we own that reference.
        ChannelRef(unsafe { Chan::from_raw(p) }.expect("ast_channel_ref returned NULL"))
    }
}

impl Deref for ChannelRef {
    type Target = Chan;
    fn deref(&self) -> &Chan {
        &self.0
    }
}

impl Drop for ChannelRef {
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference, released once.
        unsafe { shim::rs_shim_channel_unref(self.0.raw()) }
    }
}

/// The channel lock, held until Drop.
pub struct ChanLock<'a> {
    chan: &'a Chan,
}

/// A soft-hangup bit no part of Asterisk 22 uses (its bits are 0–5 and 7): set to make an
/// application that waits on the channel return as it does on hangup, then cleared, which
/// leaves every other bit (a real hangup, a redirect) as it was. `ast_check_hangup` is true
/// while any bit is set.
pub const INTERRUPT_SOFTHANGUP: i32 = 1 << 28;

impl ChanLock<'_> {
    /// Sets `INTERRUPT_SOFTHANGUP` (ast_softhangup_nolock: the flag, a null frame to wake the
    /// channel's thread, SIGURG if it blocks in a read). No event is published.
    pub fn interrupt_softhangup(&self) {
        // SAFETY: the channel is locked by self, as ast_softhangup_nolock requires.
        unsafe { sys::ast_softhangup_nolock(self.chan.raw(), INTERRUPT_SOFTHANGUP) };
    }

    fn find_store(&self) -> *mut sys::ast_datastore {
        // SAFETY: channel locked by self; the info pointer is static in the shim.
        unsafe { sys::ast_channel_datastore_find(self.chan.raw(), shim::rs_shim_datastore_info(), std::ptr::null()) }
    }

    /// The value of our datastore on this channel, if any.
    pub fn datastore(&self) -> Option<DatastoreData> {
        let ds = self.find_store();
        if ds.is_null() {
            return None;
        }
        // SAFETY: our datastores always hold a Box<DatastoreData> (see attach), alive
        // while the datastore is on the channel, which the lock guarantees now.
        let data = unsafe { &*((*ds).data as *const DatastoreData) };
        Some(data.clone())
    }

    /// Adds our datastore holding `value`. Fails if one is already there.
    pub fn attach_datastore(&self, value: DatastoreData) -> Result<(), ()> {
        if !self.find_store().is_null() {
            return Err(());
        }
        let boxed = Box::into_raw(Box::new(value));
        // SAFETY: the datastore owns the box from here; its destroy callback
        // (entry::rs_agi_datastore_destroy) frees it exactly once.
        unsafe {
            let ds = shim::rs_shim_datastore_alloc(boxed.cast::<c_void>());
            if ds.is_null() {
                drop(Box::from_raw(boxed));
                return Err(());
            }
            // Counted from here: freeing the datastore runs the destroy callback.
            DATASTORES.fetch_add(1, Ordering::SeqCst);
            if sys::ast_channel_datastore_add(self.chan.raw(), ds) != 0 {
                sys::ast_datastore_free(ds);
                return Err(());
            }
        }
        Ok(())
    }

    /// Removes and frees our datastore, if present.
    pub fn detach_datastore(&self) -> bool {
        let ds = self.find_store();
        if ds.is_null() {
            return false;
        }
        // SAFETY: channel locked; ds is on this channel, so removing then freeing it once is
        // sound (the destroy callback drops the boxed value).
        unsafe {
            sys::ast_channel_datastore_remove(self.chan.raw(), ds);
            sys::ast_datastore_free(ds);
        }
        true
    }
}

impl Drop for ChanLock<'_> {
    fn drop(&mut self) {
        // SAFETY: locked in Chan::lock, unlocked once here.
        unsafe { shim::rs_shim_channel_unlock(self.chan.raw()) }
    }
}

/// Our datastores alive on any channel: the module must not unload while one exists (its
/// destroy callback is our code).
static DATASTORES: AtomicUsize = AtomicUsize::new(0);

pub fn datastores_alive() -> usize {
    DATASTORES.load(Ordering::SeqCst)
}

/// Takes back what `attach_datastore` boxed; called by the datastore's destroy callback.
///
/// # Safety
/// `data` must be a pointer made by `attach_datastore`, not taken before.
pub(crate) unsafe fn take_datastore_data(data: *mut c_void) -> Option<DatastoreData> {
    if data.is_null() {
        return None;
    }
    let value = *Box::from_raw(data.cast::<DatastoreData>());
    DATASTORES.fetch_sub(1, Ordering::SeqCst);
    Some(value)
}

/// A new reference to the value of one of our datastores (its fixup callback).
///
/// # Safety
/// `data` must be a pointer made by `attach_datastore`, still attached.
pub(crate) unsafe fn peek_datastore_data(data: *mut c_void) -> Option<DatastoreData> {
    (!data.is_null()).then(|| (*data.cast::<DatastoreData>()).clone())
}

/// The state of the channel called `name`, from its latest snapshot.
pub fn snapshot_state_by_name(name: &CStr) -> Option<u32> {
    // SAFETY: valid C string; the snapshot reference is released once below.
    unsafe {
        let snap = sys::ast_channel_snapshot_get_latest_by_name(name.as_ptr());
        if snap.is_null() {
            return None;
        }
        let state = (*snap).state as u32;
        shim::rs_shim_ao2_cleanup(snap.cast());
        Some(state)
    }
}

/// A channel snapshot (immutable in Asterisk; a new one is made on every change), holding
/// one reference, released on Drop.
pub struct Snapshot(NonNull<sys::ast_channel_snapshot>);

impl Snapshot {
    /// The channel's latest snapshot, as stock res_agi's events use it.
    pub fn latest(chan: &Chan) -> Option<Snapshot> {
        // SAFETY: live channel; a non-NULL result carries a reference we now own.
        NonNull::new(unsafe { sys::ast_channel_snapshot_get_latest(sys::ast_channel_uniqueid(chan.raw())) }).map(Snapshot)
    }

    /// Whether both are the same snapshot object (so, the same contents).
    pub fn same_as(&self, other: &Snapshot) -> bool {
        self.0 == other.0
    }

    /// The AMI channel headers (`Channel: …` to `Linkedid: …`) of this snapshot.
    pub fn manager_headers(&self) -> Option<Vec<u8>> {
        // SAFETY: we hold a reference to the snapshot; the ast_str is ours to free.
        AstStr::from_raw(unsafe { sys::ast_manager_build_channel_state_string(self.0.as_ptr()) }).map(|s| s.to_bytes())
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference, released once.
        unsafe { shim::rs_shim_ao2_cleanup(self.0.as_ptr().cast()) }
    }
}

/// What `Chan::wait_with_fd` saw.
#[derive(Debug, PartialEq, Eq)]
pub enum Ready {
    /// The channel has a frame to read.
    Channel,
    /// The descriptor is readable.
    Fd,
    /// Neither (interrupted).
    Nothing,
}

/// A format from Asterisk's cache (`ast_format_cache_get`), released on Drop.
pub struct Format(NonNull<sys::ast_format>);

impl Format {
    pub fn by_name(name: &CStr) -> Option<Format> {
        // SAFETY: valid C string; a non-NULL result carries a reference we now own.
        NonNull::new(unsafe { sys::__ast_format_cache_get(name.as_ptr(), c"res_agi_rs".as_ptr(), c"".as_ptr(), 0, c"".as_ptr()) }).map(Format)
    }

    pub fn name(&self) -> String {
        // SAFETY: we hold a reference to the format; the name is copied.
        String::from_utf8_lossy(&bytes(unsafe { sys::ast_format_get_name(self.0.as_ptr()) })).into_owned()
    }
}

impl Drop for Format {
    fn drop(&mut self) {
        // SAFETY: we own exactly one reference.
        unsafe { shim::rs_shim_ao2_cleanup(self.0.as_ptr().cast()) }
    }
}

impl Chan {
    /// `ast_waitfor_nandfds` on this channel (when `with_channel`) and `fd`, without timeout.
    pub fn wait_with_fd(&self, with_channel: bool, fd: i32) -> Ready {
        let mut chans = [self.raw()];
        let mut fds = [fd];
        let mut outfd = -1;
        let mut ms = -1;
        // SAFETY: channel thread; the arrays and out-parameters live across the call.
        let c = unsafe {
            sys::ast_waitfor_nandfds(chans.as_mut_ptr(), with_channel as i32, fds.as_mut_ptr(), 1, std::ptr::null_mut(), &mut outfd, &mut ms)
        };
        if !c.is_null() {
            Ready::Channel
        } else if outfd > -1 {
            Ready::Fd
        } else {
            Ready::Nothing
        }
    }

    /// Reads one frame; a voice frame's payload is also written to `audio` (EAGI's fd 3,
    /// non-blocking: a reader that falls behind loses audio, as in stock). False when the
    /// channel is gone (`ast_read` returned NULL).
    pub fn read_forwarding_voice(&self, audio: Option<&std::os::fd::OwnedFd>) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: channel thread; the frame is freed exactly once; its data is valid for
        // datalen bytes while we hold it.
        unsafe {
            let f = sys::ast_read(self.raw());
            if f.is_null() {
                return false;
            }
            if let Some(fd) = audio {
                if (*f).frametype == sys::AST_FRAME_VOICE && !(*f).data.ptr.is_null() {
                    let _ = libc::write(fd.as_raw_fd(), (*f).data.ptr, (*f).datalen as usize);
                }
            }
            shim::rs_shim_frfree(f);
            true
        }
    }

    /// The channel's read format.
    pub fn read_format(&self) -> Option<Format> {
        let _l = self.lock();
        // SAFETY: live channel, locked; the format gets its own reference.
        NonNull::new(unsafe { shim::rs_shim_ao2_bump(sys::ast_channel_readformat(self.raw()).cast()) }.cast()).map(Format)
    }

    /// `ast_set_read_format`; signed linear when `format` is None. True on success.
    pub fn set_read_format(&self, format: Option<&Format>) -> bool {
        // SAFETY: channel thread; the format is referenced for the call.
        unsafe { sys::ast_set_read_format(self.raw(), format.map_or(sys::ast_format_slin, |f| f.0.as_ptr())) == 0 }
    }
}

/// Whether this thread runs an interception routine (stock treats it as a dead channel).
pub fn in_intercept_routine() -> bool {
    // SAFETY: reads a thread-local flag of Asterisk's.
    unsafe { sys::ast_channel_get_intercept_mode() != 0 }
}
