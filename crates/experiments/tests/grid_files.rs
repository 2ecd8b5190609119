//! The built-in grids exist twice — as code (`Grid::preset`) and as files
//! people read and copy (`configs/grids/*.toml`) — and must agree.
//! `LATENTDYN_BLESS=1 cargo test -p latentdyn-experiments --test grid_files`
//! rewrites the files from the code after a deliberate change.

use latentdyn_experiments::grid::PRESETS;
use latentdyn_experiments::Grid;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs/grids")
}

#[test]
fn grid_files_agree_with_the_code() {
    let bless = std::env::var_os("LATENTDYN_BLESS").is_some();
    for name in PRESETS {
        let code = Grid::preset(name).unwrap();
        let path = dir().join(format!("{name}.toml"));
        if bless {
            std::fs::create_dir_all(dir()).unwrap();
            let text = format!(
                "# The built-in `{name}` grid: `latentdyn ablate --grid {name}`.\n\
                 # Copy this file to make your own grid (`--grid my-grid.toml`).\n\
                 # Generated from Grid::preset; a test keeps the two in agreement.\n{}",
                toml::to_string(&code).unwrap()
            );
            std::fs::write(&path, text).unwrap();
        }
        let file = Grid::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(file, code, "{} disagrees with Grid::preset", path.display());
        assert_eq!(Grid::resolve(path.to_str().unwrap()).unwrap(), code);
    }
}

#[test]
fn malformed_grid_files_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "name = \"bad\"\ndescription = \"x\"\n[[groups]]\ndatasets = [\"arneodo\"]\nmodels = [\"lstm\"]\nseeds = [0]\n",
    )
    .unwrap();
    let err = Grid::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("lstm"), "{err}");
    std::fs::write(
        &path,
        "name = \"bad\"\ndescription = \"x\"\nepoch = 3\ngroups = []\n",
    )
    .unwrap();
    let err = Grid::from_file(&path).unwrap_err().to_string();
    assert!(err.contains("bad.toml") && err.contains("epoch"), "{err}");
}

/// The example grid over a recording (not built in: its dataset is a file
/// the user imports first) parses, names that file, and has 6 cells.
#[test]
fn the_recording_example_grid_parses() {
    let g = Grid::from_file(&dir().join("reach.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.groups[0].datasets, ["datasets/imported/reach_a.npz"]);
    assert_eq!(g.cells().len(), 6);
}

/// The grid-throughput bench's slice (`benches/grids/`) parses: the
/// survey's first four cells, shortened, with the survey's Lorenz protocol.
#[test]
fn the_throughput_slice_is_the_surveys_first_four_cells() {
    let path = dir().join("../../benches/grids/throughput-slice.toml");
    let slice = Grid::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let survey = Grid::from_file(&dir().join("survey.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(slice.epochs, Some(150));
    assert_eq!(slice.groups[..], survey.groups[..2]);
    assert_eq!(slice.cells().len(), 4);
}
