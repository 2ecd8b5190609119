//! Alignment of a model's fixed points to the true system's.
//!
//! The affine least-squares map from inferred to true latents
//! ([`AffineMap::fit`]) carries each model fixed point, and its eigenvectors,
//! into true coordinates. Model and true points are then paired by an optimal
//! assignment on distance in true units (the Hungarian method); pairs farther
//! apart than a threshold do not count. What is left over is *missing* (true
//! points without a model partner) or *spurious* (model points without a true
//! one). Eigenvalues need no map — they are invariant under a change of
//! coordinates — and are compared per matched pair, each true eigenvalue to a
//! distinct model eigenvalue, again by optimal assignment.

use latentdyn_data::Complex;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::fixed_points::FixedPoint;
use crate::{AffineMap, AnalysisError};

/// One model fixed point paired with one true fixed point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchedPair {
    /// Index into the model's points.
    pub model: usize,
    /// Index into the true points.
    pub truth: usize,
    /// The model point mapped into true coordinates.
    pub mapped_location: Vec<f64>,
    /// Distance between the mapped model point and the true point (true units).
    pub location_error: f64,
    /// The largest |λ_true − λ_model| over the true eigenvalues, each paired
    /// with a distinct model eigenvalue.
    pub eigenvalue_error: f64,
    /// The model eigenvalue paired with each true eigenvalue (in the true order).
    pub paired_eigenvalues: Vec<Complex>,
    /// |cos| of the angle between each true eigenvector and the paired model
    /// eigenvector mapped into true coordinates (1 = same direction).
    pub eigenvector_alignment: Vec<f64>,
}

/// How well a model's fixed points reproduce the true ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlignmentSummary {
    /// Pairs farther apart than this (true units) are not matches.
    pub max_distance: f64,
    /// The matched pairs.
    pub pairs: Vec<MatchedPair>,
    /// True points without a model partner (indices).
    pub missing: Vec<usize>,
    /// Model points without a true partner (indices).
    pub spurious: Vec<usize>,
    /// Mean location error over the pairs (`None` without pairs).
    pub mean_location_error: Option<f64>,
    /// Mean eigenvalue error over the pairs (`None` without pairs).
    pub mean_eigenvalue_error: Option<f64>,
}

/// Matches `model` fixed points (model coordinates) to `truth` (true
/// coordinates) through `to_true` (inferred → true), counting pairs within
/// `max_distance`.
pub fn align_fixed_points(
    model: &[FixedPoint],
    truth: &[FixedPoint],
    to_true: &AffineMap,
    max_distance: f64,
) -> Result<AlignmentSummary, AnalysisError> {
    let (din, dout) = to_true.weights.dim();
    let mut mapped = Array2::zeros((model.len(), dout));
    for (i, p) in model.iter().enumerate() {
        if p.location.len() != din {
            return Err(AnalysisError::Shape {
                what: "model fixed point",
                expected: vec![din],
                found: vec![p.location.len()],
            });
        }
        let x = Array1::from(p.location.clone());
        mapped
            .row_mut(i)
            .assign(&(x.dot(&to_true.weights) + &to_true.bias));
    }
    for p in truth {
        if p.location.len() != dout {
            return Err(AnalysisError::Shape {
                what: "true fixed point",
                expected: vec![dout],
                found: vec![p.location.len()],
            });
        }
    }
    let mut cost = Array2::zeros((truth.len(), model.len()));
    for (t, tp) in truth.iter().enumerate() {
        for m in 0..model.len() {
            let d = tp
                .location
                .iter()
                .zip(mapped.row(m))
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            cost[[t, m]] = d;
        }
    }
    let mut pairs = Vec::new();
    for (t, m) in assignment(&cost) {
        let d = cost[[t, m]];
        if d.is_nan() || d > max_distance {
            continue;
        }
        let (err, idx) = eigenvalue_error(&model[m].eigenvalues, &truth[t].eigenvalues);
        let alignment = idx
            .iter()
            .enumerate()
            .map(|(k, &j)| {
                let u = truth[t].eigenvectors.get(k);
                let v = model[m].eigenvectors.get(j);
                match (u, v) {
                    (Some(u), Some(v)) => direction_cosine(u, &map_direction(v, to_true)),
                    _ => f64::NAN,
                }
            })
            .collect();
        pairs.push(MatchedPair {
            model: m,
            truth: t,
            mapped_location: mapped.row(m).to_vec(),
            location_error: d,
            eigenvalue_error: err,
            paired_eigenvalues: idx.iter().map(|&j| model[m].eigenvalues[j]).collect(),
            eigenvector_alignment: alignment,
        });
    }
    pairs.sort_by_key(|p| p.truth);
    let missing = (0..truth.len())
        .filter(|t| !pairs.iter().any(|p| p.truth == *t))
        .collect();
    let spurious = (0..model.len())
        .filter(|m| !pairs.iter().any(|p| p.model == *m))
        .collect();
    let mean = |f: fn(&MatchedPair) -> f64| {
        (!pairs.is_empty()).then(|| pairs.iter().map(f).sum::<f64>() / pairs.len() as f64)
    };
    Ok(AlignmentSummary {
        max_distance,
        mean_location_error: mean(|p| p.location_error),
        mean_eigenvalue_error: mean(|p| p.eigenvalue_error),
        pairs,
        missing,
        spurious,
    })
}

