//! `cargo xtask`: the project's automation, in Rust so that it runs wherever
//! cargo does.
//!
//! xtask never links tch or any workspace crate: on a fresh machine it must
//! compile before libtorch exists. It provisions libtorch (a project-local
//! Python venv with `torch==2.11.0` from PyPI, or the user's `$LIBTORCH`),
//! points the git-ignored symlink `.libtorch` at it — `.cargo/config.toml`
//! takes `LIBTORCH` and the runtime search path from there — and then runs
//! cargo or the `latentdyn` binary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

mod slurm;
mod smoke;

/// The PyTorch release that tch 0.24.0 is built against.
const TORCH_VERSION: &str = "2.11.0";

/// Feature flags that `test`, `ci` and clippy enable on top of the defaults,
/// so that optional backends (the ODE solvers' tensor state) are tested too.
const TEST_FEATURES: &str = "latentdyn-ode/tch";

const HELP: &str = "\
cargo xtask <command> [args]

commands:
  setup           provision libtorch (venv with torch==2.11.0, or $LIBTORCH) and link .libtorch
  test [ARGS]     setup, then run every test of the workspace in release mode, sharing
                  the release build with `ablate` (ARGS go to cargo test)
  ablate [ARGS]   setup, build latentdyn in release mode and run `latentdyn ablate ARGS`
  figures [DIR…]  regenerate results.csv, figures and report/index.html of grid
                  directories (default runs/smoke), analysing runs not yet analysed
  smoke           run the smoke grid into runs/smoke, then check its structure: every
                  cell completed, metrics finite, fixed points, figures and report present
  slurm-test      a tiny grid on a real one-node SLURM cluster started here (installs
                  Debian's slurm-wlm and munge when missing; skips with a note where
                  it cannot): array submission, merge, scancel and resume
  run [ARGS]      setup, build latentdyn in release mode and run `latentdyn ARGS`
  install [--prefix DIR]
                  setup, build latentdyn in release mode and install it as
                  DIR/bin/latentdyn (default DIR: ~/.local), runnable from anywhere:
                  the binary is copied to DIR/lib/latentdyn/ and DIR/bin/latentdyn
                  starts it with this libtorch on the library path
  bench [ARGS]    setup, then run the criterion benches (ARGS go to cargo bench)
  ci              fmt check, clippy -D warnings, rustdoc -D warnings, then the tests in
                  the dev profile (debug assertions, overflow checks): CI's lint job

environment:
  LIBTORCH         use this libtorch instead of provisioning one
  LATENTDYN_VENV   where to create the venv (default: <repo>/.venv-libtorch)
  LATENTDYN_PYTHON python used to create the venv (default: python3)
";

