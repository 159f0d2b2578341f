//! `bench --sched`: where the round-trip tail comes from (issue 28). Written below.

pub fn main() {}
