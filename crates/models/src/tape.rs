//! The adapter that plugs a hand-written kernel (`latentdyn-kernels`) into
//! libtorch's autograd, and the stack that runs the kernels' backward
//! passes.
//!
//! [`Taped::run`] copies a layer's input and parameters out of libtorch,
//! runs the [`Kernel`], and returns its output as a fresh leaf tensor that
//! requires grad. After `loss.backward()` has filled that leaf's `.grad`,
//! the tape runs the kernel's backward pass and hands the gradients back to
//! autograd through the surrogate Σ⟨p, g⟩ (whose gradient in p is exactly
//! g), over the parameters and the input, so gradients keep flowing to
//! whatever produced the input.
//!
//! The contract is enforced here, not described: a tape can only be run by
//! [`Tapes::backward`], which runs `loss.backward()` and then every tape
//! once, in reverse order of the forward passes (a layer's output gradient
//! is complete only after every later layer has injected its own); and a
//! tape whose output has no gradient at that point is an error
//! ([`ModelError::Tape`]), never a silent zero.

use std::fmt;

use latentdyn_kernels::{run, Kernel, Run, Threads};
use ndarray::{Array, ArrayD, ArrayViewD, Dimension, IxDyn};
use tch::{Device, Kind, Tensor};

use crate::ModelError;

/// A layer's output computed by a hand-written kernel, and the rest of its
/// backward pass; push it onto [`Tapes`] to use the output.
pub struct Taped {
    output: Tensor,
    tape: Box<dyn Tape>,
}

impl fmt::Debug for Taped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Taped")
            .field("output", &self.output.size())
            .field("tape", &self.tape)
            .finish()
    }
}

/// The rest of a backward pass that ran outside autograd. Private: only
/// [`Tapes::backward`] runs one, once, in the right order.
trait Tape: fmt::Debug + Send {
    /// Reads the output leaf's gradient and accumulates the gradients of
    /// the layer's parameters and input into their `.grad`.
    fn backward(self: Box<Self>) -> Result<(), ModelError>;
}

/// Whether the kernels run for `tensors` (every one f32 on the CPU).
pub(crate) fn kernel_applies(tensors: &[&Tensor]) -> bool {
    tensors
        .iter()
        .all(|t| t.device() == Device::Cpu && t.kind() == Kind::Float)
}

/// The kernels' thread budget: libtorch's (a grid worker given one thread
/// stays on one core).
pub(crate) fn threads() -> Threads {
    Threads::from_count(usize::try_from(tch::get_num_threads()).unwrap_or(1))
}

impl Taped {
    /// Runs the kernel that `make` builds from the parameters' values on
    /// `input`, with `params` as the tensors that receive its parameter
    /// gradients (in the kernel's parameter order).
    pub fn run<K, F>(input: &Tensor, params: &[&Tensor], make: F) -> Result<Taped, ModelError>
    where
        K: Kernel + 'static,
        F: FnOnce(&[ArrayD<f32>]) -> Result<K, latentdyn_kernels::KernelError>,
    {
        let values = params
            .iter()
            .map(|p| to_array(p))
            .collect::<Result<Vec<_>, _>>()?;
        let kernel = make(&values)?;
        let x = to_array(input)?
            .into_dimensionality::<K::In>()
            .map_err(|_| ModelError::Shape {
                what: "kernel input",
                expected: format!("{} dimensions", K::In::NDIM.unwrap_or(0)),
                found: input.size(),
            })?;
        let (output, record) = run(&kernel, x.view(), threads(), |out| {
            to_tensor(out.into_dyn()).map(|t| t.set_requires_grad(true))
        })?;
        let output = output?;
        let tape = KernelTape {
            kernel,
            record,
            leaf: output.shallow_clone(),
            input: input.shallow_clone(),
            params: params.iter().map(|p| p.shallow_clone()).collect(),
        };
        Ok(Taped {
            output,
            tape: Box::new(tape),
        })
    }

    /// The output leaf (what [`Tapes::push`] returns).
    pub fn output(&self) -> &Tensor {
        &self.output
    }

    /// The output alone, detached, the backward pass dropped (evaluation).
    pub fn into_output(self) -> Tensor {
        self.output.detach()
    }
}

/// Hand-written backward passes of one forward pass, in forward order.
#[derive(Debug, Default)]
pub struct Tapes {
    stack: Vec<Box<dyn Tape>>,
}

impl Tapes {
    /// An empty stack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `taped`'s backward pass and returns its output, for the
    /// layers that follow.
    pub fn push(&mut self, taped: Taped) -> Tensor {
        self.stack.push(taped.tape);
        taped.output
    }

    /// Layers recorded.
    pub fn len(&self) -> usize {
        self.stack.len()
    }

    /// Whether no layer ran by hand.
    pub fn is_empty(&self) -> bool {
        self.stack.is_empty()
    }

    /// Backpropagates `loss` into every parameter's `.grad`: autograd
    /// first, then each recorded layer, the last first.
    pub fn backward(self, loss: &Tensor) -> Result<(), ModelError> {
        loss.f_backward()?;
        for tape in self.stack.into_iter().rev() {
            tape.backward()?;
        }
        Ok(())
    }
}

/// A kernel's forward record with the tensors its gradients go to.
struct KernelTape<K: Kernel> {
    kernel: K,
    record: Run<K>,
    leaf: Tensor,
    input: Tensor,
    params: Vec<Tensor>,
}

