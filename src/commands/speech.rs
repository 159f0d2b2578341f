//! The SPEECH commands, on the session's one speech object (res_speech). Without one
//! (or without an engine) each answers `200 result=0`, as stock.
//! SPEECH CREATE engine, SPEECH SET name value, SPEECH DESTROY,
//! SPEECH LOAD GRAMMAR name path, SPEECH UNLOAD GRAMMAR name,
//! SPEECH ACTIVATE GRAMMAR name, SPEECH DEACTIVATE GRAMMAR name,
//! SPEECH RECOGNIZE prompt timeout [offset].
use crate::parse::atoi;
use crate::context::{Ctx, Status};
use crate::ffi::speech::{Recognized, Speech};
use std::ffi::CString;

pub fn create(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if ctx.speech.is_some() {
        ctx.result(0);
        return Status::Success;
    }
    *ctx.speech = Speech::new(argv.get(2).map(|e| e.as_c_str()));
    let ok = ctx.speech.is_some();
    ctx.result(if ok { 1 } else { 0 });
    Status::Success
}

pub fn set(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 4 {
        return Status::ShowUsage;
    }
    let Some(speech) = ctx.speech.as_ref() else {
        ctx.result(0);
        return Status::Success;
    };
    speech.change(&argv[2], &argv[3]);
    ctx.result(1);
    Status::Success
}

pub fn destroy(ctx: &mut Ctx, _argv: &[CString]) -> Status {
    let had = ctx.speech.take().is_some();
    ctx.result(if had { 1 } else { 0 });
    Status::Success
}

/// The grammar commands: `argc` words, then `op` on the speech object; 1 when it worked.
fn grammar(ctx: &mut Ctx, argv: &[CString], argc: usize, op: impl FnOnce(&Speech) -> i32) -> Status {
    if argv.len() != argc {
        return Status::ShowUsage;
    }
    let res = match ctx.speech.as_ref() {
        Some(speech) => op(speech),
        None => -1,
    };
    ctx.result(if res == 0 { 1 } else { 0 });
    Status::Success
}

pub fn load_grammar(ctx: &mut Ctx, argv: &[CString]) -> Status {
    grammar(ctx, argv, 5, |s| s.grammar_load(&argv[3], &argv[4]))
}

pub fn unload_grammar(ctx: &mut Ctx, argv: &[CString]) -> Status {
    grammar(ctx, argv, 4, |s| s.grammar_unload(&argv[3]))
}

pub fn activate_grammar(ctx: &mut Ctx, argv: &[CString]) -> Status {
    grammar(ctx, argv, 4, |s| s.grammar_activate(&argv[3]))
}

pub fn deactivate_grammar(ctx: &mut Ctx, argv: &[CString]) -> Status {
    grammar(ctx, argv, 4, |s| s.grammar_deactivate(&argv[3]))
}

pub fn recognize(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 4 {
        return Status::ShowUsage;
    }
    let Some(speech) = ctx.speech.as_ref() else {
        ctx.result(0);
        return Status::Success;
    };
    let timeout = atoi(argv[3].to_bytes());
    let offset = if argv.len() == 5 { atoi(argv[4].to_bytes()) } else { 0 };
    let answer = match ctx.chan.speech_recognize(speech, &argv[2], timeout, offset) {
        Recognized::NoSlin => b"200 result=0\n".to_vec(),
        Recognized::Speech { endpos, results } => {
            let mut list = Vec::new();
            for (i, (score, text, grammar)) in results.iter().enumerate() {
                if i > 0 {
                    list.push(b' ');
                }
                list.extend_from_slice(format!("score{i}={score} text{i}=\"").as_bytes());
                list.extend_from_slice(text);
                list.extend_from_slice(format!("\" grammar{i}=").as_bytes());
                list.extend_from_slice(grammar);
            }
            let mut line = format!("200 result=1 (speech) endpos={endpos} results={} ", results.len()).into_bytes();
            line.extend_from_slice(&list);
            line.push(b'\n');
            line
        }
        Recognized::Dtmf { digit, endpos } => {
            let mut line = b"200 result=1 (digit) digit=".to_vec();
            line.push(digit);
            line.extend_from_slice(format!(" endpos={endpos}\n").as_bytes());
            line
        }
        Recognized::Hangup { endpos } if ctx.was_interrupted() => format!("200 result=0 (interrupted) endpos={endpos}\n").into_bytes(),
        Recognized::Hangup { endpos } => format!("200 result=1 (hangup) endpos={endpos}\n").into_bytes(),
        Recognized::Timeout { endpos } => format!("200 result=1 (timeout) endpos={endpos}\n").into_bytes(),
    };
    ctx.reply(answer);
    Status::Success
}
