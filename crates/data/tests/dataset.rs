//! Dataset invariants, files and their validation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use latentdyn_data::{generate, DataError, Dataset, DatasetSpec, SystemKind};
use ndarray::{Array1, Array2, Array3, Axis};
use ndarray_npy::NpzWriter;

fn small(system: SystemKind, seed: u64) -> DatasetSpec {
    DatasetSpec {
        system,
        obs_dim: 12,
        n_samples: 50,
        n_timesteps: 20,
        pts_per_period: system.system().default_pts_per_period(),
        seed,
    }
}

#[test]
fn invariants_hold_for_every_system() {
    for system in SystemKind::ALL {
        let spec = small(system, 3);
        let ds = generate(&spec).unwrap();
        let d = system.system().dimension();
        assert_eq!(ds.latents.dim(), (50, 20, d), "{system}");
        assert_eq!(ds.rates.dim(), (50, 20, 12));
        assert_eq!(ds.spikes.dim(), (50, 20, 12));
        assert_eq!(ds.times.dim(), (50, 20));
        assert_eq!(ds.readout.dim(), (d, 12));
        // Readout entries in (−0.5, 0.5), columns sorted by the first row.
        assert!(ds.readout.iter().all(|v| v.abs() < 0.5));
        assert!(ds
            .readout
            .row(0)
            .windows(2)
            .into_iter()
            .all(|w| w[0] <= w[1]));
        // Splits: disjoint, covering, sized 64/16/20.
        let (tr, va, te) = spec.split_sizes();
        assert_eq!(
            (ds.train_idx.len(), ds.valid_idx.len(), ds.test_idx.len()),
            (tr, va, te)
        );
        let mut all: Vec<usize> = ds
            .train_idx
            .iter()
            .chain(&ds.valid_idx)
            .chain(&ds.test_idx)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
        // Each channel's log-rate is standardised over all points.
        let logr = ds
            .rates
            .mapv(f64::ln)
            .into_shape_with_order((1000, 12))
            .unwrap();
        for c in 0..12 {
            let col = logr.column(c);
            let m = col.mean().unwrap();
            let s = col.std(0.0);
            assert!(
                m.abs() < 1e-10 && (s - 1.0).abs() < 1e-10,
                "{system} channel {c}: {m} {s}"
            );
        }
        // Spike counts are Poisson around the rates: the mean count matches the mean rate
        // within 5 standard errors, and the mean rate is near e^0.5 (exact for Gaussian activity).
        let n = ds.spikes.len() as f64;
        let mean_rate = ds.rates.sum() / n;
        let mean_count = ds.spikes.iter().map(|&k| k as f64).sum::<f64>() / n;
        assert!(
            (mean_count - mean_rate).abs() < 5.0 * (mean_rate / n).sqrt(),
            "{system}: {mean_count} vs {mean_rate}"
        );
        assert!(
            (mean_rate - 0.5f64.exp()).abs() < 0.6,
            "{system}: mean rate {mean_rate}"
        );
        // Times are the consecutive linspace grid.
        let t = ds.times.as_slice().unwrap();
        assert_eq!(t[0], 0.0);
        assert!((t[999] - spec.tlim()).abs() < 1e-9);
        if system == SystemKind::MacArthur {
            let z = ds.latents.to_shape((1000, d)).unwrap();
            for c in 0..d {
                let col = z.column(c);
                assert!(col.mean().unwrap().abs() < 1e-10 && (col.std(0.0) - 1.0).abs() < 1e-10);
            }
            assert!(ds.metadata.latents.raw_mean.is_some());
        }
        let summary = ds.summary();
        assert_eq!(summary.shape, [50, 20, 12]);
        assert!((summary.mean_spike_count - mean_count).abs() < 1e-12);
        assert!(summary.to_string().contains(&spec.name()));
    }
}

