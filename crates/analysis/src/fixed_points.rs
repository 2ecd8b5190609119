//! Fixed points of latent dynamics and of the true systems.
//!
//! A [`Flow`] is an autonomous map `x ↦ F(x)` (the GRU cell with zero input,
//! the discrete cells) or a vector field `x ↦ f(x)` (the neural ODE, the true
//! systems), given as a closure on `[batch, L]` tensors of kind `f64`.
//! [`find_fixed_points`] follows the study: 1024 starts drawn from
//! trajectories plus N(0, 0.01²) noise, Adam (lr 1e-2) on
//! q(x) = ½‖F(x) − x‖² or ½‖f(x)‖², all starts batched in one tensor, until
//! every point has q < 1e-12 or |Δq| < 1e-20·lr, at most 5000 iterations.
//! Candidates are then polished by Newton's method on the residual with the
//! autograd Jacobian, so accepted points (q < 1e-12) are exact to near machine
//! precision, deduplicated within 1e-3, and linearised: the Jacobian of the
//! one-bin map (maps: ∂F/∂x; fields: I + Δt·∂f/∂x), its eigenvalues and
//! eigenvectors, and a stability class.
//!
//! Nothing here mutates a model: the caller passes `&dyn Dynamics` whose
//! parameters are already `f64` (load a copy and call `VarStore::double`).

use std::time::Instant;

use latentdyn_data::random::{below, uniform};
use latentdyn_data::{Complex, System};
use latentdyn_models::Dynamics;
use nalgebra::DMatrix;
use ndarray::{Array2, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::AnalysisError;

/// The one-bin time step the study uses to linearise the neural ODE:
/// `I + (1/70)·∂f/∂x` (study, "Fixed points").
pub const NODE_BIN_DT: f64 = 1.0 / 70.0;

/// Whether a flow is a map or a vector field, and how one bin follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FlowKind {
    /// A one-bin map `F`; fixed points solve `F(x) − x = 0`.
    Map,
    /// A vector field `f`; fixed points solve `f(x) = 0`. The one-bin map is
    /// linearised as `I + dt·∂f/∂x`.
    Field {
        /// Time per bin.
        dt: f64,
    },
}

/// The tensor function behind a [`Flow`]: `[batch, L]` → `[batch, L]`, `f64`.
pub type FlowFn<'a> = dyn Fn(&Tensor) -> Result<Tensor, AnalysisError> + 'a;

/// An autonomous map or vector field on `[batch, L]` tensors of kind `f64`.
pub struct Flow<'a> {
    kind: FlowKind,
    dim: usize,
    f: Box<FlowFn<'a>>,
}

impl std::fmt::Debug for Flow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Flow")
            .field("kind", &self.kind)
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

fn model_err(e: impl std::fmt::Display) -> AnalysisError {
    AnalysisError::Tensor {
        what: "dynamics",
        reason: e.to_string(),
    }
}

fn tch_err(what: &'static str) -> impl Fn(tch::TchError) -> AnalysisError {
    move |e| AnalysisError::Tensor {
        what,
        reason: e.to_string(),
    }
}

impl<'a> Flow<'a> {
    /// A flow from any tensor closure (`[batch, dim]` → `[batch, dim]`, `f64`).
    pub fn new(
        kind: FlowKind,
        dim: usize,
        f: impl Fn(&Tensor) -> Result<Tensor, AnalysisError> + 'a,
    ) -> Self {
        Flow {
            kind,
            dim,
            f: Box::new(f),
        }
    }

    /// The flow of a model's latent dynamics: the vector field when the
    /// dynamics has one (the neural ODE, linearised with `field_dt`, the
    /// study's [`NODE_BIN_DT`]), else the one-bin map with zero input.
    ///
    /// The parameters must be `f64`: anything else is an error that says so.
    pub fn of_dynamics(dynamics: &'a dyn Dynamics, field_dt: f64) -> Result<Self, AnalysisError> {
        let dim = dynamics.latent_size();
        let probe = Tensor::f_zeros([1, dim], (Kind::Double, Device::Cpu))
            .map_err(tch_err("probe state"))?;
        let not_double = |k: Kind| AnalysisError::Invalid {
            what: "model parameters",
            reason: format!(
                "the fixed-point finder works in f64 but the dynamics computes in {k:?}; \
                 load a copy of the model and convert it with `VarStore::double()`"
            ),
        };
        let field =
            tch::no_grad(|| dynamics.vector_field(&probe)).map_err(|e| AnalysisError::Invalid {
                what: "model parameters",
                reason: format!("{e} (the finder needs f64 parameters: `VarStore::double()`)"),
            })?;
        let dim_u = dim as usize;
        match field {
            Some(out) => {
                if out.kind() != Kind::Double {
                    return Err(not_double(out.kind()));
                }
                Ok(Flow::new(
                    FlowKind::Field { dt: field_dt },
                    dim_u,
                    move |x| {
                        dynamics
                            .vector_field(x)
                            .map_err(model_err)?
                            .ok_or_else(|| model_err("the vector field disappeared"))
                    },
                ))
            }
            None => {
                let out =
                    tch::no_grad(|| dynamics.step(&probe)).map_err(|e| AnalysisError::Invalid {
                        what: "model parameters",
                        reason: format!(
                            "{e} (the finder needs f64 parameters: `VarStore::double()`)"
                        ),
                    })?;
                if out.kind() != Kind::Double {
                    return Err(not_double(out.kind()));
                }
                Ok(Flow::new(FlowKind::Map, dim_u, move |x| {
                    dynamics.step(x).map_err(model_err)
                }))
            }
        }
    }

