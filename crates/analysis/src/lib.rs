//! Analysis of trained sequential autoencoders against the synthetic truth.
//!
//! The [`metrics`] module computes the study's per-epoch scores on `f64`
//! arrays (`[sample, time, dim]`): rate R², state R² (true → inferred
//! latents), the reverse latent R², each on the whole trial and on its early,
//! middle and late thirds, and the Poisson NLL of the spikes. Converting
//! tensors to arrays is the caller's job (`latentdyn_models::tensor_to_array3`).
//! Nothing here mutates a model.
//!
//! [`recording`] scores a model of a recording, which has no truth: the
//! Neural Latents Benchmark's co-smoothing bits per spike, behaviour
//! decoding R² and PSTH R².
//!
//! [`fixed_points`] finds the fixed points of a model's latent dynamics or of
//! a true system and linearises them; [`alignment`] maps them onto the true
//! system's axes and matches them to the true fixed points.

pub mod alignment;
mod error;
pub mod fixed_points;
pub mod metrics;
pub mod recording;

pub use alignment::{
    align_fixed_points, assignment, eigenvalue_error, AlignmentSummary, MatchedPair,
};
pub use error::AnalysisError;
pub use fixed_points::{
    dedup_in_start_order, draw_starts, eigen, find_fixed_points, DedupRule, FinderConfig,
    FinderProfile, FixedPoint, FixedPointSearch, Flow, FlowFn, FlowKind, Objective, Stability,
    StabilityClass, StopRule, NODE_BIN_DT,
};
pub use metrics::{
    compute_metrics, latent_r2, poisson_nll, poisson_nll_on, rate_r2, state_r2, steps_in, thirds,
    AffineMap, Metrics, NllBasis, ThirdMetrics, R2_FLOOR,
};
pub use recording::{
    bits_per_spike, decode_r2, psth_r2, psths, r2_score, ridge_alphas, Decoding, RecordingMetrics,
    Ridge,
};
