//! The study's presets are the files `configs/presets/*.toml`, embedded in
//! the crate: every file is a preset and [`RunConfig::preset`] returns what
//! its file says, with the latent size, dataset and seed asked for. Their
//! models agree with `latentdyn_models::ModelConfig::preset`, and every
//! preset is what the code that built them before the files became their
//! source returned (the snapshot `tests/fixtures/presets.json`).

use latentdyn_data::DatasetSpec;
use latentdyn_models::ModelConfig;
use latentdyn_train::{PresetFile, RunConfig, PRESETS};
use serde::Deserialize;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/presets")
}

#[test]
fn every_preset_file_is_embedded_and_is_what_the_preset_returns() {
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut known: Vec<String> = PRESETS.iter().map(|n| n.to_string()).collect();
    known.sort();
    assert_eq!(
        on_disk,
        known,
        "the files of {} are not the presets",
        dir().display()
    );
    let spec = DatasetSpec::preset("arneodo").unwrap();
    for name in PRESETS {
        let path = dir().join(format!("{name}.toml"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file: PresetFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(file.preset, name, "{}", path.display());
        assert_eq!(
            PresetFile::embedded(name).unwrap(),
            file,
            "{}",
            path.display()
        );
        let preset = RunConfig::preset(name, None, spec, 0).unwrap();
        assert_eq!(PresetFile::from(&preset), file, "{}", path.display());
    }
}

#[test]
fn the_files_models_are_the_models_crates_presets() {
    let spec = DatasetSpec::preset("arneodo").unwrap();
    for name in PRESETS {
        for latent in [1, 3, 10, 25, 100] {
            let c = RunConfig::preset(name, Some(latent), spec, 0).unwrap();
            assert_eq!(
                c.model,
                ModelConfig::preset(name, latent).unwrap(),
                "{name} L={latent}"
            );
        }
    }
}

#[test]
fn the_table_is_what_the_study_says() {
    let spec = DatasetSpec::preset("arneodo").unwrap();
    // (preset, L default, lr, weight decay, points_per_group, epochs_per_group)
    let table = [
        ("gru", 25, 1e-3, 1e-4, 70, 3000),
        ("node", 3, 5e-3, 1e-5, 5, 150),
        ("node-discrete", 10, 5e-4, 0.0, 20, 500),
        ("ablation0", 3, 5e-4, 0.0, 20, 500),
        ("ablation1", 3, 1e-3, 0.0, 20, 500),
        ("ablation2", 3, 1e-2, 0.0, 20, 500),
        ("ablation3", 3, 1e-2, 0.0, 70, 3000),
        ("ablation4", 3, 1e-2, 0.0, 70, 3000),
    ];
    for (name, l, lr, wd, ppg, epg) in table {
        let c = RunConfig::preset(name, None, spec, 0).unwrap();
        assert_eq!(c.model.latent_size, l, "{name}");
        assert_eq!(c.train.optimizer.lr, lr, "{name}");
        assert_eq!(c.train.optimizer.weight_decay, wd, "{name}");
        assert_eq!(c.train.horizon.points_per_group, ppg, "{name}");
        assert_eq!(c.train.horizon.epochs_per_group, epg, "{name}");
        assert_eq!((c.train.epochs, c.train.batch_size), (3000, 650), "{name}");
        assert_eq!(
            (c.model.encoder_size, c.model.dropout),
            (64, 0.05),
            "{name}"
        );
    }
}

/// One case of `tests/fixtures/presets.json`: the arguments of
/// `RunConfig::preset` and the configuration it returned when the presets
/// were still built in code (the fixture was written by that code).
#[derive(Deserialize)]
struct Snapshot {
    preset: String,
    latent: Option<usize>,
    dataset: DatasetSpec,
    seed: u64,
    config: serde_json::Value,
}

#[test]
fn presets_are_what_the_code_built_before_the_files_became_their_source() {
    let text = include_str!("fixtures/presets.json");
    let cases: Vec<Snapshot> = serde_json::from_str(text).unwrap();
    for name in PRESETS {
        let covered = cases.iter().filter(|c| c.preset == name).count();
        assert!(covered >= 8, "{name}: {covered} cases");
    }
    for c in &cases {
        let what = format!("{} L={:?} seed {}", c.preset, c.latent, c.seed);
        let got = RunConfig::preset(&c.preset, c.latent, c.dataset, c.seed).unwrap();
        let expected: RunConfig = serde_json::from_value(c.config.clone()).unwrap();
        assert_eq!(got, expected, "{what}");
        assert_eq!(serde_json::to_value(&got).unwrap(), c.config, "{what}");
    }
}

#[test]
fn an_unknown_preset_names_the_known_ones() {
    let spec = DatasetSpec::preset("arneodo").unwrap();
    let e = RunConfig::preset("lstm", Some(3), spec, 0).unwrap_err();
    assert_eq!(
        e.to_string(),
        "config field `preset`: unknown preset `lstm`; known: gru, node, node-discrete, \
         ablation0, ablation1, ablation2, ablation3, ablation4"
    );
}