    /// The vector field of a true system (Arneodo, Lorenz, Rossler) as a
    /// tensor closure, linearised over one bin of `dt`.
    pub fn of_system(system: System, dt: f64) -> Result<Flow<'static>, AnalysisError> {
        let col = |x: &Tensor, i: i64| x.f_select(1, i).map_err(tch_err("system state"));
        let stack = |v: [Tensor; 3]| Tensor::f_stack(&v, 1).map_err(tch_err("system field"));
        let kind = FlowKind::Field { dt };
        match system {
            System::Arneodo(p) => Ok(Flow::new(kind, 3, move |x| {
                let (a, b, c) = (col(x, 0)?, col(x, 1)?, col(x, 2)?);
                let z = -p.a * &a - p.b * &b - p.c * &c + p.d * a.pow_tensor_scalar(3);
                stack([b, c, z])
            })),
            System::Lorenz(p) => Ok(Flow::new(kind, 3, move |x| {
                let (a, b, c) = (col(x, 0)?, col(x, 1)?, col(x, 2)?);
                let dx = p.sigma * (&b - &a);
                let dy = &a * (p.rho - &c) - &b;
                let dz = &a * &b - p.beta * &c;
                stack([dx, dy, dz])
            })),
            System::Rossler(p) => Ok(Flow::new(kind, 3, move |x| {
                let (a, b, c) = (col(x, 0)?, col(x, 1)?, col(x, 2)?);
                let dx = -&b - &c;
                let dy = &a + p.a * &b;
                let dz = p.b + &c * (&a - p.c);
                stack([dx, dy, dz])
            })),
            other => Err(AnalysisError::Invalid {
                what: "system",
                reason: format!(
                    "fixed points are implemented for arneodo, lorenz and rossler, not {}",
                    other.kind()
                ),
            }),
        }
    }

    /// Map or field.
    pub fn kind(&self) -> FlowKind {
        self.kind
    }

    /// The state dimension L.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// `F(x)` or `f(x)` for `x` `[batch, L]`.
    pub fn eval(&self, x: &Tensor) -> Result<Tensor, AnalysisError> {
        (self.f)(x)
    }

    /// The residual whose zeros are the fixed points: `F(x) − x` or `f(x)`.
    pub fn residual(&self, x: &Tensor) -> Result<Tensor, AnalysisError> {
        let y = self.eval(x)?;
        let want = [x.size()[0], self.dim as i64];
        if y.size() != want {
            return Err(AnalysisError::Shape {
                what: "flow output",
                expected: want.iter().map(|&v| v as usize).collect(),
                found: y.size().iter().map(|&v| v as usize).collect(),
            });
        }
        match self.kind {
            FlowKind::Map => Ok(y - x),
            FlowKind::Field { .. } => Ok(y),
        }
    }

    /// The residual at each row of `x` (`[points, L]`), as an array.
    pub fn residual_array(&self, x: &Array2<f64>) -> Result<Array2<f64>, AnalysisError> {
        from_tensor(&self.residual(&to_tensor(x)?)?)
    }

    /// Residuals and their Jacobians at each row of `x` (`[batch, L]`):
    /// `(g [batch][L], J [batch][L][L])` with `J[b][i][j] = ∂gᵢ/∂xⱼ`, by L
    /// backward passes over the whole batch (rows are independent).
    pub fn residual_jacobian(
        &self,
        x: &Array2<f64>,
    ) -> Result<(Array2<f64>, Vec<DMatrix<f64>>), AnalysisError> {
        let (n, l) = x.dim();
        let xt = to_tensor(x)?.set_requires_grad(true);
        let g = self.residual(&xt)?;
        let mut jac = vec![DMatrix::zeros(l, l); n];
        for i in 0..l {
            let gi = g
                .f_select(1, i as i64)
                .and_then(|t| t.f_sum(Kind::Double))
                .map_err(tch_err("Jacobian"))?;
            let grads = Tensor::f_run_backward(&[gi], &[&xt], i + 1 < l, false)
                .map_err(tch_err("Jacobian"))?;
            let row = from_tensor(&grads[0])?;
            for b in 0..n {
                for j in 0..l {
                    jac[b][(i, j)] = row[[b, j]];
                }
            }
        }
        let g = from_tensor(&g.detach())?;
        Ok((g, jac))
    }

    /// The Jacobian of the one-bin map at `x` (one point): `∂F/∂x` for maps,
    /// `I + dt·∂f/∂x` for fields.
    pub fn one_bin_jacobians(&self, x: &Array2<f64>) -> Result<Vec<DMatrix<f64>>, AnalysisError> {
        let (_, jg) = self.residual_jacobian(x)?;
        let l = self.dim;
        Ok(jg
            .into_iter()
            .map(|j| match self.kind {
                FlowKind::Map => j + DMatrix::identity(l, l),
                FlowKind::Field { dt } => j * dt + DMatrix::identity(l, l),
            })
            .collect())
    }
}

fn to_tensor(x: &Array2<f64>) -> Result<Tensor, AnalysisError> {
    let (n, l) = x.dim();
    let data: Vec<f64> = x.iter().copied().collect();
    Tensor::f_from_slice(&data)
        .and_then(|t| t.f_reshape([n as i64, l as i64]))
        .map_err(tch_err("state"))
}

fn from_tensor(t: &Tensor) -> Result<Array2<f64>, AnalysisError> {
    let size = t.size();
    let (n, l) = match size.as_slice() {
        [n, l] => (*n as usize, *l as usize),
        _ => {
            return Err(AnalysisError::Shape {
                what: "state tensor",
                expected: vec![0, 0],
                found: size.iter().map(|&v| v as usize).collect(),
            })
        }
    };
    let flat = t
        .f_to_kind(Kind::Double)
        .and_then(|t| t.f_contiguous())
        .and_then(|t| t.f_view([-1]))
        .and_then(|t| Vec::<f64>::try_from(&t))
        .map_err(tch_err("state"))?;
    Array2::from_shape_vec((n, l), flat).map_err(|e| AnalysisError::Invalid {
        what: "state tensor",
        reason: e.to_string(),
    })
}

/// Settings of [`find_fixed_points`]; defaults are the study's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinderConfig {
    /// Starting states drawn from the trajectories (1024).
    pub n_starts: usize,
    /// Standard deviation of the Gaussian noise added to each start (0.01).
    pub noise_std: f64,
    /// Adam's learning rate (1e-2).
    pub learning_rate: f64,
    /// Adam iterations at most (5000).
    pub max_iterations: usize,
    /// A point stops when q falls below this (1e-12)…
    pub q_tolerance: f64,
    /// …or when |Δq| < `dq_tolerance`·lr (1e-20).
    pub dq_tolerance: f64,
    /// Points whose q after Adam is below this are polished by Newton's
    /// method (1e-8; looser than acceptance, since Newton does the last digits).
    /// Infinite (every point) for true systems; JSON writes that as `null`.
    #[serde(deserialize_with = "null_is_infinite")]
    pub refine_below_q: f64,
    /// Newton iterations at most (30).
    pub newton_iterations: usize,
    /// Points with q below this after refinement are fixed points (1e-12).
    pub accept_q: f64,
    /// Fixed points closer than this are one (1e-3).
    pub dedup_distance: f64,
    /// What Adam minimises over the batch of starts: the sum of q (ours)
    /// or its mean (the study's `fixedpoints.py`). Adam is nearly
    /// invariant to the scale, except through its ε and the |Δq| rule.
    pub objective: Objective,
    /// How duplicates are merged and in which order with the q filter.
    pub dedup: DedupRule,
    /// When Adam stops moving a point.
    pub stop: StopRule,
    /// Seed of the starts and their noise.
    pub seed: u64,
}

