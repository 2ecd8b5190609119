//! GPU tests, behind the `cuda-tests` feature: the same model on CUDA and on
//! the CPU gives the same outputs, for every dynamics.
#![cfg(feature = "cuda-tests")]

use latentdyn_models::{DeviceChoice, ModelConfig, SequentialAutoencoder};
use tch::{nn, Device, Kind, Tensor};

#[test]
fn cuda_matches_cpu() {
    let device = DeviceChoice::Cuda(0).resolve().expect("a CUDA device");
    assert_eq!(DeviceChoice::Auto.resolve().unwrap(), device);
    let spikes = Tensor::rand([16, 70, 10], (Kind::Float, Device::Cpu))
        .f_mul_scalar(3.0)
        .unwrap()
        .floor();
    for cfg in [
        ModelConfig::study_gru(25),
        ModelConfig::study_node(3),
        ModelConfig::study_node_discrete(10),
    ] {
        let cpu_vs = nn::VarStore::new(Device::Cpu);
        let cpu = SequentialAutoencoder::new(&cpu_vs.root(), &cfg, 10).unwrap();
        let mut gpu_vs = nn::VarStore::new(device);
        let gpu = SequentialAutoencoder::new(&gpu_vs.root(), &cfg, 10).unwrap();
        gpu_vs.copy(&cpu_vs).unwrap();
        let a = cpu.forward_t(&spikes, false).unwrap().log_rates;
        // spikes on the CPU are moved to the model's device by forward_t
        let b = gpu
            .forward_t(&spikes, false)
            .unwrap()
            .log_rates
            .to_device(Device::Cpu);
        let diff = (a - b).abs().max().double_value(&[]);
        assert!(diff < 1e-3, "{cfg:?}: {diff}");
    }
}
