//! `cargo xtask slurm-test`: a grid on a real SLURM cluster of one node.
//!
//! Installs Debian's `slurm-wlm` and `munge` when they are missing (as root,
//! with apt), starts munged, slurmctld and slurmd from a generated
//! configuration in a temporary directory (loopback addresses only, ports
//! chosen free), submits a tiny grid's `--emit-slurm` script as a 2-task
//! array, waits (bounded), checks that `latentdyn report` of the result
//! equals a local run of the same grid, cancels one task of a longer grid
//! mid-run with `scancel` and shows that resubmitting it resumes without
//! redoing an epoch, and stops every daemon it started by its PID. Where the
//! cluster cannot be had (no apt, not root, a daemon that will not start) it
//! says so and skips; a grid that runs wrong is an error.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Daemons started here, stopped (by PID) when dropped.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    pid_files: Vec<PathBuf>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let pids: Vec<u32> = self
            .pid_files
            .iter()
            .rev()
            .filter_map(|p| std::fs::read_to_string(p).ok()?.trim().parse().ok())
            .collect();
        for pid in &pids {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
        // Give them 10 s to shut down, then SIGKILL whatever is left.
        let running = |pid: &u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                !s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
        };
        let start = Instant::now();
        while pids.iter().any(running) && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(200));
        }
        for pid in pids.iter().filter(|p| running(p)) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

