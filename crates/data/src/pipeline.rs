//! The study's pipeline from a latent trajectory to spikes: readout,
//! per-channel standardisation, exp, Poisson, reshape and split.
//!
//! All loops here run in a fixed order with plain IEEE arithmetic (no BLAS,
//! no fused multiply-add), so the same spec gives the same bytes everywhere.

use ndarray::{Array1, Array2};
use rayon::prelude::*;

use crate::dataset::{Dataset, Metadata};
use crate::random::{self, Purpose};
use crate::simulate::{simulate, Trajectory};
use crate::{DataError, DatasetSpec};

/// The readout: `latent_dim × obs_dim` entries U(−0.5, 0.5) from the seed's readout
/// stream (drawn row-major), then the columns reordered by ascending value of the first row.
pub fn readout_matrix(latent_dim: usize, obs_dim: usize, seed: u64) -> Array2<f64> {
    let mut rng = random::stream(seed, Purpose::Readout);
    let raw = Array2::from_shape_fn((latent_dim, obs_dim), |_| random::uniform(&mut rng) - 0.5);
    let mut order: Vec<usize> = (0..obs_dim).collect();
    order.sort_by(|&a, &b| raw[[0, a]].total_cmp(&raw[[0, b]]).then(a.cmp(&b)));
    Array2::from_shape_fn((latent_dim, obs_dim), |(r, c)| raw[[r, order[c]]])
}

/// Mean and population standard deviation of every column, summed in row order.
pub fn column_mean_std(x: &Array2<f64>) -> (Array1<f64>, Array1<f64>) {
    let n = x.nrows() as f64;
    let mut mean = Array1::<f64>::zeros(x.ncols());
    for row in x.rows() {
        mean += &row;
    }
    mean /= n;
    let mut var = Array1::<f64>::zeros(x.ncols());
    for row in x.rows() {
        for (v, (&a, &m)) in var.iter_mut().zip(row.iter().zip(mean.iter())) {
            *v += (a - m) * (a - m);
        }
    }
    let std = var.mapv(|v| (v / n).sqrt());
    (mean, std)
}

/// Subtracts `mean` and divides by `std`, column by column.
fn standardise(x: &mut Array2<f64>, mean: &Array1<f64>, std: &Array1<f64>) {
    for mut row in x.rows_mut() {
        for ((a, &m), &s) in row.iter_mut().zip(mean.iter()).zip(std.iter()) {
            *a = (*a - m) / s;
        }
    }
}

/// `latents · readout` with a fixed summation order.
fn project(latents: &Array2<f64>, readout: &Array2<f64>) -> Array2<f64> {
    let (n, d) = latents.dim();
    let m = readout.ncols();
    let mut out = Array2::<f64>::zeros((n, m));
    const ROWS: usize = 4096;
    if m == 0 {
        return out;
    }
    out.as_slice_mut()
        .expect("fresh array is contiguous")
        .par_chunks_mut(ROWS * m)
        .enumerate()
        .for_each(|(chunk, block)| {
            for (r, row) in block.chunks_mut(m).enumerate() {
                let z = latents.row(chunk * ROWS + r);
                for (c, v) in row.iter_mut().enumerate() {
                    let mut acc = 0.0;
                    for k in 0..d {
                        acc += z[k] * readout[[k, c]];
                    }
                    *v = acc;
                }
            }
        });
    out
}

/// The seeded split: shuffle `0..n_samples`, the first ⌈20 %⌉ are test, the next
/// ⌈20 %⌉ of the rest valid, the remainder train; each returned sorted.
pub fn split_indices(spec: &DatasetSpec) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    split_trials(spec.n_samples, spec.seed)
}