fn main() {
    if let Err(err) = run() {
        eprintln!("xtask: error: {err:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args_os().skip(1);
    let Some(cmd) = args.next() else {
        print!("{HELP}");
        return Ok(());
    };
    let rest: Vec<OsString> = args.collect();
    let root = repo_root();
    match cmd.to_str().unwrap_or("") {
        "setup" => {
            let lt = ensure_libtorch(&root)?;
            println!("libtorch ready: {}", lt.dir.display());
            Ok(())
        }
        "test" => {
            let lt = ensure_libtorch(&root)?;
            ensure_browser();
            // Release mode: the tests run the arithmetic that ships, several
            // times faster than the dev profile, and share every artifact with
            // the binary that `ablate`, `smoke` and `slurm-test` build (the
            // tidy test `the_binary_and_the_tests_share_one_build`). Debug
            // assertions and overflow checks run in `ci`'s dev-profile tests.
            cargo(&root, &lt)
                .args([
                    "test",
                    "--release",
                    "--workspace",
                    "--features",
                    TEST_FEATURES,
                ])
                .args(&rest)
                .status_ok("cargo test --release")
        }
        "ablate" => {
            let lt = ensure_libtorch(&root)?;
            run_latentdyn(
                &root,
                &lt,
                std::iter::once(OsString::from("ablate")).chain(rest),
            )
        }
        "run" => {
            let lt = ensure_libtorch(&root)?;
            run_latentdyn(&root, &lt, rest)
        }
        "install" => {
            let prefix = match rest.iter().position(|a| a == "--prefix") {
                Some(i) => PathBuf::from(rest.get(i + 1).context("--prefix needs a directory")?),
                None if rest.is_empty() => home()?.join(".local"),
                None => bail!("install takes only --prefix DIR, not {rest:?}"),
            };
            let lt = ensure_libtorch(&root)?;
            let exe = build_latentdyn(&root, &lt)?;
            install(&exe, &lt, &prefix)
        }
        "figures" => {
            let lt = ensure_libtorch(&root)?;
            let dirs = if rest.is_empty() {
                vec![OsString::from("runs/smoke")]
            } else {
                rest
            };
            run_latentdyn(
                &root,
                &lt,
                std::iter::once(OsString::from("report")).chain(dirs),
            )
        }
        "smoke" => {
            let lt = ensure_libtorch(&root)?;
            run_latentdyn(
                &root,
                &lt,
                ["ablate", "--grid", "smoke"].map(OsString::from),
            )?;
            let summary = smoke::check(&root.join("runs").join("smoke"), 2)?;
            println!("smoke grid checked: {summary}");
            Ok(())
        }
        "slurm-test" => {
            let lt = ensure_libtorch(&root)?;
            let exe = build_latentdyn(&root, &lt)?;
            slurm::run(&exe)
        }
        "bench" => {
            let lt = ensure_libtorch(&root)?;
            if runs_bench(&rest, "import") {
                ensure_bench_session(&root, &lt)?;
            }
            cargo(&root, &lt)
                .args(["bench", "--package", "latentdyn-benches"])
                .args(&rest)
                .status_ok("cargo bench")
        }
        "ci" => {
            let lt = ensure_libtorch(&root)?;
            cargo(&root, &lt)
                .args(["fmt", "--all", "--", "--check"])
                .status_ok("cargo fmt --check")?;
            cargo(&root, &lt)
                .args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--features",
                    TEST_FEATURES,
                ])
                .args(["--", "-D", "warnings"])
                .status_ok("cargo clippy")?;
            // Broken intra-doc links and stray HTML in doc comments.
            cargo(&root, &lt)
                .args(["doc", "--no-deps", "--workspace"])
                .env("RUSTDOCFLAGS", "-D warnings")
                .status_ok("cargo doc")?;
            cargo(&root, &lt)
                .args(["test", "--workspace", "--features", TEST_FEATURES])
                .status_ok("cargo test")
        }
        "help" | "-h" | "--help" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

/// The workspace root: xtask lives in `<root>/xtask`.
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// A provisioned libtorch: its directory, and the venv's `bin` when it came
/// from our venv (put first on PATH so that build scripts that ask python
/// find the same torch).
struct Libtorch {
    dir: PathBuf,
    venv_bin: Option<PathBuf>,
}

/// Makes sure `.libtorch` points at a usable libtorch, provisioning one if
/// needed. Idempotent and quick when everything is in place.
fn ensure_libtorch(root: &Path) -> Result<Libtorch> {
    // `.cargo/config.toml` sets LIBTORCH to our own `.libtorch` for every
    // program cargo runs, this one included: only another value is the user's.
    let own = root.join(".libtorch");
    let user = std::env::var_os("LIBTORCH").filter(|v| !v.is_empty() && Path::new(v) != own);
    if let Some(user) = user {
        let dir = PathBuf::from(user);
        check_libtorch_dir(&dir).with_context(|| {
            format!(
                "LIBTORCH is set to {} but is not a usable libtorch",
                dir.display()
            )
        })?;
        link_libtorch(root, &dir)?;
        return Ok(Libtorch {
            dir,
            venv_bin: None,
        });
    }
    let venv = std::env::var_os("LATENTDYN_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv-libtorch"));
    let dir = match venv_torch_dir(&venv) {
        Some(dir) if torch_version_ok(&dir) && check_libtorch_dir(&dir).is_ok() => dir,
        _ => {
            create_venv(&venv)?;
            let dir = venv_torch_dir(&venv).with_context(|| {
                format!("pip finished but no torch package under {}", venv.display())
            })?;
            if !torch_version_ok(&dir) {
                bail!(
                    "{} does not hold torch {TORCH_VERSION}; remove {} and rerun `cargo xtask setup`",
                    dir.display(),
                    venv.display()
                );
            }
            check_libtorch_dir(&dir)?;
            dir
        }
    };
    link_libtorch(root, &dir)?;
    Ok(Libtorch {
        dir,
        venv_bin: Some(venv.join("bin")),
    })
}

/// The report's browser test renders the page in headless Chromium:
/// installs Debian's `chromium` package when no browser is found and
/// apt-get can run (as root); otherwise says that the test will skip.
/// Never fails the tests' set-up.
fn ensure_browser() {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|b| {
            Command::new("which")
                .arg(b)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        });
    if found || std::env::var_os("LATENTDYN_NO_BROWSER").is_some() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = Command::new("which")
        .arg("apt-get")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !(root && apt) {
        eprintln!(
            "xtask: no Chromium, and apt-get cannot install one here: the report's browser \
             test will skip (install Debian's `chromium` package to run it)"
        );
        return;
    }
    eprintln!("xtask: installing Debian's chromium for the report's browser test (about a minute)");
    let ok = Command::new("apt-get")
        .args(["install", "-y", "-qq", "chromium"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let ok = ok || {
        // A fresh machine may have no package lists yet.
        let _ = Command::new("apt-get").args(["update", "-qq"]).status();
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !ok {
        eprintln!("xtask: installing chromium failed: the report's browser test will skip");
    }
}

/// Whether `cargo bench ARGS` runs the bench `name`: all benches when no
/// `--bench` is given.
fn runs_bench(args: &[OsString], name: &str) -> bool {
    let named: Vec<&OsString> = args
        .windows(2)
        .filter(|w| w[0] == "--bench")
        .map(|w| &w[1])
        .collect();
    named.is_empty() || named.iter().any(|n| *n == name)
}

/// The import bench's large NWB session, `target/bench-data/large_session.nwb`:
/// written by `benches/scripts/make_large_session.py` with h5py, installed
/// from PyPI into the project's venv (or `.venv-bench` when libtorch came
/// from elsewhere), when the file is missing.
fn ensure_bench_session(root: &Path, lt: &Libtorch) -> Result<()> {
    let out = root.join("target/bench-data/large_session.nwb");
    if out.is_file() {
        return Ok(());
    }
    let bin = match &lt.venv_bin {
        Some(bin) => bin.clone(),
        None => {
            let venv = root.join(".venv-bench");
            if !venv.join("bin/python").exists() {
                let python =
                    std::env::var_os("LATENTDYN_PYTHON").unwrap_or_else(|| "python3".into());
                Command::new(&python)
                    .arg("-m")
                    .arg("venv")
                    .arg(&venv)
                    .status_ok("python3 -m venv .venv-bench")?;
            }
            venv.join("bin")
        }
    };
    let python = bin.join("python");
    let has_h5py = Command::new(&python)
        .args(["-c", "import h5py, numpy"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !has_h5py {
        eprintln!("xtask: installing h5py from PyPI for the import bench's session");
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "h5py",
                "numpy",
            ])
            .status_ok("pip install h5py numpy")?;
    }
    std::fs::create_dir_all(out.parent().expect("a parent"))
        .with_context(|| format!("creating {}", out.display()))?;
    // Written next to its place, then renamed: a killed run leaves no half file.
    let tmp = out.with_extension("nwb.partial");
    Command::new(&python)
        .arg(root.join("benches/scripts/make_large_session.py"))
        .arg(&tmp)
        .status_ok("benches/scripts/make_large_session.py")?;
    std::fs::rename(&tmp, &out).with_context(|| format!("moving {} into place", tmp.display()))
}

/// Creates the venv and installs torch into it, streaming pip's output.
fn create_venv(venv: &Path) -> Result<()> {
    let python = std::env::var_os("LATENTDYN_PYTHON").unwrap_or_else(|| "python3".into());
    eprintln!(
        "xtask: provisioning libtorch: python venv at {} with torch=={TORCH_VERSION} from PyPI \
         (about 4.6 GB, a few minutes the first time)",
        venv.display()
    );
    let py_ok = Command::new(&python)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !py_ok {
        bail!(
            "`{}` was not found: install Python 3 (3.10 or newer) with venv and pip, \
             or set LIBTORCH to an existing libtorch {TORCH_VERSION}",
            python.to_string_lossy()
        );
    }
    if !venv.join("bin").join("python").exists() {
        Command::new(&python)
            .arg("-m")
            .arg("venv")
            .arg(venv)
            .status_ok("python3 -m venv")
            .context(
                "could not create a venv: on Debian/Ubuntu install python3-venv \
                 (apt-get install python3-venv)",
            )?;
    }
    Command::new(venv.join("bin").join("python"))
        .args(["-m", "pip", "install", "--disable-pip-version-check"])
        .arg(format!("torch=={TORCH_VERSION}"))
        .status_ok("pip install torch")
        .context("installing torch from PyPI failed (network? disk space?)")
}

/// `<venv>/lib/python3.*/site-packages/torch`, if present.
fn venv_torch_dir(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("python"))
        })
        .collect();
    entries.sort();
    entries
        .into_iter()
        .map(|p| p.join("site-packages").join("torch"))
        .find(|p| p.is_dir())
}