impl Cluster {
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn output(&self, program: &str, args: &[&str]) -> Result<String> {
        let out = self
            .cmd(program)
            .args(args)
            .output()
            .with_context(|| format!("running {program}"))?;
        if !out.status.success() {
            bail!(
                "{program} {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Submits `script` (extra sbatch flags first) and returns the job id.
    fn submit(&self, flags: &[&str], script: &Path) -> Result<String> {
        let mut args: Vec<&str> = vec!["--parsable"];
        args.extend(flags);
        let s = script.to_str().context("script path")?;
        args.push(s);
        let out = self.output("sbatch", &args)?;
        Ok(out.trim().split(';').next().unwrap_or("").to_owned())
    }

    /// Waits until the job has no task left in the queue.
    fn wait(&self, job: &str, limit: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            let q = self.output("squeue", &["-h", "-j", job, "-o", "%i %T"])?;
            if q.trim().is_empty() {
                return Ok(());
            }
            if start.elapsed() > limit {
                bail!("job {job} still queued after {limit:?}:\n{q}");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Installs slurm-wlm and munge with apt when missing; `Ok(false)` (skip)
/// when that is impossible here.
fn provision() -> Result<bool> {
    let tools = [
        "munged",
        "slurmctld",
        "slurmd",
        "sbatch",
        "squeue",
        "scancel",
        "sinfo",
    ];
    if tools.iter().all(|t| have(t)) {
        return Ok(true);
    }
    if !(is_root() && have("apt-get")) {
        println!("slurm-test: skipped: slurm-wlm and munge are not installed and apt-get as root is not available");
        return Ok(false);
    }
    println!("slurm-test: installing Debian's slurm-wlm and munge");
    let _ = Command::new("apt-get").args(["update", "-qq"]).status();
    let ok = Command::new("apt-get")
        .args(["install", "-y", "-qq", "slurm-wlm", "munge"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok || !tools.iter().all(|t| have(t)) {
        println!("slurm-test: skipped: apt-get could not install slurm-wlm and munge");
        return Ok(false);
    }
    Ok(true)
}

/// Starts munged, slurmctld and slurmd in `dir`; `Ok(None)` (skip) when
/// the node never comes up.
fn start(dir: &Path) -> Result<Option<Cluster>> {
    let munge = dir.join("munge");
    let state = dir.join("state");
    let spool = dir.join("spool");
    for d in [&munge, &state, &spool] {
        std::fs::create_dir_all(d)?;
    }
    let key: Vec<u8> = (0..1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 ^ std::process::id() as u8)
        .collect();
    std::fs::write(munge.join("munge.key"), key)?;
    let chmod = |mode: &str, p: &Path| Command::new("chmod").arg(mode).arg(p).status();
    chmod("400", &munge.join("munge.key"))?;
    chmod("700", &munge)?;
    let socket = munge.join("munge.socket");
    let (ctld_port, d_port) = (free_port()?, free_port()?);
    let conf = dir.join("slurm.conf");
    let p = |name: &str| dir.join(name).display().to_string();
    std::fs::write(
        &conf,
        format!(
            "ClusterName=latentdyn-test\nSlurmctldHost=localhost(127.0.0.1)\nSlurmUser=root\n\
             SlurmdUser=root\nSlurmctldPort={ctld_port}\nSlurmdPort={d_port}\nAuthType=auth/munge\n\
             AuthInfo=socket={sock}\nCredType=cred/munge\nStateSaveLocation={state}\n\
             SlurmdSpoolDir={spool}\nSlurmctldPidFile={ctld_pid}\nSlurmdPidFile={d_pid}\n\
             SlurmctldLogFile={ctld_log}\nSlurmdLogFile={d_log}\nProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\nSchedulerType=sched/backfill\nSelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\nReturnToService=2\nMpiDefault=none\n\
             JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\n\
             NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN\n\
             PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES\n",
            sock = socket.display(),
            state = state.display(),
            spool = spool.display(),
            ctld_pid = p("slurmctld.pid"),
            d_pid = p("slurmd.pid"),
            ctld_log = p("slurmctld.log"),
            d_log = p("slurmd.log"),
            cpus = std::thread::available_parallelism().map_or(1, |n| n.get()),
        ),
    )?;
    let mut cluster = Cluster {
        dir: dir.to_path_buf(),
        conf: conf.clone(),
        pid_files: Vec::new(),
    };
    let started = Command::new("munged")
        .arg(format!("--key-file={}", munge.join("munge.key").display()))
        .arg(format!("--socket={}", socket.display()))
        .arg(format!("--pid-file={}", munge.join("munged.pid").display()))
        .arg(format!("--log-file={}", munge.join("munged.log").display()))
        .arg(format!("--seed-file={}", munge.join("seed").display()))
        .arg("-f")
        .status()?;
    cluster.pid_files.push(munge.join("munged.pid"));
    if !started.success() {
        println!("slurm-test: skipped: munged would not start");
        return Ok(None);
    }
    for (daemon, pid) in [("slurmctld", "slurmctld.pid"), ("slurmd", "slurmd.pid")] {
        let ok = cluster.cmd(daemon).arg("-f").arg(&conf).status()?.success();
        cluster.pid_files.push(dir.join(pid));
        if !ok {
            println!(
                "slurm-test: skipped: {daemon} would not start (see {})",
                dir.display()
            );
            return Ok(None);
        }
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let state = cluster
            .output("sinfo", &["-h", "-o", "%T"])
            .unwrap_or_default();
        if state.trim() == "idle" {
            println!(
                "slurm-test: one-node cluster up in {} (munged, slurmctld, slurmd)",
                cluster.dir.display()
            );
            return Ok(Some(cluster));
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    println!("slurm-test: skipped: the node did not become idle within 30 s");
    Ok(None)
}

const TINY: &str = r#"set = ["dataset.n_samples=60", "dataset.n_timesteps=20", "train.batch_size=16", "model.encoder_size=8"]"#;

fn grid_file(dir: &Path, name: &str, epochs: usize) -> Result<PathBuf> {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "name = \"{name}\"\ndescription = \"slurm test\"\nepochs = {epochs}\n[[groups]]\n\
             datasets = [\"arneodo\"]\nmodels = [\"gru\"]\nlatents = [2]\nseeds = [0, 1]\n{TINY}\n"
        ),
    )?;
    Ok(path)
}

/// results.csv without the columns that depend on how the grid ran.
fn results(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let header: Vec<&str> = text.lines().next().unwrap_or("").split(',').collect();
    let keep: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| !matches!(**h, "peak_rss_mib" | "wall_seconds" | "dir"))
        .map(|(i, _)| i)
        .collect();
    Ok(text
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            keep.iter()
                .map(|&i| c.get(i).copied().unwrap_or(""))
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect())
}

fn latentdyn(exe: &Path, dir: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new(exe).current_dir(dir).args(args).status()?;
    if !status.success() {
        bail!("latentdyn {} failed ({status})", args.join(" "));
    }
    Ok(())
}

/// `latentdyn ablate --grid GRID --out OUT` (datasets in `ds`, CPU) with `extra` flags.
fn ablate(exe: &Path, work: &Path, grid: &str, root: &str, extra: &[&str]) -> Result<()> {
    let mut args = vec![
        "ablate",
        "--grid",
        grid,
        "--out",
        root,
        "--datasets",
        "ds",
        "--device",
        "cpu",
    ];
    args.extend(extra);
    latentdyn(exe, work, &args)
}

fn rows(metrics: &Path) -> usize {
    std::fs::read_to_string(metrics).map_or(0, |t| t.lines().count().saturating_sub(1))
}

/// The whole test; `exe` is the release `latentdyn`.
pub fn run(exe: &Path) -> Result<()> {
    if !provision()? {
        return Ok(());
    }
    let tmp = std::env::temp_dir().join(format!("latentdyn-slurm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let Some(cluster) = start(&tmp.join("cluster"))? else {
        return Ok(());
    };
    let work = tmp.join("work");
    std::fs::create_dir_all(&work)?;
    let exe_s = exe.to_str().context("exe path")?;

    // 1. A 2-task array against a local run of the same grid.
    let grid = grid_file(&work, "tiny", 6)?;
    let g = grid.to_str().context("grid path")?;
    ablate(exe, &work, g, "local", &[])?;
    ablate(
        exe,
        &work,
        g,
        "cluster",
        &["--emit-slurm", "job.sh", "--tasks", "2"],
    )?;
    let started = Instant::now();
    let job = cluster.submit(
        &["--chdir", work.to_str().context("work")?],
        &work.join("job.sh"),
    )?;
    println!("slurm-test: submitted job array {job} (2 tasks)");
    cluster.wait(&job, Duration::from_secs(600))?;
    println!(
        "slurm-test: array {job} finished in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    latentdyn(exe, &work, &["report", "cluster/tiny", "--datasets", "ds"])?;
    let (a, b) = (
        results(&work.join("local/tiny/results.csv"))?,
        results(&work.join("cluster/tiny/results.csv"))?,
    );
    if a != b || a.len() != 3 {
        bail!(
            "the cluster's results differ from the local run's:\nlocal:\n{}\ncluster:\n{}",
            a.join("\n"),
            b.join("\n")
        );
    }
    println!(
        "slurm-test: results.csv of the cluster run equals the local run's ({} runs)",
        a.len() - 1
    );

    // 2. Cancel one task mid-run; resubmitting it resumes.
    let long = grid_file(&work, "long", 300)?;
    let l = long.to_str().context("grid path")?;
    ablate(
        exe,
        &work,
        l,
        "cluster",
        &["--emit-slurm", "long.sh", "--tasks", "2"],
    )?;
    let job = cluster.submit(
        &["--chdir", work.to_str().context("work")?, "--array=0"],
        &work.join("long.sh"),
    )?;
    let run = work.join("cluster/long/arneodo/gru-L2-s0");
    let metrics = run.join("metrics.csv");
    let start = Instant::now();
    while rows(&metrics) < 5 {
        if start.elapsed() > Duration::from_secs(300) {
            bail!("task 0 of {job} made no progress");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cluster.output("scancel", &[&job])?;
    cluster.wait(&job, Duration::from_secs(60))?;
    std::thread::sleep(Duration::from_secs(1));
    let before = std::fs::read_to_string(&metrics)?;
    let done_before = rows(&metrics);
    if done_before >= 300 {
        bail!("the task finished before scancel reached it");
    }
    println!("slurm-test: cancelled task 0 of {job} after {done_before} of 300 epochs");
    let job = cluster.submit(
        &["--chdir", work.to_str().context("work")?, "--array=0"],
        &work.join("long.sh"),
    )?;
    cluster.wait(&job, Duration::from_secs(900))?;
    let after = std::fs::read_to_string(&metrics)?;
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap_or_default();
    if !summary.contains("\"completed\"") || rows(&metrics) != 300 {
        bail!(
            "the resubmitted task did not complete the run: {} rows, {summary}",
            rows(&metrics)
        );
    }
    // The epochs before the cancel were kept, not trained again (a row cut
    // back to the last checkpoint may be rewritten identically).
    let kept: Vec<&str> = before.lines().take(done_before).collect();
    let now: Vec<&str> = after.lines().take(done_before).collect();
    if kept != now {
        bail!("the resumed run changed epochs it had finished before the cancel");
    }
    println!(
        "slurm-test: resubmitted task 0 ({job}) resumed after {done_before} epochs and completed 300; \
         the earlier epochs are unchanged"
    );
    println!("slurm-test: passed ({exe_s})");
    drop(cluster);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(())
}
