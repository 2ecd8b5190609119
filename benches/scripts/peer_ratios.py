#!/usr/bin/env python3
"""The ratio tables of one alternated bench session (peer_round.sh OUTDIR):
our criterion point estimates against the PyTorch reference's medians, per
round, with the share of the sgemm rate our bench printed, then validation
and epoch (PyTorch's epoch = 2 x step + valid, from its round-1 run).

Usage: peer_ratios.py OUTDIR   (reads ours_step_{1,2}.txt, ours_epoch_1.txt,
peer_{1,2}.json; peer_{1,2}.txt, the script's markdown table, when no JSON).
"""
import json
import re
import sys
from pathlib import Path

UNITS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}
TIME = re.compile(r"^(\S+)\s*time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", re.M)


def criterion(path):
    """{bench id: point estimate in ms} from criterion's output (an id too
    long for its column stands on the line above its `time:`)."""
    text = re.sub(r"\n\s+time:", " time:", Path(path).read_text())
    return {m[0]: float(m[1]) * UNITS[m[2]] for m in TIME.findall(text)}


def shares(path):
    """{config: percent of sgemm} from the bench's own lines."""
    pat = re.compile(r"^(\w+): [\d.]+ GFLOP per step, .*?([\d.]+) % of sgemm", re.M)
    return {m[0]: m[1] for m in pat.findall(Path(path).read_text())}


def peer(out, rnd):
    """{config: (step ms, valid ms or None)} from the reference's JSON or table."""
    js = out / f"peer_{rnd}.json"
    if js.exists():
        rows = json.loads(js.read_text())["results"]
        return {r["model"]: (r["median_ms"], r.get("valid_median_ms")) for r in rows}
    res = {}
    for line in (out / f"peer_{rnd}.txt").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and re.fullmatch(r"[a-z]+\d+", cells[0]):
            valid = None if cells[6] in ("–", "-") else float(cells[6])
            res[cells[0]] = (float(cells[1]), valid)
    return res


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    ours = [criterion(out / f"ours_step_{r}.txt") for r in (1, 2)]
    share = [shares(out / f"ours_step_{r}.txt") for r in (1, 2)]
    theirs = [peer(out, r) for r in (1, 2)]
    configs = [k.split("/")[-1] for k in ours[0]]
    print("| model | step, round 1: ours / PyTorch (ms) | ratio | round 2 | ratio "
          "| share of sgemm (rounds 1 / 2) |")
    print("|---|---|---|---|---|---|")
    for c in configs:
        cells = []
        for r in (0, 1):
            mine = next(v for k, v in ours[r].items() if k.endswith("/" + c))
            ref = theirs[r][c][0]
            cells += [f"{mine:.1f} / {ref:.1f}", f"{mine / ref:.2f}"]
        sh = " / ".join(share[r].get(c, "?") for r in (0, 1))
        print(f"| {c} | {' | '.join(cells)} | {sh} % |")
    epoch_file = out / "ours_epoch_1.txt"
    if epoch_file.exists():
        ep = criterion(epoch_file)
        print()
        print("| model | valid: ours / PyTorch (ms) | ratio | epoch: ours / PyTorch (ms) | ratio |")
        print("|---|---|---|---|---|")
        for c in configs:
            v = next((x for k, x in ep.items() if k.endswith("valid/" + c)), None)
            e = next((x for k, x in ep.items() if k.endswith("epoch/" + c)), None)
            step, valid = theirs[0][c]
            if v is None or e is None or valid is None:
                continue
            ref_epoch = 2 * step + valid
            print(f"| {c} | {v:.1f} / {valid:.1f} | {v / valid:.2f} "
                  f"| {e:.1f} / {ref_epoch:.1f} | {e / ref_epoch:.2f} |")


if __name__ == "__main__":
    main()