#[test]
fn mackey_glass_is_chaotic_and_embedded() {
    let spec = DatasetSpec {
        n_samples: 40,
        n_timesteps: 70,
        ..small(SystemKind::MackeyGlass, 0)
    };
    let ds = generate(&spec).unwrap();
    let mg = ds.metadata.mackey_glass.clone().unwrap();
    assert_eq!(mg.embedding_stride, 9, "study grid: floor(τ / Δ) = 9");
    let z = ds.latents.to_shape((2800, 10)).unwrap();
    // Column i at row j + s equals column i + 1 at row j... shifted: col i (row j + s) = col i+1 (row j).
    for j in 0..100 {
        for i in 0..9 {
            assert_eq!(z[[j + 9, i]], z[[j, i + 1]]);
        }
    }
    let x = z.column(9);
    let (lo, hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let std = x.std(0.0);
    eprintln!(
        "study MackeyGlass x(t): range [{lo:.3}, {hi:.3}], mean {:.3}, std {std:.3}",
        x.mean().unwrap()
    );
    assert!(
        lo > 0.0 && hi < 2.0 && hi - lo > 0.5 && std > 0.1,
        "[{lo}, {hi}] std {std}"
    );
    // Two histories diverge (sensitive dependence), though they start 1e-2 apart at most.
    let other = generate(&DatasetSpec { seed: 1, ..spec }).unwrap();
    let diff = (&ds.latents - &other.latents).mapv(f64::abs);
    assert!(diff.iter().cloned().fold(0.0, f64::max) > 0.3);
}

#[test]
fn same_seed_same_bytes_other_seed_other_data() {
    let spec = small(SystemKind::Lorenz, 5);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pa = generate(&spec).unwrap().save(a.path()).unwrap();
    let pb = generate(&spec).unwrap().save(b.path()).unwrap();
    assert_eq!(std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
    assert_eq!(
        std::fs::read(pa.with_extension("json")).unwrap(),
        std::fs::read(pb.with_extension("json")).unwrap()
    );
    let ds = generate(&spec).unwrap();
    let other = generate(&DatasetSpec { seed: 6, ..spec }).unwrap();
    assert_ne!(ds.readout, other.readout);
    assert_ne!(ds.spikes, other.spikes);
    assert_ne!(ds.test_idx, other.test_idx);
    assert_eq!(
        ds.latents, other.latents,
        "the latent trajectory does not depend on the seed"
    );
    // Round trip through the files, from either path.
    assert_eq!(Dataset::load(&pa).unwrap(), ds);
    assert_eq!(Dataset::load(&pa.with_extension("json")).unwrap(), ds);
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn another_seeds_arrays_under_this_metadata_are_refused() {
    let spec = small(SystemKind::Arneodo, 0);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let p0 = generate(&spec).unwrap().save(a.path()).unwrap();
    let other = generate(&DatasetSpec { seed: 1, ..spec }).unwrap();
    let p1 = other.save(b.path()).unwrap();
    assert_ne!(
        other.content_sha256(),
        generate(&spec).unwrap().content_sha256()
    );
    // seed-1 arrays under the seed-0 name and metadata
    std::fs::copy(&p1, &p0).unwrap();
    let e = Dataset::load(&p0).unwrap_err().to_string();
    assert!(e.contains("content_sha256") && e.contains("--force"), "{e}");
    // A metadata file from before the field existed is read unchecked.
    let json = p0.with_extension("json");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    meta.as_object_mut().unwrap().remove("content_sha256");
    std::fs::write(&json, serde_json::to_string(&meta).unwrap()).unwrap();
    assert!(Dataset::load(&p0).is_ok());
}

#[test]
fn other_tools_dtypes_and_compressed_archives_are_read() {
    // numpy's common choices: int32 / uint8 counts, int32 indices, float32
    // rates and latents, written by np.savez_compressed.
    let spec = small(SystemKind::Lorenz, 1);
    let ds = generate(&spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let npz = ds.save(dir.path()).unwrap();
    let json = npz.with_extension("json");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    meta.as_object_mut().unwrap().remove("content_sha256");
    std::fs::write(&json, serde_json::to_string(&meta).unwrap()).unwrap();
    for counts_u8 in [false, true] {
        let f = std::fs::File::create(&npz).unwrap();
        let mut w = NpzWriter::new_compressed(f);
        if counts_u8 {
            w.add_array("spikes", &ds.spikes.mapv(|v| v.min(255) as u8))
                .unwrap();
        } else {
            w.add_array("spikes", &ds.spikes.mapv(|v| v as i32))
                .unwrap();
        }
        w.add_array("rates", &ds.rates.mapv(|v| v as f32)).unwrap();
        w.add_array("latents", &ds.latents.mapv(|v| v as f32))
            .unwrap();
        w.add_array("times", &ds.times).unwrap();
        w.add_array("readout", &ds.readout).unwrap();
        w.add_array("orig_mean", &ds.orig_mean).unwrap();
        w.add_array("orig_std", &ds.orig_std).unwrap();
        for (k, idx) in [
            ("train_idx", &ds.train_idx),
            ("valid_idx", &ds.valid_idx),
            ("test_idx", &ds.test_idx),
        ] {
            w.add_array(k, &Array1::from_iter(idx.iter().map(|&i| i as i32)))
                .unwrap();
        }
        w.finish().unwrap();
        let back = Dataset::load(&npz).unwrap_or_else(|e| panic!("{e}"));
        if !counts_u8 {
            assert_eq!(back.spikes, ds.spikes);
        }
        assert_eq!(back.train_idx, ds.train_idx);
        assert!((&back.rates - &ds.rates)
            .iter()
            .all(|d| d.abs() < 1e-5 * 50.0));
    }
    // A boolean array is refused, saying what is accepted.
    let f = std::fs::File::create(&npz).unwrap();
    let mut w = NpzWriter::new(f);
    w.add_array("spikes", &ds.spikes.mapv(|v| v > 0)).unwrap();
    w.finish().unwrap();
    let e = Dataset::load(&npz).unwrap_err().to_string();
    assert!(
        e.contains("`spikes`") && e.contains("accepted dtypes"),
        "{e}"
    );
}

#[test]
fn temporary_files_of_killed_writers_are_removed() {
    let spec = small(SystemKind::Arneodo, 4);
    let dir = tempfile::tempdir().unwrap();
    let name = spec.name();
    let dead = dir.path().join(format!(".{name}.npz.tmp{}", u32::MAX));
    let alive = dir.path().join(format!(".{name}.npz.tmp1"));
    std::fs::write(&dead, b"half a dataset").unwrap();
    std::fs::write(&alive, b"being written").unwrap();
    generate(&spec).unwrap().save(dir.path()).unwrap();
    assert!(!dead.exists(), "a killed writer's temporary file stayed");
    assert!(
        alive.exists(),
        "a living writer's temporary file was removed"
    );
}

#[test]
fn generate_many_runs_in_parallel_and_in_order() {
    let specs = [small(SystemKind::Arneodo, 0), small(SystemKind::Rossler, 0)];
    let out = latentdyn_data::generate_many(&specs);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].as_ref().unwrap().spec, specs[1]);
}

/// Saves a small dataset and returns (dir guard, npz path, dataset).
fn saved() -> (tempfile::TempDir, PathBuf, Dataset) {
    let dir = tempfile::tempdir().unwrap();
    let ds = generate(&small(SystemKind::Arneodo, 1)).unwrap();
    let p = ds.save(dir.path()).unwrap();
    (dir, p, ds)
}

/// Rewrites the npz with `edit` applied to the named arrays.
fn rewrite(path: &Path, ds: &Dataset, edit: impl Fn(&mut BTreeMap<&str, ndarray::ArrayD<f64>>)) {
    let mut m: BTreeMap<&str, ndarray::ArrayD<f64>> = BTreeMap::new();
    m.insert("rates", ds.rates.clone().into_dyn());
    m.insert("latents", ds.latents.clone().into_dyn());
    m.insert("times", ds.times.clone().into_dyn());
    m.insert("readout", ds.readout.clone().into_dyn());
    m.insert("orig_mean", ds.orig_mean.clone().into_dyn());
    m.insert("orig_std", ds.orig_std.clone().into_dyn());
    m.insert("spikes", ds.spikes.mapv(f64::from).into_dyn());
    edit(&mut m);
    let mut w = NpzWriter::new(std::fs::File::create(path).unwrap());
    for (k, v) in &m {
        w.add_array(*k, v).unwrap();
    }
    let idx = |v: &[usize]| Array1::from_iter(v.iter().map(|&i| i as i64));
    w.add_array("train_idx", &idx(&ds.train_idx)).unwrap();
    w.add_array("valid_idx", &idx(&ds.valid_idx)).unwrap();
    w.add_array("test_idx", &idx(&ds.test_idx)).unwrap();
    w.finish().unwrap();
}

fn message(e: &DataError) -> String {
    e.to_string()
}

#[test]
fn float_spikes_are_accepted_when_integral() {
    let (_d, p, ds) = saved();
    rewrite(&p, &ds, |_| {});
    assert_eq!(Dataset::load(&p).unwrap().spikes, ds.spikes);
}

#[test]
fn corrupt_files_are_rejected_with_the_file_and_field() {
    // Truncated archive.
    let (_d, p, _) = saved();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let e = Dataset::load(&p).unwrap_err();
    assert!(matches!(e, DataError::Corrupt { .. }), "{e:?}");
    assert!(message(&e).contains(&p.display().to_string()), "{e}");

    // Missing metadata.
    let (_d, p, _) = saved();
    std::fs::remove_file(p.with_extension("json")).unwrap();
    let e = Dataset::load(&p).unwrap_err();
    assert!(matches!(e, DataError::Missing { .. }), "{e:?}");
    assert!(message(&e).contains(".json"), "{e}");

    // NaN in spikes (a float array) and in rates.
    let (_d, p, ds) = saved();
    rewrite(&p, &ds, |m| {
        m.get_mut("spikes").unwrap()[[3, 4, 5]] = f64::NAN
    });
    let e = Dataset::load(&p).unwrap_err();
    assert!(
        matches!(&e, DataError::NonFinite { field, index, .. } if field == "spikes" && index == &vec![3, 4, 5]),
        "{e:?}"
    );
    assert!(
        message(&e).contains("spikes") && message(&e).contains(".npz"),
        "{e}"
    );
    rewrite(&p, &ds, |m| {
        m.get_mut("rates").unwrap()[[0, 1, 2]] = f64::NAN
    });
    let e = Dataset::load(&p).unwrap_err();
    assert!(
        matches!(&e, DataError::NonFinite { field, .. } if field == "rates"),
        "{e:?}"
    );

    // Wrong shape.
    rewrite(&p, &ds, |m| {
        m.insert("readout", Array2::<f64>::zeros((4, 12)).into_dyn());
    });
    let e = Dataset::load(&p).unwrap_err();
    assert!(
        matches!(&e, DataError::Shape { field, expected, found, .. }
        if field == "readout" && expected == &vec![3, 12] && found == &vec![4, 12]),
        "{e:?}"
    );
    assert!(message(&e).contains("readout"), "{e}");

    // Missing array.
    rewrite(&p, &ds, |m| {
        m.remove("latents");
    });
    let e = Dataset::load(&p).unwrap_err();
    assert!(
        matches!(&e, DataError::Corrupt { field, .. } if field == "latents"),
        "{e:?}"
    );

    // Overlapping splits.
    let (_d, p, mut ds2) = saved();
    ds2.valid_idx[0] = ds2.test_idx[0];
    rewrite(&p, &ds2, |_| {});
    let e = Dataset::load(&p).unwrap_err();
    assert!(
        matches!(&e, DataError::Corrupt { field, .. } if field == "test_idx"),
        "{e:?}"
    );

    // Metadata that disagrees with itself or with the arrays.
    let (_d, p, _) = saved();
    let jp = p.with_extension("json");
    let text = std::fs::read_to_string(&jp).unwrap();
    std::fs::write(&jp, text.replace("\"seed\": 1,", "\"seed\": 2,")).unwrap();
    let e = Dataset::load(&p).unwrap_err();
    assert!(
        matches!(&e, DataError::MetadataMismatch { field, .. } if field == "name" || field == "seeds.seed"),
        "{e:?}"
    );
    assert!(message(&e).contains(".json"), "{e}");

    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["format_version"] = 99.into();
    std::fs::write(&jp, serde_json::to_string(&v).unwrap()).unwrap();
    let e = Dataset::load(&p).unwrap_err();
    assert!(
        matches!(&e, DataError::MetadataMismatch { field, .. } if field == "format_version"),
        "{e:?}"
    );

    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["spec"]["obs_dim"] = 13.into();
    v["name"] = "Arneodo13_50S_20T_35P_1seed_poisson".into();
    std::fs::write(&jp, serde_json::to_string(&v).unwrap()).unwrap();
    let e = Dataset::load(&p).unwrap_err();
    assert!(
        matches!(&e, DataError::Shape { field, .. } if field == "spikes"),
        "{e:?}"
    );

    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["spec"]["system"] = "Banana".into();
    std::fs::write(&jp, serde_json::to_string(&v).unwrap()).unwrap();
    let e = Dataset::load(&p).unwrap_err();
    assert!(
        matches!(&e, DataError::Corrupt { field, .. } if field == "spec"),
        "{e:?}"
    );
}

#[test]
fn configs_file_equals_the_presets() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/datasets.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let presets = DatasetSpec::study_presets();
    assert_eq!(table.len(), presets.len());
    for (name, spec) in presets {
        let entry = table
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing from {path}"));
        let parsed: DatasetSpec = entry.clone().try_into().unwrap();
        assert_eq!(parsed, spec, "{name}");
    }
    // and the order of the file is the study's
    let keys: Vec<&str> = table.keys().map(String::as_str).collect();
    let mut sorted_presets: Vec<&str> = DatasetSpec::study_presets().iter().map(|p| p.0).collect();
    sorted_presets.sort_unstable();
    let mut sorted_keys = keys.clone();
    sorted_keys.sort_unstable();
    assert_eq!(sorted_keys, sorted_presets);
}

#[test]
fn study_arneodo_preset_generates() {
    let spec = DatasetSpec::preset("arneodo").unwrap();
    let t = std::time::Instant::now();
    let ds = generate(&spec).unwrap();
    eprintln!("arneodo preset generated in {:.2?}", t.elapsed());
    assert_eq!(ds.spikes.dim(), (2000, 70, 10));
    assert_eq!(ds.metadata.split_sizes, [1280, 320, 400]);
    assert_eq!(ds.name(), "Arneodo10_2000S_70T_35P_0seed_poisson");
    // Attractor statistics: the long accurate trajectory visits both lobes (x ↦ −x symmetry),
    // dysts' 3000-point reference (mean, std in the reference JSON) only one, so compare the
    // root-mean-square of each coordinate: sqrt(mean² + std²) of the reference.
    let z = ds.latents.to_shape((140_000, 3)).unwrap();
    let rms = z
        .mapv(|v| v * v)
        .mean_axis(Axis(0))
        .unwrap()
        .mapv(f64::sqrt);
    let (want_m, want_s) = ([-1.6731, 0.0005, 0.0098], [1.0101, 1.5932, 3.3851]);
    for i in 0..3 {
        let want = f64::hypot(want_m[i], want_s[i]);
        assert!(
            (rms[i] / want - 1.0).abs() < 0.05,
            "rms {rms} vs {want} (dim {i})"
        );
    }
    let _: &Array3<u32> = &ds.spikes;
}
