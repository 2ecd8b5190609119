//! The training loss: Poisson negative log-likelihood of spike counts.

use tch::{Reduction, Tensor};

use crate::ModelError;

/// Poisson NLL of `spikes` under `log_rates` (both `[batch, time, channels]`),
/// exactly PyTorch's `poisson_nll_loss(log_input=True, full=True)`:
/// exp(x) − y·x plus the Stirling term y·ln y − y + ½·ln(2πy) where y > 1
/// (0 elsewhere), averaged over samples, the first `horizon` steps (all
/// steps for `None`) and channels (study: "Loss").
pub fn poisson_nll(
    log_rates: &Tensor,
    spikes: &Tensor,
    horizon: Option<usize>,
) -> Result<Tensor, ModelError> {
    let size = log_rates.size();
    if size.len() != 3 || spikes.size() != size {
        return Err(ModelError::Shape {
            what: "spikes for the Poisson NLL",
            expected: format!("{size:?} (the log-rates' shape, [batch, time, channels])"),
            found: spikes.size(),
        });
    }
    let steps = size[1];
    let k = horizon.map_or(steps, |k| k as i64);
    if k < 1 || k > steps {
        return Err(ModelError::config(
            "horizon",
            format!("{k} is not in 1..={steps}"),
        ));
    }
    let x = log_rates.f_narrow(1, 0, k)?;
    let y = spikes.f_narrow(1, 0, k)?.f_to_kind(log_rates.kind())?;
    Ok(x.f_poisson_nll_loss(&y, true, true, 1e-8, Reduction::Mean)?)
}
