//! Repository checks that run as plain tests: the crate layering of
//! docs/ARCHITECTURE.md, read from `cargo metadata`, workspace hygiene, and
//! the source-text invariants of the hand-written kernels (where `unsafe`,
//! autograd's backward calls and `Kernel` implementations may appear).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Layer of each workspace package. A package may depend only on workspace
/// packages of a strictly lower layer, so siblings (data and models) never
/// see each other and nothing reaches upwards.
const LAYERS: &[(&str, u32)] = &[
    ("latentdyn-ode", 0),
    ("latentdyn-data", 1),
    ("latentdyn-kernels", 1),
    ("latentdyn-models", 2),
    ("latentdyn-analysis", 3),
    ("latentdyn-train", 4),
    ("latentdyn-experiments", 5),
    ("latentdyn", 6),
    ("latentdyn-benches", 7),
];

/// Packages that must build without libtorch: no tch dependency at all,
/// or (for `ode`) only as an optional, non-default feature.
const TCH_FREE: &[&str] = &[
    "latentdyn-ode",
    "latentdyn-data",
    "latentdyn-kernels",
    "xtask",
];

struct Package {
    name: String,
    manifest: String,
    /// (dependency name, optional)
    deps: Vec<(String, bool)>,
    default_features: Vec<String>,
}

