//! Which Async AGI commands `AGIInterrupt` can stop, and how (docs/actions.md lists what
//! each then answers). Pure: it reads the command line only.
use crate::parse::parse_args;

/// How a running command is stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The command watches a control descriptor (stock passes a script's stdout there): an
    /// eventfd is signalled; the command ends at once and reports its own result so far.
    Ctrl,
    /// The command (or the application EXEC runs) waits on the channel and returns as it
    /// does on hangup: a private soft-hangup bit is set, then cleared when it returns.
    Softhangup,
    /// Cannot be interrupted; the text says why.
    Not(String),
}

/// Applications EXEC may run that return at once, unharmed, when interrupted.
const APPS: &[&str] = &["playback", "background", "controlplayback", "wait", "waitexten", "musiconhold", "read"];

pub fn classify(line: &[u8]) -> Stop {
    let words: Vec<String> = parse_args(line).iter().map(|w| String::from_utf8_lossy(w).to_ascii_lowercase()).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["stream", "file", ..] | ["get", "option", ..] | ["wait", "for", "digit", ..] | ["get", "data", ..] => Stop::Ctrl,
        // Asterisk's say.c watches the control descriptor only together with an audio one
        // (EAGI), so SAY * is stopped the other way.
        ["say", kind, ..] if ["alpha", "digits", "number", "phonetic", "date", "time", "datetime"].contains(kind) => Stop::Softhangup,
        ["control", "stream", "file", ..] | ["record", "file", ..] | ["speech", "recognize", ..] => Stop::Softhangup,
        ["exec", app, ..] if APPS.contains(app) => Stop::Softhangup,
        ["exec", ..] => {
            let app = parse_args(line).get(1).map(|a| String::from_utf8_lossy(a).into_owned()).unwrap_or_default();
            Stop::Not(format!("the application {app} cannot be interrupted"))
        }
        _ => Stop::Not("the command cannot be interrupted".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(classify(b"STREAM FILE beep \"\""), Stop::Ctrl);
        assert_eq!(classify(b"say digits 123 \"\""), Stop::Softhangup);
        assert_eq!(classify(b"EXEC Playback tt-monkeys"), Stop::Softhangup);
        assert_eq!(classify(b"exec musiconhold"), Stop::Softhangup);
        assert_eq!(classify(b"RECORD FILE /tmp/x wav # 1000"), Stop::Softhangup);
        assert_eq!(classify(b"EXEC Dial PJSIP/1"), Stop::Not("the application Dial cannot be interrupted".into()));
        assert_eq!(classify(b"NOOP"), Stop::Not("the command cannot be interrupted".into()));
        assert_eq!(classify(b""), Stop::Not("the command cannot be interrupted".into()));
    }
}
