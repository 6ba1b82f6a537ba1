#!/usr/bin/env bash
# bench/echo/compare.sh — the echo workload for weft, Tokio and Go, alternating, REPS times
# each, in one session (SPEC.md: compare ratios taken in one run). Prints every RESULT line,
# then the medians and weft's ratios to each anchor:
#   MEDIAN echo weft req_per_s=... cpu_us_per_req=...
#   RATIO echo weft/tokio req_per_s=1.07 cpu_per_req=0.95     (cpu: lower is better)
# Environment: REPS=3, ECHO_SECONDS=10, WEFT_ECHO (default build/bench/samples/echo_server),
# TOKIO_ECHO (default /tmp/anchors/tokio/target/release/echo_server), GO_ANCHOR (default
# /tmp/anchors/go/bin/anchor). A missing anchor binary is skipped with a note on stderr.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
reps=${REPS:-3}
weft=${WEFT_ECHO:-$root/build/bench/samples/echo_server}
tokio=${TOKIO_ECHO:-/tmp/anchors/tokio/target/release/echo_server}
go=${GO_ANCHOR:-/tmp/anchors/go/bin/anchor}
export BUILD_DIR=${BUILD_DIR:-$root/build/bench/bench/echo}

runners=(weft)
[ -x "$tokio" ] && runners+=(tokio) || echo "[echo] no Tokio anchor at $tokio: skipped" >&2
[ -x "$go" ] && runners+=(go) || echo "[echo] no Go anchor at $go: skipped" >&2

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((i = 1; i <= reps; i++)); do
    for r in "${runners[@]}"; do
        echo "[echo] $r ($i/$reps)" >&2
        case $r in
        weft) "$here/run.sh" weft "$weft" {port} ;;
        tokio) "$here/run.sh" tokio "$tokio" --port {port} ;;
        go) "$here/run.sh" go "$go" echo -port {port} ;;
        esac 2>/dev/null | tee -a "$results"
    done
done
python3 - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) < 3 or f[0] != "RESULT":
        continue
    kv = dict(x.split("=", 1) for x in f[3:] if "=" in x)
    runs.setdefault(f[2], []).append((float(kv["req_per_s"]), float(kv["cpu_us_per_req"])))
med = {}
for name, values in runs.items():
    med[name] = (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values))
    print(f"MEDIAN echo {name} req_per_s={med[name][0]:.0f} cpu_us_per_req={med[name][1]:.2f} runs={len(values)}")
if "weft" in med:
    for other in med:
        if other != "weft":
            print(f"RATIO echo weft/{other} req_per_s={med['weft'][0] / med[other][0]:.2f} "
                  f"cpu_per_req={med['weft'][1] / med[other][1]:.2f}")
PY