/// Whether `torch/version.py` says the pinned release (any local build tag).
fn torch_version_ok(torch_dir: &Path) -> bool {
    std::fs::read_to_string(torch_dir.join("version.py"))
        .map(|s| version_py_matches(&s, TORCH_VERSION))
        .unwrap_or(false)
}

/// Parses `__version__ = '2.11.0+cu130'` and compares the release part.
fn version_py_matches(text: &str, want: &str) -> bool {
    text.lines()
        .filter_map(|l| l.strip_prefix("__version__"))
        .filter_map(|l| l.split(['\'', '"']).nth(1))
        .any(|v| v.split('+').next() == Some(want))
}

/// A libtorch directory has `lib/` with the torch libraries and `include/`.
fn check_libtorch_dir(dir: &Path) -> Result<()> {
    let lib = dir.join("lib");
    let has_lib = ["libtorch_cpu.so", "libtorch.so", "libtorch_cpu.dylib"]
        .iter()
        .any(|f| lib.join(f).exists());
    if !has_lib {
        bail!("{} has no libtorch library", lib.display());
    }
    if !dir.join("include").is_dir() {
        bail!("{} has no include/ directory", dir.display());
    }
    Ok(())
}

/// Points `<root>/.libtorch` at `dir` (replacing a stale link).
fn link_libtorch(root: &Path, dir: &Path) -> Result<()> {
    let link = root.join(".libtorch");
    let target = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    if link.canonicalize().ok().as_deref() == Some(target.as_path()) {
        return Ok(());
    }
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(&link)
            .with_context(|| format!("removing stale {}", link.display()))?;
    }
    symlink_dir(&target, &link)
        .with_context(|| format!("linking {} -> {}", link.display(), target.display()))
}

