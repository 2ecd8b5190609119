//! The study at any scale: grids of training runs as data, a parallel,
//! resumable, shardable runner, the results table beside the published
//! values, figures and the HTML report.
//!
//! `runs/<grid>/<dataset>/<model>-L<latent>-s<seed>/` holds each run (see
//! `latentdyn_train`); `runs/<grid>/results.csv` one row per run.

pub mod analyse;
pub mod claims;
pub mod figures;
pub mod grid;
pub mod plots;
pub mod report;
pub mod results;
pub mod runner;
pub mod slurm;

use std::path::PathBuf;

pub use analyse::{analyse_and_save, analyse_run, RunAnalysis, RunFixedPoints};
pub use grid::{Cell, Grid, Group};
pub use results::{collect, summarise, CellSummary, MeanStd, Published, RunRow};
pub use runner::{run_cells, CellState, Event, RunnerOptions, WorkerCommand};

/// Everything that can go wrong running or reporting a grid.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A grid is malformed or unknown.
    #[error("grid {grid}: {reason}")]
    Grid {
        /// The grid's name or file.
        grid: String,
        /// What is wrong.
        reason: String,
    },
    /// A dataset could not be made or read.
    #[error(transparent)]
    Data(#[from] latentdyn_data::DataError),
    /// A run configuration or run directory is bad.
    #[error(transparent)]
    Train(#[from] latentdyn_train::TrainError),
    /// A trained run cannot be analysed as it is.
    #[error("{path}: {reason}")]
    Run {
        /// The run directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A model could not be built or run.
    #[error(transparent)]
    Model(#[from] latentdyn_models::ModelError),
    /// The fixed-point search or alignment failed.
    #[error(transparent)]
    Analysis(#[from] latentdyn_analysis::AnalysisError),
    /// A figure could not be drawn.
    #[error(transparent)]
    Figure(#[from] figures::FigureError),
    /// A `results.csv` given back to `report` cannot be read.
    #[error("{path}, line {line}: {reason}")]
    Results {
        /// The file.
        path: PathBuf,
        /// The line (1 = the header).
        line: usize,
        /// What is wrong.
        reason: String,
    },
}
