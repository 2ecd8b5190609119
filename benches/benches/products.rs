//! The kernels' matrix products, one thread each, through the GEMM they use
//! (`matrixmultiply`, by `ndarray::linalg::general_mat_mul`) and through
//! libtorch's (MKL's sgemm, `Tensor::mm_out` on preallocated tensors), so
//! that the choice of GEMM in ARCHITECTURE.md rests on a measurement on the
//! machine at hand. The shapes are those of a GRU-SAE step on the arneodo
//! batch (650 trials split over two threads, encoder size 64, so 3H = 192):
//! the encoder's recurrent product forward, its state gradient, its
//! recurrent weights' gradient over a three-bin chunk, the GRU dynamics'
//! recurrent product at L = 100, and a 2048² product as the reference rate.
//! Criterion reports each as elements per second: FLOP/s.

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2};
use std::time::Duration;
use tch::{Device, Kind, Tensor};

/// (name, m, k, n, left stored transposed, right stored transposed):
/// C[m × n] = A[m × k] · B[k × n], each operand read through a transposed
/// view where the kernels read it so (weights stored [n × k] as
/// nn.Linear's; the gate gradients [k × m], bins × batch rows).
const SHAPES: [(&str, usize, usize, usize, bool, bool); 5] = [
    ("enc_recurrent_325x64x192", 325, 64, 192, false, true),
    ("enc_state_grad_325x192x64", 325, 192, 64, false, false),
    // CHUNK = 3 bins of 325 rows (gru.rs).
    ("enc_weight_grad_192x975x64", 192, 975, 64, true, false),
    ("gru100_recurrent_325x100x300", 325, 100, 300, false, true),
    ("square_2048", 2048, 2048, 2048, false, false),
];

fn filled(rows: usize, cols: usize, salt: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        ((i * 7 + j * 3 + salt) % 17) as f32 / 17.0 - 0.5
    })
}

fn view(x: &Array2<f32>, transposed: bool) -> ArrayView2<'_, f32> {
    if transposed {
        x.t()
    } else {
        x.view()
    }
}

fn bench_products(c: &mut Criterion) {
    tch::set_num_threads(1);
    let mut group = c.benchmark_group("products_t1");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, m, k, n, a_t, b_t) in SHAPES {
        group.throughput(Throughput::Elements((2 * m * n * k) as u64));
        let stored = |rows, cols, t, salt| {
            if t {
                filled(cols, rows, salt)
            } else {
                filled(rows, cols, salt)
            }
        };
        let (a, b) = (stored(m, k, a_t, 1), stored(k, n, b_t, 2));
        let (av, bv) = (view(&a, a_t), view(&b, b_t));
        let mut out = Array2::<f32>::zeros((m, n));
        group.bench_function(BenchmarkId::new("matrixmultiply", name), |bench| {
            bench.iter(|| general_mat_mul(1.0, &av, &bv, 0.0, &mut out))
        });
        let tensor = |x: &Array2<f32>, t: bool| {
            let x = Tensor::from_slice(x.as_slice().expect("contiguous"))
                .reshape([x.nrows() as i64, x.ncols() as i64]);
            if t {
                x.tr()
            } else {
                x
            }
        };
        let (ta, tb) = (tensor(&a, a_t), tensor(&b, b_t));
        let tout = Tensor::zeros([m as i64, n as i64], (Kind::Float, Device::Cpu));
        group.bench_function(BenchmarkId::new("libtorch", name), |bench| {
            bench.iter(|| {
                let _ = ta.mm_out(&tout, &tb);
            })
        });
        // Both compute the same product.
        let ours =
            Tensor::from_slice(out.as_slice().expect("contiguous")).reshape([m as i64, n as i64]);
        let diff = (&ours - &tout).abs().max().double_value(&[]);
        assert!(diff < 1e-3 * k as f64, "{name}: products differ by {diff}");
    }
    group.finish();
}

criterion_group!(benches, bench_products);

fn main() {
    latentdyn_benches::restart_tuned();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
