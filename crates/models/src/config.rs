//! Model configuration: serde structs whose defaults are the study's values
//! (`shared/docs/study.md`, "The model" and its table), and the study's presets.

use latentdyn_ode::{Method, OutputMode};
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// The widest latent size, encoder or hidden layer a configuration may ask
/// for: sizes beyond it fail before anything is allocated.
pub const MAX_WIDTH: usize = 4096;

/// The whole sequential autoencoder: encoder, initial condition, dynamics, readout.
///
/// The number of data channels is not part of the config: it comes from the
/// dataset when the model is built ([`crate::SequentialAutoencoder::new`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Latent size L (the table's "L default" depends on the config).
    pub latent_size: usize,
    /// Units per direction of the bidirectional GRU encoder (study: 64).
    #[serde(default = "default_encoder_size")]
    pub encoder_size: usize,
    /// Dropout probability applied before and after the initial-condition
    /// linear layer (study: 0.05).
    #[serde(default = "default_dropout")]
    pub dropout: f64,
    /// The latent dynamics.
    pub dynamics: DynamicsConfig,
}

fn default_encoder_size() -> usize {
    64
}

fn default_dropout() -> f64 {
    0.05
}

/// Which latent dynamics the autoencoder uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DynamicsConfig {
    /// The study's `gru`: a GRU cell (input size 1, fed zeros, hidden L),
    /// unrolled from z₀; the latents are the states after each step.
    Gru,
    /// The study's `node`: dz/dt = MLP(z), integrated with outputs at
    /// `linspace(0, 1, T)`, the first output being z₀.
    Node(NodeConfig),
    /// The study's `node-discrete` and ablation cells: z ← z + dt·cell(u, z)
    /// (or z ← cell(u, z) without pass-through), u = zeros of size 1.
    Discrete(DiscreteConfig),
}

/// The neural-ODE dynamics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Hidden width of the vector-field MLP L → hidden → L, tanh after the
    /// hidden layer (study: 128).
    #[serde(default = "default_hidden")]
    pub hidden: usize,
    /// Number of time bins mapped onto `[0, 1]` (study: 70, so a bin lasts
    /// 1/69). [`crate::Dynamics::step`] integrates over one such bin.
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// How the vector field is integrated.
    #[serde(default)]
    pub solver: NodeSolver,
}

fn default_hidden() -> usize {
    128
}

fn default_bins() -> usize {
    70
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            hidden: default_hidden(),
            bins: default_bins(),
            solver: NodeSolver::default(),
        }
    }
}

/// The integrator of the neural ODE. Gradients always flow by
/// backpropagation through the solver's operations (the study's setting).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum NodeSolver {
    /// Adaptive step-size control, one step size for the whole batch. The
    /// default is the study's (torchdyn's `NeuralODE` defaults): Tsit5,
    /// rtol = atol = 1e-3, steps landing on every output time.
    Adaptive {
        /// An embedded Runge–Kutta pair.
        #[serde(default = "default_adaptive_method")]
        method: Method,
        /// Relative tolerance (study: 1e-3).
        #[serde(default = "default_tol")]
        rtol: f64,
        /// Absolute tolerance (study: 1e-3).
        #[serde(default = "default_tol")]
        atol: f64,
        /// How outputs are produced (study: every step stops at the next output time).
        #[serde(default = "default_output")]
        output: OutputMode,
    },
    /// A fixed number of equal steps per bin.
    Fixed {
        /// Any Runge–Kutta method.
        method: Method,
        /// Steps per time bin (≥ 1).
        #[serde(default = "default_steps_per_bin")]
        steps_per_bin: usize,
    },
}

fn default_adaptive_method() -> Method {
    Method::Tsit5
}

fn default_output() -> OutputMode {
    OutputMode::StepToOutputs
}

fn default_tol() -> f64 {
    1e-3
}

fn default_steps_per_bin() -> usize {
    1
}

impl Default for NodeSolver {
    fn default() -> Self {
        NodeSolver::Adaptive {
            method: default_adaptive_method(),
            rtol: default_tol(),
            atol: default_tol(),
            output: default_output(),
        }
    }
}

