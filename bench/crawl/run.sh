#!/usr/bin/env bash
# bench/crawl/run.sh LABEL CLIENT [ARGS...] — the SPEC.md `crawl` workload for one client.
#
#   bench/crawl/run.sh weft  build/bench/bench/weft_bench_crawl
#   bench/crawl/run.sh tokio /tmp/anchors/tokio/target/release/crawl
#   bench/crawl/run.sh go    /tmp/anchors/go/bin/anchor crawl -url
#
# Starts shared/bench/nginx-hello.sh on a free port, runs CLIENT [ARGS...] URL (N=100,000
# GETs, K=1,000 in flight: each client's defaults) and stops nginx. The client prints its
# own RESULT line. ({port} arguments, as bench/run passes them, are dropped.)
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 LABEL CLIENT [ARGS...]" >&2; exit 2; }
shift  # the label: the client names itself in its RESULT line
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shared=$(cd "$here/../../../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)
args=()
for a in "$@"; do [ "$a" = "{port}" ] || args+=("$a"); done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$shared/nginx-hello.sh" start "$port" >/dev/null || exit 2
trap '"$shared/nginx-hello.sh" stop "$port" >/dev/null 2>&1' EXIT
"${args[@]}" "http://127.0.0.1:$port/hello"
