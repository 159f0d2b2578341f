//! The AMI event body's property, shared by tests/fuzz_parsers.rs and fuzz/: whatever a client
//! put in a value (CommandID, Channel, Owner, Command…), each field is exactly one `Key: value`
//! line in what reaches an AMI client; no CR or LF can forge a header or an event, and no NUL
//! can cut the event short (Asterisk reads the body as a C string: the check reads it through
//! the module's own `encode::c_text`, what the publish path hands to C). The including crate
//! provides `encode`.
const KEYS: [&str; 4] = ["CommandID", "Channel", "Owner", "Result"];

pub fn check(values: &[&[u8]]) -> Result<(), String> {
    let fields: Vec<(&str, &[u8])> = values.iter().enumerate().map(|(i, v)| (KEYS[i % KEYS.len()], *v)).collect();
    let mut body = crate::encode::body(b"Event: AsyncAGIExec\r\n".to_vec(), &fields);
    let built = body.len();
    let text = crate::encode::c_text(&mut body).to_bytes();
    if text.len() != built {
        return Err(format!("C reads {} of the body's {built} bytes (a NUL inside a value)", text.len()));
    }
    let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    // One line per field plus the event line, then the empty rest after the last LF.
    if lines.len() != fields.len() + 2 {
        return Err(format!("{} lines for {} fields", lines.len(), fields.len()));
    }
    if text.iter().filter(|&&b| b == b'\r').count() != fields.len() + 1 {
        return Err("a CR inside a value".into());
    }
    for (line, (key, value)) in lines[1..].iter().zip(&fields) {
        if !line.starts_with(key.as_bytes()) || !line.ends_with(b"\r") || line.len() != key.len() + 2 + value.len() + 1 {
            return Err(format!("field {key} became {:?}", String::from_utf8_lossy(line)));
        }
    }
    Ok(())
}
