#!/usr/bin/env python3
"""ctest weft_top_socket: tools/weft-top --socket against a stand-in control socket.

The stand-in answers the control socket's protocol (one command line, the reply until EOF):
`metrics` with Prometheus text whose counters grow between calls, and `json` with a task list
whose busy_ns grows most for one task. weft-top --once must show each worker with the polls/s
the counters imply, and list the tasks busiest first (largest busy_ns growth). A second
stand-in has no task list (`json` fails): the frame is shown without tasks.
    weft-top-test.py PATH/TO/weft-top
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading

calls = {'metrics': 0, 'json': 0}


def metrics_text(n):
    polls = [1000 + n * 500, 2000 + n * 100]
    lines = ['# HELP weft_uptime_seconds x', '# TYPE weft_uptime_seconds gauge', 'weft_uptime_seconds %d' % (10 + n)]
    for name, values in (('weft_worker_polls_total', polls), ('weft_worker_stolen_tasks_total', [n, 0]),
                         ('weft_worker_parks_total', [n * 3, n]), ('weft_worker_busy_seconds_total', [n * 0.1, 0]),
                         ('weft_worker_local_queue_depth', [4, 0]), ('weft_worker_timers_pending', [2, 1]),
                         ('weft_worker_io_registrations', [3, 5]), ('weft_worker_lifo_hits_total', [0, 0])):
        lines.append('# HELP %s x' % name)
        lines.append('# TYPE %s counter' % name)
        for worker, value in enumerate(values):
            lines.append('%s{worker="%d"} %s' % (name, worker, value))
    for name, value in (('weft_blocking_threads', 3), ('weft_blocking_threads_busy', 2),
                        ('weft_blocking_threads_idle', 1), ('weft_blocking_max_threads', 512)):
        lines.append('%s %d' % (name, value))
    return '\n'.join(lines) + '\n'


def tasks_json(n):
    return json.dumps({'runtime': {'name': 'stand-in'}, 'tasks': [
        {'id': 1, 'name': 'main', 'state': 'suspended', 'worker': None, 'parent': None, 'spawned_at': 'a.cpp:1',
         'resumes': 10 + n, 'busy_ns': 1000 * n, 'awaiting': {'kind': 'task', 'detail': '7'}},
        {'id': 7, 'name': 'cruncher', 'state': 'running', 'worker': 0, 'parent': 1, 'spawned_at': 'a.cpp:2',
         'resumes': 100 * n, 'busy_ns': 400_000_000 * n, 'awaiting': None},
        {'id': 9, 'name': 'sleeper', 'state': 'suspended', 'worker': None, 'parent': 1, 'spawned_at': 'a.cpp:3',
         'resumes': n, 'busy_ns': 5000 * n, 'awaiting': {'kind': 'sleep', 'detail': 'until +2.5s'}},
    ]})


def serve(path, with_tasks):
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)

    def loop():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                command = conn.makefile('rb').readline().decode().strip()
                if command == 'metrics':
                    calls['metrics'] += 1
                    conn.sendall(metrics_text(calls['metrics']).encode())
                elif command == 'json' and with_tasks:
                    calls['json'] += 1
                    conn.sendall(tasks_json(calls['json']).encode())
                else:
                    conn.sendall(b'error: unknown command\n')

    threading.Thread(target=loop, daemon=True).start()
    return server


def run(weft_top, path):
    return subprocess.run([sys.executable, weft_top, '--socket', path, '--once', '--interval', '0.2'],
                          capture_output=True, text=True, timeout=30)


def main():
    weft_top = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'control')
        server = serve(path, with_tasks=True)
        out = run(weft_top, path)
        server.close()
        print(out.stdout, out.stderr)
        lines = out.stdout.splitlines()
        worker0 = [l for l in lines if l.startswith('0 ')]
        worker1 = [l for l in lines if l.startswith('1 ')]
        if out.returncode != 0 or not worker0 or not worker1:
            failures.append('no worker lines')
        else:
            # 500 polls in ~0.2 s: a rate in the thousands, and worker 1 (100 per step) below it.
            rate0, rate1 = float(worker0[0].split()[1].rstrip('kM')), float(worker1[0].split()[1].rstrip('kM'))
            if not rate0 > rate1 > 0:
                failures.append('polls/s: worker 0 %s, worker 1 %s' % (rate0, rate1))
        names = [l.split()[1] for l in lines if len(l.split()) > 2 and l.split()[1] in ('main', 'cruncher', 'sleeper')]
        if names != ['cruncher', 'sleeper', 'main']:
            failures.append('busiest tasks order: %s' % names)
        if not any('sleep until +2.5s' in l for l in lines):
            failures.append('no awaiting column')

        path2 = os.path.join(tmp, 'control2')
        server = serve(path2, with_tasks=False)
        out = run(weft_top, path2)
        server.close()
        print(out.stdout, out.stderr)
        if out.returncode != 0 or 'busiest' in out.stdout or not any(l.startswith('0 ') for l in out.stdout.splitlines()):
            failures.append('without a task list: %r' % out.stdout)
    if failures:
        print('weft-top socket: FAILED: ' + '; '.join(failures))
        return 1
    print('weft-top socket: workers and busiest tasks shown')
    return 0


if __name__ == '__main__':
    sys.exit(main())
