//! Running a kernel over a batch: the output buffer, the split of the
//! batch across two threads for kernels whose trials are independent
//! ([`Kernel::split_rows`]), and the reassembly of the parts' gradients
//! (parameter gradients summed in part order, input gradients stacked).

use std::ops::Range;

use ndarray::{Array, ArrayView, Axis, Dimension, RemoveAxis, Slice};

use crate::split::{row_parts, two};
use crate::{pool, Grads, Kernel, KernelError, Threads};

/// What [`run`] kept for the backward pass: each part's rows and saved state.
#[derive(Debug)]
pub struct Run<K: Kernel> {
    parts: Vec<(Range<usize>, K::Saved)>,
    out_dim: K::Out,
    threads: Threads,
}

/// Runs `kernel` on `x` (batch first), in two halves on two threads when
/// the kernel allows it and `threads` is [`Threads::Two`]; `consume` reads
/// the output (to copy it out: the buffer is recycled afterwards). Returns
/// what `consume` returned and the record for [`Run::backward`].
pub fn run<K: Kernel, T>(
    kernel: &K,
    x: ArrayView<'_, f32, K::In>,
    threads: Threads,
    consume: impl FnOnce(ArrayView<'_, f32, K::Out>) -> T,
) -> Result<(T, Run<K>), KernelError> {
    let out_dim = kernel.output_dim(&x.raw_dim())?;
    let n = x.len_of(Axis(0));
    if out_dim.ndim() == 0 || out_dim[0] != n {
        return Err(KernelError::Shape {
            kernel: kernel.name(),
            what: "output",
            expected: format!("batch of {n} first"),
            found: out_dim.slice().to_vec(),
        });
    }
    let ranges = match kernel.split_rows() {
        Some(min) => row_parts(n, min, threads),
        None => std::iter::once(0..n).collect(),
    };
    let mut out = pool::array_of(out_dim.clone());
    let parts = if let [a, b] = &ranges[..] {
        let (xa, xb) = x.split_at(Axis(0), a.end);
        let (oa, ob) = out.view_mut().split_at(Axis(0), a.end);
        let (sa, sb) = two(
            threads,
            || kernel.forward(xa, oa, Threads::One),
            || kernel.forward(xb, ob, Threads::One),
        );
        vec![(a.clone(), sa?), (b.clone(), sb?)]
    } else {
        vec![(0..n, kernel.forward(x, out.view_mut(), threads)?)]
    };
    let value = consume(out.view());
    pool::give(out);
    Ok((
        value,
        Run {
            parts,
            out_dim,
            threads,
        },
    ))
}

impl<K: Kernel> Run<K> {
    /// The output's shape.
    pub fn output_dim(&self) -> &K::Out {
        &self.out_dim
    }

    /// The kernel's backward pass for ∂loss/∂output `d_out`, part by part
    /// (on two threads when the forward pass was split).
    pub fn backward(
        &self,
        kernel: &K,
        d_out: ArrayView<'_, f32, K::Out>,
    ) -> Result<Grads<K::In>, KernelError> {
        if d_out.raw_dim() != self.out_dim {
            return Err(KernelError::Shape {
                kernel: kernel.name(),
                what: "output gradient",
                expected: format!("{:?}", self.out_dim.slice()),
                found: d_out.shape().to_vec(),
            });
        }
        let part = |(rows, saved): &(Range<usize>, K::Saved), threads| {
            let d = d_out.slice_axis(Axis(0), Slice::from(rows.clone()));
            kernel.backward(saved, d, threads)
        };
        let results = match &self.parts[..] {
            [a, b] => {
                let (ga, gb) = two(
                    self.threads,
                    || part(a, Threads::One),
                    || part(b, Threads::One),
                );
                vec![ga?, gb?]
            }
            parts => parts
                .iter()
                .map(|p| part(p, self.threads))
                .collect::<Result<Vec<_>, _>>()?,
        };
        combine(kernel.name(), results)
    }
}

/// The parts' gradients as one: parameter gradients summed in part order,
/// input gradients stacked along the batch.
fn combine<D: Dimension + RemoveAxis>(
    kernel: &'static str,
    parts: Vec<Grads<D>>,
) -> Result<Grads<D>, KernelError> {
    let mut parts = parts.into_iter();
    let Some(mut total) = parts.next() else {
        return Err(KernelError::Parameters {
            kernel,
            reason: "a run without parts".into(),
        });
    };
    let mut inputs: Vec<Option<Array<f32, D>>> = vec![total.input.take()];
    for p in parts {
        if p.params.len() != total.params.len() {
            return Err(KernelError::Parameters {
                kernel,
                reason: format!(
                    "parts gave {} and {} parameter gradients",
                    total.params.len(),
                    p.params.len()
                ),
            });
        }
        for (acc, g) in total.params.iter_mut().zip(&p.params) {
            if acc.shape() != g.shape() {
                return Err(KernelError::Shape {
                    kernel,
                    what: "parameter gradient of a part",
                    expected: format!("{:?}", acc.shape()),
                    found: g.shape().to_vec(),
                });
            }
            *acc += g;
        }
        inputs.push(p.input);
    }
    total.input = if inputs.len() == 1 {
        inputs.pop().flatten()
    } else if inputs.iter().all(Option::is_some) {
        let views: Vec<_> = inputs.iter().flatten().map(|a| a.view()).collect();
        let stacked = ndarray::concatenate(Axis(0), &views).map_err(|e| KernelError::Shape {
            kernel,
            what: "input gradients of the parts",
            expected: format!("one shape but for the batch ({e})"),
            found: views.iter().flat_map(|v| v.shape().to_vec()).collect(),
        })?;
        Some(stacked)
    } else {
        None
    };
    Ok(total)
}
