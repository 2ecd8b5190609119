//! The study's five dynamical systems: constants, vector fields, Jacobians,
//! fixed points and the eigenvalues of their one-bin maps.
//!
//! Every constant here is copied from the dysts catalogue entries recorded in
//! the project's reference data (the study pinned dysts 0.1; MackeyGlass uses
//! that version's parameters, the other four are identical in both versions).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::eig::{eigenvalues3, Complex};
use crate::DataError;

/// Which of the five systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SystemKind {
    /// Arneodo's jerk system (3-D).
    Arneodo,
    /// The Lorenz (1963) system (3-D).
    Lorenz,
    /// The Rössler system (3-D).
    Rossler,
    /// The Mackey–Glass delay equation, seen through a 10-column delay embedding.
    MackeyGlass,
    /// MacArthur's consumer–resource model: 5 species, 5 resources (10-D).
    MacArthur,
}

impl SystemKind {
    /// All five, in the study's order.
    pub const ALL: [SystemKind; 5] = [
        SystemKind::Arneodo,
        SystemKind::Lorenz,
        SystemKind::Rossler,
        SystemKind::MackeyGlass,
        SystemKind::MacArthur,
    ];

    /// The dysts class name (`"Arneodo"`, `"Lorenz"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            SystemKind::Arneodo => "Arneodo",
            SystemKind::Lorenz => "Lorenz",
            SystemKind::Rossler => "Rossler",
            SystemKind::MackeyGlass => "MackeyGlass",
            SystemKind::MacArthur => "MacArthur",
        }
    }

    /// The system with the study's parameters, initial condition and period.
    pub fn system(self) -> System {
        match self {
            SystemKind::Arneodo => System::Arneodo(Arneodo::default()),
            SystemKind::Lorenz => System::Lorenz(Lorenz::default()),
            SystemKind::Rossler => System::Rossler(Rossler::default()),
            SystemKind::MackeyGlass => System::MackeyGlass(MackeyGlass::default()),
            SystemKind::MacArthur => System::MacArthur(MacArthur::default()),
        }
    }
}

impl fmt::Display for SystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SystemKind {
    type Err = DataError;

    /// Case-insensitive; `"rössler"` and `"mackey-glass"`/`"mackey_glass"` are accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_lowercase()
            .replace('ö', "o");
        SystemKind::ALL
            .into_iter()
            .find(|k| k.name().to_lowercase() == key)
            .ok_or_else(|| DataError::UnknownSystem {
                name: s.to_string(),
                valid: SystemKind::ALL
                    .iter()
                    .map(|k| k.name().to_string())
                    .collect(),
            })
    }
}

/// Arneodo: ẋ = y, ẏ = z, ż = −a x − b y − c z + d x³.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Arneodo {
    /// a (−5.5).
    pub a: f64,
    /// b (4.5).
    pub b: f64,
    /// c (1).
    pub c: f64,
    /// d (−1).
    pub d: f64,
}

impl Default for Arneodo {
    fn default() -> Self {
        Arneodo {
            a: -5.5,
            b: 4.5,
            c: 1.0,
            d: -1.0,
        }
    }
}

/// Lorenz: ẋ = σ(y − x), ẏ = x(ρ − z) − y, ż = x y − β z.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lorenz {
    /// σ (10).
    pub sigma: f64,
    /// ρ (28).
    pub rho: f64,
    /// β (2.667, as dysts has it — not 8/3).
    pub beta: f64,
}

impl Default for Lorenz {
    fn default() -> Self {
        Lorenz {
            sigma: 10.0,
            rho: 28.0,
            beta: 2.667,
        }
    }
}

/// Rössler: ẋ = −y − z, ẏ = x + a y, ż = b + z(x − c).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rossler {
    /// a (0.2).
    pub a: f64,
    /// b (0.2).
    pub b: f64,
    /// c (5.7).
    pub c: f64,
}

impl Default for Rossler {
    fn default() -> Self {
        Rossler {
            a: 0.2,
            b: 0.2,
            c: 5.7,
        }
    }
}

/// Mackey–Glass: ẋ = β x(t−τ)/(1 + x(t−τ)ⁿ) − γ x, with dysts 0.1's (the study's) values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MackeyGlass {
    /// β (2).
    pub beta: f64,
    /// γ (1).
    pub gamma: f64,
    /// The Hill exponent n (9.65).
    pub n: f64,
    /// The delay τ (2).
    pub tau: f64,
    /// The value the seeded history is drawn around (0.76980123, dysts' initial value).
    pub x0: f64,
    /// Columns of the delay embedding (10).
    pub embedding_dim: usize,
}

