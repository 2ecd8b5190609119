//! Damage to a file's bytes for the loaders' fuzz tests (shared by
//! `latentdyn-data` and `latentdyn-train` through `#[path]`): a truncation,
//! one flipped byte, or random bytes up to `random_len` long.
//! `LATENTDYN_FUZZ_CASES` sets the number of cases per loader (default 48,
//! what CI runs).

use proptest::prelude::*;

/// Cases per loader.
pub fn cases() -> u32 {
    std::env::var("LATENTDYN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48)
}

/// One kind of damage.
#[derive(Debug, Clone)]
pub enum Damage {
    /// Keep the first n bytes.
    Truncate(usize),
    /// XOR byte i with a non-zero mask.
    Flip(usize, u8),
    /// Replace the file with these bytes.
    Random(Vec<u8>),
}

/// Damage to a file of `len` bytes.
pub fn damage(len: usize, random_len: usize) -> impl Strategy<Value = Damage> {
    prop_oneof![
        (0..len).prop_map(Damage::Truncate),
        (0..len, 1u8..=255).prop_map(|(i, b)| Damage::Flip(i, b)),
        proptest::collection::vec(any::<u8>(), 0..random_len).prop_map(Damage::Random),
    ]
}

/// `bytes` with `d` done to them.
pub fn apply(bytes: &[u8], d: &Damage) -> Vec<u8> {
    match d {
        Damage::Truncate(n) => bytes[..*n].to_vec(),
        Damage::Flip(i, b) => {
            let mut v = bytes.to_vec();
            v[*i] ^= b;
            v
        }
        Damage::Random(r) => r.clone(),
    }
}
