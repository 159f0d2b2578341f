//! What the classic AGI transports need from the system and from Asterisk: an AGI script
//! started as stock starts it (fork/exec in the shim), signals and reaping, raw descriptor
//! I/O, and SRV lookups for `hagi://`.
use super::{bytes, cstring, shim, sys};
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// `astagidir` (asterisk.conf), where relative script names are looked up.
pub fn agi_dir() -> Vec<u8> {
    // SAFETY: a configuration string Asterisk keeps for its whole life; copied.
    bytes(unsafe { shim::rs_shim_agi_dir() })
}

/// A started AGI script: its pid, its stdout (we read), its stdin (we write) and, for EAGI,
/// the write end of its fd 3.
pub struct Script {
    pub pid: i32,
    pub from_script: OwnedFd,
    pub to_script: OwnedFd,
    pub audio: Option<OwnedFd>,
    pub fork: SafeFork,
}

/// Asterisk's SIGCHLD reaper stays off (ast_safe_fork(1)) until this is dropped, so that we
/// can collect the script's exit status ourselves, as stock does.
pub struct SafeFork(());

impl Drop for SafeFork {
    fn drop(&mut self) {
        // SAFETY: pairs with the ast_safe_fork(1) the shim made.
        unsafe { shim::rs_shim_safe_fork_cleanup() };
    }
}

/// Forks and execs `path` with `argv` (argv[0] first), stdin/stdout piped, fd 3 the audio
/// pipe when `enhanced`, the `AST_*` variables set and every other descriptor closed, as
/// stock does. Err(()) when it could not start (logged).
pub fn launch_script(path: &CStr, argv: &[CString], enhanced: bool) -> Result<Script, ()> {
    let mut ptrs: Vec<*mut libc::c_char> = argv.iter().map(|a| a.as_ptr() as *mut _).collect();
    ptrs.push(std::ptr::null_mut());
    let mut fds = [-1i32; 2];
    let mut audio = -1i32;
    let mut forked = 0;
    // SAFETY: valid C strings and a NULL-terminated argv that outlive the call; fds/audio
    // are ours to fill. The child side runs only the shim's C code, then execs.
    let pid = unsafe {
        shim::rs_shim_launch_script(
            path.as_ptr(),
            ptrs.as_ptr(),
            fds.as_mut_ptr(),
            if enhanced { &mut audio } else { std::ptr::null_mut() },
            &mut forked,
        )
    };
    let fork = (forked != 0).then_some(SafeFork(()));
    if pid < 0 {
        return Err(());
    }
    let fork = fork.expect("a started script was forked");
    // SAFETY: the shim returns descriptors it opened for us and no longer uses.
    unsafe {
        Ok(Script {
            pid,
            from_script: OwnedFd::from_raw_fd(fds[0]),
            to_script: OwnedFd::from_raw_fd(fds[1]),
            audio: (audio > -1).then(|| OwnedFd::from_raw_fd(audio)),
            fork,
        })
    }
}

