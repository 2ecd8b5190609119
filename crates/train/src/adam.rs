//! Adam with coupled L2 weight decay, as PyTorch's `torch.optim.Adam(weight_decay=…)`,
//! with its state saved and restored exactly so that a resumed run continues
//! bit for bit.
//!
//! tch's built-in optimisers live in libtorch and cannot export their
//! moments; this one keeps them as tensors we own.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{nn::VarStore, Kind, Tensor};

use crate::TrainError;

/// Adam's hyperparameters; defaults are PyTorch's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    /// Learning rate (constant; the study uses no schedule).
    pub lr: f64,
    /// Coupled L2 penalty: `weight_decay · θ` is added to the gradient.
    pub weight_decay: f64,
    /// Decay rates of the first and second moments.
    #[serde(default = "default_betas")]
    pub betas: (f64, f64),
    /// Added to the denominator for numerical stability.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

fn default_betas() -> (f64, f64) {
    (0.9, 0.999)
}

fn default_eps() -> f64 {
    1e-8
}

impl AdamConfig {
    /// PyTorch's defaults with the given learning rate and weight decay.
    pub fn new(lr: f64, weight_decay: f64) -> Self {
        Self {
            lr,
            weight_decay,
            betas: default_betas(),
            eps: default_eps(),
        }
    }
}

/// The optimiser: one first and second moment per parameter, and the step count.
#[derive(Debug)]
pub struct Adam {
    cfg: AdamConfig,
    /// Parameters sorted by name, so that the state file's order is stable.
    params: Vec<(String, Tensor)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: i64,
}

impl Adam {
    /// Adam over every trainable variable of `vs`.
    pub fn new(vs: &VarStore, cfg: AdamConfig) -> Self {
        let mut params: Vec<(String, Tensor)> = vs
            .variables()
            .into_iter()
            .filter(|(_, t)| t.requires_grad())
            .collect();
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let m = params.iter().map(|(_, p)| p.zeros_like()).collect();
        let v = params.iter().map(|(_, p)| p.zeros_like()).collect();
        Self {
            cfg,
            params,
            m,
            v,
            step: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AdamConfig {
        &self.cfg
    }

    /// Steps taken so far.
    pub fn steps(&self) -> i64 {
        self.step
    }

    /// Clears every parameter's gradient.
    pub fn zero_grad(&mut self) {
        for (_, p) in &mut self.params {
            p.zero_grad();
        }
    }

    /// One Adam update from the current gradients (parameters without a
    /// gradient are left alone, as PyTorch does).
    pub fn step(&mut self) {
        self.step += 1;
        let AdamConfig {
            lr,
            weight_decay,
            betas: (b1, b2),
            eps,
        } = self.cfg;
        let t = self.step as f64;
        let bias1 = 1.0 - b1.powf(t);
        let bias2_sqrt = (1.0 - b2.powf(t)).sqrt();
        let step_size = lr / bias1;
        tch::no_grad(|| {
            for (i, (_, p)) in self.params.iter_mut().enumerate() {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if weight_decay != 0.0 {
                    g + &*p * weight_decay
                } else {
                    g
                };
                let _ = self.m[i].lerp_(&g, 1.0 - b1);
                let _ = self.v[i].g_mul_scalar_(b2);
                let _ = self.v[i].g_add_(&(&g * &g * (1.0 - b2)));
                let denom = self.v[i].sqrt() / bias2_sqrt + eps;
                let update = &self.m[i] / denom * step_size;
                let _ = p.g_sub_(&update);
            }
        });
    }

    /// The state as named tensors (`adam.m.<param>`, `adam.v.<param>`,
    /// `adam.step`), to be stored beside the model's parameters.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut named: Vec<(String, Tensor)> = Vec::with_capacity(2 * self.params.len() + 1);
        for (i, (name, _)) in self.params.iter().enumerate() {
            named.push((format!("adam.m.{name}"), self.m[i].shallow_clone()));
            named.push((format!("adam.v.{name}"), self.v[i].shallow_clone()));
        }
        named.push(("adam.step".to_owned(), Tensor::from_slice(&[self.step])));
        named
    }

    /// Writes the moments and step count (safetensors), atomically.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        crate::io::write_tensors(path, &self.state_tensors())
    }

    /// Restores the state written by [`Adam::save`] for the same parameters.
    pub fn load(&mut self, path: &Path) -> Result<(), TrainError> {
        let tensors = crate::io::read_tensors(path)?;
        self.load_state(path, &tensors)
    }