#[cfg(unix)]
fn symlink_dir(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink_dir(_target: &Path, _link: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "only Unix-like systems are supported; set LIBTORCH and use a runpath of your own",
    ))
}

/// A cargo command in the workspace root, with the venv's python first on PATH.
fn cargo(root: &Path, lt: &Libtorch) -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root);
    if let Some(bin) = &lt.venv_bin {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut parts = vec![bin.clone()];
        parts.extend(std::env::split_paths(&path));
        if let Ok(joined) = std::env::join_paths(parts) {
            cmd.env("PATH", joined);
        }
    }
    cmd
}

/// Builds the `latentdyn` binary (release) and runs it with `args`.
fn run_latentdyn(
    root: &Path,
    lt: &Libtorch,
    args: impl IntoIterator<Item = OsString>,
) -> Result<()> {
    let exe = build_latentdyn(root, lt)?;
    Command::new(&exe)
        .current_dir(root)
        .args(args)
        .status_ok("latentdyn")
}

/// Builds the `latentdyn` binary (release); returns its path.
fn build_latentdyn(root: &Path, lt: &Libtorch) -> Result<PathBuf> {
    cargo(root, lt)
        .args([
            "build",
            "--release",
            "--package",
            "latentdyn",
            "--bin",
            "latentdyn",
        ])
        .status_ok("cargo build --release")?;
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target_dir.join("release").join("latentdyn"))
}

