//! Generates the study's six datasets in parallel and reports the time taken.
//!
//! `cargo run --release -p latentdyn-data --example generate_study [-- <dir>]`
//! (with a directory, the datasets are also saved there).

use std::time::Instant;

use latentdyn_data::{generate_many, DatasetSpec};

fn main() {
    let specs: Vec<DatasetSpec> = DatasetSpec::study_presets()
        .into_iter()
        .map(|p| p.1)
        .collect();
    let start = Instant::now();
    let datasets = generate_many(&specs);
    let elapsed = start.elapsed();
    for ds in &datasets {
        match ds {
            Ok(ds) => println!("{}", ds.summary()),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    println!(
        "generated {} datasets in {:.2?} ({} rayon threads)",
        datasets.len(),
        elapsed,
        rayon::current_num_threads()
    );
    if let Some(dir) = std::env::args_os().nth(1) {
        let start = Instant::now();
        for ds in datasets.iter().flatten() {
            match ds.save(std::path::Path::new(&dir)) {
                Ok(p) => println!("wrote {}", p.display()),
                Err(e) => eprintln!("error: {e}"),
            }
        }
        println!("saved in {:.2?}", start.elapsed());
    }
}