/// A direction (row vector, complex) carried by the linear part of `map`: `v·W`.
pub fn map_direction(v: &[Complex], map: &AffineMap) -> Vec<Complex> {
    let (din, dout) = map.weights.dim();
    (0..dout)
        .map(|c| {
            let (mut re, mut im) = (0.0, 0.0);
            for r in 0..din.min(v.len()) {
                re += v[r].re * map.weights[[r, c]];
                im += v[r].im * map.weights[[r, c]];
            }
            Complex::new(re, im)
        })
        .collect()
}

/// |⟨u, v⟩| / (‖u‖‖v‖) for complex vectors (Hermitian product); NaN for a zero vector.
pub fn direction_cosine(u: &[Complex], v: &[Complex]) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (a, b) in u.iter().zip(v) {
        // conj(a)·b
        re += a.re * b.re + a.im * b.im;
        im += a.re * b.im - a.im * b.re;
    }
    let nu = u
        .iter()
        .map(|z| z.re * z.re + z.im * z.im)
        .sum::<f64>()
        .sqrt();
    let nv = v
        .iter()
        .map(|z| z.re * z.re + z.im * z.im)
        .sum::<f64>()
        .sqrt();
    if nu == 0.0 || nv == 0.0 {
        return f64::NAN;
    }
    re.hypot(im) / (nu * nv)
}

/// Pairs each true eigenvalue with a distinct model eigenvalue (optimal
/// assignment on |λ − μ|; with fewer model than true eigenvalues, the extra
/// true ones stay unpaired and the error is infinite). Returns the largest
/// paired distance and, per true eigenvalue, the model index.
pub fn eigenvalue_error(model: &[Complex], truth: &[Complex]) -> (f64, Vec<usize>) {
    if truth.is_empty() {
        return (0.0, Vec::new());
    }
    if model.len() < truth.len() {
        return (f64::INFINITY, Vec::new());
    }
    let cost = Array2::from_shape_fn((truth.len(), model.len()), |(t, m)| {
        (truth[t].re - model[m].re).hypot(truth[t].im - model[m].im)
    });
    let mut pairs = assignment(&cost);
    pairs.sort_by_key(|p| p.0);
    let err = pairs.iter().map(|&(t, m)| cost[[t, m]]).fold(0.0, f64::max);
    (err, pairs.into_iter().map(|p| p.1).collect())
}

/// A minimum-cost assignment between the rows and columns of `cost`
/// (rectangular allowed): `min(rows, cols)` pairs `(row, col)`, no row or
/// column twice, the total cost minimal (the Hungarian method with
/// potentials, O(n²m)). Non-finite costs are treated as very large.
pub fn assignment(cost: &Array2<f64>) -> Vec<(usize, usize)> {
    let (rows, cols) = cost.dim();
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    let finite_max = cost
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, |a, &b| a.max(b.abs()));
    let big = 1e6 * (1.0 + finite_max);
    let clean = |v: f64| if v.is_finite() { v } else { big };
    if rows > cols {
        let t = Array2::from_shape_fn((cols, rows), |(i, j)| clean(cost[[j, i]]));
        return hungarian(&t).into_iter().map(|(c, r)| (r, c)).collect();
    }
    hungarian(&cost.mapv(clean))
}

