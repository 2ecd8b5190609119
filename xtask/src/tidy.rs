//! Repository checks that run as plain tests: the crate layering of
//! docs/ARCHITECTURE.md, read from `cargo metadata`, and workspace hygiene.

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
    ("latentdyn-models", 1),
    ("latentdyn-analysis", 2),
    ("latentdyn-train", 3),
    ("latentdyn-experiments", 4),
    ("latentdyn", 5),
    ("latentdyn-benches", 6),
];

/// Packages that must build without libtorch: no tch dependency at all,
/// or (for `ode`) only as an optional, non-default feature.
const TCH_FREE: &[&str] = &["latentdyn-ode", "latentdyn-data", "xtask"];

struct Package {
    name: String,
    manifest: String,
    /// (dependency name, optional)
    deps: Vec<(String, bool)>,
    default_features: Vec<String>,
}

fn workspace_packages() -> Vec<Package> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = super::repo_root();
    let out = Command::new(cargo)
        .current_dir(&root)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
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
