//! Grids of training runs as data: `configs/grids/*.toml`, mirrored here as
//! presets and tested to agree.
//!
//! A grid is a list of groups; each group is a product of datasets × models
//! × latent sizes × seeds with optional field overrides. Shortening a grid
//! (`epochs`) scales each run's loss-horizon schedule with it, so a smoke
//! run keeps the study's shape.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use latentdyn_data::{DataSpec, DatasetRef, DatasetSpec};
use latentdyn_train::RunConfig;
use serde::{Deserialize, Serialize};

use crate::ExperimentError;

/// A grid of training runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    /// Name; runs go to `runs/<name>/`.
    pub name: String,
    /// What the grid is for, in a sentence.
    pub description: String,
    /// Epochs of every run unless a group says otherwise (study: 3000).
    #[serde(default)]
    pub epochs: Option<usize>,
    /// The groups whose cells make up the grid.
    pub groups: Vec<Group>,
}

/// One product of datasets × models × latent sizes × seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Study dataset presets (`arneodo`, `lorenz`, …).
    pub datasets: Vec<String>,
    /// Model presets (`gru`, `node`, `node-discrete`, `ablation0` … `ablation4`).
    pub models: Vec<String>,
    /// Latent sizes; empty means each preset's default.
    #[serde(default)]
    pub latents: Vec<usize>,
    /// Seeds.
    pub seeds: Vec<u64>,
    /// Epochs for this group (overrides the grid's).
    #[serde(default)]
    pub epochs: Option<usize>,
    /// Config overrides, `key=value` as `latentdyn train --set` takes them.
    #[serde(default)]
    pub set: Vec<String>,
}

/// One training run of a grid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// Dataset preset.
    pub dataset: String,
    /// Model preset.
    pub model: String,
    /// Latent size (`None`: the preset's default).
    pub latent: Option<usize>,
    /// Seed.
    pub seed: u64,
    /// Epochs (`None`: the study's 3000).
    pub epochs: Option<usize>,
    /// Config overrides.
    pub set: Vec<String>,
}

impl Cell {
    /// The cell's dataset: a preset, `study:<preset>` or a file.
    pub fn dataset_ref(&self) -> Result<DatasetRef, ExperimentError> {
        Ok(DatasetRef::parse(&self.dataset)?)
    }

    /// The run configuration this cell trains, its data looked up in
    /// `datasets`: a preset's spec, or a file's spec with the file's
    /// reference and SHA-256 (the file must exist).
    pub fn run_config(&self, datasets: &Path) -> Result<RunConfig, ExperimentError> {
        let (spec, data_file) = crate::analyse::resolve_dataset(&self.dataset_ref()?, datasets)?;
        let mut cfg = self.config_on(spec)?;
        cfg.data_file = data_file;
        Ok(cfg)
    }

    /// The configuration with `spec` as its dataset and no file: what the
    /// run's name and the grid's checks need, which never read data.
    fn config_on(&self, spec: impl Into<DataSpec>) -> Result<RunConfig, ExperimentError> {
        let mut cfg = RunConfig::preset(&self.model, self.latent, spec, self.seed)?;
        if let Some(e) = self.epochs {
            cfg = cfg.with_epochs(e);
        }
        for s in &self.set {
            cfg.set(s)?;
        }
        cfg.validate()?;
        Ok(cfg)
    }

    /// The configuration without reading any file: a file's own spec is
    /// replaced by the arneodo preset's (a run's name and the grid's checks
    /// do not depend on the data).
    fn named_config(&self) -> Result<RunConfig, ExperimentError> {
        let spec = match self.dataset_ref()?.preset_spec() {
            Some(spec) => spec,
            None => DatasetSpec::preset("arneodo")?,
        };
        self.config_on(spec)
    }

    /// `<root>/<dataset dir>/<model>-L<latent>-s<seed>` (the dataset's
    /// directory is `arneodo`, `study-lorenz` or a file's stem).
    pub fn dir(&self, root: &Path) -> Result<PathBuf, ExperimentError> {
        Ok(root
            .join(self.dataset_ref()?.dir_name())
            .join(self.named_config()?.run_name()))
    }

    /// A short label: `arneodo node L3 s0`.
    pub fn label(&self) -> String {
        let latent = self
            .latent
            .map_or_else(|| "default".to_owned(), |l| l.to_string());
        format!("{} {} L{} s{}", self.dataset, self.model, latent, self.seed)
    }
}

/// The file in a grid's root that holds its definition (written by
/// `latentdyn ablate`; the report reads its name and description).
pub const GRID_FILE: &str = "grid.toml";

