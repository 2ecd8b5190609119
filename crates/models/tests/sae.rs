//! Public-API tests of the sequential autoencoder (GRU and discrete dynamics;
//! the neural ODE has its own file).

use latentdyn_models::{
    parameter_count, poisson_nll, tensor_to_array3, Dynamics, ModelConfig, ModelError,
    SequentialAutoencoder,
};
use tch::{nn, Device, Kind, Tensor};

fn build(cfg: &ModelConfig, channels: i64, seed: i64) -> (nn::VarStore, SequentialAutoencoder) {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = SequentialAutoencoder::new(&vs.root(), cfg, channels).unwrap();
    (vs, model)
}

fn spikes(batch: i64, steps: i64, channels: i64) -> Tensor {
    tch::manual_seed(123);
    Tensor::rand([batch, steps, channels], (Kind::Float, Device::Cpu))
        .f_mul_scalar(4.0)
        .unwrap()
        .floor()
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Counts as PyTorch reports them (`sum(p.numel())` in peer_step_bench.py):
/// encoder nn.GRU(10, 64, bidirectional) = 2·3·64·(10 + 64 + 2) = 29 184;
/// ic Linear(128, L) = 129·L; readout Linear(L, 10) = 10·L + 10.
#[test]
fn parameter_counts_match_pytorch() {
    let enc = 2 * 3 * 64 * (10 + 64 + 2);
    assert_eq!(enc, 29_184);
    let ic = |l: i64| 128 * l + l;
    let readout = |l: i64| 10 * l + 10;
    let gru_cell = |l: i64| 3 * l * (1 + l + 2);
    let mlp = |i: i64, l: i64| (i * 128 + 128) + (128 * l + l);
    let rnn_cell = |l: i64| l + l * l + 2 * l;
    let cases = [
        (
            ModelConfig::study_gru(3),
            enc + ic(3) + readout(3) + gru_cell(3),
            29_665,
        ),
        (
            ModelConfig::study_gru(25),
            enc + ic(25) + readout(25) + gru_cell(25),
            34_769,
        ),
        (
            ModelConfig::study_gru(100),
            enc + ic(100) + readout(100) + gru_cell(100),
            73_994,
        ),
        (
            ModelConfig::study_node_discrete(3),
            enc + ic(3) + readout(3) + mlp(4, 3),
            30_638,
        ),
        (
            ModelConfig::ablation(4, 3).unwrap(),
            enc + ic(3) + readout(3) + rnn_cell(3),
            29_629,
        ),
    ];
    for (cfg, formula, stated) in cases {
        assert_eq!(formula, stated, "{cfg:?}");
        let (vs, _m) = build(&cfg, 10, 0);
        assert_eq!(parameter_count(&vs), stated, "{cfg:?}");
    }
}

#[test]
fn parameter_names_are_hierarchical() {
    let (vs, _m) = build(&ModelConfig::study_gru(3), 10, 0);
    let mut names: Vec<String> = vs.variables().into_keys().collect();
    names.sort();
    let want = [
        "dynamics.bias_hh",
        "dynamics.bias_ih",
        "dynamics.weight_hh",
        "dynamics.weight_ih",
        "encoder.bias_hh_l0",
        "encoder.bias_hh_l0_reverse",
        "encoder.bias_ih_l0",
        "encoder.bias_ih_l0_reverse",
        "encoder.weight_hh_l0",
        "encoder.weight_hh_l0_reverse",
        "encoder.weight_ih_l0",
        "encoder.weight_ih_l0_reverse",
        "ic.bias",
        "ic.weight",
        "readout.bias",
        "readout.weight",
    ];
    assert_eq!(names, want);
}

#[test]
fn encoder_final_state_is_forward_then_backward() {
    let (_vs, m) = build(&ModelConfig::study_gru(3), 10, 1);
    let x = spikes(4, 9, 10);
    let (out, last) = m.encoder.forward(&x).unwrap();
    assert_eq!(out.size(), [4, 9, 128]);
    assert_eq!(last.size(), [4, 128]);
    // forward direction: the output at the last step; backward: the output at the first.
    let fwd = out.select(1, 8).narrow(1, 0, 64);
    let bwd = out.select(1, 0).narrow(1, 64, 64);
    assert_eq!(max_abs_diff(&last.narrow(1, 0, 64), &fwd), 0.0);
    assert_eq!(max_abs_diff(&last.narrow(1, 64, 64), &bwd), 0.0);
}

#[test]
fn forward_shapes_and_eval_determinism() {
    for cfg in [
        ModelConfig::study_gru(5),
        ModelConfig::study_node_discrete(4),
        ModelConfig::ablation(4, 3).unwrap(),
    ] {
        let (_vs, m) = build(&cfg, 7, 2);
        let x = spikes(3, 11, 7);
        let a = m.forward_t(&x, false).unwrap();
        let l = cfg.latent_size as i64;
        assert_eq!(a.z0.size(), [3, l]);
        assert_eq!(a.latents.size(), [3, 11, l]);
        assert_eq!(a.log_rates.size(), [3, 11, 7]);
        let b = m.forward_t(&x, false).unwrap();
        assert_eq!(max_abs_diff(&a.log_rates, &b.log_rates), 0.0);
        // dropout is active in train mode
        let c = m.forward_t(&x, true).unwrap();
        assert!(max_abs_diff(&a.z0, &c.z0) > 0.0);
        // the readout is applied per time point
        let manual = a.latents.matmul(&m.readout.weight.tr()) + &m.readout.bias;
        assert!(max_abs_diff(&manual, &a.log_rates) < 1e-6);
    }
}

/// GRU and discrete latents are the states after each step (peer_step_bench.py).
#[test]
fn unroll_emits_post_step_states() {
    for cfg in [
        ModelConfig::study_gru(4),
        ModelConfig::study_node_discrete(4),
        ModelConfig::ablation(1, 4).unwrap(),
    ] {
        let (_vs, m) = build(&cfg, 5, 3);
        let z0 = Tensor::randn([2, 4], (Kind::Float, Device::Cpu));
        let traj = m.dynamics.unroll(&z0, 6).unwrap();
        let mut z = z0.shallow_clone();
        for t in 0..6 {
            z = m.dynamics.step(&z).unwrap();
            assert!(max_abs_diff(&traj.select(1, t), &z) < 1e-6);
        }
        assert!(m.dynamics.vector_field(&z0).unwrap().is_none());
        assert_eq!(m.dynamics.evaluations(), None);
    }
}

/// The discrete cell with residual: z + 0.1·MLP([0, z]); without: MLP([0, z]).
#[test]
fn discrete_step_is_residual_mlp() {
    let (vs0, m0) = build(&ModelConfig::ablation(0, 3).unwrap(), 5, 4);
    let (mut vs1, m1) = build(&ModelConfig::ablation(1, 3).unwrap(), 5, 5);
    vs1.copy(&vs0).unwrap(); // same parameter names, now the same values
    let z = Tensor::randn([2, 3], (Kind::Float, Device::Cpu));
    let cell = m1.dynamics.step(&z).unwrap();
    let s = m0.dynamics.step(&z).unwrap();
    assert!(max_abs_diff(&s, &(&z + &cell * 0.1)) < 1e-6);
    // and the MLP is Linear(L+1 → 128) – tanh – Linear(128 → L) on [u = 0, z]
    let vars = vs0.variables();
    let w1 = &vars["dynamics.mlp.0.weight"];
    assert_eq!(w1.size(), [128, 4]);
    let u = Tensor::zeros([2, 1], (Kind::Float, Device::Cpu));
    let h = Tensor::cat(&[&u, &z], 1)
        .linear(w1, Some(&vars["dynamics.mlp.0.bias"]))
        .tanh();
    let manual = h.linear(
        &vars["dynamics.mlp.2.weight"],
        Some(&vars["dynamics.mlp.2.bias"]),
    );
    assert!(max_abs_diff(&manual, &cell) < 1e-6);
}

#[test]
fn bad_shapes_are_errors_not_panics() {
    let (_vs, m) = build(&ModelConfig::study_gru(3), 10, 0);
    let err = m.forward_t(&spikes(2, 5, 9), false).unwrap_err();
    match err {
        ModelError::Shape {
            expected, found, ..
        } => {
            assert_eq!(expected, "[_, _, 10]");
            assert_eq!(found, [2, 5, 9]);
        }
        e => panic!("{e}"),
    }
    assert!(m
        .forward_t(&Tensor::zeros([2, 5], (Kind::Float, Device::Cpu)), false)
        .is_err());
    assert!(m
        .forward_t(
            &Tensor::zeros([2, 0, 10], (Kind::Float, Device::Cpu)),
            false
        )
        .is_err());
    assert!(m
        .dynamics
        .unroll(&Tensor::zeros([2, 4], (Kind::Float, Device::Cpu)), 3)
        .is_err());
    assert!(m
        .dynamics
        .unroll(&Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)), 0)
        .is_err());
    // integer counts are accepted and cast
    let counts = spikes(2, 5, 10).to_kind(Kind::Int64);
    assert!(m.forward_t(&counts, false).is_ok());
}

