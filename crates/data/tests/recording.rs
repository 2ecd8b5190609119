//! Recordings on disk: the round trip through `.npz` + `.json`, an `.npz`
//! alone as another tool writes it, [`load_data_file`] telling recordings
//! from synthetic datasets, and a clear error, naming the array, for each
//! defect.

use std::path::Path;

use latentdyn_data::{
    generate, import_nwb, load_data_file, Data, DataError, DatasetSpec, Provenance, Recording,
    SystemKind,
};
use ndarray::{Array1, Array3};
use ndarray_npy::NpzWriter;

#[path = "support/nwb.rs"]
mod nwb_fixtures;

fn recording() -> Recording {
    let spikes = Array3::from_shape_fn((10, 4, 3), |(i, j, k)| ((i + 2 * j + 3 * k) % 5) as u32);
    let mut beh =
        Array3::from_shape_fn((10, 4, 2), |(i, j, d)| i as f64 - j as f64 * 0.5 + d as f64);
    beh[[3, 1, 0]] = f64::NAN;
    Recording::new(
        "rec",
        spikes,
        Some(25.0),
        vec![false, true, false],
        Some(beh),
        Some((0..10).map(|i| (i % 3) as i64).collect()),
        Some((0..10).map(|i| 1.5 * i as f64).collect()),
        [vec![0, 1, 2, 3, 4, 5], vec![6, 7], vec![8, 9]],
    )
    .unwrap()
}

/// What a case writes into its archive.
type Writes<'a> = dyn Fn(&mut NpzWriter<std::fs::File>) + 'a;

/// Writes an `.npz` of the given arrays, as numpy's `savez` would.
fn npz(path: &Path, write: impl FnOnce(&mut NpzWriter<std::fs::File>)) {
    let mut w = NpzWriter::new(std::fs::File::create(path).unwrap());
    write(&mut w);
    w.finish().unwrap();
}

fn err_of(path: &Path) -> String {
    match Recording::load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn round_trip_keeps_every_array_and_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording();
    let path = rec.save(dir.path()).unwrap();
    let back = Recording::load(&path).unwrap();
    // NaN != NaN: compare the behaviour by bits, the rest as it is.
    let bits = |r: &Recording| r.behavior.as_ref().unwrap().mapv(f64::to_bits);
    assert_eq!(bits(&back), bits(&rec));
    assert_eq!(back.spikes, rec.spikes);
    assert_eq!(back.heldout, rec.heldout);
    assert_eq!(back.conditions, rec.conditions);
    assert_eq!(back.align_times, rec.align_times);
    assert_eq!(back.metadata, rec.metadata);
    assert_eq!(back.held_in(), vec![0, 2]);
    assert_eq!(back.held_out(), vec![1]);
    let s = back.summary();
    assert_eq!(s.shape, [10, 4, 3]);
    assert_eq!(s.conditions, 3);
    let total: u32 = rec.spikes.iter().sum();
    assert!((s.mean_count - f64::from(total) / 120.0).abs() < 1e-12);
    assert!((s.mean_rate_hz.unwrap() - s.mean_count * 40.0).abs() < 1e-9);
    // The json alone, or no extension, finds the pair too.
    assert_eq!(
        Recording::load(&path.with_extension("json"))
            .unwrap()
            .spikes,
        rec.spikes
    );
    match load_data_file(&path).unwrap() {
        Data::Recording(r) => assert_eq!(r.metadata, rec.metadata),
        Data::Synthetic(_) => panic!("a recording read as synthetic"),
    }
}

#[test]
fn arrays_that_are_not_the_metadatas_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording();
    let path = rec.save(dir.path()).unwrap();
    let mut other = rec.clone();
    other.spikes[[0, 0, 0]] += 1;
    let other_dir = tempfile::tempdir().unwrap();
    let other_path = other.save(other_dir.path()).unwrap();
    std::fs::copy(&other_path, &path).unwrap();
    let e = err_of(&path);
    assert!(e.contains("content_sha256"), "{e}");
}

#[test]
fn an_npz_alone_is_a_recording_with_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.npz");
    // int64 counts, as numpy writes them by default; no split, no json.
    let spikes = Array3::from_shape_fn((25, 6, 4), |(i, j, k)| ((i * j + k) % 3) as i64);
    npz(&path, |w| {
        w.add_array("spikes", &spikes).unwrap();
        w.add_array("heldout", &Array1::from_vec(vec![0i64, 0, 1, 0]))
            .unwrap();
        w.add_array("bin_ms", &ndarray::arr0(10.0f64)).unwrap();
    });
    let rec = Recording::load(&path).unwrap();
    assert_eq!(rec.name(), "mine");
    assert_eq!(rec.spikes, spikes.mapv(|v| v as u32));
    assert_eq!(rec.metadata.bin_ms, Some(10.0));
    assert_eq!(rec.held_out(), vec![2]);
    // The study's proportions: test ⌈20 %⌉, valid ⌈20 % of the rest⌉.
    assert_eq!(rec.metadata.split_sizes, [16, 4, 5]);
    match load_data_file(&path).unwrap() {
        Data::Recording(r) => assert_eq!(r, rec),
        Data::Synthetic(_) => panic!("an npz alone read as synthetic"),
    }
    // Without a held-out mask every unit is held in.
    npz(&path, |w| w.add_array("spikes", &spikes).unwrap());
    assert!(Recording::load(&path).unwrap().held_out().is_empty());
}

