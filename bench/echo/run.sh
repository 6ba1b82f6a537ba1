#!/usr/bin/env bash
# bench/echo/run.sh LABEL SERVER_COMMAND... — the SPEC.md `echo` workload against one server.
#
#   bench/echo/run.sh weft  build/bench/samples/echo_server {port}
#   bench/echo/run.sh tokio /tmp/anchors/tokio/target/release/echo_server --port {port}
#   bench/echo/run.sh go    /tmp/anchors/go/bin/anchor echo -port {port}
#
# Starts the server ({port} in its arguments becomes a free port), waits until it listens,
# runs shared/bench/echo_load (C=100 connections, 64-byte messages, SECONDS=10) against it,
# and stops it by its pid. Prints one line:
#   RESULT echo LABEL req_per_s=... cpu_us_per_req=... server_cpu_ms=... requests=... errors=...
# req_per_s is the client's figure; cpu_us_per_req = the server's user+system CPU time over
# the load run (from /proc/PID/stat) / requests. On a machine where the client shares the
# cores with the server, cpu_us_per_req is the fairer comparison (SPEC.md).
# Environment: CONNS=100 ECHO_SECONDS=10; BUILD_DIR (default build/bench/bench/echo) is
# where echo_load is built, with shared/bench's Makefile (the shared tree is not written to).
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 LABEL SERVER_COMMAND..." >&2; exit 2; }
label=$1
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shared=$(cd "$here/../../../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)
conns=${CONNS:-100}
seconds=${ECHO_SECONDS:-10}
build=${BUILD_DIR:-$here/../../build/bench/bench/echo}
mkdir -p "$build"
make -s -C "$build" -f "$shared/Makefile" VPATH="$shared" echo_load >&2 || exit 2
load=$build/echo_load

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
args=()
for a in "$@"; do args+=("${a//\{port\}/$port}"); done

pid=
cleanup() { if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
"${args[@]}" > /dev/null &
pid=$!
for _ in $(seq 200); do
    ss -Hltn "sport = :$port" | grep -q . && break
    kill -0 "$pid" 2>/dev/null || { echo "[echo] $label: server exited" >&2; exit 1; }
    sleep 0.05
done

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
before=$(cpu_ticks "$pid")
line=$("$load" 127.0.0.1 "$port" "$conns" "$seconds")
status=$?
after=$(cpu_ticks "$pid")
cleanup
[ -n "$line" ] || { echo "[echo] $label: no result from echo_load" >&2; exit 1; }
kv() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<< "$line"; }
req_per_s=$(kv req_per_s)
requests=$(kv requests)
errors=$(kv errors)
python3 - "$label" "$req_per_s" "$requests" "$errors" "$before" "$after" "$tck" "$conns" "$seconds" <<'PY'
import sys
label, rps, requests, errors, before, after, tck, conns, seconds = sys.argv[1:]
cpu_s = (int(after) - int(before)) / int(tck)
requests = int(requests)
per_req = cpu_s * 1e6 / requests if requests else float("nan")
print(f"RESULT echo {label} req_per_s={float(rps):.0f} cpu_us_per_req={per_req:.2f} "
      f"server_cpu_ms={cpu_s * 1000:.0f} requests={requests} errors={errors} conns={conns} seconds={seconds}")
PY
[ "$status" -eq 0 ] && [ "$errors" = 0 ]
