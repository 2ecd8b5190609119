//! libtorch's OpenMP threads and the hand-written kernels.
//!
//! GNU OpenMP (libgomp, which libtorch's CPU build uses) keeps its worker
//! threads spinning for a while after each parallel region. A training step
//! alternates libtorch operators with the hand-written kernels, which run on
//! their own threads, so the spinning workers take cores from the kernels:
//! measured here, steps are 10–20 % faster with `OMP_WAIT_POLICY=PASSIVE`.
//! libgomp reads that variable once, when libtorch is loaded, before `main`,
//! so a program can only set it by restarting itself.

/// Restarts the current program with `OMP_WAIT_POLICY=PASSIVE` unless the
/// variable is already set (then nothing happens, so a user's choice wins).
/// Call it first thing in `main`, before any thread is started. On success
/// it does not return; if the restart fails it returns the reason and the
/// program goes on as it is.
pub fn restart_with_passive_openmp() -> Result<(), String> {
    if std::env::var_os("OMP_WAIT_POLICY").is_some() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("OMP_WAIT_POLICY", "PASSIVE")
            .exec();
        Err(err.to_string())
    }
    #[cfg(not(unix))]
    {
        Ok(())
    }
}
