#!/usr/bin/env bash
# bench/http/run.sh: the `http` workload (shared/bench/SPEC.md): a keep-alive server answering
# GET / with the 13-byte `Hello, World!`, driven by wrk -t1 -c100 -d10s, plain and pipelined
# (depth 16), with the server's CPU cost per request:
#
#   bench/http/run.sh [ROUNDS]          (default 3; runtimes alternate within each round)
#   -> RESULT http weft mode=plain req_per_s=... cpu_us_per_req=... requests=... errors=... check=13
#
# cpu_us_per_req = the server's utime+stime over the run (/proc/PID/stat, summed over its
# processes for nginx) / requests wrk counted. check = 13 when GET / answered exactly
# `Hello, World!` with Content-Length: 13 before the run, else 0.
# Runtimes (RUNTIMES="weft hyper asio nginx" by default; those not found are skipped):
#   weft   WEFT_HTTP_SERVER (default: build/bench/samples/http_server, else build/release/...)
#   hyper  HYPER_HTTP_SERVER (default: /tmp/anchors/tokio/target/release/http_server)
#   asio   ASIO_HTTP_SERVER (default: /tmp/anchors/cpp/build/asio_http_server)
#   nginx  shared/bench/nginx-hello.sh (2 workers), NGINX_HELLO (default: /work/shared/bench/nginx-hello.sh)
# DURATION (default 10s), CONNECTIONS (100), DEPTH (16), PORT (18181).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
rounds=${1:-3}
duration=${DURATION:-10s}
conns=${CONNECTIONS:-100}
depth=${DEPTH:-16}
port=${PORT:-18181}
runtimes=${RUNTIMES:-weft hyper asio nginx}
weft_bin=${WEFT_HTTP_SERVER:-}
if [ -z "$weft_bin" ]; then
    for b in "$root/build/bench/samples/http_server" "$root/build/release/samples/http_server"; do
        [ -x "$b" ] && { weft_bin=$b; break; }
    done
fi
hyper_bin=${HYPER_HTTP_SERVER:-/tmp/anchors/tokio/target/release/http_server}
asio_bin=${ASIO_HTTP_SERVER:-/tmp/anchors/cpp/build/asio_http_server}
nginx_hello=${NGINX_HELLO:-/work/shared/bench/nginx-hello.sh}
command -v wrk >/dev/null || { echo "run.sh: wrk not found (apt-get install -y wrk)" >&2; exit 1; }

pid=""
path=/
start() {  # runtime -> sets pid and path; returns 1 if the runtime is unavailable
    path=/
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
        echo "run.sh: something already answers on port $port: stop it or set PORT" >&2
        exit 1
    fi
    case $1 in
        weft) [ -x "$weft_bin" ] || return 1; "$weft_bin" --port "$port" >/dev/null 2>&1 & pid=$! ;;
        hyper) [ -x "$hyper_bin" ] || return 1; "$hyper_bin" --port "$port" >/dev/null 2>&1 & pid=$! ;;
        asio) [ -x "$asio_bin" ] || return 1; "$asio_bin" "$port" >/dev/null 2>&1 & pid=$! ;;
        nginx) [ -x "$nginx_hello" ] || return 1
               pid=$(NGINX_WORKERS=2 "$nginx_hello" start "$port" | tail -1); path=/hello ;;
        *) return 1 ;;
    esac
    for _ in $(seq 100); do
        if curl -s -o /dev/null "http://127.0.0.1:$port$path"; then
            kill -0 "$pid" 2>/dev/null && return 0
            break
        fi
        sleep 0.05
    done
    echo "run.sh: $1 did not start" >&2
    stop "$1"
    return 1
}
stop() {
    case $1 in
        nginx) "$nginx_hello" stop "$port" >/dev/null 2>&1 || true ;;
        *) kill -TERM "$pid" 2>/dev/null || true
           for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
           kill -KILL "$pid" 2>/dev/null || true
           wait "$pid" 2>/dev/null || true ;;
    esac
}
cpu_ticks() {  # utime+stime of pid and its children processes (nginx workers)
    local total=0 p
    for p in $pid $(pgrep -P "$pid" 2>/dev/null || true); do
        total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo $total
}
check() {
    local out
    out=$(curl -s -i "http://127.0.0.1:$port$path" | tr -d '\r')
    if [[ $(echo "$out" | tail -n1) == "Hello, World!" ]] && echo "$out" | grep -qi '^content-length: 13$'; then echo 13; else echo 0; fi
}
measure() {  # runtime mode
    local args=() c0 c1 out reqs rps errs hz
    [ "$2" = pipelined ] && args=(-s "$here/pipeline.lua")
    c0=$(cpu_ticks)
    out=$(wrk -t1 -c"$conns" -d"$duration" "${args[@]}" "http://127.0.0.1:$port$path" ${args:+-- "$depth"} 2>&1)
    c1=$(cpu_ticks)
    hz=$(getconf CLK_TCK)
    reqs=$(echo "$out" | awk '/requests in/ {print $1}')
    rps=$(echo "$out" | awk '/^Requests\/sec:/ {printf "%.0f", $2}')
    errs=$(echo "$out" | awk '/Socket errors:/ {gsub(/,/, ""); e += $4 + $6 + $8 + $10} /Non-2xx/ {e += $NF} END {print e + 0}')
    awk -v rt="$1" -v mode="$2" -v rps="$rps" -v reqs="$reqs" -v ticks=$((c1 - c0)) -v hz="$hz" -v errs="$errs" -v chk="$3" \
        'BEGIN { printf "RESULT http %s mode=%s req_per_s=%s cpu_us_per_req=%.2f requests=%s errors=%s check=%s\n", rt, mode, rps, ticks * 1e6 / hz / reqs, reqs, errs, chk }'
}

for ((r = 1; r <= rounds; r++)); do
    for rt in $runtimes; do
        start "$rt" || { echo "run.sh: $rt skipped" >&2; continue; }
        chk=$(check)
        measure "$rt" plain "$chk"
        measure "$rt" pipelined "$chk"
        stop "$rt"
    done
done