/// The Hungarian method for `n ≤ m` (rows ≤ columns), 1-based potentials.
fn hungarian(a: &Array2<f64>) -> Vec<(usize, usize)> {
    let (n, m) = a.dim();
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; m + 1];
    let mut p = vec![0usize; m + 1];
    let mut way = vec![0usize; m + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let cur = a[[i0 - 1, j - 1]] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    (1..=m)
        .filter(|&j| p[j] != 0)
        .map(|j| (p[j] - 1, j - 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed_points::{Stability, StabilityClass};
    use ndarray::array;

    fn point(location: Vec<f64>, eigenvalues: Vec<Complex>) -> FixedPoint {
        let l = location.len();
        FixedPoint {
            location,
            q: 0.0,
            q_adam: 0.0,
            iterations: 0,
            newton_shift: 0.0,
            jacobian: vec![vec![0.0; l]; l],
            eigenvectors: vec![vec![Complex::new(1.0, 0.0); l]; eigenvalues.len()],
            eigenvalues,
            stability: Stability {
                class: StabilityClass::Stable,
                unstable: 0,
                oscillatory: false,
            },
        }
    }

    #[test]
    fn assignment_is_optimal_on_a_classic_example() {
        let c = array![[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]];
        let mut p = assignment(&c);
        p.sort();
        assert_eq!(p, vec![(0, 1), (1, 0), (2, 2)]);
        // Rectangular both ways.
        let r = array![[10.0, 1.0, 7.0, 3.0], [1.0, 10.0, 9.0, 8.0]];
        let mut p = assignment(&r);
        p.sort();
        assert_eq!(p, vec![(0, 1), (1, 0)]);
        let mut p = assignment(&r.t().to_owned());
        p.sort();
        assert_eq!(p, vec![(0, 1), (1, 0)]);
    }

    #[test]
    fn assignment_matches_brute_force() {
        // Every permutation of 5 on pseudo-random costs.
        let c = Array2::from_shape_fn((5, 5), |(i, j)| ((i * 7 + j * 13 + i * j * 3) % 11) as f64);
        let best = permutations(5)
            .into_iter()
            .map(|p| p.iter().enumerate().map(|(i, &j)| c[[i, j]]).sum::<f64>())
            .fold(f64::INFINITY, f64::min);
        let got: f64 = assignment(&c).iter().map(|&(i, j)| c[[i, j]]).sum();
        assert_eq!(got, best);
    }

    fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for p in permutations(n - 1) {
            for k in 0..=p.len() {
                let mut q = p.clone();
                q.insert(k, n - 1);
                out.push(q);
            }
        }
        out
    }

    #[test]
    fn a_known_affine_transform_is_recovered_exactly() {
        // Truth in 3-D; the "model" sees an invertible affine image of it.
        let w_true_to_model = array![[2.0, 0.5, 0.0], [0.0, 1.0, -1.0], [1.0, 0.0, 3.0]];
        let b = array![1.0, -2.0, 0.5];
        let truth = Array2::from_shape_fn((200, 3), |(i, j)| {
            (i as f64 * 0.37 * (j as f64 + 1.0)).sin() * 3.0 + j as f64
        });
        let model = truth.dot(&w_true_to_model) + &b;
        let to_true = AffineMap::fit(model.view(), truth.view()).expect("fit");
        let back = model.dot(&to_true.weights) + &to_true.bias;
        let err = (&back - &truth).iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        assert!(err < 1e-9, "{err}");

        // Fixed points: the true ones, the model's images of them in shuffled order, and one extra.
        let eig = |a: f64| {
            vec![
                Complex::new(a, 0.0),
                Complex::new(0.9, 0.1),
                Complex::new(0.9, -0.1),
            ]
        };
        let tp = [
            vec![0.0, 0.0, 0.0],
            vec![1.0, 2.0, 3.0],
            vec![-1.0, 0.5, 2.0],
        ];
        let truth_pts: Vec<FixedPoint> = tp
            .iter()
            .enumerate()
            .map(|(k, l)| point(l.clone(), eig(1.0 + k as f64)))
            .collect();
        let img = |l: &Vec<f64>| (Array1::from(l.clone()).dot(&w_true_to_model) + &b).to_vec();
        let model_pts = vec![
            point(img(&tp[2]), eig(3.0)),
            point(vec![50.0, 50.0, 50.0], eig(1.0)),
            point(img(&tp[0]), eig(1.0 + 1e-3)),
        ];
        let s = align_fixed_points(&model_pts, &truth_pts, &to_true, 0.5).expect("align");
        assert_eq!(s.pairs.len(), 2);
        assert_eq!((s.pairs[0].truth, s.pairs[0].model), (0, 2));
        assert_eq!((s.pairs[1].truth, s.pairs[1].model), (2, 0));
        assert!(s.pairs.iter().all(|p| p.location_error < 1e-9));
        assert!((s.pairs[0].eigenvalue_error - 1e-3).abs() < 1e-12);
        assert!(s.pairs[1].eigenvalue_error < 1e-12);
        assert_eq!(s.missing, vec![1]);
        assert_eq!(s.spurious, vec![1]);
    }

    /// A linear system seen through an invertible affine map: the model's
    /// eigenvectors are the true ones carried through the map, so mapped back
    /// they are parallel to the truth's (|cos| = 1), scaled and with complex
    /// phases included; swapped eigenvectors are not.
    #[test]
    fn eigenvectors_map_back_onto_the_true_directions() {
        let w = array![[2.0, 0.5, 0.0], [0.0, 1.0, -1.0], [1.0, 0.0, 3.0]];
        let b = array![1.0, -2.0, 0.5];
        let truth = Array2::from_shape_fn((200, 3), |(i, j)| {
            (i as f64 * 0.29 * (j as f64 + 1.5)).cos() * 2.0 + j as f64
        });
        let model = truth.dot(&w) + &b;
        let to_true = AffineMap::fit(model.view(), truth.view()).expect("fit");
        // True eigenvectors (rows): one real, a complex pair.
        let c = |re: f64, im: f64| Complex::new(re, im);
        let u = vec![
            vec![c(1.0, 0.0), c(0.0, 0.0), c(0.5, 0.0)],
            vec![c(0.0, 0.0), c(1.0, 0.3), c(-0.2, 1.0)],
            vec![c(0.0, 0.0), c(1.0, -0.3), c(-0.2, -1.0)],
        ];
        // A direction maps as a row vector through the linear part: v = u·W,
        // then an arbitrary complex scale (eigenvectors have no fixed norm).
        let to_model = |u: &Vec<Complex>, scale: Complex| -> Vec<Complex> {
            (0..3)
                .map(|col| {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (r, ur) in u.iter().enumerate() {
                        re += ur.re * w[[r, col]];
                        im += ur.im * w[[r, col]];
                    }
                    Complex::new(re * scale.re - im * scale.im, re * scale.im + im * scale.re)
                })
                .collect()
        };
        let eig = vec![c(0.8, 0.0), c(0.9, 0.2), c(0.9, -0.2)];
        let mut true_pt = point(vec![0.5, 1.0, 2.0], eig.clone());
        true_pt.eigenvectors = u.clone();
        let loc = (Array1::from(true_pt.location.clone()).dot(&w) + &b).to_vec();
        let mut model_pt = point(loc.clone(), eig.clone());
        model_pt.eigenvectors = vec![
            to_model(&u[0], c(-3.0, 0.0)),
            to_model(&u[1], c(0.2, 0.7)),
            to_model(&u[2], c(0.2, -0.7)),
        ];
        let s = align_fixed_points(&[model_pt.clone()], &[true_pt.clone()], &to_true, 0.5)
            .expect("align");
        assert_eq!(s.pairs.len(), 1);
        for cos in &s.pairs[0].eigenvector_alignment {
            assert!(
                (cos - 1.0).abs() < 1e-9,
                "{:?}",
                s.pairs[0].eigenvector_alignment
            );
        }
        // The real eigenvector swapped with one of the pair: no longer parallel.
        let mut wrong = model_pt;
        wrong.eigenvectors.swap(0, 1);
        let s = align_fixed_points(&[wrong], &[true_pt], &to_true, 0.5).expect("align");
        assert!(s.pairs[0].eigenvector_alignment[0] < 0.99);
        assert!(s.pairs[0].eigenvector_alignment[1] < 0.99);
    }

    #[test]
    fn eigenvalue_error_pairs_distinct_eigenvalues() {
        let t = [
            Complex::new(1.0, 0.0),
            Complex::new(0.5, 0.2),
            Complex::new(0.5, -0.2),
        ];
        let m = [
            Complex::new(0.0, 0.0),
            Complex::new(0.5, -0.2),
            Complex::new(1.0, 0.01),
            Complex::new(0.5, 0.2),
        ];
        let (err, idx) = eigenvalue_error(&m, &t);
        assert_eq!(idx, vec![2, 3, 1]);
        assert!((err - 0.01).abs() < 1e-12);
        assert_eq!(eigenvalue_error(&m[..2], &t).0, f64::INFINITY);
    }
}
