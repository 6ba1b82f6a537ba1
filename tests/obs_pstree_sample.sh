#!/usr/bin/env bash
# ctest obs_pstree_http_server: start samples/http_server with WEFT_CONTROL=<socket>, hold a
# keep-alive connection open, ask tools/weft-pstree and tools/weft-ps for the tasks, and find the
# expected names and await kinds: the connection's task waits to read its socket, the server's
# tasks wait too. Then SIGTERM: a clean exit, and the socket file is gone.
#   obs_pstree_sample.sh PATH/TO/http_server PATH/TO/tools
set -u
server=$1
tools=$2
python=$(command -v /usr/bin/python3 || command -v python3) || { echo "obs_pstree: python3 not found, skipped"; exit 0; }
dir=$(mktemp -d)
sock=$dir/control.sock
trap 'rm -rf "$dir"; [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null' EXIT
WEFT_CONTROL=$sock "$server" --port 0 --workers 2 > "$dir/out" 2> "$dir/err" &
pid=$!
for _ in $(seq 200); do grep -q '^listening on' "$dir/out" && [ -S "$sock" ] && break; sleep 0.05; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$dir/out")
[ -n "$port" ] || { echo "no 'listening on' line"; cat "$dir/err"; exit 1; }
[ -S "$sock" ] || { echo "no control socket at $sock"; cat "$dir/err"; exit 1; }
# One request on a keep-alive connection; its task then waits for the next one.
exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET / HTTP/1.1\r\nHost: t\r\n\r\n' >&3
IFS= read -r -t 10 status <&3
[ "$status" = $'HTTP/1.1 200 OK\r' ] || { echo "raw GET: '$status'"; exit 1; }
ok=
for _ in $(seq 200); do
    tree=$("$python" "$tools/weft-pstree" "$sock") || { echo "weft-pstree failed: $tree"; exit 1; }
    if echo "$tree" | grep -Eq "'connection' suspended, awaiting socket fd [0-9]+ read"; then ok=1; break; fi
    sleep 0.05
done
echo "$tree"
[ -n "$ok" ] || { echo "no connection task awaiting its socket in the tree"; exit 1; }
echo "$tree" | grep -Eq "^runtime 'weft' \(2 workers, [0-9]+ tasks\)$" || { echo "no runtime line"; exit 1; }
echo "$tree" | grep -Eq "#[0-9]+ 'block_on' suspended, awaiting " || { echo "no main task"; exit 1; }
echo "$tree" | grep -Eq "#[0-9]+ 'http' suspended, awaiting " || { echo "no 'http' task"; exit 1; }
# The connection task sits under its acceptor (who spawned it), not at the root.
echo "$tree" | grep -Eq "^(│  |   )+(└─|├─) #[0-9]+ 'connection'" || { echo "connection at the root"; exit 1; }
ps=$("$python" "$tools/weft-ps" "$sock") || { echo "weft-ps failed"; exit 1; }
echo "$ps" | head -1 | grep -q 'ID *PARENT *STATE *WORKER *RESUMES *BUSY_MS *NAME *AWAITING *SPAWNED AT' || { echo "ps header: $ps"; exit 1; }
echo "$ps" | grep -Eq "connection +socket fd [0-9]+ read" || { echo "ps: no connection line: $ps"; exit 1; }
json=$("$python" "$tools/weft-ctl" "$sock" json) || { echo "json failed"; exit 1; }
echo "$json" | "$python" -c '
import json, sys
d = json.load(sys.stdin)
assert d["runtime"]["workers"] == 2, d["runtime"]
kinds = {(t["name"], t["awaiting"]["kind"]) for t in d["tasks"]}
assert ("connection", "socket") in kinds, kinds
for t in d["tasks"]:
    assert set(t) >= {"id", "name", "state", "worker", "parent", "spawned_at", "resumes", "busy_ns", "awaiting"}, t
' || { echo "json: $json"; exit 1; }
kill -TERM "$pid"
wait "$pid"
code=$?
pid=
[ "$code" -eq 0 ] || { echo "http_server exited with $code"; cat "$dir/err"; exit 1; }
[ ! -e "$sock" ] || { echo "the control socket file is still there"; exit 1; }
echo "obs_pstree: tree, ps and json as expected; socket removed"
