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


def find(results, suffix):
    """The point estimate whose bench id ends in `suffix`, or None."""
    return next((v for k, v in results.items() if k.endswith(suffix)), None)


def pair(mine, ref):
    """`ours / theirs` and their ratio, or dashes where one side is missing."""
    if mine is None or ref is None:
        return ["–", "–"]
    return [f"{mine:.1f} / {ref:.1f}", f"{mine / ref:.2f}"]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    for name in ("ours_step_1.txt", "ours_step_2.txt"):
        if not (out / name).exists():
            sys.exit(f"peer_ratios: no {out / name} (run peer_round.sh {out} first)")
    for r in (1, 2):
        if not (out / f"peer_{r}.json").exists() and not (out / f"peer_{r}.txt").exists():
            sys.exit(f"peer_ratios: no {out}/peer_{r}.json or .txt (the reference's output)")
    ours = [criterion(out / f"ours_step_{r}.txt") for r in (1, 2)]
    if not ours[0]:
        sys.exit(f"peer_ratios: no criterion results in {out / 'ours_step_1.txt'}")
    share = [shares(out / f"ours_step_{r}.txt") for r in (1, 2)]
    theirs = [peer(out, r) for r in (1, 2)]
    configs = [k.split("/")[-1] for k in ours[0]]
    print("| model | step, round 1: ours / PyTorch (ms) | ratio | round 2 | ratio "
          "| share of sgemm (rounds 1 / 2) |")
    print("|---|---|---|---|---|---|")
    for c in configs:
        cells = []
        for r in (0, 1):
            ref = theirs[r].get(c, (None, None))[0]
            cells += pair(find(ours[r], "/" + c), ref)
        sh = " / ".join(share[r].get(c, "?") for r in (0, 1))
        print(f"| {c} | {' | '.join(cells)} | {sh} % |")
    epoch_file = out / "ours_epoch_1.txt"
    if epoch_file.exists():
        ep = criterion(epoch_file)
        print()
        print("| model | valid: ours / PyTorch (ms) | ratio | epoch: ours / PyTorch (ms) | ratio |")
        print("|---|---|---|---|---|")
        for c in configs:
            v, e = find(ep, "valid/" + c), find(ep, "epoch/" + c)
            step, valid = theirs[0].get(c, (None, None))
            if v is None and e is None:
                continue  # the epoch bench does not time this configuration
            ref_epoch = None if step is None or valid is None else 2 * step + valid
            print(f"| {c} | {' | '.join(pair(v, valid) + pair(e, ref_epoch))} |")


if __name__ == "__main__":
    main()