#[test]
fn save_then_load_reproduces_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let x = spikes(3, 8, 6);
    for cfg in [
        ModelConfig::study_gru(4),
        ModelConfig::study_node_discrete(3),
        ModelConfig::ablation(2, 3).unwrap(),
    ] {
        let (vs, m) = build(&cfg, 6, 10);
        let want = m.forward_t(&x, false).unwrap().log_rates;
        vs.save(&path).unwrap();
        let (mut vs2, m2) = build(&cfg, 6, 99);
        assert!(max_abs_diff(&m2.forward_t(&x, false).unwrap().log_rates, &want) > 0.0);
        vs2.load(&path).unwrap();
        assert_eq!(
            max_abs_diff(&m2.forward_t(&x, false).unwrap().log_rates, &want),
            0.0
        );
    }
}

fn stirling(y: f64) -> f64 {
    if y > 1.0 {
        y * y.ln() - y + 0.5 * (2.0 * std::f64::consts::PI * y).ln()
    } else {
        0.0
    }
}

/// torch's `poisson_nll_loss(log_input=True, full=True)` against its closed form in f64.
#[test]
fn poisson_nll_matches_closed_form() {
    let x = [0.3f64, -1.2, 2.0, 0.0, 1.5, -0.4, 0.7, 0.1];
    let y = [0.0f64, 1.0, 5.0, 2.0, 3.0, 0.0, 7.0, 1.0];
    let lr = Tensor::from_slice(&x)
        .to_kind(Kind::Float)
        .reshape([2, 2, 2]);
    let sp = Tensor::from_slice(&y)
        .to_kind(Kind::Float)
        .reshape([2, 2, 2]);
    let term = |i: usize| x[i].exp() - y[i] * x[i] + stirling(y[i]);
    let all: f64 = (0..8).map(term).sum::<f64>() / 8.0;
    let got = poisson_nll(&lr, &sp, None).unwrap().double_value(&[]);
    assert!((got - all).abs() < 1e-6, "{got} vs {all}");
    // horizon 1: only time index 0 of each sample: flat indices 0,1 and 4,5
    let first: f64 = [0, 1, 4, 5].into_iter().map(term).sum::<f64>() / 4.0;
    let got = poisson_nll(&lr, &sp, Some(1)).unwrap().double_value(&[]);
    assert!((got - first).abs() < 1e-6, "{got} vs {first}");
    assert!(poisson_nll(&lr, &sp, Some(0)).is_err());
    assert!(poisson_nll(&lr, &sp, Some(3)).is_err());
    assert!(poisson_nll(&lr, &sp.reshape([2, 4]), None).is_err());
}