impl Grid {
    /// Writes this grid's definition into `<root>/grid.toml` (atomically).
    pub fn save_into(&self, root: &Path) -> Result<(), ExperimentError> {
        std::fs::create_dir_all(root).map_err(|source| ExperimentError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        let text = toml::to_string(self).map_err(|e| ExperimentError::Run {
            path: root.join(GRID_FILE),
            reason: e.to_string(),
        })?;
        latentdyn_train::io::atomic_write(&root.join(GRID_FILE), text.as_bytes())?;
        Ok(())
    }

    /// The grid whose runs are under `root`, when its `grid.toml` is there
    /// and reads.
    pub fn in_root(root: &Path) -> Option<Grid> {
        Grid::from_file(&root.join(GRID_FILE)).ok()
    }

    /// Every cell, each once, in a stable order (as listed, duplicates dropped).
    pub fn cells(&self) -> Vec<Cell> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for g in &self.groups {
            let latents: Vec<Option<usize>> = if g.latents.is_empty() {
                vec![None]
            } else {
                g.latents.iter().copied().map(Some).collect()
            };
            for d in &g.datasets {
                for m in &g.models {
                    for &l in &latents {
                        for &s in &g.seeds {
                            let cell = Cell {
                                dataset: d.clone(),
                                model: m.clone(),
                                latent: l,
                                seed: s,
                                epochs: g.epochs.or(self.epochs),
                                set: g.set.clone(),
                            };
                            if seen.insert(cell.clone()) {
                                out.push(cell);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// Checks that every cell makes a valid run config and that no two
    /// cells share a run directory.
    pub fn validate(&self) -> Result<(), ExperimentError> {
        let name_ok = !self.name.is_empty()
            && self.name != "."
            && self.name != ".."
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(ExperimentError::Grid {
                grid: self.name.clone(),
                reason: "a grid's name becomes a directory under --out: use letters, digits, \
                         `-`, `_` and `.` only (not empty, `.` or `..`)"
                    .into(),
            });
        }
        let mut dirs = BTreeSet::new();
        for c in self.cells() {
            let dir = c.dir(Path::new("")).map_err(|e| ExperimentError::Grid {
                grid: self.name.clone(),
                reason: format!("cell {}: {e}", c.label()),
            })?;
            if !dirs.insert(dir.clone()) {
                return Err(ExperimentError::Grid {
                    grid: self.name.clone(),
                    reason: format!(
                        "two cells train into {} (cells must differ in dataset, model, L or seed)",
                        dir.display()
                    ),
                });
            }
        }
        if self.groups.is_empty() {
            return Err(ExperimentError::Grid {
                grid: self.name.clone(),
                reason: "no groups".into(),
            });
        }
        Ok(())
    }

    /// Reads a grid file (TOML), naming the file in errors.
    pub fn from_file(path: &Path) -> Result<Self, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let grid: Grid = toml::from_str(&text).map_err(|e| ExperimentError::Grid {
            grid: path.display().to_string(),
            reason: e.to_string(),
        })?;
        grid.validate()?;
        Ok(grid)
    }

    /// A preset by name, or a grid file when `name` is a path to one.
    pub fn resolve(name: &str) -> Result<Self, ExperimentError> {
        if name.ends_with(".toml") || Path::new(name).is_file() {
            return Self::from_file(Path::new(name));
        }
        Self::preset(name)
    }

    /// The built-in grids: `smoke`, `quick`, `survey`, `paper`.
    pub fn preset(name: &str) -> Result<Self, ExperimentError> {
        let grid = match name {
            "smoke" => Grid {
                name: "smoke".into(),
                description: "arneodo, gru and node at L = 3, seed 0, 300 epochs (schedule \
                              scaled): minutes on a laptop"
                    .into(),
                epochs: Some(300),
                groups: vec![group(&["arneodo"], &["gru", "node"], &[3], &[0])],
            },
            "quick" => Grid {
                name: "quick".into(),
                description: "arneodo: gru and node at L = 2, 3, 5, 10, 25 and the five \
                              ablation configs, seeds 0-2, 1000 epochs (schedule scaled)"
                    .into(),
                epochs: Some(1000),
                groups: vec![
                    group(
                        &["arneodo"],
                        &["gru", "node"],
                        &[2, 3, 5, 10, 25],
                        &[0, 1, 2],
                    ),
                    group(&["arneodo"], &ABLATIONS, &[3], &[0, 1, 2]),
                ],
            },
            "paper" => Grid {
                name: "paper".into(),
                description:
                    "the study's 420 + 25 runs at 3000 epochs; Lorenz on the published runs' \
                              protocol (full batch, NLL without the Stirling term)"
                        .into(),
                epochs: None,
                groups: vec![
                    group(
                        &["arneodo", "rossler", "arneodo100", "mackeyglass100"],
                        &["gru", "node"],
                        &PAPER_LATENTS,
                        &PAPER_SEEDS,
                    ),
                    Group {
                        set: LORENZ_PROTOCOL.map(String::from).to_vec(),
                        ..group(&["lorenz"], &["gru", "node"], &PAPER_LATENTS, &PAPER_SEEDS)
                    },
                    group(
                        &["macarthur100"],
                        &["gru", "node-discrete"],
                        &PAPER_LATENTS,
                        &PAPER_SEEDS,
                    ),
                    group(&["arneodo"], &ABLATIONS, &[3], &PAPER_SEEDS),
                ],
            },
            "survey" => Grid {
                name: "survey".into(),
                description: "every study dataset at the study's full length and protocol, gru \
                              and node (node-discrete for macarthur100) at the true \
                              dimensionality, seed 0, on the study's own files where it ships \
                              them (study:arneodo, study:lorenz, study:rossler), and the five \
                              ablation configs: 17 runs"
                    .into(),
                epochs: None,
                groups: vec![
                    group(&["study:arneodo"], &["gru", "node"], &[3], &[0]),
                    Group {
                        set: LORENZ_PROTOCOL.map(String::from).to_vec(),
                        ..group(&["study:lorenz"], &["gru", "node"], &[3], &[0])
                    },
                    group(
                        &["study:rossler", "arneodo100"],
                        &["gru", "node"],
                        &[3],
                        &[0],
                    ),
                    group(&["mackeyglass100"], &["gru", "node"], &[10], &[0]),
                    group(&["macarthur100"], &["gru", "node-discrete"], &[10], &[0]),
                    group(&["study:arneodo"], &ABLATIONS, &[3], &[0]),
                ],
            },
            other => {
                return Err(ExperimentError::Grid {
                    grid: other.into(),
                    reason: format!(
                        "unknown grid; use one of {} or a path to a grid .toml file",
                        PRESETS.join(", ")
                    ),
                })
            }
        };
        Ok(grid)
    }
}

/// The protocol of the study's published Lorenz runs (an earlier version
/// of its code): one optimiser step per epoch on all 1280 training trials
/// (3000 steps in all), the validation NLL logged without the Stirling
/// term. The `paper` and `survey` grids' Lorenz cells train and report so.
pub const LORENZ_PROTOCOL: [&str; 2] =
    ["train.batch_size=1280", "train.nll_basis=without-stirling"];

/// The built-in grids.
pub const PRESETS: [&str; 4] = ["smoke", "quick", "survey", "paper"];

const ABLATIONS: [&str; 5] = [
    "ablation0",
    "ablation1",
    "ablation2",
    "ablation3",
    "ablation4",
];
const PAPER_LATENTS: [usize; 7] = [2, 3, 5, 10, 25, 50, 100];
const PAPER_SEEDS: [u64; 5] = [0, 1, 2, 3, 4];

fn group(datasets: &[&str], models: &[&str], latents: &[usize], seeds: &[u64]) -> Group {
    Group {
        datasets: datasets.iter().map(|s| s.to_string()).collect(),
        models: models.iter().map(|s| s.to_string()).collect(),
        latents: latents.to_vec(),
        seeds: seeds.to_vec(),
        epochs: None,
        set: Vec::new(),
    }
}

/// Which cells shard `index` of `count` runs: every `count`-th cell,
/// starting at `index` (0-based), so shards are balanced across models.
pub fn shard(cells: Vec<Cell>, index: usize, count: usize) -> Vec<Cell> {
    cells
        .into_iter()
        .enumerate()
        .filter(|(i, _)| count > 0 && i % count == index)
        .map(|(_, c)| c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_grid_has_the_studys_445_runs() {
        let g = Grid::preset("paper").unwrap();
        let cells = g.cells();
        assert_eq!(cells.len(), 445);
        g.validate().unwrap();
        let macarthur_nodes = cells
            .iter()
            .filter(|c| c.dataset == "macarthur100" && c.model.starts_with("node"))
            .all(|c| c.model == "node-discrete");
        assert!(macarthur_nodes);
        assert_eq!(
            cells
                .iter()
                .filter(|c| c.model.starts_with("ablation"))
                .count(),
            25
        );
    }

    #[test]
    fn survey_is_the_seventeen_full_length_runs() {
        let g = Grid::preset("survey").unwrap();
        g.validate().unwrap();
        let cells = g.cells();
        assert_eq!(cells.len(), 17);
        assert!(cells.iter().all(|c| c.epochs.is_none() && c.seed == 0));
        let lorenz: Vec<&Cell> = cells
            .iter()
            .filter(|c| c.dataset == "study:lorenz")
            .collect();
        assert_eq!(lorenz.len(), 2);
        for c in lorenz {
            let cfg = c.config_on(DatasetSpec::preset("lorenz").unwrap()).unwrap();
            assert_eq!(cfg.train.batch_size, 1280);
            assert_eq!(
                cfg.train.nll_basis,
                latentdyn_analysis::NllBasis::WithoutStirling
            );
        }
        let abl = cells.iter().filter(|c| c.model.starts_with("ablation"));
        for c in abl {
            let cfg = c.named_config().unwrap();
            assert_eq!((cfg.train.report_last, cfg.train.epochs), (100, 3000));
        }
        let dims: Vec<(String, Option<usize>)> = cells
            .iter()
            .filter(|c| c.dataset.contains("100"))
            .map(|c| (c.dataset.clone(), c.latent))
            .collect();
        assert!(dims.contains(&("mackeyglass100".into(), Some(10))));
        assert!(dims.contains(&("arneodo100".into(), Some(3))));
        assert_eq!(
            Cell { ..cells[2].clone() }.dir(Path::new("r")).unwrap(),
            Path::new("r/study-lorenz/gru-L3-s0")
        );
    }

    #[test]
    fn the_paper_grid_trains_lorenz_on_the_published_protocol() {
        let cells = Grid::preset("paper").unwrap().cells();
        for c in cells.iter().filter(|c| c.dataset == "lorenz") {
            let cfg = c.named_config().unwrap();
            assert_eq!(cfg.train.batch_size, 1280, "{}", c.label());
            assert_eq!(
                cfg.train.nll_basis,
                latentdyn_analysis::NllBasis::WithoutStirling
            );
        }
        for c in cells.iter().filter(|c| c.dataset == "arneodo") {
            let cfg = c.named_config().unwrap();
            assert_eq!(cfg.train.nll_basis, latentdyn_analysis::NllBasis::Full);
            let window = if c.model.starts_with("ablation") {
                100
            } else {
                500
            };
            assert_eq!(cfg.train.report_last, window, "{}", c.label());
        }
    }

    #[test]
    fn smoke_and_quick_sizes() {
        assert_eq!(Grid::preset("smoke").unwrap().cells().len(), 2);
        assert_eq!(
            Grid::preset("quick").unwrap().cells().len(),
            2 * 5 * 3 + 5 * 3
        );
        assert!(Grid::preset("huge")
            .unwrap_err()
            .to_string()
            .contains("smoke"));
    }

    #[test]
    fn shards_partition_the_grid() {
        let cells = Grid::preset("quick").unwrap().cells();
        let mut union: Vec<Cell> = (0..4).flat_map(|i| shard(cells.clone(), i, 4)).collect();
        union.sort();
        let mut all = cells.clone();
        all.sort();
        assert_eq!(union, all);
        assert!(shard(cells, 0, 0).is_empty());
    }

    #[test]
    fn epochs_scale_the_schedule() {
        let c = &Grid::preset("smoke").unwrap().cells()[1];
        assert_eq!(c.model, "node");
        let cfg = c.run_config(Path::new("datasets")).unwrap();
        assert_eq!(cfg.train.epochs, 300);
        assert_eq!(cfg.train.horizon.epochs_per_group, 15);
        assert_eq!(cfg.train.report_last, 50);
    }

    #[test]
    fn names_that_are_not_one_directory_and_zero_epochs_are_refused() {
        for bad in ["../../escape-grid", "", "..", "a/b", "x y"] {
            let g = Grid {
                name: bad.into(),
                ..Grid::preset("smoke").unwrap()
            };
            let e = g.validate().unwrap_err().to_string();
            assert!(e.contains("--out"), "{bad}: {e}");
        }
        let g = Grid {
            epochs: Some(0),
            ..Grid::preset("smoke").unwrap()
        };
        let e = g.validate().unwrap_err().to_string();
        assert!(e.contains("train.epochs"), "{e}");
    }

    #[test]
    fn duplicate_directories_are_refused() {
        let mut g = Grid::preset("smoke").unwrap();
        g.groups.push(Group {
            set: vec!["train.optimizer.lr=0.1".into()],
            ..g.groups[0].clone()
        });
        let err = g.validate().unwrap_err().to_string();
        assert!(err.contains("two cells"), "{err}");
    }
}