/// The user's home directory, from `$HOME`.
fn home() -> Result<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .context("HOME is not set: give the install directory with --prefix DIR")
}

/// Installs the release binary `exe` under `prefix`: a copy in
/// `prefix/lib/latentdyn/latentdyn` and a launcher `prefix/bin/latentdyn`
/// that puts libtorch's `lib` (absolute) on the library path, so that it
/// runs from any directory and survives `cargo clean`. Checks the result by
/// running it from the filesystem root.
fn install(exe: &Path, lt: &Libtorch, prefix: &Path) -> Result<()> {
    // A relative --prefix is taken from the directory install was run in:
    // the launcher must name absolute paths to run from anywhere.
    let prefix =
        &std::path::absolute(prefix).with_context(|| format!("--prefix {}", prefix.display()))?;
    let lib = std::fs::canonicalize(lt.dir.join("lib"))
        .with_context(|| format!("libtorch's lib in {}", lt.dir.display()))?;
    let home = prefix.join("lib").join("latentdyn");
    let bin = prefix.join("bin");
    for dir in [&home, &bin] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let target = home.join("latentdyn");
    // Copy beside, then rename: a running latentdyn is never overwritten in place.
    let partial = home.join(".latentdyn.partial");
    std::fs::copy(exe, &partial).with_context(|| format!("copying {}", exe.display()))?;
    std::fs::rename(&partial, &target)?;
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let launcher = format!(
        "#!/bin/sh\n\
         # Written by `cargo xtask install`: latentdyn with the libtorch it was built against.\n\
         LD_LIBRARY_PATH={}${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\n\
         export LD_LIBRARY_PATH\n\
         exec {} \"$@\"\n",
        quote(&lib),
        quote(&target)
    );
    let script = bin.join("latentdyn");
    std::fs::write(&script, launcher).with_context(|| format!("writing {}", script.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
    }
    let out = Command::new(&script)
        .arg("--version")
        .current_dir("/")
        .env_remove("LIBTORCH")
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "the installed {} does not run: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!(
        "installed {} ({}), libtorch from {}",
        script.display(),
        String::from_utf8_lossy(&out.stdout).trim(),
        lib.display()
    );
    let on_path =
        std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d == bin));
    if !on_path {
        println!(
            "{} is not on PATH: add `export PATH=\"{}:$PATH\"` to your shell's profile",
            bin.display(),
            bin.display()
        );
    }
    Ok(())
}

/// Runs a command and turns a non-zero exit into an error naming it.
trait StatusOk {
    fn status_ok(&mut self, what: &str) -> Result<()>;
}