impl Default for MackeyGlass {
    fn default() -> Self {
        MackeyGlass {
            beta: 2.0,
            gamma: 1.0,
            n: 9.65,
            tau: 2.0,
            x0: 0.769_801_23,
            embedding_dim: 10,
        }
    }
}

impl MackeyGlass {
    /// The scalar right-hand side given the current value `x` and the delayed value `x_tau`.
    #[inline]
    pub fn rhs(&self, x: f64, x_tau: f64) -> f64 {
        self.beta * x_tau / (1.0 + x_tau.powf(self.n)) - self.gamma * x
    }

    /// Samples between embedding columns: `floor(τ / sample spacing)` (9 for the study's grid).
    pub fn embedding_stride(&self, sample_dt: f64) -> usize {
        ((self.tau / sample_dt).floor() as usize).max(1)
    }
}

/// MacArthur consumer–resource model (Huisman & Weissing 1999), state `[n₀..n₄, R₀..R₄]`:
/// μᵢ = r·minⱼ Rⱼ/(kⱼᵢ + Rⱼ), ṅᵢ = nᵢ(μᵢ − m), Ṙᵢ = d(sᵢ − Rᵢ) − Σⱼ cᵢⱼ μⱼ nⱼ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MacArthur {
    /// Consumption: `c[i][j]` is resource i taken by species j.
    pub c: [[f64; 5]; 5],
    /// Resource turnover d.
    pub d: f64,
    /// Half-saturation: `k[j][i]` of species i on resource j (dysts' orientation).
    pub k: [[f64; 5]; 5],
    /// Mortality m.
    pub m: f64,
    /// Maximal growth r.
    pub r: f64,
    /// Resource supply s.
    pub s: [f64; 5],
}

impl Default for MacArthur {
    fn default() -> Self {
        MacArthur {
            c: [
                [0.04, 0.04, 0.07, 0.04, 0.04],
                [0.08, 0.08, 0.08, 0.1, 0.08],
                [0.1, 0.1, 0.1, 0.1, 0.14],
                [0.05, 0.03, 0.03, 0.03, 0.03],
                [0.07, 0.09, 0.07, 0.07, 0.07],
            ],
            d: 0.25,
            k: [
                [0.39, 0.34, 0.3, 0.24, 0.23],
                [0.22, 0.39, 0.34, 0.3, 0.27],
                [0.27, 0.22, 0.39, 0.34, 0.3],
                [0.3, 0.24, 0.22, 0.39, 0.34],
                [0.34, 0.3, 0.22, 0.2, 0.39],
            ],
            m: 0.25,
            r: 1.0,
            s: [6.0, 10.0, 14.0, 4.0, 9.0],
        }
    }
}

impl MacArthur {
    /// Growth rates μ and, for each species, the index of the limiting resource.
    #[inline]
    fn growth(&self, x: &[f64]) -> ([f64; 5], [usize; 5]) {
        let res = &x[5..10];
        let mut mu = [0.0; 5];
        let mut arg = [0; 5];
        for i in 0..5 {
            let mut best = f64::INFINITY;
            for j in 0..5 {
                let g = res[j] / (self.k[j][i] + res[j]);
                if g < best {
                    best = g;
                    arg[i] = j;
                }
            }
            mu[i] = self.r * best;
        }
        (mu, arg)
    }

    #[inline]
    fn rhs_into(&self, x: &[f64], out: &mut [f64]) {
        let (mu, _) = self.growth(x);
        for i in 0..5 {
            out[i] = x[i] * (mu[i] - self.m);
        }
        for i in 0..5 {
            let mut uptake = 0.0;
            for j in 0..5 {
                uptake += self.c[i][j] * mu[j] * x[j];
            }
            out[5 + i] = self.d * (self.s[i] - x[5 + i]) - uptake;
        }
    }

    /// Jacobian on the branch of the minimum that is active at `x` (the field is only
    /// piecewise smooth; at a tie the lowest resource index is taken).
    fn jacobian_into(&self, x: &[f64], jac: &mut [f64]) {
        let (mu, arg) = self.growth(x);
        // dμ_i/dR_{arg_i} = r k / (k + R)^2
        let mut dmu = [0.0; 5];
        for i in 0..5 {
            let j = arg[i];
            let kk = self.k[j][i];
            let rr = x[5 + j];
            dmu[i] = self.r * kk / ((kk + rr) * (kk + rr));
        }
        jac.iter_mut().for_each(|v| *v = 0.0);
        let n = 10;
        for i in 0..5 {
            jac[i * n + i] = mu[i] - self.m;
            jac[i * n + 5 + arg[i]] += x[i] * dmu[i];
        }
        for i in 0..5 {
            let row = (5 + i) * n;
            jac[row + 5 + i] -= self.d;
            for j in 0..5 {
                // -c_ij * d(mu_j n_j)
                jac[row + j] -= self.c[i][j] * mu[j];
                jac[row + 5 + arg[j]] -= self.c[i][j] * x[j] * dmu[j];
            }
        }
    }
}

