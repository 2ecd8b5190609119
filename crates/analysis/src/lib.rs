//! Analysis of trained sequential autoencoders against the synthetic truth.
//!
//! The [`metrics`] module computes the study's per-epoch scores on `f64`
//! arrays (`[sample, time, dim]`): rate R², state R² (true → inferred
//! latents), the reverse latent R², each on the whole trial and on its early,
//! middle and late thirds, and the Poisson NLL of the spikes. Converting
//! tensors to arrays is the caller's job (`latentdyn_models::tensor_to_array3`).
//! Nothing here mutates a model.

mod error;
pub mod metrics;

pub use error::AnalysisError;
pub use metrics::{
    compute_metrics, latent_r2, poisson_nll, rate_r2, state_r2, steps_in, thirds, AffineMap,
    Metrics, ThirdMetrics, R2_FLOOR,
};