impl StatusOk for Command {
    fn status_ok(&mut self, what: &str) -> Result<()> {
        let status = self
            .status()
            .with_context(|| format!("could not start {what} ({:?})", self.get_program()))?;
        if !status.success() {
            bail!("{what} failed ({status})");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_py_parsing() {
        assert!(version_py_matches(
            "__version__ = '2.11.0+cu130'\ngit_version = 'abc'\n",
            "2.11.0"
        ));
        assert!(version_py_matches("__version__ = \"2.11.0\"\n", "2.11.0"));
        assert!(!version_py_matches("__version__ = '2.11.1'\n", "2.11.0"));
        assert!(!version_py_matches("__version__ = '2.1.0'\n", "2.11.0"));
        assert!(!version_py_matches("", "2.11.0"));
    }

    #[test]
    fn libtorch_dir_check_names_what_is_missing() {
        let tmp = std::env::temp_dir().join(format!("xtask-lt-{}", std::process::id()));
        std::fs::create_dir_all(tmp.join("lib")).unwrap();
        let err = check_libtorch_dir(&tmp).unwrap_err().to_string();
        assert!(err.contains("no libtorch library"), "{err}");
        std::fs::write(tmp.join("lib").join("libtorch_cpu.so"), b"").unwrap();
        let err = check_libtorch_dir(&tmp).unwrap_err().to_string();
        assert!(err.contains("include"), "{err}");
        std::fs::create_dir_all(tmp.join("include")).unwrap();
        assert!(check_libtorch_dir(&tmp).is_ok());
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    /// A stand-in for the latentdyn binary at `exe`: a script that prints
    /// its version, library path, working directory and arguments.
    #[cfg(unix)]
    fn stand_in(exe: &Path, version: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            exe,
            format!("#!/bin/sh\necho \"latentdyn {version} $LD_LIBRARY_PATH $(pwd) $*\"\n"),
        )
        .unwrap();
        std::fs::set_permissions(exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// The launcher runs the copy from any directory with libtorch's lib on
    /// the library path (a stand-in binary prints what it was given), and
    /// a reinstall replaces the copy.
    #[cfg(unix)]
    #[test]
    fn install_writes_a_launcher_that_finds_libtorch_from_anywhere() {
        let tmp = std::env::temp_dir().join(format!("xtask-install-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let torch = tmp.join("torch dir");
        std::fs::create_dir_all(torch.join("lib")).unwrap();
        let exe = tmp.join("fake-latentdyn");
        stand_in(&exe, "1");
        let lt = Libtorch {
            dir: torch.clone(),
            venv_bin: None,
        };
        let prefix = tmp.join("prefix");
        install(&exe, &lt, &prefix).unwrap();
        stand_in(&exe, "2");
        install(&exe, &lt, &prefix).unwrap();
        let out = Command::new(prefix.join("bin/latentdyn"))
            .args(["eval", "x y"])
            .current_dir("/")
            .env("LD_LIBRARY_PATH", "/elsewhere")
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let lib = std::fs::canonicalize(torch.join("lib")).unwrap();
        assert_eq!(
            text.trim(),
            format!("latentdyn 2 {}:/elsewhere / eval x y", lib.display())
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    /// A relative `--prefix` is resolved against the current directory: the
    /// launcher names absolute paths and runs from the filesystem root.
    #[cfg(unix)]
    #[test]
    fn install_resolves_a_relative_prefix() {
        let tmp = std::env::temp_dir().join(format!("xtask-install-rel-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("torch/lib")).unwrap();
        let exe = tmp.join("fake-latentdyn");
        stand_in(&exe, "1");
        let lt = Libtorch {
            dir: tmp.join("torch"),
            venv_bin: None,
        };
        // The same directory as a path relative to this process's directory.
        let cwd = std::env::current_dir().unwrap();
        let mut relative = PathBuf::new();
        for _ in cwd.components().skip(1) {
            relative.push("..");
        }
        relative.push(tmp.join("prefix").strip_prefix("/").unwrap());
        assert!(relative.is_relative());
        install(&exe, &lt, &relative).unwrap();
        let launcher = std::fs::read_to_string(tmp.join("prefix/bin/latentdyn")).unwrap();
        let exec = launcher.lines().find(|l| l.starts_with("exec ")).unwrap();
        assert!(exec.starts_with("exec '/"), "{exec}");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}

#[cfg(test)]
mod tidy;
