//! Process settings that the hand-written kernels need and that can only be
//! made before the program starts: libgomp's spin count and glibc's malloc
//! thresholds. [`restart_with_tuned_runtime`] sets them by restarting the
//! program once.
//!
//! **OpenMP.** GNU OpenMP (libgomp, which libtorch's CPU build uses) keeps
//! its worker threads spinning after each parallel region, 300 000 spins by
//! default, so that the next libtorch operator starts at once. A training
//! step alternates libtorch operators with the hand-written kernels, which
//! run on their own threads, and the spinning workers take cores from them.
//! A short spin (`GOMP_SPINCOUNT=10000`) keeps nearly all of libtorch's own
//! speed and gives the cores back: measured here (2 threads), a GRU L = 3
//! step went from 67 to 51 ms and a NODE L = 3 step from 121 to 103 ms,
//! while libtorch-only steps changed by under 4 %. (`OMP_WAIT_POLICY=PASSIVE`
//! helps the kernels as much but makes libtorch's operators 2.5× slower.)
//! libgomp reads these variables once, when libtorch is loaded, before
//! `main`.
//!
//! **malloc.** A training step allocates and frees the same large buffers
//! (a GRU L = 100 step: latents, their gradients and copies of 18 MB each).
//! glibc serves blocks above its mmap threshold from fresh mappings, so
//! every step pays a page fault per 4 KiB for them, and it returns the top
//! of the heap to the system beyond its trim threshold, so the next step
//! faults again. [`MALLOC_TUNABLES`] keeps blocks up to 32 MiB (glibc's
//! largest allowed threshold) on the heap and trims only beyond 1 GiB: a
//! GRU L = 100 step went from 110 to 100 ms here. (Setting the trim
//! threshold alone is worse than nothing: it switches off glibc's adaptive
//! mmap threshold, and the same step took 160 ms.) glibc reads
//! `GLIBC_TUNABLES` at startup.

/// The spin count the `latentdyn` binary and the benches run with.
pub const SPINCOUNT: &str = "10000";

/// The `GLIBC_TUNABLES` value the `latentdyn` binary and the benches run
/// with: mmap threshold 32 MiB, trim threshold 1 GiB.
pub const MALLOC_TUNABLES: &str =
    "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824";

/// The variables [`restart_with_tuned_runtime`] would set, given a lookup
/// of the current environment: `GOMP_SPINCOUNT` unless it or
/// `OMP_WAIT_POLICY` is set, and `GLIBC_TUNABLES` (glibc only) unless it is
/// set. A user's own choice always wins.
pub fn settings_to_add(
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> Vec<(&'static str, &'static str)> {
    let mut add = Vec::new();
    if var("GOMP_SPINCOUNT").is_none() && var("OMP_WAIT_POLICY").is_none() {
        add.push(("GOMP_SPINCOUNT", SPINCOUNT));
    }
    if cfg!(all(target_os = "linux", target_env = "gnu")) && var("GLIBC_TUNABLES").is_none() {
        add.push(("GLIBC_TUNABLES", MALLOC_TUNABLES));
    }
    add
}

/// Restarts the current program with the settings of [`settings_to_add`]
/// (nothing happens when there are none, so it restarts at most once). Call
/// it first thing in `main`, before any thread is started. On success it
/// does not return; if the restart fails it returns the reason and the
/// program goes on as it is.
pub fn restart_with_tuned_runtime() -> Result<(), String> {
    let add = settings_to_add(|k| std::env::var_os(k));
    if add.is_empty() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .envs(add)
            .exec();
        Err(err.to_string())
    }
    #[cfg(not(unix))]
    {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::ffi::OsString;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn a_users_settings_win_and_a_restarted_program_adds_nothing() {
        let glibc = cfg!(all(target_os = "linux", target_env = "gnu"));
        let all = settings_to_add(lookup(&[]));
        assert_eq!(all.len(), 1 + usize::from(glibc));
        assert!(all.contains(&("GOMP_SPINCOUNT", SPINCOUNT)));
        let after: Vec<(&str, &str)> = all.clone();
        assert!(settings_to_add(lookup(&after)).is_empty(), "restarts once");
        assert!(!settings_to_add(lookup(&[("OMP_WAIT_POLICY", "active")]))
            .iter()
            .any(|(k, _)| *k == "GOMP_SPINCOUNT"));
        assert!(!settings_to_add(lookup(&[("GLIBC_TUNABLES", "x")]))
            .iter()
            .any(|(k, _)| *k == "GLIBC_TUNABLES"));
    }
}
