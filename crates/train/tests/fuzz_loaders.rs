//! Damaged and random checkpoints and run configurations: never a panic,
//! always an error naming the file (a damaged checkpoint with a recorded
//! hash is always refused). `LATENTDYN_FUZZ_CASES` sets the number of cases
//! per loader (default 48, what CI runs).

use latentdyn_data::DatasetSpec;
use latentdyn_models::SequentialAutoencoder;
use latentdyn_train::{files, load_params, save_params, RunConfig, RunDir};
use proptest::prelude::*;

#[path = "../../data/tests/support/damage.rs"]
mod support;
use support::{apply, cases, damage};
use tch::{nn::VarStore, Device};

fn config() -> RunConfig {
    let mut c =
        RunConfig::preset("node", Some(2), DatasetSpec::preset("arneodo").unwrap(), 0).unwrap();
    c.model.encoder_size = 4;
    c
}

fn model(vs: &VarStore) -> SequentialAutoencoder {
    SequentialAutoencoder::new(&vs.root(), &config().model, 3).unwrap()
}

/// A checkpoint's bytes and the config's text, made once.
fn originals() -> &'static (Vec<u8>, String) {
    static O: std::sync::OnceLock<(Vec<u8>, String)> = std::sync::OnceLock::new();
    O.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let vs = VarStore::new(Device::Cpu);
        let _m = model(&vs);
        save_params(&run, files::BEST, &vs).unwrap();
        (
            std::fs::read(run.file(files::BEST)).unwrap(),
            serde_json::to_string_pretty(&config()).unwrap(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn damaged_checkpoints(d in damage(originals().0.len(), 256), recorded in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        let mut vs = VarStore::new(Device::Cpu);
        let _m = model(&vs);
        if recorded {
            save_params(&run, files::BEST, &vs).unwrap();
        }
        let bytes = apply(&originals().0, &d);
        let changed = bytes != originals().0;
        std::fs::write(run.file(files::BEST), &bytes).unwrap();
        match load_params(&run, files::BEST, &mut vs) {
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.contains("best.safetensors"), "{}", text);
            }
            Ok(()) => prop_assert!(!(recorded && changed), "a changed checkpoint was accepted"),
        }
    }

    #[test]
    fn damaged_run_configs(d in damage(originals().1.len(), 256)) {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::new(dir.path());
        std::fs::write(run.file(files::CONFIG), apply(originals().1.as_bytes(), &d)).unwrap();
        if let Err(e) = run.config().and_then(|c| c.validate().map(|_| c)) {
            let text = e.to_string();
            prop_assert!(text.contains("config") , "{}", text);
        }
    }
}