/// One of the five systems with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "system", content = "parameters")]
// A few hundred bytes, copied rarely: boxing MacArthur would cost `Copy` for nothing.
#[allow(clippy::large_enum_variant)]
pub enum System {
    /// See [`Arneodo`].
    Arneodo(Arneodo),
    /// See [`Lorenz`].
    Lorenz(Lorenz),
    /// See [`Rossler`].
    Rossler(Rossler),
    /// See [`MackeyGlass`].
    MackeyGlass(MackeyGlass),
    /// See [`MacArthur`].
    MacArthur(MacArthur),
}

impl System {
    /// Which system this is.
    pub fn kind(&self) -> SystemKind {
        match self {
            System::Arneodo(_) => SystemKind::Arneodo,
            System::Lorenz(_) => SystemKind::Lorenz,
            System::Rossler(_) => SystemKind::Rossler,
            System::MackeyGlass(_) => SystemKind::MackeyGlass,
            System::MacArthur(_) => SystemKind::MacArthur,
        }
    }

    /// Dimension of the latent state the datasets expose (the embedding width for MackeyGlass).
    pub fn dimension(&self) -> usize {
        match self {
            System::Arneodo(_) | System::Lorenz(_) | System::Rossler(_) => 3,
            System::MackeyGlass(mg) => mg.embedding_dim,
            System::MacArthur(_) => 10,
        }
    }

    /// Dimension of the state the integrator advances (1 for MackeyGlass).
    pub fn ode_dimension(&self) -> usize {
        match self {
            System::MackeyGlass(_) => 1,
            other => other.dimension(),
        }
    }

    /// The dysts default initial condition (for MackeyGlass: the one-element value the
    /// seeded history is centred on).
    pub fn initial_condition(&self) -> Vec<f64> {
        match self {
            System::Arneodo(_) => vec![-2.7515698, 0.19079818, 3.4703629],
            System::Lorenz(_) => vec![-9.7869288, -15.03852, 20.533978],
            System::Rossler(_) => vec![6.5134412, 0.4772013, 0.34164294],
            System::MackeyGlass(mg) => vec![mg.x0],
            System::MacArthur(_) => vec![
                9.4323333, 18.838654, 34.37572, 15.08545, 42.228427, 0.17030505, 0.10144427,
                0.3148045, 0.21253581, 0.22598604,
            ],
        }
    }

    /// The dysts dominant period (time units).
    pub fn period(&self) -> f64 {
        match self {
            System::Arneodo(_) => 3.1641,
            System::Lorenz(_) => 1.5008,
            System::Rossler(_) => 5.9086,
            System::MackeyGlass(_) => 7.43264,
            System::MacArthur(_) => 43.406,
        }
    }

    /// Samples per period the study used for this system.
    pub fn default_pts_per_period(&self) -> usize {
        match self {
            System::Lorenz(_) => 100,
            System::MacArthur(_) => 70,
            _ => 35,
        }
    }

    /// Whether the latents are z-scored per dimension before the readout (MacArthur, as in the study).
    pub fn standardise_latents(&self) -> bool {
        matches!(self, System::MacArthur(_))
    }

    /// Writes the vector field at `x` into `out`. MackeyGlass has no ODE field and
    /// writes zeros (use [`MackeyGlass::rhs`]).
    #[inline]
    pub fn rhs_into(&self, x: &[f64], out: &mut [f64]) {
        match self {
            System::Arneodo(p) => {
                out[0] = x[1];
                out[1] = x[2];
                out[2] = -p.a * x[0] - p.b * x[1] - p.c * x[2] + p.d * x[0] * x[0] * x[0];
            }
            System::Lorenz(p) => {
                out[0] = p.sigma * (x[1] - x[0]);
                out[1] = x[0] * (p.rho - x[2]) - x[1];
                out[2] = x[0] * x[1] - p.beta * x[2];
            }
            System::Rossler(p) => {
                out[0] = -x[1] - x[2];
                out[1] = x[0] + p.a * x[1];
                out[2] = p.b + x[2] * (x[0] - p.c);
            }
            System::MacArthur(p) => p.rhs_into(x, out),
            System::MackeyGlass(_) => out.iter_mut().for_each(|v| *v = 0.0),
        }
    }