/// The batch objective of the fixed-point search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Σ q over the starts.
    #[default]
    Sum,
    /// The mean of q over the starts.
    Mean,
}

/// How [`find_fixed_points`] merges duplicate points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DedupRule {
    /// Keep the points with q < `accept_q`, then, lowest q first, drop
    /// every point within `dedup_distance` of one already kept (ours).
    #[default]
    AcceptedLowestFirst,
    /// The study's (Golub's `FixedPoints.get_unique`) on every point, then
    /// the q filter: in start order, each point not yet claimed claims all
    /// unclaimed points within `dedup_distance` (≤) of it and keeps the
    /// one of them with the lowest q.
    AllInStartOrder,
}

/// When [`find_fixed_points`]' Adam stops moving a point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopRule {
    /// Each point freezes once it meets a stopping rule (ours).
    #[default]
    PerPoint,
    /// Every point keeps moving until all meet a stopping rule at once
    /// (the study's loop).
    AllPoints,
}

/// A named set of finder settings: ours or the study's figure script's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinderProfile {
    /// Ours ([`FinderConfig::default`]): the function's defaults (noise
    /// 0.01, tol_q 1e-12, radius 1e-3), Σ q, Newton polish, on the best
    /// checkpoint from every trial's latents.
    Ours,
    /// The study's figures ([`FinderConfig::study`]): noise 1.0, tol_q
    /// 1e-10, radius 0.1, mean q, deduplicate before the q filter, no
    /// Newton step, on `last` from the validation trials' latents.
    Study,
}

impl FinderProfile {
    /// Both profiles, ours first.
    pub const ALL: [FinderProfile; 2] = [FinderProfile::Ours, FinderProfile::Study];

    /// The finder settings of this profile.
    pub fn config(self) -> FinderConfig {
        match self {
            FinderProfile::Ours => FinderConfig::default(),
            FinderProfile::Study => FinderConfig::study(),
        }
    }

    /// `ours` or `study`.
    pub fn name(self) -> &'static str {
        match self {
            FinderProfile::Ours => "ours",
            FinderProfile::Study => "study",
        }
    }
}

/// Reads a number, or `null` (how JSON writes a non-finite one) as +∞.
fn null_is_infinite<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v: Option<f64> = serde::Deserialize::deserialize(d)?;
    Ok(v.unwrap_or(f64::INFINITY))
}

impl FinderConfig {
    /// The settings for a true system: the study's, except that Newton's
    /// method runs from every point Adam leaves, wherever it stopped. Any
    /// exact zero of a true vector field is a true fixed point, and Adam's
    /// steps of at most lr = 1e-2 cannot reach one that lies far from the
    /// attractor (Rossler's outer point is about 40 units away).
    pub fn true_system() -> Self {
        FinderConfig {
            refine_below_q: f64::INFINITY,
            ..FinderConfig::default()
        }
    }

    /// The settings the study's figure script
    /// (`scripts/analysis/3_plot_trajs_fps.py`) passed to its finder:
    /// noise std 1.0, tol_q 1e-10 for stopping and acceptance, uniqueness
    /// radius 0.1, Adam on the mean of q, deduplication before the q
    /// filter, every point moved until all have stopped, no Newton step.
    /// (Which checkpoint and which trials the
    /// starts come from is the caller's part.)
    pub fn study() -> Self {
        FinderConfig {
            noise_std: 1.0,
            q_tolerance: 1e-10,
            accept_q: 1e-10,
            dedup_distance: 0.1,
            newton_iterations: 0,
            objective: Objective::Mean,
            dedup: DedupRule::AllInStartOrder,
            stop: StopRule::AllPoints,
            ..FinderConfig::default()
        }
    }
}

impl Default for FinderConfig {
    fn default() -> Self {
        FinderConfig {
            n_starts: 1024,
            noise_std: 0.01,
            learning_rate: 1e-2,
            max_iterations: 5000,
            q_tolerance: 1e-12,
            dq_tolerance: 1e-20,
            refine_below_q: 1e-8,
            newton_iterations: 30,
            accept_q: 1e-12,
            dedup_distance: 1e-3,
            objective: Objective::Sum,
            dedup: DedupRule::AcceptedLowestFirst,
            stop: StopRule::PerPoint,
            seed: 0,
        }
    }
}

/// Stability of a fixed point of the one-bin map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StabilityClass {
    /// Every eigenvalue inside the unit circle.
    Stable,
    /// Every eigenvalue outside the unit circle.
    Unstable,
    /// Some inside, some outside.
    Saddle,
    /// An eigenvalue on the unit circle (within 1e-9).
    Marginal,
}

/// A fixed point's stability: its class and how many directions are unstable
/// (eigenvalues of modulus > 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stability {
    /// The class.
    pub class: StabilityClass,
    /// Number of unstable directions.
    pub unstable: usize,
    /// Whether any eigenvalue is complex (rotation about the point).
    pub oscillatory: bool,
}

impl Stability {
    /// Classifies eigenvalues of a one-bin map.
    pub fn of(eigenvalues: &[Complex]) -> Self {
        const TOL: f64 = 1e-9;
        let unstable = eigenvalues.iter().filter(|e| e.abs() > 1.0 + TOL).count();
        let marginal = eigenvalues.iter().any(|e| (e.abs() - 1.0).abs() <= TOL);
        let class = if marginal {
            StabilityClass::Marginal
        } else if unstable == 0 {
            StabilityClass::Stable
        } else if unstable == eigenvalues.len() {
            StabilityClass::Unstable
        } else {
            StabilityClass::Saddle
        };
        let oscillatory = eigenvalues.iter().any(|e| e.im.abs() > 1e-12);
        Stability {
            class,
            unstable,
            oscillatory,
        }
    }
}

