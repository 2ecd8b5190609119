//! One step of each Runge–Kutta method on Lorenz (3-D, `Array1<f64>`).

use criterion::{criterion_group, criterion_main, Criterion};
use latentdyn_benches::{lorenz, lorenz_ic};
use latentdyn_ode::{solve_fixed, Method};
use std::hint::black_box;

fn bench_steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("ode_step");
    let y0 = lorenz_ic();
    let t = [0.0, 1e-3];
    for method in Method::ALL {
        let tableau = method.tableau();
        group.bench_function(method.to_string(), |b| {
            b.iter(|| {
                let sol = solve_fixed(&lorenz, black_box(&y0), &t, &tableau, 1).expect("finite");
                black_box(sol)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_steps);
criterion_main!(benches);
