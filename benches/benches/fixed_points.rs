//! Fixed-point search (the study's 1024 starts, Adam then Newton) on a node
//! L = 3 and a gru L = 25 model: a trained run's best checkpoint when
//! `LATENTDYN_BENCH_RUNS` names a grid directory holding
//! `arneodo/node-L3-s0` and `arneodo/gru-L25-s0`, else seeded untrained
//! models on random states. Prints how many points each search found.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use latentdyn_analysis::{find_fixed_points, FinderConfig, Flow, NODE_BIN_DT};
use latentdyn_models::{Dynamics, ModelConfig};
use ndarray::Array2;
use tch::{nn::VarStore, Device};

fn model(name: &str, cfg: &ModelConfig) -> (VarStore, Box<dyn Dynamics>) {
    tch::manual_seed(0);
    let mut vs = VarStore::new(Device::Cpu);
    let d = latentdyn_models::build_dynamics(
        &(vs.root() / "dynamics"),
        cfg.latent_size as i64,
        &cfg.dynamics,
    )
    .expect("dynamics");
    if let Ok(dir) = std::env::var("LATENTDYN_BENCH_RUNS") {
        let ckpt = PathBuf::from(dir)
            .join("arneodo")
            .join(name)
            .join("best.safetensors");
        // Only the dynamics' parameters are needed; the rest of the file is ignored.
        if let Err(e) = vs.load_partial(&ckpt) {
            eprintln!("{}: {e}; using the untrained model", ckpt.display());
        }
    }
    vs.double();
    (vs, d)
}

fn bench(c: &mut Criterion) {
    tch::set_num_threads(1);
    let mut group = c.benchmark_group("fixed_points");
    group.sample_size(10);
    for (name, cfg) in [
        ("node-L3-s0", ModelConfig::study_node(3)),
        ("gru-L25-s0", ModelConfig::study_gru(25)),
    ] {
        let (_vs, d) = model(name, &cfg);
        let flow = Flow::of_dynamics(d.as_ref(), NODE_BIN_DT).expect("flow");
        // Starts from states the model visits: a short unroll from small random states.
        let l = cfg.latent_size;
        let z0 = Array2::from_shape_fn((64, l), |(i, j)| 0.3 * ((i * l + j) as f64).sin());
        let z0t =
            tch::Tensor::from_slice(z0.as_slice().expect("contiguous")).reshape([64, l as i64]);
        let traj = tch::no_grad(|| d.unroll(&z0t, 70)).expect("unroll");
        let flat: Vec<f64> = Vec::try_from(traj.reshape([-1])).expect("f64");
        let states = Array2::from_shape_vec((64 * 70, l), flat).expect("shape");
        let cfg = FinderConfig::default();
        let found = find_fixed_points(&flow, states.view(), &cfg).expect("search");
        eprintln!(
            "{name}: {} fixed point(s) in {:.2} s",
            found.points.len(),
            found.seconds
        );
        group.bench_function(name, |b| {
            b.iter(|| find_fixed_points(&flow, states.view(), &cfg).expect("search"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