/// The discrete-time cell of `node-discrete` and the ablation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscreteConfig {
    /// The cell: the MLP (study) or a vanilla RNN cell ("no MLP" ablation).
    #[serde(default)]
    pub cell: CellKind,
    /// How the cell's output updates the state.
    #[serde(default)]
    pub update: Update,
}

impl DiscreteConfig {
    /// `Some(dt)` for the residual update, `None` without pass-through.
    pub fn residual_dt(&self) -> Option<f64> {
        match self.update {
            Update::Residual { dt } => Some(dt),
            Update::Replace => None,
        }
    }
}

/// The state update of the discrete cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Update {
    /// z ← z + dt·cell(u, z): the cell predicts the derivative (study: dt = 0.1).
    Residual {
        /// The step (study: 0.1).
        #[serde(default = "default_dt")]
        dt: f64,
    },
    /// z ← cell(u, z): the "no pass-through" ablation.
    Replace,
}

fn default_dt() -> f64 {
    0.1
}

impl Default for Update {
    fn default() -> Self {
        Update::Residual { dt: default_dt() }
    }
}

/// The function inside the discrete cell, applied to `[u, z]` with u = 0 of size 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CellKind {
    /// MLP (L+1) → hidden → L with tanh after the hidden layer (study: hidden 128).
    Mlp {
        /// Hidden width (study: 128).
        #[serde(default = "default_hidden")]
        hidden: usize,
    },
    /// A vanilla RNN cell tanh(W u + b_ih + U z + b_hh) (PyTorch `RNNCell(1, L)`).
    Rnn,
}

impl Default for CellKind {
    fn default() -> Self {
        CellKind::Mlp {
            hidden: default_hidden(),
        }
    }
}

/// Names accepted by [`ModelConfig::preset`].
pub const PRESET_NAMES: [&str; 8] = [
    "gru",
    "node",
    "node-discrete",
    "ablation0",
    "ablation1",
    "ablation2",
    "ablation3",
    "ablation4",
];

impl ModelConfig {
    fn with_dynamics(latent_size: usize, dynamics: DynamicsConfig) -> Self {
        ModelConfig {
            latent_size,
            encoder_size: default_encoder_size(),
            dropout: default_dropout(),
            dynamics,
        }
    }

    /// The study's `gru` config (study L default: 25).
    pub fn study_gru(latent_size: usize) -> Self {
        Self::with_dynamics(latent_size, DynamicsConfig::Gru)
    }

    /// The study's `node` config: MLP with hidden width 128, adaptive Tsit5 at 1e-3 (study L default: 3).
    pub fn study_node(latent_size: usize) -> Self {
        Self::with_dynamics(latent_size, DynamicsConfig::Node(NodeConfig::default()))
    }

    /// The study's `node-discrete` config: MLP with hidden width 128, dt 0.1 (study L default: 10).
    pub fn study_node_discrete(latent_size: usize) -> Self {
        Self::with_dynamics(
            latent_size,
            DynamicsConfig::Discrete(DiscreteConfig::default()),
        )
    }

    /// The ablation's model for config `k` (study L: 3):
    /// 0 baseline (MLP, dt 0.1), 1 no pass-through (MLP, no dt), 2 no MLP
    /// (RNN cell, dt 0.1), 3 no gradual loss (the baseline cell; only the
    /// loss schedule differs, which is the trainer's business), 4 vanilla
    /// (RNN cell, no dt).
    pub fn ablation(k: usize, latent_size: usize) -> Result<Self, ModelError> {
        let mlp = CellKind::default();
        let (cell, update) = match k {
            0 | 3 => (mlp, Update::default()),
            1 => (mlp, Update::Replace),
            2 => (CellKind::Rnn, Update::default()),
            4 => (CellKind::Rnn, Update::Replace),
            _ => {
                return Err(ModelError::config(
                    "ablation",
                    format!("no ablation {k}; use 0..=4"),
                ))
            }
        };
        Ok(Self::with_dynamics(
            latent_size,
            DynamicsConfig::Discrete(DiscreteConfig { cell, update }),
        ))
    }

