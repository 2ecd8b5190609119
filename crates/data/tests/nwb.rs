//! NWB 2 import: binned counts against an independent count of the spike
//! times (the shared pynwb session, when `../shared` is there, and a small
//! fixture of our own with spikes on bin edges, a silent unit, a
//! `starting_time` time base and scaled data), and a clear error for each
//! defect.

use std::path::Path;

use latentdyn_data::{import_nwb, Heldout, ImportOptions};

#[path = "support/nwb.rs"]
mod nwb_fixtures;

use nwb_fixtures::{fixture, tiny_options};

fn quiet(_: usize, _: usize) {}

#[test]
fn tiny_session_counts_by_hand() {
    let rec = import_nwb(&fixture("tiny.nwb"), &tiny_options(), &quiet).unwrap();
    assert_eq!(rec.spikes.dim(), (3, 6, 3));
    // The spikes' bins worked out by hand (make_nwb_fixtures.py): 0.6 and
    // 0.65 open bins 0 and 1 of trial 0, 0.9 is the window's open end,
    // 2.79999 is the last moment of trial 2's bin 3.
    let expected = [
        ((0, 0, 0), 1),
        ((0, 1, 0), 1),
        ((0, 0, 2), 3),
        ((1, 3, 0), 1),
        ((1, 0, 2), 1),
        ((2, 0, 2), 1),
        ((2, 2, 2), 1),
        ((2, 3, 2), 1),
    ];
    let mut want = ndarray::Array3::<u32>::zeros((3, 6, 3));
    for ((k, b, u), n) in expected {
        want[[k, b, u]] = n;
    }
    assert_eq!(rec.spikes, want);
    let s = &rec.summary;
    assert_eq!((s.units, s.trials, s.bins, s.heldout), (3, 3, 6, 1));
    assert_eq!(
        (s.spikes_total, s.spikes_binned, s.spikes_outside_trials),
        (14, 10, 2)
    );
    assert_eq!(s.silent_units, vec![1]);
    assert!((s.mean_rate_hz - 10.0 / (3.0 * 0.3 * 3.0)).abs() < 1e-12);
    assert_eq!(rec.heldout, vec![false, false, true]);
    assert_eq!(rec.conditions, Some(vec![2, 0, 2]));
    // Behaviour at 100 Hz from 0.25 s, scaled by conversion 0.5 and offset
    // 1: linear interpolation at the bin centres (numpy's interp).
    let vel = rec.behavior.as_ref().unwrap();
    assert_eq!(vel.dim(), (3, 6, 2));
    for (k, b, d, want) in [
        (0, 0, 0, 1.046_992_481_203_007_6),
        (0, 0, 1, 6.093_984_962_406_015),
        (2, 0, 0, 1.297_619_047_619_047_7),
        (2, 0, 1, 6.595_238_095_238_095),
    ] {
        assert!(
            (vel[[k, b, d]] - want).abs() < 1e-9,
            "trial {k} bin {b} dim {d}: {} vs {want}",
            vel[[k, b, d]]
        );
    }
    let n = rec.train_idx.len() + rec.valid_idx.len() + rec.test_idx.len();
    assert_eq!(n, 3);
}

#[test]
fn random_held_out_units_are_seeded() {
    let opts = |seed| ImportOptions {
        heldout: Heldout::Random { count: 2, seed },
        behavior: None,
        condition: None,
        ..tiny_options()
    };
    let a = import_nwb(&fixture("tiny.nwb"), &opts(0), &quiet).unwrap();
    let b = import_nwb(&fixture("tiny.nwb"), &opts(0), &quiet).unwrap();
    assert_eq!(a.heldout, b.heldout);
    assert_eq!(a.heldout.iter().filter(|&&h| h).count(), 2);
    assert!(a.behavior.is_none() && a.conditions.is_none());
    let all = ImportOptions {
        heldout: Heldout::Random { count: 3, seed: 0 },
        ..opts(0)
    };
    let err = import_nwb(&fixture("tiny.nwb"), &all, &quiet).unwrap_err();
    assert!(err.to_string().contains("held in"), "{err}");
}