    /// The vector field at `x` (length [`System::ode_dimension`]).
    pub fn rhs(&self, x: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; x.len()];
        self.rhs_into(x, &mut out);
        out
    }

    /// The Jacobian ∂f/∂x at `x`, row-major (`jac[i * d + j] = ∂fᵢ/∂xⱼ`). Analytic for all
    /// four ODE systems (MacArthur on the active branch of its minimum); `None` for MackeyGlass.
    pub fn jacobian(&self, x: &[f64]) -> Option<Vec<f64>> {
        let j = match self {
            System::Arneodo(p) => vec![
                0.0,
                1.0,
                0.0,
                0.0,
                0.0,
                1.0,
                -p.a + 3.0 * p.d * x[0] * x[0],
                -p.b,
                -p.c,
            ],
            System::Lorenz(p) => vec![
                -p.sigma,
                p.sigma,
                0.0,
                p.rho - x[2],
                -1.0,
                -x[0],
                x[1],
                x[0],
                -p.beta,
            ],
            System::Rossler(p) => vec![0.0, -1.0, -1.0, 1.0, p.a, 0.0, x[2], 0.0, x[0] - p.c],
            System::MacArthur(p) => {
                let mut jac = vec![0.0; 100];
                p.jacobian_into(x, &mut jac);
                jac
            }
            System::MackeyGlass(_) => return None,
        };
        Some(j)
    }

    /// The analytic fixed points (Arneodo, Lorenz, Rossler); empty for the other two.
    pub fn fixed_points(&self) -> Vec<Vec<f64>> {
        match self {
            System::Arneodo(p) => {
                let mut v = vec![vec![0.0, 0.0, 0.0]];
                let r = p.a / p.d;
                if r > 0.0 {
                    v.push(vec![r.sqrt(), 0.0, 0.0]);
                    v.push(vec![-r.sqrt(), 0.0, 0.0]);
                }
                v
            }
            System::Lorenz(p) => {
                let mut v = vec![vec![0.0, 0.0, 0.0]];
                let r = p.beta * (p.rho - 1.0);
                if r > 0.0 {
                    let s = r.sqrt();
                    v.push(vec![s, s, p.rho - 1.0]);
                    v.push(vec![-s, -s, p.rho - 1.0]);
                }
                v
            }
            System::Rossler(p) => {
                let disc = p.c * p.c - 4.0 * p.a * p.b;
                if disc < 0.0 {
                    return Vec::new();
                }
                let d = disc.sqrt();
                [p.c - d, p.c + d]
                    .into_iter()
                    .map(|s| vec![s / 2.0, -s / (2.0 * p.a), s / (2.0 * p.a)])
                    .collect()
            }
            System::MackeyGlass(_) | System::MacArthur(_) => Vec::new(),
        }
    }

    /// The nominal time per bin, `period / pts_per_period`.
    pub fn dt_nominal(&self, pts_per_period: usize) -> f64 {
        self.period() / pts_per_period as f64
    }

    /// The actual sample spacing of an `n`-point trajectory,
    /// `period · n / pts_per_period / (n − 1)` (0.0904035 for the study's Arneodo).
    pub fn dt_actual(&self, pts_per_period: usize, n: usize) -> f64 {
        let tlim = self.period() * n as f64 / pts_per_period as f64;
        tlim / (n.max(2) - 1) as f64
    }

    /// For each analytic fixed point, the eigenvalues of the one-bin map `I + dt·J(x*)`,
    /// sorted by decreasing modulus. Empty for systems without analytic fixed points.
    pub fn one_bin_eigenvalues(&self, dt: f64) -> Vec<(Vec<f64>, [Complex; 3])> {
        self.fixed_points()
            .into_iter()
            .filter_map(|fp| {
                let j = self.jacobian(&fp)?;
                let m: [[f64; 3]; 3] = std::array::from_fn(|r| {
                    std::array::from_fn(|c| f64::from(r == c) + dt * j[r * 3 + c])
                });
                Some((fp, eigenvalues3(&m)))
            })
            .collect()
    }

    /// Eigenvalues of the Jacobian itself at each analytic fixed point (continuous time).
    pub fn fixed_point_eigenvalues(&self) -> Vec<(Vec<f64>, [Complex; 3])> {
        self.fixed_points()
            .into_iter()
            .filter_map(|fp| {
                let j = self.jacobian(&fp)?;
                let m: [[f64; 3]; 3] =
                    std::array::from_fn(|r| std::array::from_fn(|c| j[r * 3 + c]));
                Some((fp, eigenvalues3(&m)))
            })
            .collect()
    }
}