impl<K: Kernel> fmt::Debug for KernelTape<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelTape")
            .field("kernel", &self.kernel.name())
            .field("output", &self.leaf.size())
            .finish_non_exhaustive()
    }
}

impl<K: Kernel + 'static> Tape for KernelTape<K> {
    fn backward(self: Box<Self>) -> Result<(), ModelError> {
        let g = self.leaf.f_grad()?;
        if !g.defined() {
            return Err(ModelError::Tape {
                kernel: self.kernel.name(),
                reason: "its output has no gradient: the loss does not depend on it, or a \
                         later layer's tape has not run yet"
                    .into(),
            });
        }
        let d_out =
            to_array(&g)?
                .into_dimensionality::<K::Out>()
                .map_err(|_| ModelError::Shape {
                    what: "kernel output gradient",
                    expected: format!("{:?}", self.record.output_dim().slice()),
                    found: g.size(),
                })?;
        let grads = self.record.backward(&self.kernel, d_out.view())?;
        if grads.params.len() != self.params.len() {
            return Err(ModelError::Tape {
                kernel: self.kernel.name(),
                reason: format!(
                    "{} parameter gradients for {} parameters",
                    grads.params.len(),
                    self.params.len()
                ),
            });
        }
        let mut pairs: Vec<(&Tensor, ArrayViewD<'_, f32>)> = self
            .params
            .iter()
            .zip(grads.params.iter().map(|g| g.view()))
            .collect();
        let input_grad = grads.input.map(Array::into_dyn);
        match &input_grad {
            Some(d) => pairs.push((&self.input, d.view())),
            None if self.input.requires_grad() => {
                return Err(ModelError::Tape {
                    kernel: self.kernel.name(),
                    reason: "its input requires grad, but the kernel gives no input gradient"
                        .into(),
                })
            }
            None => {}
        }
        inject(&pairs)
    }
}

/// A tensor of any shape as an f32 array (a copy).
fn to_array(t: &Tensor) -> Result<ArrayD<f32>, ModelError> {
    let size = t.size();
    let data = Vec::<f32>::try_from(
        &t.f_detach()?
            .f_to_kind(Kind::Float)?
            .f_contiguous()?
            .f_flatten(0, -1)?,
    )?;
    let dims: Vec<usize> = size.iter().map(|&n| n as usize).collect();
    ArrayD::from_shape_vec(IxDyn(&dims), data).map_err(|e| ModelError::Shape {
        what: "tensor to copy",
        expected: e.to_string(),
        found: size,
    })
}

/// An f32 array as a tensor of the same shape (a copy).
fn to_tensor(a: ArrayViewD<'_, f32>) -> Result<Tensor, ModelError> {
    let shape: Vec<i64> = a.shape().iter().map(|&n| n as i64).collect();
    let a = a.as_standard_layout();
    Ok(Tensor::f_from_slice(a.as_slice().expect("standard layout"))?.f_reshape(&shape)?)
}

/// Accumulates each gradient array `g` into its tensor `p`'s gradient — and
/// through `p` into whatever `p` was computed from — by backpropagating
/// Σ⟨p, g⟩. `g` holds `p`'s elements in row-major order; a different
/// number of elements is an error.
fn inject(pairs: &[(&Tensor, ArrayViewD<'_, f32>)]) -> Result<(), ModelError> {
    let mut total: Option<Tensor> = None;
    for (p, g) in pairs {
        if !p.requires_grad() {
            continue;
        }
        if g.len() != p.numel() {
            return Err(ModelError::Shape {
                what: "kernel gradient",
                expected: format!("{} elements, as {:?}", p.numel(), p.size()),
                found: g.shape().iter().map(|&n| n as i64).collect(),
            });
        }
        let g = to_tensor(g.view())?.f_reshape(p.size())?;
        let term = p.f_flatten(0, -1)?.f_dot(&g.f_flatten(0, -1)?)?;
        total = Some(match total {
            Some(acc) => acc.f_add(&term)?,
            None => term,
        });
    }
    if let Some(t) = total {
        t.f_backward()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use latentdyn_kernels::GruUnroll;

    /// Two chained kernels run in the wrong order: the first finds no
    /// gradient on its output and says so instead of adding zero.
    #[test]
    fn a_tape_run_out_of_order_is_an_error() {
        tch::manual_seed(0);
        let w = |shape: &[i64]| {
            Tensor::randn(shape, (Kind::Float, Device::Cpu)).set_requires_grad(true)
        };
        let (w_ih, w_hh, b_ih, b_hh) = (w(&[6, 1]), w(&[6, 2]), w(&[6]), w(&[6]));
        let params = [&w_ih, &w_hh, &b_ih, &b_hh];
        let z0 = w(&[3, 2]);
        let first = Taped::run(&z0, &params, |p| GruUnroll::new(p, 4)).unwrap();
        let last_state = first.output().select(1, 3);
        let second = Taped::run(&last_state, &params, |p| GruUnroll::new(p, 4)).unwrap();
        let loss = second.output().sum(Kind::Float);
        loss.backward();
        // Right order: the second tape first. Wrong order: the first.
        let err = first.tape.backward().unwrap_err();
        assert!(err.to_string().contains("has no gradient"), "{err}");
        second.tape.backward().unwrap();
    }

    #[test]
    fn a_gradient_of_the_wrong_size_is_an_error() {
        let p = Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let g = ArrayD::<f32>::zeros(IxDyn(&[5]));
        let err = inject(&[(&p, g.view())]).unwrap_err();
        assert!(err.to_string().contains("6 elements"), "{err}");
    }
}
