"""Writes the large synthetic NWB session that `benches/benches/import.rs`
times: 256 units at 40 Hz over 1000 s (about 10.2 million spikes), 1000
trials of 0.8 s with 0.2 s gaps, a 2-D behaviour TimeSeries at 1 kHz, a
boolean `heldout` column and integer conditions, in NWB 2's layout (the
datasets pynwb writes; attributes are not needed by the reader).

    python make_large_session.py OUT.nwb

`cargo xtask bench` installs h5py into the project's venv and runs this
when the file is missing.
"""
import sys

import h5py
import numpy as np

UNITS, RATE_HZ, SECONDS, TRIALS = 256, 40.0, 1000.0, 1000

rng = np.random.default_rng(0)
counts = rng.poisson(RATE_HZ * SECONDS, size=UNITS)
times = [np.sort(rng.uniform(0.0, SECONDS, size=n)) for n in counts]
starts = np.arange(TRIALS) * (SECONDS / TRIALS)
stops = starts + 0.8
with h5py.File(sys.argv[1], "w") as f:
    u = f.create_group("units")
    u["spike_times"] = np.concatenate(times)
    u["spike_times_index"] = np.cumsum(counts).astype(np.int64)
    u["obs_intervals"] = np.tile([0.0, SECONDS], (UNITS, 1))
    u["obs_intervals_index"] = np.arange(1, UNITS + 1, dtype=np.int64)
    u["heldout"] = np.arange(UNITS) % 4 == 0
    u["id"] = np.arange(UNITS)
    t = f.create_group("intervals/trials")
    t["start_time"] = starts
    t["stop_time"] = stops
    t["move_onset_time"] = starts + 0.3
    t["condition_id"] = np.arange(TRIALS) % 8
    t["id"] = np.arange(TRIALS)
    b = f.create_group("processing/behavior/hand_kinematics/hand_vel")
    stamps = np.arange(0.0, SECONDS, 0.001)
    b["data"] = np.stack([np.sin(stamps), np.cos(stamps)], axis=1)
    b["timestamps"] = stamps
print(f"{sys.argv[1]}: {UNITS} units, {int(counts.sum())} spikes, {TRIALS} trials")