    /// A preset by the study's name (one of [`PRESET_NAMES`]).
    pub fn preset(name: &str, latent_size: usize) -> Result<Self, ModelError> {
        match name {
            "gru" => Ok(Self::study_gru(latent_size)),
            "node" => Ok(Self::study_node(latent_size)),
            "node-discrete" => Ok(Self::study_node_discrete(latent_size)),
            _ => match name
                .strip_prefix("ablation")
                .and_then(|k| k.parse::<usize>().ok())
            {
                Some(k) if k <= 4 => Self::ablation(k, latent_size),
                _ => Err(ModelError::config(
                    "preset",
                    format!(
                        "unknown preset `{name}`; known: {}",
                        PRESET_NAMES.join(", ")
                    ),
                )),
            },
        }
    }

    /// Checks every value for range and consistency.
    pub fn validate(&self) -> Result<(), ModelError> {
        positive("latent_size", self.latent_size)?;
        positive("encoder_size", self.encoder_size)?;
        for (field, v) in [
            ("latent_size", self.latent_size),
            ("encoder_size", self.encoder_size),
        ] {
            if v > MAX_WIDTH {
                return Err(ModelError::config(
                    field,
                    format!(
                        "{v} exceeds the ceiling of {MAX_WIDTH} (the study goes to 100; a \
                         wider layer's training buffers would not fit a workstation's memory)"
                    ),
                ));
            }
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(ModelError::config(
                "dropout",
                format!("{} is not a probability in [0, 1)", self.dropout),
            ));
        }
        match &self.dynamics {
            DynamicsConfig::Gru => Ok(()),
            DynamicsConfig::Node(node) => node.validate(),
            DynamicsConfig::Discrete(d) => {
                if let CellKind::Mlp { hidden } = d.cell {
                    positive("cell.hidden", hidden)?;
                }
                match d.residual_dt() {
                    Some(dt) if !(dt.is_finite() && dt > 0.0) => Err(ModelError::config(
                        "update.dt",
                        format!("{dt} is not a positive finite step"),
                    )),
                    _ => Ok(()),
                }
            }
        }
    }
}

impl NodeConfig {
    /// Checks every value for range and consistency.
    pub fn validate(&self) -> Result<(), ModelError> {
        positive("hidden", self.hidden)?;
        if self.hidden > MAX_WIDTH {
            return Err(ModelError::config(
                "hidden",
                format!("{} exceeds the ceiling of {MAX_WIDTH}", self.hidden),
            ));
        }
        if self.bins < 2 {
            return Err(ModelError::config("bins", format!("{} < 2", self.bins)));
        }
        match self.solver {
            NodeSolver::Adaptive {
                method, rtol, atol, ..
            } => {
                if !method.is_adaptive() {
                    return Err(ModelError::config(
                        "solver.method",
                        format!("{method:?} has no error estimate; adaptive needs dopri5 or tsit5"),
                    ));
                }
                for (field, tol) in [("solver.rtol", rtol), ("solver.atol", atol)] {
                    if !(tol.is_finite() && tol > 0.0) {
                        return Err(ModelError::config(field, format!("{tol} is not > 0")));
                    }
                }
                Ok(())
            }
            NodeSolver::Fixed { steps_per_bin, .. } => {
                positive("solver.steps_per_bin", steps_per_bin)
            }
        }
    }
}

