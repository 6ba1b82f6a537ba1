#!/usr/bin/env python3
"""tools/bench-report's report generator on canned results (results.txt beside this file):
REPORT.md's medians and ratios (the median of per-round ratios, not the ratio of medians), the
notes on failed and skipped runs, and one PNG per workload family. Not the benchmarks.

    test_render.py WORK_DIR      exit 0 pass, 1 fail, 77 skip (matplotlib missing: text checked)
"""
import shutil
import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
root = here.parent.parent
work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench_report_test")
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL: {what}", file=sys.stderr)


# The analysis itself, imported.
sys.path.insert(0, str(root / "tools"))
import bench_report as br  # noqa: E402
res = br.parse((here / "results.txt").read_text())
check(res.rounds == 3, f"3 rounds parsed, got {res.rounds}")
wl, series, best, leader = br.analyse(res, "fib")
by = {s.runtime: s for s in series}
check(by["weft"].median == 120 and by["weft"].low == 100 and by["weft"].high == 300, "weft fib median/min/max")
# Per-round weft/tokio: 0.5, 1.2, 1.2 -> 1.2; the ratio of the medians would be 120/200 = 0.6.
check(abs(by["tokio"].ratio - 1.2) < 1e-9, f"weft ÷ tokio = median of per-round ratios 1.2, got {by['tokio'].ratio}")
check(abs(by["go"].ratio - 0.5) < 1e-9, f"weft ÷ go = 0.5, got {by['go'].ratio}")
check(best.runtime == "tokio" and leader.runtime == "weft", "fib: best anchor tokio, leader weft")
wl, series, best, leader = br.analyse(res, "spawn")
by = {s.runtime: s for s in series}
# A rate: the anchor's rate ÷ weft's, per round: 3.0, 0.5, 0.55 -> 0.55.
check(abs(by["tbb"].ratio - 0.55) < 1e-9, f"spawn weft ÷ tbb = 0.55, got {by['tbb'].ratio}")
check(abs(by["asio"].ratio - 0.75) < 1e-9 and by["asio"].ratio_rounds == 2, "asio: two rounds (one failed), 0.75")
check(best.runtime == "tbb" and leader.runtime == "tbb", "spawn: tbb leads on medians")

# The whole report, through the command line as a user runs it.
out = work / "report"
r = subprocess.run([sys.executable, str(root / "tools" / "bench_report.py"), "render", str(here / "results.txt"),
                    "--out", str(out)], capture_output=True, text=True)
check(r.returncode == 0, f"render exit status {r.returncode}: {r.stderr}")
md = (out / "REPORT.md").read_text() if (out / "REPORT.md").exists() else ""
expect = [
    "| Fork-join | fib | wall_ms (lower is better) | 120 | tokio 200 | **1.20** weft behind | weft |",
    "| go | 360 | 150–600 | **0.50** (0.33–0.67) | 3 |",
    "| Fork-join | spawn | ops_per_s (higher is better) | 2.00M | tbb 2.20M | **0.55** weft ahead | tbb |",
    "| asio | 1.50M | 1.00M–2.00M | **0.75** (0.50–1.00) | 2 |",
    "| Fork-join | skynet | wall_ms (lower is better) | 1,130 | libfork 820 | **1.38** weft behind | libfork |",
    "| Scheduling | timers | overhead_ms (lower is better) | 350 | go 550 | **0.65** weft ahead | weft |",
    "| **weft** | 350 | 300–400 | (itself) | 3 | 505 |",
    "asio, round 2: failed (exit status 1 (stderr in runs.log))",
    "go, round 3: failed (timed out after 600 s)",
    "TooManyCooks: TooManyCooks_skynet not built in /nowhere",
    "asio: left out by default",
    "Leader: **weft** (no anchor ran this workload).",
    "Load average at start 1.50 1.20 1.00, at end 2.50 1.80 1.20",
    "the median of those per-round ratios",
    "| CPU | Test CPU 9000 |",
    "The 1-minute load average reached 2.5 on 2 cores",
    "1-minute load average as each round began: 2: 1.75.",
]
for line in expect:
    check(line in md, f"REPORT.md has: {line}")
check("0.60" not in md.split("## Fork-join")[0], "the summary does not show the ratio of the medians (0.60)")

try:
    import matplotlib  # noqa: F401
except ImportError:
    if failures:
        sys.exit(1)
    print("SKIP: matplotlib missing (apt-get install python3-matplotlib): REPORT.md checked, charts not",
          file=sys.stderr)
    sys.exit(77)
for family in ("forkjoin", "scheduling"):
    png = out / f"{family}.png"
    data = png.read_bytes() if png.exists() else b""
    check(data.startswith(b"\x89PNG\r\n\x1a\n"), f"{png.name} is a PNG")
    check(0 < len(data) <= 100_000, f"{png.name} is at most 100 KB ({len(data)} bytes)")
    check(f"]({family}.png)" in md, f"REPORT.md shows {png.name}")
check(not (out / "io.png").exists(), "no chart for a family without results")
sys.exit(1 if failures else 0)
