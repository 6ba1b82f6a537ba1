#!/usr/bin/env bash
# ctest sample_crawler_url: crawl samples/http_server (as tools/demo does) with --url and
# --json, check the JSON; then crawl a port nothing listens on: one clear line, exit status 1.
#   crawler_test.sh PATH/TO/crawler PATH/TO/http_server
set -u
crawler=$1
server=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"; [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null' EXIT
"$server" --port 0 --workers 1 > "$dir/server.out" &
pid=$!
for _ in $(seq 200); do grep -q '^listening on' "$dir/server.out" && break; sleep 0.05; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/server.out")
[ -n "$port" ] || { echo "no 'listening on' line"; exit 1; }

"$crawler" --url "http://127.0.0.1:$port/" --requests 2000 --concurrency 100 --json "$dir/summary.json" ||
    { echo "crawling http_server failed (exit status $?)"; exit 1; }
grep -q '^{"requests": 2000, "ok": 2000, "failed": 0, "failures": {"timeout": 0, "http_5xx": 0, "disconnected": 0, "connect": 0, "other": 0}, "retries": 0, "rps": [0-9.]*, "p50_ms": [0-9.]*, "p99_ms": [0-9.]*, "max_ms": [0-9.]*, "wall_s": [0-9.]*}$' "$dir/summary.json" ||
    { echo "unexpected JSON:"; cat "$dir/summary.json"; exit 1; }
kill -TERM "$pid"
wait "$pid"
pid=

# Nothing listens on port 1.
"$crawler" --url http://127.0.0.1:1/ --requests 10 2> "$dir/refused.err" > /dev/null
code=$?
cat "$dir/refused.err"
[ "$code" -eq 1 ] || { echo "exit status $code for a refused target, expected 1"; exit 1; }
# The fault options shape the built-in target's pages: with --url they are a usage error, not ignored.
"$crawler" --url http://127.0.0.1:1/ --requests 10 --errors 5 2> "$dir/faults.err" > /dev/null
code=$?
[ "$code" -eq 2 ] && grep -q -- "--slow, --errors and --resets" "$dir/faults.err" ||
    { echo "exit status $code for --url with --errors, expected 2 and a usage line:"; cat "$dir/faults.err"; exit 1; }
echo "crawler: crawled http_server, wrote the JSON; a refused target failed cleanly"