/// One fixed point with its linearisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedPoint {
    /// Location (length L).
    pub location: Vec<f64>,
    /// q at the location after refinement.
    pub q: f64,
    /// q when Adam stopped (the study's criterion is q < 1e-12 here).
    pub q_adam: f64,
    /// Adam iterations this point took.
    pub iterations: usize,
    /// How far Newton moved the point from where Adam left it.
    pub newton_shift: f64,
    /// The one-bin map's Jacobian, row-major `[L][L]`.
    pub jacobian: Vec<Vec<f64>>,
    /// Its eigenvalues, by decreasing modulus.
    pub eigenvalues: Vec<Complex>,
    /// Unit eigenvectors, one per eigenvalue (in its order), each of length L.
    pub eigenvectors: Vec<Vec<Complex>>,
    /// Stability of the one-bin map at the point.
    pub stability: Stability,
}

/// What a search found, with its bookkeeping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedPointSearch {
    /// Map or field.
    pub kind: FlowKind,
    /// The state dimension.
    pub dim: usize,
    /// The settings used.
    pub config: FinderConfig,
    /// Adam iterations run (the slowest point's).
    pub adam_iterations: usize,
    /// Starts with q < `accept_q` straight after Adam (the study's criterion, before deduplication).
    pub adam_accepted: usize,
    /// Starts accepted after Newton refinement (before deduplication).
    pub refined_accepted: usize,
    /// The distinct fixed points, by increasing q.
    pub points: Vec<FixedPoint>,
    /// Wall time of the search.
    pub seconds: f64,
}

