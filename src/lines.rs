//! Command lines out of what a script or FastAGI server sent: stock reads them with fgets
//! into an 8 KB buffer. Pure (no Asterisk): tests/fuzz_parsers.rs throws arbitrary input at it.

/// A command line is at most this long (stock's fgets into an 8,192-byte buffer); a longer
/// one is taken in pieces of this size, each a command line of its own, as stock does.
pub const MAX_LINE: usize = 8191;

/// A command line as C reads it: up to its first NUL. Stock reads a line into a C string,
/// so `NOOP\0x` is the command `NOOP` (and the rest of the line is dropped with it); every
/// transport hands the engine the same text, and no NUL goes on into an event.
pub fn until_nul(line: &[u8]) -> &[u8] {
    line.iter().position(|&b| b == 0).map_or(line, |end| &line[..end])
}

/// Splits what the peer sent into command lines (stock's fgets into an 8 KB buffer).
#[derive(Default)]
pub struct LineReader {
    buf: Vec<u8>,
    /// The first `scanned` bytes of `buf` hold no newline: a peer sending a line a byte at a
    /// time (slowloris) costs one look at each byte, not one scan of the line per byte
    /// (found by fuzzing: 8 KB lines in 1-byte reads were quadratic).
    scanned: usize,
}

impl LineReader {
    /// The next complete line in what was read (without its newline), if any. A line of
    /// more than `MAX_LINE` bytes comes out in `MAX_LINE`-byte pieces.
    pub fn next_line(&mut self) -> Option<Vec<u8>> {
        let from = self.scanned.min(self.buf.len());
        let end = match self.buf[from..].iter().take(MAX_LINE.saturating_sub(from)).position(|&b| b == b'\n') {
            Some(i) => from + i + 1,
            None if self.buf.len() >= MAX_LINE => MAX_LINE,
            None => {
                self.scanned = self.buf.len();
                return None;
            }
        };
        self.scanned = 0;
        let mut line: Vec<u8> = self.buf.drain(..end).collect();
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Some(line)
    }

    /// What is left at end of file (a last line without newline).
    pub fn rest(&mut self) -> Option<Vec<u8>> {
        self.scanned = 0;
        (!self.buf.is_empty()).then(|| std::mem::take(&mut self.buf))
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }
}
