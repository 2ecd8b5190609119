//! The subcommands, each in the module named after it; [`common`] holds
//! what more than one of them uses. `ablate` ends with what `report` does
//! ([`report::report`]).

pub mod ablate;
pub mod common;
pub mod data;
pub mod eval;
pub mod figures;
pub mod fixed_points;
pub mod infer;
pub mod report;
pub mod train;