#[test]
fn defects_of_an_npz_name_their_array() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.npz");
    let spikes = Array3::from_shape_fn((10, 3, 2), |(i, _, _)| (i % 2) as f64);
    let cases: Vec<(&str, Box<Writes<'_>>)> = vec![
        ("spikes", Box::new(|_| {})),
        (
            "spikes",
            Box::new(|w| {
                let mut s = spikes.clone();
                s[[1, 1, 1]] = 0.5;
                w.add_array("spikes", &s).unwrap();
            }),
        ),
        (
            "spikes",
            Box::new(|w| {
                w.add_array("spikes", &Array1::from_vec(vec![1.0, 2.0]))
                    .unwrap()
            }),
        ),
        (
            "heldout",
            Box::new(|w| {
                w.add_array("spikes", &spikes).unwrap();
                w.add_array("heldout", &Array1::from_vec(vec![0i64, 2]))
                    .unwrap();
            }),
        ),
        (
            "heldout",
            Box::new(|w| {
                w.add_array("spikes", &spikes).unwrap();
                w.add_array("heldout", &Array1::from_vec(vec![1i64, 1]))
                    .unwrap();
            }),
        ),
        (
            "valid_idx",
            Box::new(|w| {
                w.add_array("spikes", &spikes).unwrap();
                w.add_array("train_idx", &Array1::from_vec((0..10i64).collect()))
                    .unwrap();
            }),
        ),
        (
            "train_idx",
            Box::new(|w| {
                w.add_array("spikes", &spikes).unwrap();
                w.add_array("train_idx", &Array1::from_vec(vec![0i64, 1, 2]))
                    .unwrap();
                w.add_array("valid_idx", &Array1::from_vec(vec![2i64, 3]))
                    .unwrap();
                w.add_array("test_idx", &Array1::from_vec((4..10i64).collect()))
                    .unwrap();
            }),
        ),
        (
            "behavior",
            Box::new(|w| {
                w.add_array("spikes", &spikes).unwrap();
                w.add_array("behavior", &Array3::<f64>::zeros((9, 3, 1)))
                    .unwrap();
            }),
        ),
        (
            "behavior",
            Box::new(|w| {
                w.add_array("spikes", &spikes).unwrap();
                let mut b = Array3::<f64>::zeros((10, 3, 1));
                b[[0, 0, 0]] = f64::INFINITY;
                w.add_array("behavior", &b).unwrap();
            }),
        ),
        (
            "conditions",
            Box::new(|w| {
                w.add_array("spikes", &spikes).unwrap();
                w.add_array("conditions", &Array1::from_vec(vec![1.5f64; 10]))
                    .unwrap();
            }),
        ),
        (
            "bin_ms",
            Box::new(|w| {
                w.add_array("spikes", &spikes).unwrap();
                w.add_array("bin_ms", &ndarray::arr0(-5.0f64)).unwrap();
            }),
        ),
    ];
    for (field, write) in cases {
        npz(&path, |w| write(w));
        let e = err_of(&path);
        assert!(e.contains(field) && e.contains("bad.npz"), "{field}: {e}");
    }
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        Recording::load(&path),
        Err(DataError::Missing { .. })
    ));
}

#[test]
fn synthetic_datasets_still_load_as_synthetic() {
    let dir = tempfile::tempdir().unwrap();
    let spec = DatasetSpec {
        n_samples: 20,
        n_timesteps: 5,
        ..DatasetSpec::new(SystemKind::Lorenz, 4)
    };
    let ds = generate(&spec).unwrap();
    let path = ds.save(dir.path()).unwrap();
    match load_data_file(&path).unwrap() {
        Data::Synthetic(d) => assert_eq!(d, ds),
        Data::Recording(_) => panic!("a synthetic dataset read as a recording"),
    }
    let data = Data::Synthetic(ds);
    assert!(data.truth().is_some());
    assert!(data.held_out().is_empty());
    assert_eq!(data.held_in(), vec![0, 1, 2, 3]);
    assert_eq!(data.bin_seconds(), None);
}

#[test]
fn an_nwb_import_round_trips_with_its_options_and_counts() {
    let file = nwb_fixtures::fixture("tiny.nwb");
    let opts = nwb_fixtures::tiny_options();
    let binned = import_nwb(&file, &opts, &|_, _| {}).unwrap();
    let provenance = Provenance {
        source: "tiny.nwb".into(),
        sha256: latentdyn_data::file_sha256(&file).unwrap(),
        format: "NWB 2 (HDF5)".into(),
    };
    let rec = Recording::from_nwb(binned.clone(), "tiny", &opts, provenance).unwrap();
    assert_eq!(rec.spikes, binned.spikes);
    assert_eq!(rec.metadata.bin_ms, Some(50.0));
    let dir = tempfile::tempdir().unwrap();
    let back = Recording::load(&rec.save(dir.path()).unwrap()).unwrap();
    assert_eq!(back.metadata.nwb, rec.metadata.nwb);
    assert_eq!(back.metadata.nwb.unwrap().summary, binned.summary);
    assert_eq!(back.heldout, binned.heldout);
}