/// `n_starts` rows drawn uniformly (seeded) from `states` plus Gaussian noise.
pub fn draw_starts(
    states: ArrayView2<'_, f64>,
    cfg: &FinderConfig,
) -> Result<Array2<f64>, AnalysisError> {
    let (n, l) = states.dim();
    if n == 0 || l == 0 {
        return Err(AnalysisError::Empty {
            what: "starting states",
        });
    }
    if cfg.n_starts == 0 {
        return Err(AnalysisError::Invalid {
            what: "n_starts",
            reason: "at least one start is needed".into(),
        });
    }
    if let Some(i) = states.iter().position(|v| !v.is_finite()) {
        return Err(AnalysisError::Invalid {
            what: "starting states",
            reason: format!("non-finite value at flat index {i}"),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut out = Array2::zeros((cfg.n_starts, l));
    for r in 0..cfg.n_starts {
        let row = below(&mut rng, n as u64) as usize;
        for c in 0..l {
            // Box–Muller, one normal per pair of uniforms.
            let u1 = 1.0 - uniform(&mut rng);
            let u2 = uniform(&mut rng);
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            out[[r, c]] = states[[row, c]] + cfg.noise_std * z;
        }
    }
    Ok(out)
}

/// Finds the fixed points of `flow` from starts drawn from `states`
/// (`[points, L]`, e.g. the inferred trajectories flattened over time).
pub fn find_fixed_points(
    flow: &Flow<'_>,
    states: ArrayView2<'_, f64>,
    cfg: &FinderConfig,
) -> Result<FixedPointSearch, AnalysisError> {
    if states.ncols() != flow.dim() {
        return Err(AnalysisError::Shape {
            what: "starting states",
            expected: vec![states.nrows(), flow.dim()],
            found: vec![states.nrows(), states.ncols()],
        });
    }
    let started = Instant::now();
    let starts = draw_starts(states, cfg)?;
    let (x_adam, q_adam, iters) = adam_phase(flow, &starts, cfg)?;
    let adam_accepted = q_adam.iter().filter(|&&q| q < cfg.accept_q).count();

    // Newton on the candidates (when enabled); every point keeps the better
    // of Adam's and Newton's location.
    let l = flow.dim();
    let mut found: Vec<(Vec<f64>, f64, usize)> = (0..q_adam.len())
        .map(|i| (x_adam.row(i).to_vec(), q_adam[i], i))
        .collect();
    let cand: Vec<usize> = (0..q_adam.len())
        .filter(|&i| cfg.newton_iterations > 0 && q_adam[i] < cfg.refine_below_q)
        .collect();
    if !cand.is_empty() {
        let mut x = Array2::zeros((cand.len(), l));
        for (r, &i) in cand.iter().enumerate() {
            x.row_mut(r).assign(&x_adam.row(i));
        }
        let (x_new, q_new) = newton(flow, x, cfg.newton_iterations)?;
        for (r, &i) in cand.iter().enumerate() {
            if q_new[r] <= q_adam[i] {
                found[i] = (x_new.row(r).to_vec(), q_new[r], i);
            }
        }
    }
    let refined_accepted = found.iter().filter(|p| p.1 < cfg.accept_q).count();
    let kept = match cfg.dedup {
        DedupRule::AllInStartOrder => {
            let mut kept = dedup_in_start_order(found, cfg.dedup_distance);
            kept.retain(|p| p.1 < cfg.accept_q);
            kept
        }
        DedupRule::AcceptedLowestFirst => {
            found.retain(|p| p.1 < cfg.accept_q);
            dedup(found, cfg.dedup_distance)
        }
    };

    let mut points = Vec::with_capacity(kept.len());
    if !kept.is_empty() {
        let mut x = Array2::zeros((kept.len(), l));
        for (r, (loc, _, _)) in kept.iter().enumerate() {
            for c in 0..l {
                x[[r, c]] = loc[c];
            }
        }
        let jacs = flow.one_bin_jacobians(&x)?;
        for ((loc, q, i), jac) in kept.into_iter().zip(jacs) {
            let (eigenvalues, eigenvectors) = eigen(&jac);
            let shift = loc
                .iter()
                .zip(x_adam.row(i))
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            points.push(FixedPoint {
                stability: Stability::of(&eigenvalues),
                jacobian: (0..l)
                    .map(|r| (0..l).map(|c| jac[(r, c)]).collect())
                    .collect(),
                location: loc,
                q,
                q_adam: q_adam[i],
                iterations: iters[i],
                newton_shift: shift,
                eigenvalues,
                eigenvectors,
            });
        }
    }
    Ok(FixedPointSearch {
        kind: flow.kind(),
        dim: flow.dim(),
        config: cfg.clone(),
        adam_iterations: iters.iter().copied().max().unwrap_or(0),
        adam_accepted,
        refined_accepted,
        points,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// q(x) = ½‖g(x)‖² per row.
fn q_of(g: &Tensor) -> Result<Tensor, AnalysisError> {
    g.f_square()
        .and_then(|s| s.f_sum_dim_intlist(1, false, Kind::Double))
        .map(|s| s * 0.5)
        .map_err(tch_err("q"))
}

fn to_vec1(t: &Tensor) -> Result<Vec<f64>, AnalysisError> {
    t.f_to_kind(Kind::Double)
        .and_then(|t| t.f_contiguous())
        .and_then(|t| Vec::<f64>::try_from(&t))
        .map_err(tch_err("q"))
}

/// Final states, their q and the iterations each took.
type AdamResult = (Array2<f64>, Vec<f64>, Vec<usize>);

/// Adam on q, all starts in one batch; a point freezes once it meets a
/// stopping rule, or all move until every one does ([`StopRule`]). Returns the final states, their q and iteration counts.
fn adam_phase(
    flow: &Flow<'_>,
    starts: &Array2<f64>,
    cfg: &FinderConfig,
) -> Result<AdamResult, AnalysisError> {
    let (b1, b2, eps) = (0.9_f64, 0.999_f64, 1e-8_f64);
    let n = starts.nrows();
    let mut x = to_tensor(starts)?;
    let mut m = x.zeros_like();
    let mut v = x.zeros_like();
    let mut active =
        Tensor::f_ones([n as i64], (Kind::Double, Device::Cpu)).map_err(tch_err("Adam"))?;
    let mut q_prev = Tensor::f_full([n as i64], f64::INFINITY, (Kind::Double, Device::Cpu))
        .map_err(tch_err("Adam"))?;
    let mut iters =
        Tensor::f_zeros([n as i64], (Kind::Int64, Device::Cpu)).map_err(tch_err("Adam"))?;
    let lr = cfg.learning_rate;
    for t in 1..=cfg.max_iterations {
        let xg = x.detach().set_requires_grad(true);
        let g = flow.residual(&xg)?;
        let q = q_of(&g)?;
        let total = match cfg.objective {
            Objective::Sum => q.f_sum(Kind::Double),
            Objective::Mean => q.f_mean(Kind::Double),
        }
        .map_err(tch_err("Adam"))?;
        let grad = Tensor::f_run_backward(&[total], &[&xg], false, false)
            .map_err(tch_err("Adam"))?
            .remove(0);
        let q = q.detach();
        let done = q
            .f_lt(cfg.q_tolerance)
            .and_then(|a| {
                (&q - &q_prev)
                    .f_abs()
                    .and_then(|d| d.f_lt(cfg.dq_tolerance * lr))
                    .and_then(|b| a.f_logical_or(&b))
            })
            .and_then(|d| d.f_logical_not())
            .and_then(|d| d.f_to_kind(Kind::Double))
            .map_err(tch_err("Adam"))?;
        // A non-finite q stops that point too.
        let finite = q
            .f_isfinite()
            .and_then(|f| f.f_to_kind(Kind::Double))
            .map_err(tch_err("Adam"))?;
        active = match cfg.stop {
            StopRule::PerPoint => active * done * finite,
            StopRule::AllPoints => {
                let all_done = done
                    .f_sum(Kind::Double)
                    .map_err(tch_err("Adam"))?
                    .double_value(&[])
                    == 0.0;
                if all_done {
                    break;
                }
                active * finite
            }
        };
        let n_active = active
            .f_sum(Kind::Double)
            .map_err(tch_err("Adam"))?
            .double_value(&[]);
        if n_active == 0.0 {
            break;
        }
        iters += active.f_to_kind(Kind::Int64).map_err(tch_err("Adam"))?;
        m = &m * b1 + &grad * (1.0 - b1);
        v = &v * b2 + grad.square() * (1.0 - b2);
        let mhat = &m / (1.0 - b1.powi(t as i32));
        let vhat = &v / (1.0 - b2.powi(t as i32));
        let step = mhat / (vhat.sqrt() + eps) * lr * active.unsqueeze(1);
        x = (x - step).detach();
        q_prev = q;
    }
    let x_arr = from_tensor(&x)?;
    let q = tch::no_grad(|| -> Result<Tensor, AnalysisError> { q_of(&flow.residual(&x)?) })?;
    let q = to_vec1(&q)?
        .into_iter()
        .map(|v| if v.is_finite() { v } else { f64::INFINITY })
        .collect();
    let iters = Vec::<i64>::try_from(&iters)
        .map_err(tch_err("Adam"))?
        .into_iter()
        .map(|v| v as usize)
        .collect();
    Ok((x_arr, q, iters))
}

/// Newton's method on the residual, all points batched; returns the states and their q.
fn newton(
    flow: &Flow<'_>,
    mut x: Array2<f64>,
    iterations: usize,
) -> Result<(Array2<f64>, Vec<f64>), AnalysisError> {
    let (n, l) = x.dim();
    let mut q = vec![f64::INFINITY; n];
    for _ in 0..iterations {
        let (g, jac) = flow.residual_jacobian(&x)?;
        let mut moved = false;
        for b in 0..n {
            let gb: Vec<f64> = g.row(b).to_vec();
            q[b] = 0.5 * gb.iter().map(|v| v * v).sum::<f64>();
            if !q[b].is_finite() || q[b] == 0.0 {
                continue;
            }
            let rhs = nalgebra::DVector::from_vec(gb.iter().map(|v| -v).collect());
            if let Some(dx) = jac[b].clone().lu().solve(&rhs) {
                if dx.iter().all(|v| v.is_finite()) {
                    let norm = dx.norm();
                    let scale = x.row(b).iter().map(|v| v.abs()).fold(1.0, f64::max);
                    if norm > 1e-15 * scale {
                        moved = true;
                    }
                    for c in 0..l {
                        x[[b, c]] += dx[c];
                    }
                }
            }
        }
        if !moved {
            break;
        }
    }
    let g = tch::no_grad(|| -> Result<Tensor, AnalysisError> { flow.residual(&to_tensor(&x)?) })?;
    let g = from_tensor(&g)?;
    for b in 0..n {
        let qb = 0.5 * g.row(b).iter().map(|v| v * v).sum::<f64>();
        q[b] = if qb.is_finite() { qb } else { f64::INFINITY };
    }
    Ok((x, q))
}

/// Greedy deduplication: by increasing q, a point is kept unless a kept point
/// lies within `distance`.
pub fn dedup<T>(mut points: Vec<(Vec<f64>, f64, T)>, distance: f64) -> Vec<(Vec<f64>, f64, T)> {
    points.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut kept: Vec<(Vec<f64>, f64, T)> = Vec::new();
    for p in points {
        let near = kept.iter().any(|k| {
            k.0.iter()
                .zip(&p.0)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt()
                < distance
        });
        if !near {
            kept.push(p);
        }
    }
    kept
}

/// Golub's `FixedPoints.get_unique`: in the given order, each point not yet
/// claimed claims every unclaimed point within `distance` (≤, itself
/// included) and the lowest q among them is kept.
pub fn dedup_in_start_order<T>(
    points: Vec<(Vec<f64>, f64, T)>,
    distance: f64,
) -> Vec<(Vec<f64>, f64, T)> {
    let n = points.len();
    let mut claimed = vec![false; n];
    let mut keep = Vec::new();
    for i in 0..n {
        if claimed[i] {
            continue;
        }
        let ball: Vec<usize> = (0..n)
            .filter(|&j| {
                !claimed[j]
                    && points[i]
                        .0
                        .iter()
                        .zip(&points[j].0)
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f64>()
                        .sqrt()
                        <= distance
            })
            .collect();
        let best = ball
            .iter()
            .copied()
            .min_by(|&a, &b| points[a].1.total_cmp(&points[b].1))
            .unwrap_or(i);
        for j in ball {
            claimed[j] = true;
        }
        keep.push(best);
    }
    let mut slots: Vec<Option<(Vec<f64>, f64, T)>> = points.into_iter().map(Some).collect();
    keep.into_iter().filter_map(|k| slots[k].take()).collect()
}

/// Eigenvalues (by decreasing modulus, a conjugate pair with the positive
/// imaginary part first) and unit eigenvectors of a real square matrix. The
/// eigenvectors come from inverse iteration on `J − λI` in complex arithmetic.
pub fn eigen(m: &DMatrix<f64>) -> (Vec<Complex>, Vec<Vec<Complex>>) {
    use nalgebra::Complex as C;
    let l = m.nrows();
    let mut vals: Vec<C<f64>> = m.clone().complex_eigenvalues().iter().copied().collect();
    vals.sort_by(|a, b| b.norm().total_cmp(&a.norm()).then(b.im.total_cmp(&a.im)));
    let mc: DMatrix<C<f64>> = m.map(|v| C::new(v, 0.0));
    let scale = m.iter().map(|v| v.abs()).fold(1.0, f64::max);
    let vecs = vals
        .iter()
        .map(|&lam| {
            // Shift slightly off the eigenvalue so the system is solvable.
            let shift = lam + C::new(1e-10 * scale, 1e-10 * scale);
            let a = &mc - DMatrix::<C<f64>>::identity(l, l) * shift;
            let lu = a.lu();
            let mut v = nalgebra::DVector::<C<f64>>::from_fn(l, |i, _| {
                C::new(1.0 + 0.1 * i as f64, 0.05 * i as f64)
            });
            for _ in 0..3 {
                match lu.solve(&v) {
                    Some(w) if w.iter().all(|z| z.re.is_finite() && z.im.is_finite()) => {
                        let n = w.norm();
                        if n > 0.0 {
                            v = w.unscale(n);
                        }
                    }
                    _ => break,
                }
            }
            // Fix the phase: the largest component real and positive.
            let k = (0..l)
                .max_by(|&i, &j| v[i].norm().total_cmp(&v[j].norm()))
                .unwrap_or(0);
            let phase = if v[k].norm() > 0.0 {
                v[k].conj() / v[k].norm()
            } else {
                C::new(1.0, 0.0)
            };
            v.iter()
                .map(|z| {
                    let z = z * phase;
                    Complex::new(z.re, z.im)
                })
                .collect()
        })
        .collect();
    (
        vals.iter().map(|z| Complex::new(z.re, z.im)).collect(),
        vecs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use latentdyn_data::{DatasetSpec, SystemKind};
    use ndarray::Array2;

    fn trajectory(kind: SystemKind) -> (System, f64, Array2<f64>) {
        let spec = DatasetSpec::preset(kind.name()).expect("preset");
        let ds = latentdyn_data::generate(&spec).expect("dataset");
        let (s, t, l) = ds.latents.dim();
        let flat = ds.latents.to_shape((s * t, l)).expect("reshape").to_owned();
        let dt = ds.metadata.sampling.dt_actual;
        (ds.metadata.system, dt, flat)
    }

    #[test]
    fn finder_configs_round_trip_through_json() {
        for cfg in [FinderConfig::default(), FinderConfig::true_system()] {
            let text = serde_json::to_string(&cfg).expect("serialise");
            let back: FinderConfig = serde_json::from_str(&text).expect("parse");
            assert_eq!(back, cfg, "{text}");
        }
    }

    fn check_system(kind: SystemKind) {
        let (system, dt, states) = trajectory(kind);
        let flow = Flow::of_system(system, dt).expect("flow");
        let search =
            find_fixed_points(&flow, states.view(), &FinderConfig::true_system()).expect("search");
        let truth = system.one_bin_eigenvalues(dt);
        assert_eq!(
            search.points.len(),
            truth.len(),
            "{kind}: found {:?}",
            search
                .points
                .iter()
                .map(|p| &p.location)
                .collect::<Vec<_>>()
        );
        for (loc, eig) in truth {
            let p = search
                .points
                .iter()
                .find(|p| {
                    p.location
                        .iter()
                        .zip(&loc)
                        .all(|(a, b)| (a - b).abs() < 1e-8)
                })
                .unwrap_or_else(|| panic!("{kind}: {loc:?} not found"));
            for (a, b) in p.eigenvalues.iter().zip(&eig) {
                assert!(
                    (a.re - b.re).abs() < 1e-8 && (a.im - b.im).abs() < 1e-8,
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    fn linear_map(a: [[f64; 2]; 2], c: [f64; 2]) -> Flow<'static> {
        Flow::new(FlowKind::Map, 2, move |x| {
            let at = Tensor::from_slice(&[a[0][0], a[1][0], a[0][1], a[1][1]]).reshape([2, 2]);
            let ct = Tensor::from_slice(&c).reshape([1, 2]);
            Ok(x.matmul(&at) + ct)
        })
    }

    #[test]
    fn linear_map_fixed_point_and_spectrum() {
        // F(x) = A x + c: x* = (I − A)⁻¹ c, eigenvalues 0.9 ± 0.3i.
        let a = [[0.9, -0.3], [0.3, 0.9]];
        let c = [0.2, -0.1];
        let flow = linear_map(a, c);
        // x* solves [[0.1, 0.3], [-0.3, 0.1]] x = c.
        let det = 0.1 * 0.1 + 0.3 * 0.3;
        let xs = [
            (0.1 * c[0] - 0.3 * c[1]) / det,
            (0.3 * c[0] + 0.1 * c[1]) / det,
        ];
        let states =
            Array2::from_shape_fn((50, 2), |(i, j)| xs[j] + 0.5 * ((i + 3 * j) as f64).sin());
        let s = find_fixed_points(&flow, states.view(), &FinderConfig::default()).expect("search");
        assert_eq!(s.points.len(), 1);
        let p = &s.points[0];
        assert!((p.location[0] - xs[0]).abs() < 1e-12 && (p.location[1] - xs[1]).abs() < 1e-12);
        assert!(p.q < 1e-24);
        assert!((p.eigenvalues[0].re - 0.9).abs() < 1e-12);
        assert!((p.eigenvalues[0].im - 0.3).abs() < 1e-12);
        assert!((p.eigenvalues[1].im + 0.3).abs() < 1e-12);
        assert_eq!(p.stability.class, StabilityClass::Stable);
        assert!(p.stability.oscillatory);
        // A v = λ v for each eigenvector.
        for (lam, v) in p.eigenvalues.iter().zip(&p.eigenvectors) {
            for r in 0..2 {
                let av_re = a[r][0] * v[0].re + a[r][1] * v[1].re;
                let av_im = a[r][0] * v[0].im + a[r][1] * v[1].im;
                let lv_re = lam.re * v[r].re - lam.im * v[r].im;
                let lv_im = lam.re * v[r].im + lam.im * v[r].re;
                assert!((av_re - lv_re).abs() < 1e-8 && (av_im - lv_im).abs() < 1e-8);
            }
        }
    }

    #[test]
    fn a_saddle_is_classified_with_its_unstable_directions() {
        let flow = linear_map([[1.5, 0.0], [0.0, 0.5]], [0.0, 0.0]);
        let states = Array2::from_shape_fn((10, 2), |(i, j)| 1e-3 * (i + j) as f64);
        let s = find_fixed_points(&flow, states.view(), &FinderConfig::default()).expect("search");
        assert_eq!(s.points.len(), 1);
        assert_eq!(s.points[0].stability.class, StabilityClass::Saddle);
        assert_eq!(s.points[0].stability.unstable, 1);
        assert!(!s.points[0].stability.oscillatory);
    }

    #[test]
    fn a_map_without_fixed_points_yields_none() {
        // F(x) = x + 1 has no fixed point: nothing may be accepted.
        let flow = Flow::new(FlowKind::Map, 2, |x| Ok(x + 1.0));
        let states = Array2::zeros((10, 2));
        let cfg = FinderConfig {
            max_iterations: 200,
            ..FinderConfig::default()
        };
        let s = find_fixed_points(&flow, states.view(), &cfg).expect("search");
        assert!(s.points.is_empty());
        assert_eq!(s.adam_accepted, 0);
    }

    #[test]
    fn dedup_keeps_the_lowest_q_within_the_radius() {
        let pts = vec![
            (vec![0.0, 0.0], 1e-14, 'a'),
            (vec![5e-4, 0.0], 1e-20, 'b'),
            (vec![2e-3, 0.0], 1e-16, 'c'),
        ];
        let kept = dedup(pts, 1e-3);
        let ids: Vec<char> = kept.iter().map(|k| k.2).collect();
        assert_eq!(ids, vec!['b', 'c']);
    }

    #[test]
    fn two_fixed_points_are_both_found_and_kept_apart() {
        // f(x) = (x₀² − 1, −x₁): fixed points (±1, 0).
        let flow = Flow::new(FlowKind::Field { dt: 0.1 }, 2, |x| {
            let a = x.select(1, 0);
            let b = x.select(1, 1);
            Ok(Tensor::stack(&[a.square() - 1.0, -b], 1))
        });
        let states = Array2::from_shape_fn((40, 2), |(i, j)| {
            if j == 0 {
                if i % 2 == 0 {
                    0.8
                } else {
                    -0.8
                }
            } else {
                0.1
            }
        });
        let s = find_fixed_points(&flow, states.view(), &FinderConfig::default()).expect("search");
        let mut xs: Vec<f64> = s.points.iter().map(|p| p.location[0]).collect();
        xs.sort_by(f64::total_cmp);
        assert_eq!(xs.len(), 2);
        assert!((xs[0] + 1.0).abs() < 1e-12 && (xs[1] - 1.0).abs() < 1e-12);
        // One-bin map I + 0.1·J: at +1 eigenvalues 1.2 and 0.9 (saddle); at −1, 0.8 and 0.9.
        for p in &s.points {
            let want = if p.location[0] > 0.0 {
                [1.2, 0.9]
            } else {
                [0.9, 0.8]
            };
            for (e, w) in p.eigenvalues.iter().zip(want) {
                assert!((e.re - w).abs() < 1e-12 && e.im.abs() < 1e-12);
            }
        }
    }

    #[test]
    fn the_study_profile_is_the_figure_scripts_settings() {
        let c = FinderProfile::Study.config();
        assert_eq!(
            (c.n_starts, c.noise_std, c.learning_rate),
            (1024, 1.0, 1e-2)
        );
        assert_eq!(
            (c.q_tolerance, c.accept_q, c.dedup_distance),
            (1e-10, 1e-10, 0.1)
        );
        assert_eq!(
            (c.max_iterations, c.dq_tolerance, c.newton_iterations),
            (5000, 1e-20, 0)
        );
        assert_eq!(c.objective, Objective::Mean);
        assert_eq!(c.dedup, DedupRule::AllInStartOrder);
        assert_eq!(c.stop, StopRule::AllPoints);
        let ours = FinderProfile::Ours.config();
        assert_eq!(ours, FinderConfig::default());
        assert_eq!(
            (ours.noise_std, ours.q_tolerance, ours.dedup_distance),
            (0.01, 1e-12, 1e-3)
        );
        // Round trip through JSON, and older records without the new fields read as ours.
        let back: FinderConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        let mut old = serde_json::to_value(&ours).unwrap();
        for k in ["objective", "dedup", "stop"] {
            old.as_object_mut().unwrap().remove(k);
        }
        assert_eq!(serde_json::from_value::<FinderConfig>(old).unwrap(), ours);
    }

    #[test]
    fn the_study_profile_finds_true_fixed_points_without_newton() {
        // f(x) = (x₀² − 1, −x₁): fixed points (±1, 0); starts spread by noise 1.0.
        let flow = Flow::new(FlowKind::Field { dt: 0.1 }, 2, |x| {
            let a = x.select(1, 0);
            let b = x.select(1, 1);
            Ok(Tensor::stack(&[a.square() - 1.0, -b], 1))
        });
        let states = Array2::from_shape_fn((40, 2), |(i, j)| {
            if j == 1 {
                0.1
            } else if i % 2 == 0 {
                0.8
            } else {
                -0.8
            }
        });
        let cfg = FinderConfig {
            n_starts: 64,
            ..FinderConfig::study()
        };
        let s = find_fixed_points(&flow, states.view(), &cfg).expect("search");
        let mut xs: Vec<f64> = s.points.iter().map(|p| p.location[0]).collect();
        xs.sort_by(f64::total_cmp);
        assert!(!xs.is_empty());
        for (p, x) in s.points.iter().zip(&xs) {
            assert!(p.q < 1e-10 && p.newton_shift == 0.0, "{p:?}");
            assert!((x.abs() - 1.0).abs() < 1e-4, "{x}");
        }
        // the radius-0.1 balls leave one point per fixed point
        let mut rounded: Vec<i64> = xs.iter().map(|x| x.round() as i64).collect();
        rounded.dedup();
        assert_eq!(rounded.len(), xs.len());
    }

    #[test]
    fn start_order_dedup_differs_from_lowest_first() {
        // A (not converged) first, then B and C on either side of it within
        // the radius but 0.18 apart from each other.
        let pts = vec![
            (vec![0.0], 1.0, 'a'),
            (vec![0.09], 1e-14, 'b'),
            (vec![-0.09], 1e-15, 'c'),
        ];
        let study: Vec<char> = dedup_in_start_order(pts.clone(), 0.1)
            .iter()
            .map(|p| p.2)
            .collect();
        assert_eq!(
            study,
            vec!['c'],
            "A's ball claims B and C, keeps the lowest"
        );
        let ours: Vec<char> = dedup(pts, 0.1).iter().map(|p| p.2).collect();
        assert_eq!(
            ours,
            vec!['c', 'b'],
            "lowest first keeps both converged points"
        );
        // exactly at the radius counts as the same point (numpy's <=)
        let edge = vec![(vec![0.0], 1e-12, 1), (vec![0.1], 1e-13, 2)];
        assert_eq!(dedup_in_start_order(edge, 0.1).len(), 1);
    }

    fn fd_check(flow: &Flow<'_>, x: &Array2<f64>, tol: f64) {
        let jac = flow.one_bin_jacobians(x).expect("jacobian");
        let l = flow.dim();
        let h = 1e-6;
        for (b, jb) in jac.iter().enumerate() {
            for j in 0..l {
                let mut xp = x.row(b).to_owned().insert_axis(ndarray::Axis(0));
                let mut xm = xp.clone();
                xp[[0, j]] += h;
                xm[[0, j]] -= h;
                let fp =
                    from_tensor(&flow.eval(&to_tensor(&xp).expect("t")).expect("f")).expect("a");
                let fm =
                    from_tensor(&flow.eval(&to_tensor(&xm).expect("t")).expect("f")).expect("a");
                for i in 0..l {
                    let d = (fp[[0, i]] - fm[[0, i]]) / (2.0 * h);
                    let want = match flow.kind() {
                        FlowKind::Map => d,
                        FlowKind::Field { dt } => f64::from(u8::from(i == j)) + dt * d,
                    };
                    assert!(
                        (jb[(i, j)] - want).abs() < tol,
                        "[{b}] ({i},{j}): {} vs {want}",
                        jb[(i, j)]
                    );
                }
            }
        }
    }

    fn model_dynamics(
        cfg: &latentdyn_models::ModelConfig,
    ) -> (tch::nn::VarStore, Box<dyn Dynamics>) {
        tch::manual_seed(3);
        let mut vs = tch::nn::VarStore::new(Device::Cpu);
        let d = latentdyn_models::build_dynamics(
            &(vs.root() / "dynamics"),
            cfg.latent_size as i64,
            &cfg.dynamics,
        )
        .expect("dynamics");
        vs.double();
        (vs, d)
    }

    #[test]
    fn jacobians_match_finite_differences() {
        let x = Array2::from_shape_fn((4, 3), |(i, j)| 0.3 * ((i * 3 + j) as f64).sin());
        for cfg in [
            latentdyn_models::ModelConfig::study_gru(3),
            latentdyn_models::ModelConfig::study_node(3),
        ] {
            let (_vs, d) = model_dynamics(&cfg);
            let flow = Flow::of_dynamics(d.as_ref(), NODE_BIN_DT).expect("flow");
            fd_check(&flow, &x, 1e-8);
        }
        let (system, dt, _) = trajectory(SystemKind::Lorenz);
        let flow = Flow::of_system(system, dt).expect("flow");
        let x = Array2::from_shape_fn((3, 3), |(i, j)| 5.0 * ((i * 3 + j) as f64).cos() + 10.0);
        fd_check(&flow, &x, 1e-6);
    }

    #[test]
    fn a_float_model_is_a_clear_error() {
        let cfg = latentdyn_models::ModelConfig::study_gru(3);
        let vs = tch::nn::VarStore::new(Device::Cpu);
        let d = latentdyn_models::build_dynamics(&(vs.root() / "dynamics"), 3, &cfg.dynamics)
            .expect("dynamics");
        let err = Flow::of_dynamics(d.as_ref(), NODE_BIN_DT).expect_err("float");
        assert!(err.to_string().contains("double"), "{err}");
    }

    #[test]
    fn starts_of_another_dimension_are_a_clear_error() {
        let (_vs, d) = model_dynamics(&latentdyn_models::ModelConfig::study_gru(3));
        let flow = Flow::of_dynamics(d.as_ref(), NODE_BIN_DT).expect("flow");
        let err = find_fixed_points(
            &flow,
            Array2::zeros((5, 25)).view(),
            &FinderConfig::default(),
        )
        .expect_err("shape");
        assert!(matches!(err, AnalysisError::Shape { .. }), "{err}");
    }

    #[test]
    fn arneodo_fixed_points_are_the_analytic_ones() {
        check_system(SystemKind::Arneodo);
    }

    #[test]
    fn lorenz_fixed_points_are_the_analytic_ones() {
        check_system(SystemKind::Lorenz);
    }

    #[test]
    fn rossler_fixed_points_are_the_analytic_ones() {
        check_system(SystemKind::Rossler);
    }
}