/// The standard output of `cargo ARGS` in the repository root (the cargo
/// running the tests), which must succeed.
fn cargo_stdout(args: &[&str]) -> Vec<u8> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(super::repo_root())
        .args(args)
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn workspace_packages() -> Vec<Package> {
    let stdout = cargo_stdout(&[
        "metadata",
        "--format-version",
        "1",
        "--no-deps",
        "--offline",
    ]);
    let meta: Value = serde_json::from_slice(&stdout).expect("cargo metadata prints JSON");
    meta["packages"]
        .as_array()
        .expect("packages array")
        .iter()
        .map(|p| Package {
            name: p["name"].as_str().unwrap().to_owned(),
            manifest: p["manifest_path"].as_str().unwrap().to_owned(),
            deps: p["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["kind"].is_null() || d["kind"] == "build")
                .map(|d| {
                    (
                        d["name"].as_str().unwrap().to_owned(),
                        d["optional"].as_bool().unwrap_or(false),
                    )
                })
                .collect(),
            default_features: p["features"]["default"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

#[test]
fn crate_dependency_direction() {
    let packages = workspace_packages();
    let layer: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let members: Vec<&str> = packages.iter().map(|p| p.name.as_str()).collect();
    for p in &packages {
        if p.name == "xtask" {
            let internal: Vec<_> = p
                .deps
                .iter()
                .filter(|(d, _)| members.contains(&d.as_str()))
                .collect();
            assert!(
                internal.is_empty(),
                "xtask depends on workspace crates {internal:?}"
            );
            continue;
        }
        let Some(&mine) = layer.get(p.name.as_str()) else {
            panic!(
                "workspace package `{}` has no layer in xtask/src/tidy.rs: add it there and to \
                 docs/ARCHITECTURE.md",
                p.name
            );
        };
        for (dep, _) in &p.deps {
            if let Some(&theirs) = layer.get(dep.as_str()) {
                assert!(
                    theirs < mine,
                    "`{}` (layer {mine}) must not depend on `{dep}` (layer {theirs}): \
                     see docs/ARCHITECTURE.md",
                    p.name
                );
            }
        }
    }
}

#[test]
fn tensor_free_crates_do_not_need_libtorch() {
    for p in workspace_packages() {
        if !TCH_FREE.contains(&p.name.as_str()) {
            continue;
        }
        for (dep, optional) in &p.deps {
            if dep == "tch" || dep == "torch-sys" {
                assert!(
                    p.name == "latentdyn-ode" && *optional,
                    "`{}` must not depend on {dep} (only ode may, as an optional feature)",
                    p.name
                );
            }
        }
        assert!(
            !p.default_features.iter().any(|f| f.contains("tch")),
            "`{}` enables tch by default",
            p.name
        );
    }
}

#[test]
fn every_crate_uses_workspace_lints() {
    for p in workspace_packages() {
        let text = std::fs::read_to_string(&p.manifest).unwrap();
        let lints = text
            .split("[lints]")
            .nth(1)
            .map(|rest| rest.trim_start().starts_with("workspace = true"));
        assert_eq!(
            lints,
            Some(true),
            "{} lacks `[lints] workspace = true`",
            p.manifest
        );
    }
}

#[test]
fn ci_runs_the_readme_test_command() {
    let root = super::repo_root();
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_default();
    assert!(
        read(".ci/run").contains("cargo xtask test"),
        ".ci/run must run `cargo xtask test`"
    );
    let readme = read("README.md");
    assert!(
        readme.contains("cargo xtask test"),
        "README must show `cargo xtask test`"
    );
    assert!(
        readme.contains("cargo xtask ablate"),
        "README must show `cargo xtask ablate`"
    );
    assert!(
        read(".github/workflows/ci.yml").contains("cargo xtask test"),
        "the GitHub workflow must run `cargo xtask test`"
    );
    assert!(Path::new(&root.join("docs/ARCHITECTURE.md")).exists());
}

/// Each package of a `cargo tree` as `{p}` (name, version, path) → the
/// feature lists it is built with (a package built for the host and for
/// the target may appear twice).
fn resolved_features(args: &[&str]) -> BTreeMap<String, Vec<String>> {
    let tree = [
        "tree",
        "--offline",
        "--prefix",
        "none",
        "--format",
        "{p}|{f}",
    ];
    let stdout = cargo_stdout(&[&tree[..], args].concat());
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&stdout).lines() {
        let line = line.trim_end_matches(" (*)");
        let Some((package, features)) = line.split_once('|') else {
            continue;
        };
        let list = map.entry(package.to_string()).or_default();
        if !list.iter().any(|f| f == features) {
            list.push(features.to_string());
            list.sort();
        }
    }
    map
}

/// `cargo xtask test` builds the tests in release mode, and `cargo xtask
/// ablate`, `smoke` and `slurm-test` then build the `latentdyn` binary:
/// when the tests' dev-dependencies turn on features of a shared
/// dependency that the binary's graph leaves off, that dependency and
/// everything above it (tch, ndarray, every workspace crate) is compiled
/// twice, several minutes of CI. The fix is a feature entry in the root
/// Cargo.toml (see docs/ARCHITECTURE.md, "One build for the binary and the
/// tests").
#[test]
fn the_binary_and_the_tests_share_one_build() {
    let binary = resolved_features(&["--package", "latentdyn", "--edges", "normal,build"]);
    let tests = resolved_features(&["--workspace", "--features", super::TEST_FEATURES]);
    assert!(
        binary.keys().any(|p| p.starts_with("tch "))
            && tests.keys().any(|p| p.starts_with("criterion ")),
        "cargo tree's output was not parsed: binary {binary:?}"
    );
    let differ: Vec<String> = binary
        .iter()
        .filter_map(|(package, features)| {
            let in_tests = tests.get(package)?;
            (in_tests != features)
                .then(|| format!("{package}: binary {features:?}, tests {in_tests:?}"))
        })
        .collect();
    assert!(
        differ.is_empty(),
        "the tests' build resolves these dependencies with other features than the \
         binary's, so `cargo xtask test` and `cargo xtask smoke` compile them twice; \
         add the tests' features to the dependency in the root Cargo.toml:\n{}",
        differ.join("\n")
    );
}

/// Every `.rs` file of the workspace's own code (crates, xtask, benches),
/// as (path relative to the root, text); not this file, which names what
/// it looks for.
fn rust_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != "fixtures" {
                    walk(&path, root, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                if rel == Path::new("xtask/src/tidy.rs") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                out.push((rel.to_string_lossy().replace('\\', "/"), text));
            }
        }
    }
    let root = super::repo_root();
    let mut out = Vec::new();
    for dir in ["crates", "xtask", "benches"] {
        walk(&root.join(dir), &root, &mut out);
    }
    assert!(
        out.iter().any(|(p, _)| p.ends_with("kernels/src/simd.rs")),
        "the source walk found the kernels"
    );
    out
}

/// The lines of `text` that are code: comments dropped, and nothing from
/// the first `#[cfg(test)]` on (test modules close their files).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .map(|(i, l)| (i + 1, l))
}

#[test]
fn unsafe_code_lives_only_in_the_simd_file() {
    for (path, text) in rust_sources() {
        if path == "crates/kernels/src/simd.rs" {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            assert!(
                !code.contains("unsafe"),
                "{path}:{}: `unsafe` outside crates/kernels/src/simd.rs",
                i + 1
            );
        }
    }
}

/// libtorch's backward calls (`.backward()`, `f_backward`, `run_backward`)
/// appear in library code only where the kernels' contract allows them:
/// the tape adapter (which runs the loss's backward pass and then the
/// tapes) and the fixed-point search (autograd through the dynamics in
/// evaluation mode, where no kernel runs). Training code goes through
/// `SaeOutput::backward`.
#[test]
fn autograd_backward_runs_only_where_the_tape_contract_allows() {
    const ALLOWED: &[&str] = &[
        "crates/models/src/tape.rs",
        "crates/analysis/src/fixed_points.rs",
    ];
    for (path, text) in rust_sources() {
        if !path.contains("/src/") || ALLOWED.contains(&path.as_str()) {
            continue;
        }
        for (n, line) in code_lines(&text) {
            for call in [".backward()", "f_backward(", "run_backward("] {
                assert!(
                    !line.contains(call),
                    "{path}:{n}: `{call}` outside {ALLOWED:?}: backpropagate a model's loss \
                     with SaeOutput::backward, which also runs the hand-written kernels' tapes"
                );
            }
        }
    }
}

/// A kernel has one home: `latentdyn-kernels`.
#[test]
fn kernels_are_implemented_only_in_the_kernels_crate() {
    for (path, text) in rust_sources() {
        if path.starts_with("crates/kernels/") {
            continue;
        }
        for (n, line) in code_lines(&text) {
            assert!(
                !line.contains("impl Kernel for")
                    && !line.contains("impl latentdyn_kernels::Kernel for"),
                "{path}:{n}: a Kernel implemented outside crates/kernels"
            );
        }
    }
}

/// The figures' visual language has one home: a colour is defined only in
/// `figures/style.rs` (a model's colour, the truth's, the context's), so
/// that a model is the same colour in every figure.
#[test]
fn figure_colours_are_defined_only_in_the_style_module() {
    for (path, text) in rust_sources() {
        if path == "crates/experiments/src/figures/style.rs" || !path.contains("/src/") {
            continue;
        }
        for (n, line) in code_lines(&text) {
            // Ink and paper (BLACK, WHITE) may appear anywhere; a hue, named
            // or mixed, only in the style module.
            let named = ["RED", "GREEN", "BLUE", "CYAN", "MAGENTA", "YELLOW"]
                .into_iter()
                .find(|c| {
                    line.match_indices(c).any(|(i, _)| {
                        let ident = |ch: char| ch.is_ascii_alphanumeric() || ch == '_';
                        !line[..i].ends_with(ident) && !line[i + c.len()..].starts_with(ident)
                    })
                });
            assert!(
                !line.contains("RGBColor(")
                    && !line.contains("HSLColor(")
                    && !line.contains("full_palette")
                    && named.is_none(),
                "{path}:{n}: a colour defined outside crates/experiments/src/figures/style.rs; \
                 take it from figures::style (model_colour, TRUTH, CONTEXT, …)"
            );
        }
    }
}
