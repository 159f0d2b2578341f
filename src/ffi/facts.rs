//! Plain data the channel wrappers hand up (no pointers, no unsafe): kept in a file of its
//! own so the pure code built on it (crate::env) can be tested without Asterisk.

/// Raw facts for the AGI environment (see `crate::env`).
pub struct EnvFacts {
    pub name: Vec<u8>,
    pub language: Vec<u8>,
    pub tech_type: Vec<u8>,
    pub uniqueid: Vec<u8>,
    pub version: Vec<u8>,
    /// None where the party's field is not valid ("unknown" in the environment).
    pub callerid: Option<Vec<u8>>,
    pub calleridname: Option<Vec<u8>>,
    pub callingpres: i32,
    pub callingani2: i32,
    pub callington: i32,
    pub callingtns: i32,
    pub dnid: Option<Vec<u8>>,
    pub rdnis: Option<Vec<u8>>,
    pub context: Vec<u8>,
    pub extension: Vec<u8>,
    pub priority: i32,
    pub accountcode: Vec<u8>,
    pub threadid: i64,
}
