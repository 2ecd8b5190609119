//! libtorch's OpenMP threads and the hand-written kernels.
//!
//! GNU OpenMP (libgomp, which libtorch's CPU build uses) keeps its worker
//! threads spinning after each parallel region, 300 000 spins by default,
//! so that the next libtorch operator starts at once. A training step
//! alternates libtorch operators with the hand-written kernels, which run on
//! their own threads, and the spinning workers take cores from them. A
//! short spin (`GOMP_SPINCOUNT=10000`) keeps nearly all of libtorch's own
//! speed and gives the cores back: measured here (2 threads), a GRU L = 3
//! step went from 67 to 51 ms and a NODE L = 3 step from 121 to 103 ms,
//! while libtorch-only steps changed by under 4 %. (`OMP_WAIT_POLICY=PASSIVE`
//! helps the kernels as much but makes libtorch's operators 2.5× slower.)
//! libgomp reads these variables once, when libtorch is loaded, before
//! `main`, so a program can only set them by restarting itself.

/// The spin count the `latentdyn` binary and the benches run with.
pub const SPINCOUNT: &str = "10000";

/// Restarts the current program with `GOMP_SPINCOUNT=10000` unless
/// `GOMP_SPINCOUNT` or `OMP_WAIT_POLICY` is already set (then nothing
/// happens, so a user's choice wins). Call it first thing in `main`, before
/// any thread is started. On success it does not return; if the restart
/// fails it returns the reason and the program goes on as it is.
pub fn restart_with_short_openmp_spin() -> Result<(), String> {
    if std::env::var_os("GOMP_SPINCOUNT").is_some() || std::env::var_os("OMP_WAIT_POLICY").is_some()
    {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("GOMP_SPINCOUNT", SPINCOUNT)
            .exec();
        Err(err.to_string())
    }
    #[cfg(not(unix))]
    {
        Ok(())
    }
}
