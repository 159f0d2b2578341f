# A census of glibc's per-thread caches (tcache) in a running Asterisk, for `make heap`.
#
#   gdb -q -batch -ex "set sysroot $ROOT" -ex "set debug-file-directory $ROOT/usr/lib/debug" \
#       -ex "file $ROOT/usr/sbin/asterisk" -ex "attach $PID" -x scripts/tcache.py -ex detach
#
# Each glibc thread keeps the blocks it freed, up to 16 per size class in glibc 2.43 (7 in
# older ones), for its own next allocations; glibc counts them as in use. A thread that
# frees blocks of a size it never allocates (made by another thread, or by realloc, which
# takes the new block from the arena and puts the old one in the cache) keeps them until it
# ends. This walks every thread's cache and sums what it holds: overall, and for the threads
# running an AGI session (a frame of res_agi.so or res_agi_rs.so on their stack).
#
# The cache pointer is a thread-local variable of libc; the host's gdb may not load the
# chroot's libthread_db, so it is read as glibc's own code reads it: %fs base plus the
# offset libc's free() loads from its GOT. The list links are mangled (safe-linking).
import gdb
import re

gdb.execute("set pagination off")
inf = gdb.selected_inferior()

got = None
lines = gdb.execute("disassemble __libc_free", to_string=True).splitlines()
for i, line in enumerate(lines):
    # mov 0x...(%rip),%REG   # <GOT slot>   ...   mov %fs:(%REG),...
    m = re.search(r"mov\s+0x[0-9a-f]+\(%rip\),(%r[a-z0-9]+)\s+# (0x[0-9a-f]+)", line)
    if m and any("%%fs:(%s)" % m.group(1) in later for later in lines[i + 1:i + 5]):
        got = int(m.group(2), 16)
        break
if got is None:
    raise gdb.GdbError("tcache.py: cannot find the tcache TLS offset in __libc_free")
tpoff = int.from_bytes(inf.read_memory(got, 8).tobytes(), "little", signed=True)
BINS = int(gdb.parse_and_eval("sizeof(((struct tcache_perthread_struct *)0)->entries) / sizeof(void *)"))
ENTRIES = int(gdb.parse_and_eval("(long)&((struct tcache_perthread_struct *)0)->entries"))


def u64(addr):
    return int.from_bytes(inf.read_memory(addr, 8).tobytes(), "little")


def is_agi_thread():
    frame = gdb.newest_frame()
    for _ in range(16):
        if frame is None:
            return False
        lib = gdb.solib_name(frame.pc()) or ""
        if lib.endswith("/res_agi.so") or lib.endswith("/res_agi_rs.so"):
            return True
        try:
            frame = frame.older()
        except gdb.error:
            return False
    return False


rows = []  # (bytes, is_agi, {chunk size: count})
for th in inf.threads():
    th.switch()
    tc = u64(int(gdb.parse_and_eval("(long)$fs_base")) + tpoff)
    held, bins = 0, {}
    if tc:
        for i in range(BINS):
            e, n = u64(tc + ENTRIES + 8 * i), 0
            while e and n < 10000:
                n += 1
                e = (e >> 12) ^ u64(e)
            if n:
                size = 32 + 16 * i
                held += n * size
                bins[size] = n
    rows.append((held, is_agi_thread(), bins))


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else 0


agi = [r for r in rows if r[1]]
print("tcache threads %d held %d bytes" % (len(rows), sum(r[0] for r in rows)))
print("tcache agi_threads %d held %d bytes median %d max %d" % (len(agi), sum(r[0] for r in agi), median([r[0] for r in agi]), max([r[0] for r in agi] or [0])))
by_size = {}
for r in agi:
    for size, n in r[2].items():
        by_size[size] = by_size.get(size, 0) + n * size
top = sorted(by_size.items(), key=lambda kv: -kv[1])[:8]
print("tcache agi_top " + " ".join("%d:%d" % kv for kv in top))
