//! The `latentdyn` binary's integration tests, as a user meets the binary.
//!
//! One test binary for the whole crate: one link instead of one per file,
//! and the files' tests run in parallel with each other (the slowest of
//! them train small models through the binary). Run one file's tests with
//! `cargo test --release -p latentdyn --test cli ablate::`.

mod ablate;
mod bad_runs;
mod realdata;
mod recording;
mod report_page;
mod run_identity;
mod study_files;
mod support;
