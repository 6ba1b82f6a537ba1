#!/usr/bin/env bash
# ctest sample_echo_server: start samples/echo_server on a free port, echo a line through
# it; then half-closing clients (write, shutdown(SHUT_WR), read to end of stream), one
# after another and many at once, must each get their echo and see the server close, and
# the server's descriptor count must come back while it still runs; then send SIGTERM and
# expect a clean exit (status 0) with the first connection closed by it.
#   echo_server_test.sh PATH/TO/echo_server PATH/TO/half_close_clients
set -u
server=$1
clients=$2
out=$(mktemp)
trap 'rm -f "$out"; [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null' EXIT
"$server" 0 > "$out" &
pid=$!
for _ in $(seq 200); do grep -q '^listening on' "$out" && break; sleep 0.05; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
[ -n "$port" ] || { echo "no 'listening on' line"; exit 1; }
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'hello, weft\n' >&3
IFS= read -r -t 10 reply <&3
[ "$reply" = "hello, weft" ] || { echo "echoed '$reply'"; exit 1; }
# Every client's FIN must reach the server even when it arrives with the last bytes while a
# read waits; the server then closes, so its descriptors are back to what they were.
fds() { ls "/proc/$pid/fd" | wc -l; }
before=$(fds)
"$clients" "$port" 300 200 || { echo "half-closing clients were left open"; exit 1; }
after=$(fds)
[ "$after" -eq "$before" ] || { echo "echo_server holds $after descriptors, $before before the clients"; exit 1; }
kill -TERM "$pid"
wait "$pid"
status=$?
pid=
IFS= read -r -t 10 rest <&3 && { echo "connection still open after shutdown"; exit 1; }
[ "$status" -eq 0 ] || { echo "echo_server exited with $status"; exit 1; }
echo "echo_server: echoed, shut down cleanly"