/// [`split_indices`] for `n` trials and a seed: the study's 1280 : 320 :
/// 400 of 2000 for any `n` (also a recording's trials).
pub(crate) fn split_trials(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let n_test = (n * 2).div_ceil(10);
    let n_valid = ((n - n_test) * 2).div_ceil(10);
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = random::stream(seed, Purpose::Split);
    random::shuffle(&mut rng, &mut idx);
    let mut test = idx[..n_test].to_vec();
    let mut valid = idx[n_test..n_test + n_valid].to_vec();
    let mut train = idx[n_test + n_valid..].to_vec();
    test.sort_unstable();
    valid.sort_unstable();
    train.sort_unstable();
    (train, valid, test)
}

fn check_finite(name: &str, what: &str, x: &Array2<f64>) -> Result<(), DataError> {
    if let Some((i, _)) = x.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(DataError::Degenerate {
            name: name.to_string(),
            reason: format!("{what} is not finite at flat index {i}"),
        });
    }
    Ok(())
}

/// Generates the dataset `spec` describes.
pub fn generate(spec: &DatasetSpec) -> Result<Dataset, DataError> {
    generate_with_progress(spec, &|_| {})
}

/// [`generate`], calling `progress` with the fraction done (0 to 1, increasing) as it goes.
/// The callback does not influence the result.
pub fn generate_with_progress(
    spec: &DatasetSpec,
    progress: &dyn Fn(f64),
) -> Result<Dataset, DataError> {
    spec.validate()?;
    let name = spec.name();
    progress(0.0);
    let traj = simulate(spec, &|f| progress(0.85 * f))?;
    let Trajectory {
        times,
        mut states,
        latent_info,
        mackey_glass,
    } = traj;
    check_finite(&name, "the latent trajectory", &states)?;
    let n = spec.n_points();
    let latent_dim = states.ncols();
    if latent_info.standardised {
        let (m, s) = (
            Array1::from(latent_info.raw_mean.clone().unwrap_or_default()),
            Array1::from(latent_info.raw_std.clone().unwrap_or_default()),
        );
        standardise(&mut states, &m, &s);
    }

    let readout = readout_matrix(latent_dim, spec.obs_dim, spec.seed);
    let mut activity = project(&states, &readout);
    let (orig_mean, orig_std) = column_mean_std(&activity);
    if let Some(c) = orig_std.iter().position(|&s| s <= 0.0 || !s.is_finite()) {
        return Err(DataError::Degenerate {
            name,
            reason: format!("channel {c} is constant and cannot be standardised"),
        });
    }
    standardise(&mut activity, &orig_mean, &orig_std);
    progress(0.9);

    let rates = activity.mapv_into(f64::exp);
    check_finite(&name, "the rates", &rates)?;
    let mut rng = random::stream(spec.seed, Purpose::Spikes);
    let spikes_flat = rates.mapv(|l| random::poisson(&mut rng, l));
    progress(0.97);

    let (s, t) = (spec.n_samples, spec.n_timesteps);
    let reshape3 = |a: Array2<f64>| {
        let c = a.ncols();
        a.into_shape_with_order((s, t, c))
            .expect("n = n_samples × n_timesteps")
    };
    let spikes = spikes_flat
        .into_shape_with_order((s, t, spec.obs_dim))
        .expect("n = n_samples × n_timesteps");
    debug_assert_eq!(times.len(), n);
    let times = times.into_shape_with_order((s, t)).expect("n points");
    let (train_idx, valid_idx, test_idx) = split_indices(spec);
    let metadata = Metadata::new(spec, latent_dim, latent_info, mackey_glass);
    let mut ds = Dataset {
        spec: *spec,
        metadata,
        latents: reshape3(states),
        rates: reshape3(rates),
        spikes,
        times,
        readout,
        orig_mean,
        orig_std,
        train_idx,
        valid_idx,
        test_idx,
    };
    ds.metadata.content_sha256 = Some(ds.content_sha256());
    progress(1.0);
    Ok(ds)
}

/// Generates several datasets in parallel (rayon), results in the order of `specs`.
pub fn generate_many(specs: &[DatasetSpec]) -> Vec<Result<Dataset, DataError>> {
    specs.par_iter().map(generate).collect()
}
