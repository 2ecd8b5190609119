//! What the binary's tests share: the binary, and its output judged as a
//! user reads it (`use crate::support::…` in each file).

use std::process::Output;

/// The `latentdyn` binary under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_latentdyn");

/// Standard output and standard error, as one text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The text of a command that must succeed.
pub fn ok(out: Output) -> String {
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    t
}

/// The text of a command that must fail with an error, not a panic.
pub fn fails(out: Output) -> String {
    let t = text(&out);
    assert!(!out.status.success(), "succeeded: {t}");
    assert_ne!(out.status.code(), Some(101), "panicked: {t}");
    t
}