/// Sends SIGHUP to `pid`; the error text on failure.
pub fn hangup_signal(pid: i32) -> Result<(), String> {
    // SAFETY: kill has no memory preconditions.
    if unsafe { libc::kill(pid, libc::SIGHUP) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

/// `waitpid(pid, &status, nohang ? WNOHANG : 0)`: the exit status when the child was reaped.
pub fn wait_child(pid: i32, nohang: bool) -> Option<i32> {
    let mut status = 0;
    // SAFETY: status is ours to fill.
    let r = unsafe { libc::waitpid(pid, &mut status, if nohang { libc::WNOHANG } else { 0 }) };
    (r == pid).then_some(status)
}

/// Writes all of `data` as stock's ast_agi_send does (`ast_carefulwrite`, 100 ms per wait).
pub fn careful_write(fd: RawFd, data: &[u8]) -> bool {
    if data.is_empty() {
        return true;
    }
    // SAFETY: data is valid for its length; ast_carefulwrite does not keep it.
    unsafe { sys::ast_carefulwrite(fd, data.as_ptr() as *mut _, data.len() as _, 100) == 0 }
}

/// One read(2) into `buf`: Some(n) (0 at end of file), None on error (EINTR/EAGAIN: Some(..)
/// is not returned; the caller waits again).
pub fn read_some(fd: &impl AsRawFd, buf: &mut [u8]) -> Result<usize, std::io::ErrorKind> {
    // SAFETY: buf is valid for writes of its length.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(std::io::Error::last_os_error().kind())
    } else {
        Ok(n as usize)
    }
}

/// SRV lookups (`ast_srv_lookup`), target by target in priority and weight order.
pub struct SrvLookup {
    context: *mut sys::srv_context,
    service: CString,
    done: bool,
    /// ast_srv_lookup's last result: <0 means the lookup itself failed.
    pub last: i32,
}

impl SrvLookup {
    pub fn new(service: &[u8]) -> SrvLookup {
        SrvLookup { context: std::ptr::null_mut(), service: cstring(service), done: false, last: 0 }
    }
}

impl Iterator for SrvLookup {
    type Item = (String, u16);
    fn next(&mut self) -> Option<(String, u16)> {
        if self.done {
            return None;
        }
        let mut host: *const libc::c_char = std::ptr::null();
        let mut port: u16 = 0;
        // SAFETY: context is ours (NULL at first); host points into it until the next call.
        self.last = unsafe { sys::ast_srv_lookup(&mut self.context, self.service.as_ptr(), &mut host, &mut port) };
        if self.last != 0 {
            // ast_srv_lookup has cleaned the context up itself.
            self.context = std::ptr::null_mut();
            self.done = true;
            return None;
        }
        Some((String::from_utf8_lossy(&bytes(host)).into_owned(), port))
    }
}

impl Drop for SrvLookup {
    fn drop(&mut self) {
        if !self.context.is_null() {
            // SAFETY: a context ast_srv_lookup made and did not clean up.
            unsafe { sys::ast_srv_cleanup(&mut self.context) };
        }
    }
}

/// An eventfd: what an Async AGI interrupt signals to the running command (passed as the
/// command's control descriptor, as stock passes a script's stdout). Non-blocking, closed
/// on exec and on Drop.
pub struct EventFd(OwnedFd);

impl EventFd {
    pub fn new() -> Option<EventFd> {
        // SAFETY: eventfd has no memory preconditions; a non-negative result is a new
        // descriptor we own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        // SAFETY: fd was just opened and is owned by nobody else.
        (fd >= 0).then(|| EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// Makes the descriptor readable (wakes whoever waits on it).
    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our descriptor.
        let _ = unsafe { libc::write(self.raw(), (&one as *const u64).cast(), 8) };
    }

    /// Makes it unreadable again (consumes any signal).
    pub fn drain(&self) {
        let mut v: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; non-blocking.
        let _ = unsafe { libc::read(self.raw(), (&mut v as *mut u64).cast(), 8) };
    }
}

/// Waits as SCHED_BATCH: a parked channel thread sleeps with that policy and runs its
/// commands with its own. A SCHED_BATCH thread that wakes up does not preempt the thread
/// running on its CPU (Linux places and preempts batch tasks by the tick, not at wake-up);
/// with an idle CPU it runs at once, as before. Only for a thread that is SCHED_OTHER when
/// made (a realtime or other policy is never touched).
///
/// The policy stays SCHED_BATCH from the first `wait` until `active` (before a command runs)
/// or the drop (when the thread leaves Async AGI): a parked call with media wakes for every
/// voice frame (50 a second), which it reads and drops as it is; two policy changes around
/// each of those wake-ups would cost two system calls a frame for nothing.
pub struct IdlePolicy {
    allowed: bool,
    batch: bool,
}

impl IdlePolicy {
    /// For the calling thread; checks its policy once. `enabled: false` never changes it
    /// (the thread waits with the policy it came with).
    pub fn new(enabled: bool) -> IdlePolicy {
        // SAFETY: sched_getscheduler(0) asks about the calling thread; no memory involved.
        IdlePolicy { allowed: enabled && unsafe { libc::sched_getscheduler(0) } == libc::SCHED_OTHER, batch: false }
    }

    fn set(&mut self, policy: libc::c_int) {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread (Linux policies are per thread); param lives
        // across the call.
        if unsafe { libc::sched_setscheduler(0, policy, &param) } != 0 {
            self.allowed = false;
        }
    }

    /// Runs `wait` (a sleep of the calling thread) as SCHED_BATCH, and stays so.
    pub fn wait<T>(&mut self, wait: impl FnOnce() -> T) -> T {
        if self.allowed && !self.batch {
            self.set(libc::SCHED_BATCH);
            self.batch = self.allowed;
        }
        wait()
    }

    /// Back to SCHED_OTHER (before a command runs).
    pub fn active(&mut self) {
        if self.batch {
            self.batch = false;
            self.set(libc::SCHED_OTHER);
        }
    }
}

impl Drop for IdlePolicy {
    /// The thread leaves with the policy it came with.
    fn drop(&mut self) {
        self.active();
    }
}

/// poll(2) over `fds` for at most `timeout_ms` (-1: no limit); what poll returned.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> i32 {
    // SAFETY: `fds` is a live slice of pollfd of the length passed.
    unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) }
}
