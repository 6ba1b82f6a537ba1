#!/usr/bin/env bash
# ctest sample_http_server_metrics: start samples/http_server (2 workers) on a free port, load it
# (wrk if installed, else a curl loop), then check GET /metrics: status, Content-Type, the
# per-worker series; parse it with Prometheus' own Python parser (python3-prometheus-client,
# skipped if missing); run tools/weft-top --url ... --once and find a line per worker; stop the
# server with SIGTERM and expect a clean exit.
#   http_server_metrics_test.sh PATH/TO/http_server PATH/TO/weft-top
set -u
server=$1
weft_top=$2
out=$(mktemp)
headers=$(mktemp)
body=$(mktemp)
load_pid=
trap 'rm -f "$out" "$headers" "$body"; [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null;
      [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null' EXIT
command -v curl >/dev/null || { echo "http_server metrics: curl not found, skipped"; exit 77; }
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3) || { echo "http_server metrics: python3 not found, skipped"; exit 77; }

"$server" --port 0 --workers 2 > "$out" &
pid=$!
for _ in $(seq 200); do grep -q '^listening on' "$out" && break; sleep 0.05; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
[ -n "$port" ] || { echo "no 'listening on' line"; exit 1; }
base=http://127.0.0.1:$port

# Load for a few seconds in the background (bounded: wrk -d, or a fixed number of requests).
if command -v wrk >/dev/null; then
    wrk -t1 -c16 -d4s "$base/" > /dev/null 2>&1 &
else
    (for _ in $(seq 2000); do curl -s --max-time 5 "$base/" "$base/users/1" > /dev/null || break; done) &
fi
load_pid=$!

code=$(curl -s -S --max-time 10 -D "$headers" -o "$body" -w '%{http_code}' "$base/metrics")
[ "$code" = 200 ] || { echo "GET /metrics: status $code"; exit 1; }
tr -d '\r' < "$headers" | grep -qix 'Content-Type: text/plain; version=0.0.4; charset=utf-8' ||
    { echo "GET /metrics: headers:"; cat "$headers"; exit 1; }
for w in 0 1; do
    grep -q "^weft_worker_polls_total{worker=\"$w\"} [0-9]*$" "$body" ||
        { echo "no polls line for worker $w in:"; head -40 "$body"; exit 1; }
done
grep -q '^# TYPE weft_worker_polls_total counter$' "$body" || { echo "no TYPE line"; exit 1; }
polls=$(awk '/^weft_worker_polls_total/ { s += $2 } END { print s + 0 }' "$body")
[ "$polls" -gt 0 ] || { echo "no polls counted: $polls"; exit 1; }

# Prometheus' parser, if installed (tools/deps installs python3-prometheus-client).
if "$python" -c 'import prometheus_client' 2>/dev/null; then
    "$python" - "$body" <<'PY' || exit 1
import sys
from prometheus_client.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
polls = families['weft_worker_polls']  # the parser drops a counter's _total
assert polls.type == 'counter', polls.type
workers = sorted(s.labels['worker'] for s in polls.samples if s.name == 'weft_worker_polls_total')
assert workers == ['0', '1'], workers
assert families['weft_worker_busy_seconds'].type == 'counter'
assert families['weft_blocking_threads'].type == 'gauge'
print('prometheus_client: %d metric families parsed' % len(families))
PY
else
    echo "prometheus_client not installed: its parser skipped"
fi

# weft-top's frame, while the load runs: a header and one line per worker.
frame=$(timeout 20 "$python" "$weft_top" --url "$base/metrics" --once --interval 0.5) ||
    { echo "weft-top failed: $frame"; exit 1; }
echo "$frame"
echo "$frame" | grep -q '^WORKER ' || { echo "weft-top: no header"; exit 1; }
for w in 0 1; do
    echo "$frame" | grep -Eq "^$w +[0-9.kM]+ " || { echo "weft-top: no line for worker $w"; exit 1; }
done
echo "$frame" | grep -q 'blocking pool:' || { echo "weft-top: no blocking pool line"; exit 1; }

wait "$load_pid" 2>/dev/null
load_pid=
kill -TERM "$pid"
wait "$pid"
code=$?
pid=
[ "$code" -eq 0 ] || { echo "http_server exited with $code"; exit 1; }
echo "http_server metrics: served, parsed, shown"
