//! The neural-ODE dynamics through the public API.

use latentdyn_models::{
    parameter_count, poisson_nll, DynamicsConfig, Method, ModelConfig, NodeConfig, NodeSolver,
    SequentialAutoencoder,
};
use tch::{nn, Device, Kind, Tensor};

fn node_with(
    solver: NodeSolver,
    latent: usize,
    seed: i64,
) -> (nn::VarStore, SequentialAutoencoder) {
    let mut cfg = ModelConfig::study_node(latent);
    cfg.dynamics = DynamicsConfig::Node(NodeConfig {
        solver,
        ..NodeConfig::default()
    });
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let m = SequentialAutoencoder::new(&vs.root(), &cfg, 10).unwrap();
    (vs, m)
}

fn study(latent: usize, seed: i64) -> (nn::VarStore, SequentialAutoencoder) {
    node_with(NodeSolver::default(), latent, seed)
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// node3: encoder 29 184 + ic 387 + vector field (3·128 + 128) + (128·3 + 3) = 899 + readout 40.
#[test]
fn node3_parameter_count() {
    let (vs, _m) = study(3, 0);
    assert_eq!(parameter_count(&vs), 29_184 + 387 + 899 + 40);
    assert_eq!(parameter_count(&vs), 30_510);
}

/// The study's solver (adaptive Tsit5, rtol = atol = 1e-3, steps landing on
/// the outputs) makes 1 + 1 + 6·69 = 416 vector-field evaluations per
/// forward on a freshly initialised model, as torchdyn does.
#[test]
fn study_solver_makes_416_evaluations() {
    for (latent, seed) in [(3, 0), (3, 1), (10, 2)] {
        let (_vs, m) = study(latent, seed);
        let z0 = Tensor::randn([650, latent as i64], (Kind::Float, Device::Cpu));
        m.dynamics.reset_evaluations();
        let traj = m.dynamics.unroll(&z0, 70).unwrap();
        assert_eq!(traj.size(), [650, 70, latent as i64]);
        assert_eq!(
            m.dynamics.evaluations(),
            Some(416),
            "L = {latent}, seed {seed}"
        );
        // through the whole model too
        let spikes = Tensor::rand([8, 70, 10], (Kind::Float, Device::Cpu)).floor();
        m.dynamics.reset_evaluations();
        m.forward_t(&spikes, true).unwrap();
        assert_eq!(m.dynamics.evaluations(), Some(416));
    }
}

#[test]
fn first_latent_is_z0_and_step_matches_unroll() {
    let (_vs, m) = study(3, 3);
    let z0 = Tensor::randn([5, 3], (Kind::Float, Device::Cpu));
    let traj = m.dynamics.unroll(&z0, 70).unwrap();
    assert_eq!(max_abs_diff(&traj.select(1, 0), &z0), 0.0);
    let two = m.dynamics.unroll(&z0, 2).unwrap();
    let one = m.dynamics.step(&z0).unwrap();
    assert_eq!(max_abs_diff(&two.select(1, 1), &one), 0.0);
    // the vector field is exposed for fixed-point searches
    let f = m.dynamics.vector_field(&z0).unwrap().unwrap();
    assert_eq!(f.size(), [5, 3]);
}

/// Euler with one step per bin is z + f(z)/69 per bin.
#[test]
fn euler_is_one_explicit_step_per_bin() {
    let (_vs, m) = node_with(
        NodeSolver::Fixed {
            method: Method::Euler,
            steps_per_bin: 1,
        },
        3,
        4,
    );
    let z0 = Tensor::randn([4, 3], (Kind::Float, Device::Cpu));
    let traj = m.dynamics.unroll(&z0, 4).unwrap();
    let mut z = z0.shallow_clone();
    for t in 1..4 {
        let f = m.dynamics.vector_field(&z).unwrap().unwrap();
        z = &z + f * (1.0 / 69.0);
        assert!(max_abs_diff(&traj.select(1, t), &z) < 1e-6);
    }
}

/// The adaptive solution agrees with a fine fixed-step RK4 to the tolerance.
#[test]
fn adaptive_agrees_with_fine_rk4() {
    let (mut vs, m) = study(3, 5);
    let (mut vs2, fine) = node_with(
        NodeSolver::Fixed {
            method: Method::Rk4,
            steps_per_bin: 8,
        },
        3,
        6,
    );
    vs2.copy(&vs).unwrap();
    // in f64, so that the comparison measures the solvers, not rounding
    vs.set_kind(Kind::Double);
    vs2.set_kind(Kind::Double);
    let z0 = Tensor::randn([16, 3], (Kind::Double, Device::Cpu));
    let a = m.dynamics.unroll(&z0, 70).unwrap();
    let b = fine.dynamics.unroll(&z0, 70).unwrap();
    let err = max_abs_diff(&a, &b);
    assert!(err < 1e-3, "{err}");
}

#[test]
fn gradients_reach_the_vector_field_through_the_solver() {
    let (vs, m) = study(3, 7);
    let spikes = Tensor::rand([4, 70, 10], (Kind::Float, Device::Cpu))
        .f_mul_scalar(3.0)
        .unwrap()
        .floor();
    let out = m.forward_t(&spikes, true).unwrap();
    let loss = poisson_nll(&out.log_rates, &spikes, Some(5)).unwrap();
    out.backward(&loss).unwrap();
    let vars = vs.variables();
    for name in [
        "dynamics.vector_field.0.weight",
        "dynamics.vector_field.2.bias",
        "encoder.weight_hh_l0_reverse",
    ] {
        let g = vars[name].grad();
        assert!(
            g.defined() && g.abs().sum(Kind::Double).double_value(&[]) > 0.0,
            "{name}"
        );
    }
}

#[test]
fn save_then_load_reproduces_node_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.safetensors");
    let spikes = Tensor::rand([3, 70, 10], (Kind::Float, Device::Cpu))
        .f_mul_scalar(3.0)
        .unwrap()
        .floor();
    let (vs, m) = study(3, 8);
    let want = m.forward_t(&spikes, false).unwrap().log_rates;
    vs.save(&path).unwrap();
    let (mut vs2, m2) = study(3, 9);
    vs2.load(&path).unwrap();
    assert_eq!(
        max_abs_diff(&m2.forward_t(&spikes, false).unwrap().log_rates, &want),
        0.0
    );
}