    /// Restores the state from tensors named as [`Adam::state_tensors`]
    /// names them (read from `path`, which errors name).
    pub fn load_state(
        &mut self,
        path: &Path,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<(), TrainError> {
        let bad = |reason: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        let find = |key: &str| {
            tensors
                .get(key)
                .map(Tensor::shallow_clone)
                .ok_or_else(|| bad(format!("no tensor `{key}`")))
        };
        let step = find("adam.step")?;
        let step = step
            .to_kind(Kind::Int64)
            .f_int64_value(&[0])
            .map_err(|e| bad(e.to_string()))?;
        let mut m = Vec::with_capacity(self.params.len());
        let mut v = Vec::with_capacity(self.params.len());
        for (name, p) in &self.params {
            for (prefix, out) in [("m", &mut m), ("v", &mut v)] {
                let t = find(&format!("adam.{prefix}.{name}"))?;
                if t.size() != p.size() {
                    return Err(bad(format!(
                        "`adam.{prefix}.{name}` has shape {:?}, the parameter {:?}",
                        t.size(),
                        p.size()
                    )));
                }
                out.push(t.to_kind(p.kind()).to_device(p.device()));
            }
        }
        self.m = m;
        self.v = v;
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    /// A VarStore with one parameter `w` and a quadratic loss ½·c·‖w‖².
    fn quadratic(values: &[f64]) -> (VarStore, Tensor) {
        let mut vs = VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(values));
        vs.double();
        (vs, w)
    }

    fn backward(w: &Tensor, c: f64) {
        (w.square().sum(Kind::Double) * (0.5 * c)).backward();
    }

    #[test]
    fn matches_hand_computed_updates_with_coupled_weight_decay() {
        let (vs, w) = quadratic(&[1.0, -2.0]);
        let cfg = AdamConfig::new(0.1, 0.5);
        let mut opt = Adam::new(&vs, cfg);
        // By hand, per coordinate: g = c·w + wd·w; m, v the usual moments.
        let (b1, b2, eps, c) = (0.9f64, 0.999f64, 1e-8, 3.0);
        let mut p = [1.0f64, -2.0];
        let mut m = [0.0f64; 2];
        let mut v = [0.0f64; 2];
        for step in 1..=3 {
            opt.zero_grad();
            backward(&w, c);
            opt.step();
            for i in 0..2 {
                let g = c * p[i] + 0.5 * p[i];
                m[i] = b1 * m[i] + (1.0 - b1) * g;
                v[i] = b2 * v[i] + (1.0 - b2) * g * g;
                let mhat = m[i] / (1.0 - b1.powi(step));
                let vhat = v[i] / (1.0 - b2.powi(step));
                p[i] -= 0.1 * mhat / (vhat.sqrt() + eps);
            }
            let got: Vec<f64> = Vec::<f64>::try_from(&w).unwrap();
            for i in 0..2 {
                assert!(
                    (got[i] - p[i]).abs() < 1e-12,
                    "step {step}: {got:?} vs {p:?}"
                );
            }
        }
        assert_eq!(opt.steps(), 3);
    }

    #[test]
    fn state_round_trips_and_resumes_bit_identically() {
        let dir = tempfile::tempdir().unwrap();
        let run = |split: Option<usize>| -> Vec<f64> {
            let (vs, w) = quadratic(&[0.3, 0.7, -1.1]);
            let mut opt = Adam::new(&vs, AdamConfig::new(0.05, 1e-3));
            for step in 0..6 {
                if Some(step) == split {
                    let path = dir.path().join("adam.safetensors");
                    opt.save(&path).unwrap();
                    let mut fresh = Adam::new(&vs, AdamConfig::new(0.05, 1e-3));
                    fresh.load(&path).unwrap();
                    opt = fresh;
                }
                opt.zero_grad();
                backward(&w, 2.0);
                opt.step();
            }
            Vec::<f64>::try_from(&w).unwrap()
        };
        let straight = run(None);
        let resumed = run(Some(3));
        assert_eq!(
            straight.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            resumed.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn loading_state_of_another_model_names_the_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adam.safetensors");
        let (vs, _) = quadratic(&[1.0, 2.0]);
        Adam::new(&vs, AdamConfig::new(0.1, 0.0))
            .save(&path)
            .unwrap();
        let (other, _) = quadratic(&[1.0, 2.0, 3.0]);
        let err = Adam::new(&other, AdamConfig::new(0.1, 0.0))
            .load(&path)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("adam.m.w") && err.contains("adam.safetensors"),
            "{err}"
        );
        std::fs::write(&path, b"not a safetensors file").unwrap();
        let err = Adam::new(&vs, AdamConfig::new(0.1, 0.0))
            .load(&path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("adam.safetensors"), "{err}");
    }
}