fn positive(field: &'static str, v: usize) -> Result<(), ModelError> {
    if v == 0 {
        Err(ModelError::config(field, "must be at least 1"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_study_values() {
        let cfg: ModelConfig =
            serde_json::from_str(r#"{"latent_size": 3, "dynamics": {"kind": "node"}}"#).unwrap();
        assert_eq!(cfg, ModelConfig::study_node(3));
        assert_eq!(cfg.encoder_size, 64);
        assert_eq!(cfg.dropout, 0.05);
        let DynamicsConfig::Node(node) = &cfg.dynamics else {
            panic!()
        };
        assert_eq!(node.hidden, 128);
        assert_eq!(node.bins, 70);
        assert_eq!(
            node.solver,
            NodeSolver::Adaptive {
                method: Method::Tsit5,
                rtol: 1e-3,
                atol: 1e-3,
                output: OutputMode::StepToOutputs
            }
        );
        let d: ModelConfig =
            serde_json::from_str(r#"{"latent_size": 10, "dynamics": {"kind": "discrete"}}"#)
                .unwrap();
        assert_eq!(d, ModelConfig::study_node_discrete(10));
    }

    #[test]
    fn presets_round_trip_through_json() {
        let mut all = vec![
            ModelConfig::study_gru(25),
            ModelConfig::study_node(3),
            ModelConfig::study_node_discrete(10),
        ];
        for k in 0..=4 {
            all.push(ModelConfig::ablation(k, 3).unwrap());
        }
        for (cfg, name) in all.iter().zip(PRESET_NAMES) {
            let latent = cfg.latent_size;
            assert_eq!(&ModelConfig::preset(name, latent).unwrap(), cfg);
            let json = serde_json::to_string(cfg).unwrap();
            let back: ModelConfig = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, cfg, "{json}");
            cfg.validate().unwrap();
        }
    }

    #[test]
    fn ablation_switches() {
        let cell = |k| match ModelConfig::ablation(k, 3).unwrap().dynamics {
            DynamicsConfig::Discrete(d) => (d.cell.clone(), d.residual_dt()),
            _ => unreachable!(),
        };
        let mlp = CellKind::Mlp { hidden: 128 };
        assert_eq!(cell(0), (mlp.clone(), Some(0.1)));
        assert_eq!(cell(1), (mlp.clone(), None));
        assert_eq!(cell(2), (CellKind::Rnn, Some(0.1)));
        assert_eq!(cell(3), (mlp, Some(0.1)));
        assert_eq!(cell(4), (CellKind::Rnn, None));
        assert!(ModelConfig::ablation(5, 3).is_err());
        assert!(ModelConfig::preset("ablation9", 3).is_err());
        assert!(ModelConfig::preset("lstm", 3).is_err());
    }

    #[test]
    fn fixed_solver_and_no_pass_through_parse() {
        let cfg: ModelConfig = serde_json::from_str(
            r#"{"latent_size": 3, "dynamics": {"kind": "node",
                "solver": {"kind": "fixed", "method": "rk4", "steps_per_bin": 2}}}"#,
        )
        .unwrap();
        let DynamicsConfig::Node(node) = cfg.dynamics else {
            panic!()
        };
        assert_eq!(
            node.solver,
            NodeSolver::Fixed {
                method: Method::Rk4,
                steps_per_bin: 2
            }
        );
        let cfg: ModelConfig = serde_json::from_str(
            r#"{"latent_size": 3, "dynamics": {"kind": "discrete", "cell": {"kind": "rnn"},
                "update": {"kind": "replace"}}}"#,
        )
        .unwrap();
        assert_eq!(cfg, ModelConfig::ablation(4, 3).unwrap());
    }

    #[test]
    fn unknown_fields_and_bad_values_are_rejected() {
        for bad in [
            r#"{"latent_size": 3, "dynamics": {"kind": "gru"}, "hiden": 4}"#,
            r#"{"latent_size": 3, "dynamics": {"kind": "node", "hiden": 4}}"#,
            r#"{"latent_size": 3, "dynamics": {"kind": "lstm"}}"#,
            r#"{"latent_size": 3, "dynamics": {"kind": "node", "solver": {"kind": "adaptive", "method": "tsit6"}}}"#,
        ] {
            assert!(serde_json::from_str::<ModelConfig>(bad).is_err(), "{bad}");
        }
        let mut cfg = ModelConfig::study_node(3);
        cfg.dropout = 1.0;
        assert!(matches!(
            cfg.validate(),
            Err(ModelError::Config {
                field: "dropout",
                ..
            })
        ));
        let mut cfg = ModelConfig::study_node(0);
        assert!(cfg.validate().is_err());
        cfg.latent_size = 3;
        cfg.dynamics = DynamicsConfig::Node(NodeConfig {
            solver: NodeSolver::Adaptive {
                method: Method::Rk4,
                rtol: 1e-3,
                atol: 1e-3,
                output: OutputMode::StepToOutputs,
            },
            ..NodeConfig::default()
        });
        assert!(matches!(
            cfg.validate(),
            Err(ModelError::Config {
                field: "solver.method",
                ..
            })
        ));
    }
}
