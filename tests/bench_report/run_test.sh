#!/usr/bin/env bash
# ctest bench_report_render: test_render.py under the interpreter tools/bench-report would pick
# (one with matplotlib, Debian's /usr/bin/python3 first). WORK_DIR = $1.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${BENCH_REPORT_PYTHON:-}
if [[ -z $python ]]; then
    for candidate in /usr/bin/python3 python3; do
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import matplotlib' 2>/dev/null; then
            python=$candidate
            break
        fi
    done
fi
[[ -n $python ]] || python=$(command -v python3 || echo /usr/bin/python3)
exec "$python" "$here/test_render.py" "$@"
