//! The hand-written kernels of `latentdyn-kernels` (GRU encoder, GRU
//! dynamics, discrete MLP cell, neural ODE), run through the tape adapter,
//! against libtorch's layers and autograd: the same states and the same
//! parameter gradients, to f32 rounding, alone and inside the whole model
//! (dropout on, same seed), on one thread and on two.

use latentdyn_models::{
    poisson_nll, Dynamics, Encoder, GruDynamics, ModelConfig, NodeDynamics, SequentialAutoencoder,
    Tapes,
};
use tch::{nn, Device, Kind, Tensor};

/// libtorch's random generator and thread count are process-wide: the
/// tests here take turns.
static GLOBAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn spikes(batch: i64, steps: i64, channels: i64, seed: i64) -> Tensor {
    tch::manual_seed(seed);
    Tensor::rand([batch, steps, channels], (Kind::Float, Device::Cpu))
        .f_mul_scalar(4.0)
        .unwrap()
        .floor()
}

/// max |a − b| / (max |b| + tiny).
fn rel(a: &Tensor, b: &Tensor) -> f64 {
    let scale = b.abs().max().double_value(&[]) + 1e-12;
    (a - b).abs().max().double_value(&[]) / scale
}

fn grads(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut v: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(n, p)| (n, p.grad().copy()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn zero(vs: &nn::VarStore) {
    for (_, mut p) in vs.variables() {
        p.zero_grad();
    }
}

fn encoder_matches_libtorch(threads: i32) {
    let _guard = lock();
    tch::set_num_threads(threads);
    tch::manual_seed(7);
    let vs = nn::VarStore::new(Device::Cpu);
    let enc = Encoder::new(&vs.root(), 5, 16).unwrap();
    let x = spikes(9, 23, 5, 1);
    tch::manual_seed(2);
    let probe = Tensor::randn([9, 32], (Kind::Float, Device::Cpu));

    let (_, h_ref) = enc.forward(&x).unwrap();
    (&h_ref * &probe).sum(Kind::Float).backward();
    let g_ref = grads(&vs);

    zero(&vs);
    let mut tapes = Tapes::new();
    let h = tapes.push(enc.forward_taped(&x).unwrap());
    assert!(
        rel(&h, &h_ref) < 1e-6,
        "final states differ: {}",
        rel(&h, &h_ref)
    );
    tapes.backward(&(&h * &probe).sum(Kind::Float)).unwrap();
    let g = grads(&vs);
    assert_eq!(g.len(), 8);
    for ((name, a), (_, b)) in g.iter().zip(&g_ref) {
        assert!(a.defined() && b.defined(), "{name}");
        assert!(rel(a, b) < 1e-5, "{name}: relative error {}", rel(a, b));
    }
}

#[test]
fn encoder_states_and_gradients_match_libtorch_on_one_thread() {
    encoder_matches_libtorch(1);
}

#[test]
fn encoder_states_and_gradients_match_libtorch_on_two_threads() {
    encoder_matches_libtorch(2);
}

#[test]
fn gradients_accumulate_like_autograd() {
    let _guard = lock();
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let enc = Encoder::new(&vs.root(), 3, 4).unwrap();
    let x = spikes(2, 6, 3, 4);
    let run = || {
        let mut tapes = Tapes::new();
        let h = tapes.push(enc.forward_taped(&x).unwrap());
        tapes.backward(&h.square().sum(Kind::Float)).unwrap();
    };
    run();
    let once = grads(&vs);
    run();
    for ((name, twice), (_, one)) in grads(&vs).iter().zip(&once) {
        assert!(rel(twice, &(one * 2.0)) < 1e-6, "{name}");
    }
    // A loss that ignores the encoder is an error, not a silent zero, and
    // leaves its gradients alone.
    zero(&vs);
    let mut tapes = Tapes::new();
    let _h = tapes.push(enc.forward_taped(&x).unwrap());
    let unrelated = Tensor::ones([1], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let err = tapes.backward(&unrelated.sum(Kind::Float)).unwrap_err();
    assert!(err.to_string().contains("no gradient"), "{err}");
    for (name, g) in grads(&vs) {
        assert_eq!(g.abs().sum(Kind::Float).double_value(&[]), 0.0, "{name}");
    }
}

#[test]
fn whole_model_gradients_match_with_dropout_on() {
    let _guard = lock();
    tch::set_num_threads(1);
    let mut cases = vec![
        (ModelConfig::study_gru(3), 2),
        (ModelConfig::study_gru(25), 2),
        (ModelConfig::study_node(3), 2),
        (ModelConfig::study_node(10), 2),
        (ModelConfig::study_node_discrete(3), 2),
    ];
    // Solvers beyond the study's: fixed steps (non-FSAL RK4, FSAL Tsit5)
    // and an adaptive method without FSAL (DOP853), all by the kernel.
    for solver in [
        latentdyn_models::NodeSolver::Fixed {
            method: latentdyn_models::Method::Rk4,
            steps_per_bin: 2,
        },
        latentdyn_models::NodeSolver::Fixed {
            method: latentdyn_models::Method::Tsit5,
            steps_per_bin: 1,
        },
        latentdyn_models::NodeSolver::Adaptive {
            method: latentdyn_models::Method::Dop853,
            rtol: 1e-3,
            atol: 1e-3,
            output: latentdyn_models::OutputMode::StepToOutputs,
        },
    ] {
        let mut cfg = ModelConfig::study_node(3);
        match &mut cfg.dynamics {
            latentdyn_models::DynamicsConfig::Node(n) => n.solver = solver,
            other => panic!("study_node has {other:?}"),
        }
        cases.push((cfg, 2));
    }
    for k in 0..5 {
        let cfg = ModelConfig::ablation(k, 3).unwrap();
        // MLP cells run by hand; the vanilla RNN cell stays with libtorch.
        let tapes = match &cfg.dynamics {
            latentdyn_models::DynamicsConfig::Discrete(d) => match d.cell {
                latentdyn_models::CellKind::Mlp { .. } => 2,
                latentdyn_models::CellKind::Rnn => 1,
            },
            _ => 2,
        };
        cases.push((cfg, tapes));
    }
    for (cfg, tapes) in cases {
        whole_model_matches(&cfg, tapes, 16);
    }
}

/// Two threads and a batch large enough to be split in halves (the GRU
/// dynamics and the MLP kernels then run each half on its own thread).
#[test]
fn whole_model_gradients_match_with_the_batch_split_across_threads() {
    let _guard = lock();
    tch::set_num_threads(2);
    for cfg in [
        ModelConfig::study_gru(3),
        ModelConfig::study_node(3),
        ModelConfig::study_node(20),
        ModelConfig::ablation(0, 3).unwrap(),
    ] {
        whole_model_matches(&cfg, 2, 150);
    }
    tch::set_num_threads(1);
}

fn whole_model_matches(cfg: &ModelConfig, tapes: usize, batch: i64) {
    {
        tch::manual_seed(11);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut model = SequentialAutoencoder::new(&vs.root(), cfg, 10).unwrap();
        let x = spikes(batch, 70, 10, 5);
        let step = |model: &SequentialAutoencoder| {
            zero(&vs);
            tch::manual_seed(99); // the same dropout masks for both paths
            let out = model.forward_t(&x, true).unwrap();
            let loss = poisson_nll(&out.log_rates, &x, None).unwrap();
            let taped = out.taped_layers();
            out.backward(&loss).unwrap();
            // The tapes ran: a second backward pass is refused.
            assert!(out.backward(&loss).is_err());
            (loss.double_value(&[]), taped, grads(&vs))
        };
        model.set_kernels(latentdyn_models::Kernels::Libtorch);
        let (loss_ref, taped_ref, g_ref) = step(&model);
        model.set_kernels(latentdyn_models::Kernels::Hand);
        let (loss, taped, g) = step(&model);
        assert_eq!((taped_ref, taped), (0, tapes));
        assert!(
            (loss - loss_ref).abs() < 1e-5 * loss_ref.abs(),
            "{loss} vs {loss_ref}"
        );
        for ((name, a), (_, b)) in g.iter().zip(&g_ref) {
            assert!(rel(a, b) < 1e-4, "{name}: relative error {}", rel(a, b));
        }
    }
}

#[test]
fn eval_mode_keeps_no_tapes_and_f64_models_use_libtorch() {
    let _guard = lock();
    tch::manual_seed(1);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = SequentialAutoencoder::new(&vs.root(), &ModelConfig::study_gru(3), 4).unwrap();
    let x = spikes(3, 8, 4, 2);
    assert_eq!(model.forward_t(&x, false).unwrap().taped_layers(), 0);
    assert_eq!(model.forward_t(&x, true).unwrap().taped_layers(), 2);
    vs.double();
    assert_eq!(model.forward_t(&x, true).unwrap().taped_layers(), 0);
}

/// The validation pass (evaluation mode, under `no_grad`, as the trainer
/// runs it) by the kernels equals libtorch's to f32 rounding, with the
/// same number of vector-field evaluations.
#[test]
fn eval_mode_by_the_kernels_matches_libtorch() {
    let _guard = lock();
    for threads in [1, 2] {
        tch::set_num_threads(threads);
        for cfg in [
            ModelConfig::study_gru(3),
            ModelConfig::study_gru(25),
            ModelConfig::study_node(3),
            ModelConfig::study_node(10),
            ModelConfig::study_node_discrete(3),
            ModelConfig::ablation(0, 3).unwrap(),
            ModelConfig::ablation(3, 3).unwrap(),
        ] {
            tch::manual_seed(21);
            let vs = nn::VarStore::new(Device::Cpu);
            let mut model = SequentialAutoencoder::new(&vs.root(), &cfg, 10).unwrap();
            // Large enough on two threads to split the batch (64 and 128 rows).
            let x = spikes(if threads == 2 { 150 } else { 40 }, 70, 10, 6);
            let pass = |model: &SequentialAutoencoder| {
                model.dynamics.reset_evaluations();
                let out = tch::no_grad(|| model.forward_t(&x, false).unwrap());
                assert_eq!(out.taped_layers(), 0);
                assert!(!out.log_rates.requires_grad());
                (out.log_rates, out.latents, model.dynamics.evaluations())
            };
            model.set_kernels(latentdyn_models::Kernels::Libtorch);
            let (rates_ref, latents_ref, nfe_ref) = pass(&model);
            model.set_kernels(latentdyn_models::Kernels::Hand);
            let (rates, latents, nfe) = pass(&model);
            assert_eq!(nfe, nfe_ref, "{cfg:?}: evaluations");
            assert!(
                rel(&rates, &rates_ref) < 1e-5,
                "{cfg:?}: log-rates {}",
                rel(&rates, &rates_ref)
            );
            assert!(rel(&latents, &latents_ref) < 1e-5, "{cfg:?}: latents");
        }
    }
    tch::set_num_threads(1);
}

#[test]
fn gru_dynamics_unroll_matches_libtorch_with_gradients_into_z0() {
    let _guard = lock();
    tch::manual_seed(5);
    let vs = nn::VarStore::new(Device::Cpu);
    let dynamics = GruDynamics::new(&vs.root(), 6).unwrap();
    tch::manual_seed(6);
    let z0 = Tensor::randn([7, 6], (Kind::Float, Device::Cpu)).set_requires_grad(true);
    let probe = Tensor::randn([7, 30, 6], (Kind::Float, Device::Cpu));

    let reference = dynamics.unroll(&z0, 30).unwrap();
    (&reference * &probe).sum(Kind::Float).backward();
    let g_ref = grads(&vs);
    let dz0_ref = z0.grad().copy();

    zero(&vs);
    let mut z0g = z0.grad();
    let _ = z0g.zero_();
    let mut tapes = Tapes::new();
    let latents = tapes.push(
        dynamics
            .unroll_taped(&z0, 30)
            .unwrap()
            .expect("f32 on the CPU"),
    );
    assert!(
        rel(&latents, &reference) < 1e-6,
        "{}",
        rel(&latents, &reference)
    );
    tapes
        .backward(&(&latents * &probe).sum(Kind::Float))
        .unwrap();
    for ((name, a), (_, b)) in grads(&vs).iter().zip(&g_ref) {
        if b.abs().max().double_value(&[]) == 0.0 {
            // weight_ih sees only zero inputs: no gradient either way.
            assert_eq!(a.abs().max().double_value(&[]), 0.0, "{name}");
        } else {
            assert!(rel(a, b) < 1e-5, "{name}: relative error {}", rel(a, b));
        }
    }
    assert!(
        rel(&z0.grad(), &dz0_ref) < 1e-5,
        "dz0: {}",
        rel(&z0.grad(), &dz0_ref)
    );
}

#[test]
fn node_unroll_matches_libtorch_with_the_same_evaluations_and_gradients() {
    let _guard = lock();
    tch::manual_seed(8);
    let vs = nn::VarStore::new(Device::Cpu);
    let cfg = match ModelConfig::study_node(3).dynamics {
        latentdyn_models::DynamicsConfig::Node(c) => c,
        other => panic!("study_node has {other:?}"),
    };
    let node = NodeDynamics::new(&vs.root(), 3, &cfg).unwrap();
    tch::manual_seed(9);
    let z0 = (Tensor::randn([40, 3], (Kind::Float, Device::Cpu)) * 0.8).set_requires_grad(true);
    let probe = Tensor::randn([40, 70, 3], (Kind::Float, Device::Cpu));

    node.reset_evaluations();
    let reference = node.unroll(&z0, 70).unwrap();
    let nfe_ref = node.evaluations().unwrap();
    (&reference * &probe).sum(Kind::Float).backward();
    let g_ref = grads(&vs);
    let dz0_ref = z0.grad().copy();

    zero(&vs);
    let _ = z0.grad().zero_();
    node.reset_evaluations();
    let mut tapes = Tapes::new();
    let latents = tapes.push(
        node.unroll_taped(&z0, 70)
            .unwrap()
            .expect("Tsit5 to the outputs"),
    );
    assert_eq!(
        node.evaluations().unwrap(),
        nfe_ref,
        "evaluations per forward"
    );
    assert!(
        rel(&latents, &reference) < 1e-5,
        "{}",
        rel(&latents, &reference)
    );
    tapes
        .backward(&(&latents * &probe).sum(Kind::Float))
        .unwrap();
    for ((name, a), (_, b)) in grads(&vs).iter().zip(&g_ref) {
        assert!(rel(a, b) < 1e-4, "{name}: relative error {}", rel(a, b));
    }
    assert!(
        rel(&z0.grad(), &dz0_ref) < 1e-4,
        "dz0: {}",
        rel(&z0.grad(), &dz0_ref)
    );
}
