#!/usr/bin/env bash
# ctest sample_http_server: start samples/http_server on a free port, check its routes with
# curl (GET / is exactly the 13-byte benchmark answer), open an idle keep-alive connection,
# then send SIGTERM and expect a clean exit (status 0) with that connection closed by it.
#   http_server_test.sh PATH/TO/http_server
set -u
server=$1
out=$(mktemp)
trap 'rm -f "$out"; [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null' EXIT
command -v curl >/dev/null || { echo "http_server: curl not found, skipped"; exit 0; }
"$server" --port 0 > "$out" &
pid=$!
for _ in $(seq 200); do grep -q '^listening on' "$out" && break; sleep 0.05; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
[ -n "$port" ] || { echo "no 'listening on' line"; exit 1; }
base=http://127.0.0.1:$port
hello=$(curl -s -S --max-time 10 -i "$base/" | tr -d '\r')
echo "$hello" | grep -qx 'Content-Length: 13' || { echo "GET / headers: $hello"; exit 1; }
[ "$(echo "$hello" | tail -n1)" = "Hello, World!" ] || { echo "GET /: $hello"; exit 1; }
[ "$(curl -s -S --max-time 10 "$base/users/7")" = '{"id": "7", "name": "user 7"}' ] || { echo "GET /users/7"; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/users/a%22b")" = 400 ] || { echo "GET /users/a\"b"; exit 1; }
[ "$(curl -s -S --max-time 10 --data-binary 'echo me' "$base/echo")" = "echo me" ] || { echo "POST /echo"; exit 1; }
[ "$(curl -s -S --max-time 10 "$base/stream/3")" = $'line 0\nline 1\nline 2' ] || { echo "GET /stream/3"; exit 1; }
# An idle keep-alive connection: the graceful stop closes it.
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET / HTTP/1.1\r\nHost: t\r\n\r\n' >&3
IFS= read -r -t 10 status <&3
[ "$status" = $'HTTP/1.1 200 OK\r' ] || { echo "raw GET: '$status'"; exit 1; }
kill -TERM "$pid"
wait "$pid"
code=$?
pid=
cat <&3 >/dev/null  # the rest of the response, then end of stream: the server closed it
[ "$code" -eq 0 ] || { echo "http_server exited with $code"; exit 1; }
echo "http_server: served, shut down cleanly"