#[test]
fn tensor_array_round_trip() {
    let t = Tensor::randn([2, 3, 4], (Kind::Float, Device::Cpu));
    let a = tensor_to_array3(&t).unwrap();
    assert_eq!(a.dim(), (2, 3, 4));
    assert_eq!(a[[1, 2, 3]], t.double_value(&[1, 2, 3]));
    let back = latentdyn_models::array3_to_tensor(a.view(), Device::Cpu).unwrap();
    assert_eq!(max_abs_diff(&back, &t), 0.0);
    assert!(tensor_to_array3(&t.flatten(0, 1)).is_err());
}

/// Gradients reach every parameter through a GRU unroll and the loss.
#[test]
fn gradients_flow_to_every_parameter() {
    for cfg in [
        ModelConfig::study_gru(3),
        ModelConfig::study_node_discrete(3),
    ] {
        let (vs, m) = build(&cfg, 4, 5);
        let x = spikes(2, 6, 4);
        let out = m.forward_t(&x, true).unwrap();
        let loss = poisson_nll(&out.log_rates, &x, Some(4)).unwrap();
        out.backward(&loss).unwrap();
        for (name, p) in vs.variables() {
            let g = p.grad();
            assert!(g.defined(), "{name}");
            let total = g.abs().sum(Kind::Double).double_value(&[]);
            // the GRU cell's input weights multiply the zero input: zero gradient, as in PyTorch
            if name == "dynamics.weight_ih" {
                assert_eq!(total, 0.0);
            } else {
                assert!(total > 0.0, "{name}");
            }
        }
    }
}

#[allow(dead_code)]
fn _object_safe(_: &dyn Dynamics) {}