#[test]
fn every_defect_is_an_error_naming_the_table_and_column() {
    let opts = tiny_options();
    let cases: [(&str, ImportOptions, &str); 8] = [
        ("overlap.nwb", opts.clone(), "overlap"),
        ("past_end.nwb", opts.clone(), "outside the session"),
        (
            "nan_behaviour.nwb",
            opts.clone(),
            "processing/behavior/hand/vel/data",
        ),
        ("bad_index.nwb", opts.clone(), "units/spike_times_index"),
        (
            "tiny.nwb",
            ImportOptions {
                align: "go_cue_time".into(),
                ..opts.clone()
            },
            "intervals/trials/go_cue_time",
        ),
        (
            "tiny.nwb",
            ImportOptions {
                heldout: Heldout::Column {
                    name: "missing".into(),
                },
                ..opts.clone()
            },
            "units/missing",
        ),
        (
            "tiny.nwb",
            ImportOptions {
                window_ms: (-100.0, 210.0),
                ..opts.clone()
            },
            "whole number",
        ),
        (
            "tiny.nwb",
            ImportOptions {
                window_ms: (-450.0, 600.0),
                ..opts.clone()
            },
            "overlap",
        ),
    ];
    for (file, o, needle) in cases {
        let err = import_nwb(&fixture(file), &o, &quiet)
            .map(|_| ())
            .expect_err(file);
        assert!(
            err.to_string().contains(needle),
            "{file}: `{err}` does not mention `{needle}`"
        );
    }
    let err = import_nwb(&fixture("absent.nwb"), &opts, &quiet).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    let err = import_nwb(&fixture("make_nwb_fixtures.py"), &opts, &quiet).unwrap_err();
    assert!(err.to_string().contains("HDF5"), "{err}");
}

/// The shared session (pynwb 4.2): every count equals an independent count
/// of the raw spike times, read here with hdf5-reader directly.
#[test]
fn shared_pynwb_session_counts_equal_an_independent_count() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/realdata/reach_a.nwb");
    if !path.is_file() {
        eprintln!("note: {} not found; skipping", path.display());
        return;
    }
    let opts = ImportOptions {
        bin_ms: 20.0,
        align: "move_onset_time".into(),
        window_ms: (-250.0, 450.0),
        heldout: Heldout::Column {
            name: "heldout".into(),
        },
        behavior: Some("processing/behavior/hand_kinematics/hand_vel".into()),
        condition: Some("condition_id".into()),
        split_seed: 0,
    };
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let progress = |_: usize, total: usize| {
        assert_eq!(total, 64);
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let rec = import_nwb(&path, &opts, &progress).unwrap();
    assert_eq!(calls.into_inner(), 64);
    assert_eq!(rec.spikes.dim(), (184, 35, 64));
    assert_eq!(rec.summary.spikes_total, 198_465);
    assert_eq!(rec.summary.heldout, 16);
    assert_eq!(
        (rec.train_idx.len(), rec.valid_idx.len(), rec.test_idx.len()),
        (117, 30, 37)
    );
    let conditions = rec.conditions.as_ref().unwrap();
    assert!(conditions.iter().all(|c| (0..8).contains(c)));

    let file = hdf5_reader::Hdf5File::open(&path).unwrap();
    let read = |key: &str| -> Vec<f64> {
        file.dataset(key)
            .unwrap()
            .read_array::<f64>()
            .unwrap()
            .into_raw_vec_and_offset()
            .0
    };
    let times = read("units/spike_times");
    let index: Vec<u32> = file
        .dataset("units/spike_times_index")
        .unwrap()
        .read_array::<u32>()
        .unwrap()
        .into_raw_vec_and_offset()
        .0;
    let (move_onset, start, stop) = (
        read("intervals/trials/move_onset_time"),
        read("intervals/trials/start_time"),
        read("intervals/trials/stop_time"),
    );
    // Every spike against every trial and bin edge, by the definition.
    let mut want = ndarray::Array3::<u32>::zeros((184, 35, 64));
    let mut outside = 0;
    let mut begin = 0usize;
    for (u, &end) in index.iter().enumerate() {
        for &t in &times[begin..end as usize] {
            for k in 0..184 {
                let s = move_onset[k] + (-250.0) / 1000.0;
                for b in 0..35 {
                    if s + b as f64 * 0.02 <= t && t < s + (b + 1) as f64 * 0.02 {
                        want[[k, b, u]] += 1;
                    }
                }
            }
            if !(0..184).any(|k| start[k] <= t && t < stop[k]) {
                outside += 1;
            }
        }
        begin = end as usize;
    }
    assert_eq!(rec.spikes, want);
    assert_eq!(rec.summary.spikes_outside_trials, outside);
    assert_eq!(
        rec.summary.spikes_binned,
        want.iter().map(|&c| u64::from(c)).sum::<u64>()
    );
    // Hand velocity at 1 kHz: each bin centre lies between two samples.
    let stamps = read("processing/behavior/hand_kinematics/hand_vel/timestamps");
    let data = read("processing/behavior/hand_kinematics/hand_vel/data");
    let vel = rec.behavior.as_ref().unwrap();
    for k in [0, 91, 183] {
        for b in [0, 17, 34] {
            let c = move_onset[k] - 0.25 + (b as f64 + 0.5) * 0.02;
            let i = stamps.iter().position(|&t| t > c).unwrap();
            let f = (c - stamps[i - 1]) / (stamps[i] - stamps[i - 1]);
            for d in 0..2 {
                let (a, z) = (data[(i - 1) * 2 + d], data[i * 2 + d]);
                assert!((vel[[k, b, d]] - (a + f * (z - a))).abs() < 1e-12);
            }
        }
    }
}
