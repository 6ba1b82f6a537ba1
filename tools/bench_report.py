#!/usr/bin/env python3
"""tools/bench_report.py: weft beside its anchors, measured in one session; see tools/bench-report.

Two commands (the bash wrapper tools/bench-report picks an interpreter that has matplotlib):

  run     build what is missing, run weft's bench/run workloads and the anchors of
          ../shared/anchors alternating runtimes, N rounds; write the raw results file, then render
  render  turn a raw results file into REPORT.md and one PNG chart per workload family
          (what the ctest exercises on a canned file: tests/bench_report/)

The raw results file (DIR/results.txt) is plain text, one record a line:

  META <key> <value...>               the machine, the command line, load averages
  ROUND <r>                           the RESULT lines below belong to round r
  RESULT <workload> <runtime> k=v...  as the programs print them (shared/bench/SPEC.md)
  FAIL <workload> <runtime> <why>     a run that did not count (exit status, check, timeout)
  SKIP <workload> <runtime> <why>     a runtime that was not run (not built, no such program)

Standard library only, plus matplotlib for the charts (Debian: python3-matplotlib); without
matplotlib REPORT.md is still written, and says the charts are missing.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# What is measured: workloads, their main metric, and which runtime runs each, how.
# ---------------------------------------------------------------------------------------------

FAMILIES = {
    "forkjoin": "Fork-join",
    "scheduling": "Scheduling",
    "io": "I/O",
    "other": "Other",
}


@dataclass
class Workload:
    name: str
    family: str
    metric: str  # the main metric's key on the RESULT line
    lower_is_better: bool
    unit: str
    sizes: str  # what runs, for the report
    secondary: tuple = ()  # further keys worth a column
    quick_default: bool = False  # part of --quick's default selection


WORKLOADS = [
    Workload("skynet", "forkjoin", "wall_ms", True, "ms",
             "runtime-benchmarks' skynet: 10-way tree of depth 8, 111,111,111 tasks, after one warm-up run"),
    Workload("fib", "forkjoin", "wall_ms", True, "ms",
             "SPEC.md fib(30): 1,346,268 spawns", ("spawns_per_s",), quick_default=True),
    Workload("fib39", "forkjoin", "wall_ms", True, "ms",
             "fib(39), runtime-benchmarks' size: weft's bench/fib n=39 (no warm-up) "
             "beside the peers' fib (after their fib(30) warm-up)"),
    Workload("nqueens", "forkjoin", "wall_ms", True, "ms",
             "runtime-benchmarks' nqueens(14), a task per placement, after one warm-up run"),
    Workload("spawn", "forkjoin", "ops_per_s", False, "tasks/s",
             "SPEC.md spawn: 1,000,000 tasks, each handle awaited", quick_default=True),
    Workload("yield", "scheduling", "ops_per_s", False, "yields/s",
             "SPEC.md yield: 1,000 tasks x 1,000 yields", quick_default=True),
    Workload("pingpong", "scheduling", "ns_per_rt", True, "ns/round trip",
             "SPEC.md pingpong: 1,000,000 round trips over two capacity-1 channels", quick_default=True),
    Workload("queue", "scheduling", "ops_per_s", False, "items/s",
             "SPEC.md queue: 4 producers, 4 consumers, capacity 1024, 10,000,000 items"),
    Workload("mutex", "scheduling", "ops_per_s", False, "locks/s",
             "SPEC.md mutex: 1,000 tasks x 1,000 lock/increment/unlock", quick_default=True),
    Workload("timers", "scheduling", "overhead_ms", True, "ms over the 100 ms sleep",
             "SPEC.md timers: 1,000,000 tasks each sleep 100 ms", ("peak_rss_mb",)),
    Workload("deadlines", "scheduling", "ops_per_s", False, "requests/s",
             "weft only: 1,000,000 short requests each under a 30 s deadline, 1,000 connections",
             ("peak_rss_mb",)),
    Workload("echo", "io", "cpu_us_per_req", True, "server CPU us/request",
             "SPEC.md echo: 100 connections, 64-byte messages, 10 s, client on the same cores",
             ("req_per_s",)),
    Workload("http", "io", "cpu_us_per_req", True, "server CPU us/request",
             "SPEC.md http: GET / -> Hello, World!, wrk -t1 -c100 -d10s, not pipelined", ("req_per_s",)),
    Workload("http_pipelined", "io", "cpu_us_per_req", True, "server CPU us/request",
             "as http, 16 requests pipelined per connection", ("req_per_s",)),
    Workload("crawl", "io", "wall_ms", True, "ms",
             "SPEC.md crawl: 100,000 GETs to a local nginx, 1,000 in flight", ("req_per_s",)),
]
WORKLOAD = {w.name: w for w in WORKLOADS}


# What an anchor's program does differently, where that changes what its figure means
# (anchors/cpp/README.md, anchors/tokio/README.md).
ANCHOR_NOTES = {
    ("spawn", "tbb"): "oneTBB's task_group::run stores into a slot and one wait() joins all: no join handle per task",
    ("queue", "tbb"): "oneTBB's concurrent_bounded_queue between 8 OS threads (TBB tasks must not block)",
    ("queue", "tokio"): "async_channel (Tokio has no MPMC channel)",
    ("mutex", "tbb"): "a blocking spin lock taken by at most nproc threads at once, not 1,000 suspended waiters",
    ("mutex", "asio"): "no async mutex in Asio: a strand-serialised counter stands in",
    ("fib39", "libfork"): "the suite's program: fib(30) warm-up first, then the timed fib(39)",
    ("fib39", "TooManyCooks"): "the suite's program: fib(30) warm-up first, then the timed fib(39)",
}
# Stand-ins that do other work than the workload asks (no suspension at all): shown, but never
# the "best anchor" weft is measured against while a like-for-like anchor ran.
STAND_INS = {("mutex", "tbb"), ("mutex", "asio"), ("queue", "tbb")}


def workload_of(name: str) -> Workload:
    """The table's entry, or a guess for a workload the table does not know (a new bench/)."""
    if name in WORKLOAD:
        return WORKLOAD[name]
    return Workload(name, "other", "wall_ms", True, "ms", "")


# Quick mode: small sizes, by workload (the checks still have to match).
QUICK = {
    "skynet": {"depth": 6},
    "fib": {"n": 20},
    "fib39": {"n": 25},
    "nqueens": {"n": 10},
    "spawn": {"n": 100_000},
    "yield": {"t": 100, "y": 100},
    "pingpong": {"r": 100_000},
    "queue": {"m": 1_000_000},
    "mutex": {"t": 100, "k": 100},
    "timers": {"n": 100_000},
    "deadlines": {"n": 100_000},
    "crawl": {"n": 10_000},
}
QUICK_SECONDS = 2  # echo and http


@dataclass
class Env:
    """Where things are, and what the session was asked for."""
    root: Path
    shared: Path
    anchors_build: Path
    quick: bool
    threads: int
    timeout: float
    peers_bin: Path | None = None
    python: str = "/usr/bin/python3"
    logs: Path | None = None


@dataclass
class Runner:
    """One runtime's way of running one workload: argv, extra environment, how to read the output."""
    argv: list
    env: dict = field(default_factory=dict)
    rename: dict = field(default_factory=dict)  # RESULT workload name -> report workload name
    scale: dict = field(default_factory=dict)  # key -> (new key, factor): peers' wall_us -> wall_ms


def kv_args(params: dict, style: str) -> list:
    """Sizes as each family of programs takes them."""
    out = []
    for key, value in params.items():
        if style == "kv":
            out.append(f"{key}={value}")
        elif style == "double":
            out += [f"--{key}", str(value)]
        else:
            out += [f"-{key}", str(value)]
    return out


def go_params(workload: str, params: dict) -> dict:
    """The Go anchor calls the main size -n and sleeps -d (anchors/go/main.go)."""
    main = {"spawn": "n", "pingpong": "r", "fib": "n", "timers": "n", "queue": "m", "crawl": "n"}.get(workload)
    return {("n" if key == main else key): value for key, value in params.items()}


def python_params(workload: str, params: dict) -> dict:
    return go_params(workload, params)  # bench.py takes the same -n/-t/-y/-k as the Go anchor


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Which runtimes exist, and the default selection. A runtime's `runner` returns None when it has
# no program for the workload (nothing is recorded), or a string saying why it is skipped.
RUNTIME_ORDER = ["weft", "tokio", "hyper", "go", "tbb", "asio", "libfork", "TooManyCooks", "citor",
                 "nginx", "python-asyncio", "python-uvloop"]
DEFAULT_RUNTIMES = ["weft", "tokio", "hyper", "go", "tbb", "asio", "libfork", "TooManyCooks", "citor",
                    "nginx"]
# Combinations left out unless asked for (--runtimes all or naming the runtime): too slow to
# repeat, and measuring something else (anchors/cpp/README.md: Asio's fib joins through a
# channel per spawn, ~11 s a run).
OPT_IN = {("fib", "asio")}
PEER_PROGRAMS = {"skynet": "skynet", "fib39": "fib", "nqueens": "nqueens"}


def weft_runner(env: Env, w: str, params: dict):
    build = env.root / "build" / "bench"
    if w in ("echo", "http", "http_pipelined", "crawl"):
        if w == "echo":
            server = build / "samples" / "echo_server"
            argv = [str(env.root / "bench/echo/run.sh"), "weft", str(server), "{port}"]
            return Runner(argv, {"BUILD_DIR": str(build / "bench" / "echo"),
                                 **({"ECHO_SECONDS": str(QUICK_SECONDS)} if env.quick else {})})
        if w == "crawl":
            client = build / "bench" / "weft_bench_crawl"
            return Runner([str(env.root / "bench/crawl/run.sh"), "weft", str(client)]
                          + kv_args(params, "double") + ["--threads", str(env.threads)])
        return http_runner(env, "weft", build / "samples" / "http_server", w)
    bench_w = "fib" if w == "fib39" else w
    if w == "fib39":
        params = {"n": 39, **params}
    argv = [str(env.root / "bench" / "run"), bench_w] + kv_args(params, "kv") + [f"threads={env.threads}"]
    return Runner(argv, {"NO_BUILD": "1"}, rename={"fib": w})


def http_runner(env: Env, label: str, server: Path | None, w: str):
    """bench/http/run.sh drives one server per call (RUNTIMES=label), plain then pipelined."""
    extra = {"weft": "WEFT_HTTP_SERVER", "hyper": "HYPER_HTTP_SERVER", "asio": "ASIO_HTTP_SERVER"}
    run_env = {"RUNTIMES": label, "PORT": "{port}"}
    if label in extra:
        if server is None or not server.exists():
            return f"no http server built ({server})"
        run_env[extra[label]] = str(server)
    else:
        run_env["NGINX_HELLO"] = str(env.shared / "bench" / "nginx-hello.sh")
    if env.quick:
        run_env["DURATION"] = f"{QUICK_SECONDS}s"
    return Runner([str(env.root / "bench/http/run.sh"), "1"], run_env)


def runner_for(env: Env, runtime: str, w: str):
    """How `runtime` runs workload `w` (with quick sizes when asked), None if it has no such program."""
    params = dict(QUICK.get(w, {})) if env.quick else {}
    ab = env.anchors_build
    if runtime == "weft":
        return weft_runner(env, w, params)
    if runtime == "tokio":
        exe = ab / "tokio" / "release"
        if w in ("spawn", "yield", "pingpong", "fib", "timers", "queue", "mutex"):
            return Runner([str(exe / w)] + kv_args(params, "double"), {"TOKIO_WORKERS": str(env.threads)})
        if w == "echo":
            return Runner([str(env.root / "bench/echo/run.sh"), "tokio", str(exe / "echo_server"), "--port",
                           "{port}"], {"ECHO_SECONDS": str(QUICK_SECONDS)} if env.quick else {})
        if w == "crawl":
            return Runner([str(env.root / "bench/crawl/run.sh"), "tokio", str(exe / "crawl")]
                          + kv_args(params, "double"), {"TOKIO_WORKERS": str(env.threads)})
        return None
    if runtime == "hyper":
        if w in ("http", "http_pipelined"):
            return http_runner(env, "hyper", ab / "tokio" / "release" / "http_server", w)
        return None
    if runtime == "go":
        exe = str(ab / "go" / "anchor")
        go_env = {"GOMAXPROCS": str(env.threads)}
        if w in ("spawn", "yield", "pingpong", "fib", "timers", "queue", "mutex"):
            return Runner([exe, w] + kv_args(go_params(w, params), "single"), go_env)
        if w == "echo":
            return Runner([str(env.root / "bench/echo/run.sh"), "go", exe, "echo", "-port", "{port}"],
                          {**go_env, **({"ECHO_SECONDS": str(QUICK_SECONDS)} if env.quick else {})})
        if w == "crawl":
            return Runner([str(env.root / "bench/crawl/run.sh"), "go", exe, "crawl"]
                          + kv_args(go_params(w, params), "single") + ["-url"], go_env)
        return None
    if runtime in ("tbb", "asio"):
        exe = ab / "cpp"
        cpp = {"tbb": ("spawn", "fib", "queue", "mutex"),
               "asio": ("spawn", "yield", "pingpong", "fib", "timers", "queue", "mutex")}[runtime]
        if w in cpp:
            return Runner([str(exe / f"{runtime}_{w}")] + kv_args(params, "kv") + [f"threads={env.threads}"])
        if runtime == "asio" and w == "echo":
            return Runner([str(env.root / "bench/echo/run.sh"), "asio", str(exe / "asio_echo_server"), "{port}",
                           f"threads={env.threads}"], {"ECHO_SECONDS": str(QUICK_SECONDS)} if env.quick else {})
        if runtime == "asio" and w in ("http", "http_pipelined"):
            return http_runner(env, "asio", exe / "asio_http_server", w)
        if runtime == "tbb" and w in PEER_PROGRAMS:
            return peer_runner(env, runtime, w)
        return None
    if runtime in ("libfork", "TooManyCooks", "citor"):
        if w in PEER_PROGRAMS:
            return peer_runner(env, runtime, w)
        return None
    if runtime == "nginx":
        if w in ("http", "http_pipelined"):
            return http_runner(env, "nginx", None, w)
        return None
    if runtime.startswith("python-"):
        loop = runtime.split("-", 1)[1]
        script = env.shared / "anchors" / "python" / "bench.py"
        if w in ("spawn", "yield", "pingpong", "fib", "timers", "queue", "mutex"):
            return Runner([env.python, str(script), w, "--loop", loop] + kv_args(python_params(w, params), "single"))
        if w == "crawl":
            return Runner([str(env.root / "bench/crawl/run.sh"), runtime, env.python, str(script), "crawl",
                           "--loop", loop] + kv_args(python_params(w, params), "single") + ["--url"])
        return None
    return None


def peer_runner(env: Env, runtime: str, w: str):
    """A runtime-benchmarks program, run by peers/run.sh (prints wall_us) from where it was built."""
    if env.quick and w in ("skynet", "nqueens"):
        return "runtime-benchmarks' program has one size: not run in --quick"
    if env.peers_bin is None:
        return "runtime-benchmarks peers not built (shared/anchors/peers/BUILD.md; set PEERS=DIR with DIR/bin)"
    program = PEER_PROGRAMS[w]
    exe = env.peers_bin / f"{runtime}_{program}"
    if not exe.exists():
        return f"{exe.name} not built in {env.peers_bin}"
    run_env = {"PEERS": str(env.peers_bin.parent), "THREADS": str(env.threads)}
    if w == "fib39":
        run_env["FIB_N"] = str(QUICK["fib39"]["n"] if env.quick else 39)
    return Runner([str(env.shared / "anchors" / "peers" / "run.sh"), runtime, program], run_env,
                  rename={program: w}, scale={"wall_us": ("wall_ms", 1e-3)})


# ---------------------------------------------------------------------------------------------
# Building (or finding) what runs
# ---------------------------------------------------------------------------------------------

def log(msg: str) -> None:
    print(f"[bench-report] {msg}", file=sys.stderr, flush=True)


def sh(argv, cwd=None, env=None, logfile: Path | None = None, timeout=None) -> bool:
    """Runs a build step, its output into logfile; True when it succeeded."""
    full_env = dict(os.environ, **(env or {}))
    try:
        with open(logfile or os.devnull, "a") as out:
            out.write(f"$ {shlex.join(str(a) for a in argv)}\n")
            out.flush()
            r = subprocess.run([str(a) for a in argv], cwd=cwd, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                               timeout=timeout)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired) as e:
        if logfile:
            with open(logfile, "a") as out:
                out.write(f"failed: {e}\n")
        return False


def tail(path: Path, lines=3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " / ".join(line.strip() for line in text[-lines:])


def build_weft(env: Env, workloads: list) -> str | None:
    """bench/run's own build steps (bench preset) for the workloads' targets. None when done."""
    logfile = env.logs / "build-weft.log"
    build = env.root / "build" / "bench"
    if not (build / "CMakeCache.txt").exists():
        log("configuring weft's bench preset")
        if not sh(["cmake", "--preset", "bench"], cwd=env.root, logfile=logfile):
            return f"cmake --preset bench failed: {tail(logfile)}"
    targets = set()
    for w in workloads:
        if w in ("http", "http_pipelined"):
            targets.add("http_server")
        elif w == "echo":
            targets.add("echo_server")
        else:
            targets.add("weft_bench_" + ("fib" if w == "fib39" else w))
    log(f"building weft: {' '.join(sorted(targets))} (log: {logfile})")
    if not sh(["cmake", "--build", "--preset", "bench", "--target", *sorted(targets)], cwd=env.root,
              logfile=logfile):
        return f"weft's bench build failed: {tail(logfile)}"
    return None


def build_anchors(env: Env, runtimes: list) -> dict:
    """Builds each anchor the way its README says, into build/anchors/. -> {runtime: why skipped}."""
    skipped = {}
    anchors = env.shared / "anchors"
    ab = env.anchors_build
    ab.mkdir(parents=True, exist_ok=True)

    if {"tokio", "hyper"} & set(runtimes):
        logfile = env.logs / "build-tokio.log"
        release = ab / "tokio" / "release"
        why = None
        if shutil.which("cargo"):
            # Offline: the crates are Debian's librust-*-dev sources (anchors/tokio/.cargo/config.toml,
            # read from the working directory).
            log(f"building the Tokio anchor (cargo --offline, into {ab / 'tokio'}; log: {logfile})")
            if not sh(["cargo", "build", "--release", "--offline", "--locked", "--target-dir", ab / "tokio"],
                      cwd=anchors / "tokio", logfile=logfile):
                why = f"cargo build failed (Debian's librust-tokio-dev etc. missing?): {tail(logfile, 2)}"
        else:
            why = "cargo not found"
        if why and not (release / "spawn").exists():
            for r in ("tokio", "hyper"):
                skipped[r] = why
        elif why:
            log(f"Tokio anchor: {why}; using the binaries already in {release}")

    if "go" in runtimes:
        logfile = env.logs / "build-go.log"
        if shutil.which("go"):
            log(f"building the Go anchor (standard library only, no network; log: {logfile})")
            go_env = {"GOPATH": str(ab / "go" / "gopath"), "GOCACHE": str(ab / "go" / "cache"), "GOFLAGS": "",
                      "GO111MODULE": "on", "GOPROXY": "off"}
            ok = sh(["go", "build", "-trimpath", "-o", ab / "go" / "anchor", "."], cwd=anchors / "go", env=go_env,
                    logfile=logfile)
            if not ok and not (ab / "go" / "anchor").exists():
                skipped["go"] = f"go build failed: {tail(logfile, 2)}"
        elif not (ab / "go" / "anchor").exists():
            skipped["go"] = "go not found (apt-get install golang-go)"

    if {"tbb", "asio"} & set(runtimes):
        logfile = env.logs / "build-cpp.log"
        build = ab / "cpp"
        log(f"building the C++ anchors (oneTBB, Asio; log: {logfile})")
        ok = (build / "CMakeCache.txt").exists() or sh(
            ["cmake", "-S", anchors / "cpp", "-B", build, "-DCMAKE_BUILD_TYPE=Release"], logfile=logfile)
        if ok:
            ok = sh(["cmake", "--build", build, "-j2"], logfile=logfile)
        if not ok:
            why = f"C++ anchors did not build (libtbb-dev, libasio-dev installed?): {tail(logfile, 2)}"
            for r in ("tbb", "asio"):
                if not any(build.glob(f"{r}_*")):
                    skipped[r] = why

    return skipped


def python_anchor_gaps(env: Env, runtimes: list) -> dict:
    """The Python anchors need nothing built, but uvloop must import. -> {runtime: why skipped}."""
    skipped = {}
    if {"python-asyncio", "python-uvloop"} & set(runtimes):
        if subprocess.run([env.python, "-c", "import aiohttp"], capture_output=True).returncode != 0:
            log(f"{env.python} cannot import aiohttp: the Python anchors' crawl will fail")
        if subprocess.run([env.python, "-c", "import uvloop"], capture_output=True).returncode != 0:
            skipped["python-uvloop"] = f"{env.python} cannot import uvloop (apt-get install python3-uvloop)"
    return skipped


def find_peers(env: Env) -> Path | None:
    """runtime-benchmarks' programs are built by shared/anchors/peers/build.sh into $PEERS/bin
    (default ${TMPDIR:-/tmp}/peers); build/anchors/peers/bin is looked at first."""
    candidates = []
    if os.environ.get("PEERS"):
        candidates.append(Path(os.environ["PEERS"]) / "bin")
    candidates.append(env.anchors_build / "peers" / "bin")
    candidates.append(Path(os.environ.get("TMPDIR", "/tmp")) / "peers" / "bin")
    for c in candidates:
        if c.is_dir() and any(c.iterdir()):
            return c
    return None


# ---------------------------------------------------------------------------------------------
# The machine
# ---------------------------------------------------------------------------------------------

def first_line(argv) -> str:
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        out = (r.stdout or r.stderr).strip().splitlines()
        return out[0].strip() if out else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "not found"


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine_meta(env: Env) -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    commit = first_line(["git", "-C", str(env.root), "describe", "--always", "--dirty", "--abbrev=12"])
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": cpu,
        "cores": f"{os.cpu_count()} online, {len(os.sched_getaffinity(0))} usable (nproc); threads used: {env.threads}",
        "memory": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "os": first_line(["sh", "-c", ". /etc/os-release && echo \"$PRETTY_NAME\""]),
        "weft": commit,
        "clang": first_line(["clang++-19", "--version"]),
        "gcc": first_line(["g++", "--version"]),
        "rustc": first_line(["rustc", "--version"]),
        "go": first_line(["go", "version"]),
        "python": first_line([env.python, "--version"]),
    }


# ---------------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------------

_checker = {}


def expected_check(workload: str, kv: dict, shared: Path):
    """shared/bench/check_results.py's expected value for a line, when it knows the workload."""
    if "module" not in _checker:
        _checker["module"] = None
        spec = importlib.util.spec_from_file_location("check_results", shared / "bench" / "check_results.py")
        if spec is not None and spec.loader is not None:
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
                _checker["module"] = module
            except Exception:  # a missing checker: the programs check themselves too
                pass
    module = _checker["module"]
    try:
        return module.expected(workload, kv) if module else None
    except Exception:
        return None


def run_one(env: Env, runner: Runner, w: str, runtime: str, logfile: Path):
    """-> (list of RESULT lines, or None, why it failed)."""
    port = str(free_port())
    argv = list(runner.argv)  # a `{port}` argument is bench/echo/run.sh's to replace
    run_env = dict(os.environ)
    for key, value in runner.env.items():
        run_env[key] = value.replace("{port}", port)
    with open(logfile, "a") as err:
        err.write(f"\n=== {w} {runtime}: {shlex.join(argv)} (env {runner.env})\n")
        err.flush()
        try:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True, env=run_env,
                                    cwd=env.root, start_new_session=True)
        except OSError as e:
            return None, str(e)
        try:
            stdout, _ = proc.communicate(timeout=env.timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc)  # its own session: a run.sh's server and load client go too
            proc.communicate()
            return None, f"timed out after {env.timeout:g} s"
        except KeyboardInterrupt:
            kill_group(proc)
            raise
        err.write(stdout)
    lines = []
    for line in stdout.splitlines():
        f = line.split()
        if len(f) < 3 or f[0] != "RESULT":
            continue
        f[1] = runner.rename.get(f[1], f[1])
        kv = {}
        for item in f[3:]:
            if "=" in item:
                k, v = item.split("=", 1)
                if k in runner.scale:
                    nk, factor = runner.scale[k]
                    kv[nk] = f"{float(v) * factor:.3f}"
                kv[k] = v
        if f[1] == "http" and kv.get("mode") == "pipelined":
            f[1] = "http_pipelined"
        # One run of bench/http/run.sh measures both http workloads.
        if f[1] != w and not (w == "http" and f[1] == "http_pipelined"):
            continue
        # The report names each runtime once (peers' tbb and the C++ anchor's are one oneTBB).
        want = expected_check(w, kv, env.shared) if "check" in kv else None
        if want is not None:
            try:
                got = int(float(kv["check"]))
            except ValueError:
                got = None
            if got != want:
                return None, f"check={kv['check']}, expected {want}"
        if "errors" in kv and kv["errors"] not in ("0", "0.0"):
            return None, f"errors={kv['errors']}"
        lines.append(" ".join(["RESULT", f[1], runtime] + [f"{k}={v}" for k, v in kv.items()]))
    if proc.returncode != 0:
        return None, f"exit status {proc.returncode} (stderr in {logfile})"
    if not lines:
        return None, "no RESULT line"
    return lines, None


def kill_group(proc) -> None:
    """SIGTERM to the run's process group (it was started in a session of its own), then SIGKILL."""
    import signal
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (OSError, ProcessLookupError):
            return
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            continue


def fmt_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def expand_workloads(spec: str) -> list:
    out = []
    for item in [s.strip() for s in spec.split(",") if s.strip()]:
        if item in FAMILIES:
            out += [w.name for w in WORKLOADS if w.family == item]
        elif item == "all":
            out += [w.name for w in WORKLOADS]
        elif item in WORKLOAD or (ROOT / "bench" / item).is_dir():
            out.append(item)
        else:
            raise SystemExit(f"bench-report: unknown workload or family '{item}' "
                             f"(families: {', '.join(FAMILIES)}; workloads: {', '.join(WORKLOAD)})")
    return list(dict.fromkeys(out))


def expand_runtimes(spec: str) -> tuple[list, set]:
    """-> (runtimes in report order, the runtimes named one by one: their OPT_IN workloads run too)."""
    if spec == "all":
        return list(RUNTIME_ORDER), set(RUNTIME_ORDER)
    out, named = [], set()
    for item in [s.strip() for s in spec.split(",") if s.strip()]:
        if item == "default":
            out += DEFAULT_RUNTIMES
        elif item == "python":
            out += ["python-asyncio", "python-uvloop"]
        elif item in RUNTIME_ORDER:
            out.append(item)
            named.add(item)
        else:
            raise SystemExit(f"bench-report: unknown runtime '{item}' (known: {', '.join(RUNTIME_ORDER)}, "
                             "default, python, all)")
    if "weft" not in out:
        out.insert(0, "weft")
    order = {r: i for i, r in enumerate(RUNTIME_ORDER)}
    return sorted(dict.fromkeys(out), key=lambda r: order[r]), named


def cmd_run(args) -> int:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    shared = Path(os.environ.get("WEFT_SHARED", ROOT.parent / "shared"))
    if not (shared / "anchors").is_dir():
        shared = Path("/work/shared")
    nproc = len(os.sched_getaffinity(0))
    env = Env(root=ROOT, shared=shared, anchors_build=ROOT / "build" / "anchors", quick=args.quick,
              threads=args.threads or nproc, timeout=args.timeout or (120 if args.quick else 600),
              python=os.environ.get("ANCHOR_PYTHON", "/usr/bin/python3"))
    env.logs = ROOT / "build" / "bench-report"
    env.logs.mkdir(parents=True, exist_ok=True)
    if args.workloads:
        workloads = expand_workloads(args.workloads)
    elif args.quick:
        workloads = [w.name for w in WORKLOADS if w.quick_default]
    else:
        workloads = [w.name for w in WORKLOADS]
    runtimes, named = expand_runtimes(args.runtimes or "default")
    rounds = 1 if args.quick and not args.rounds else (args.rounds or 5)
    if rounds < 1:
        raise SystemExit("bench-report: --rounds must be at least 1")

    meta = machine_meta(env)
    meta["command"] = "tools/bench-report " + shlex.join(sys.argv[1:])
    meta["load_start"] = loadavg()
    meta["nproc"] = str(nproc)
    meta["rounds"] = str(rounds)
    meta["runtimes"] = " ".join(runtimes)
    meta["mode"] = "quick (small sizes, a smoke test, not a measurement)" if args.quick else "full sizes"

    skips: list = []  # (workload, runtime, why)
    skipped_runtimes: dict = {}
    if not args.no_build:
        why = build_weft(env, workloads)
        if why:
            log(why)
            return 2
        skipped_runtimes = build_anchors(env, runtimes)
    skipped_runtimes.update(python_anchor_gaps(env, runtimes))
    env.peers_bin = find_peers(env)
    if env.peers_bin:
        meta["peers"] = f"runtime-benchmarks programs from {env.peers_bin} (built by shared/anchors/peers/build.sh)"

    # The plan: for each round, each workload, each runtime in turn.
    plan = []  # (workload, runtime, Runner)
    for w in workloads:
        if w == "http_pipelined" and "http" in workloads:
            continue  # measured by http's runs
        for rt in runtimes:
            if rt in skipped_runtimes:
                if runner_for(env, rt, w) is not None:
                    skips.append((w, rt, skipped_runtimes[rt]))
                continue
            if (w, rt) in OPT_IN and rt not in named:
                skips.append((w, rt, "left out unless named (slow, and measures something else: see "
                              f"anchors/cpp/README.md); --runtimes default,{rt} or all runs it"))
                continue
            runner = runner_for(env, rt, w)
            if runner is None:
                continue
            if isinstance(runner, str):
                skips.append((w, rt, runner))
                continue
            if not Path(runner.argv[0]).exists():
                skips.append((w, rt, f"{runner.argv[0]} not built"))
                continue
            plan.append((w, rt, runner))
    if not plan:
        log("nothing to run")
        return 2
    for w, rt, why in skips:
        log(f"skipping {w} on {rt}: {why}")

    raw = out / "results.txt"
    records = [f"META {k} {v}" for k, v in meta.items()]
    records += [f"SKIP {w} {rt} {why}" for w, rt, why in skips]
    durations: dict = {}
    total = rounds * len(plan)
    done = 0
    started = time.monotonic()
    failed_weft = False
    logfile = env.logs / "runs.log"
    log(f"{rounds} round(s) x {len(plan)} runs; program stderr in {logfile}")
    for r in range(1, rounds + 1):
        records.append(f"ROUND {r}")
        records.append(f"META load_round{r} {loadavg()}")
        for w, rt, runner in plan:
            remaining = [(pw, prt) for pw, prt, _ in plan]
            left_this_round = remaining[remaining.index((w, rt)):]
            known = [sum(v) / len(v) for v in durations.values()]
            guess = sum(known) / len(known) if known else 0
            est = lambda key: (sum(durations[key]) / len(durations[key])) if key in durations else guess
            eta = sum(est(k) for k in left_this_round) + (rounds - r) * sum(est(k) for k in remaining)
            print(f"[bench-report] round {r}/{rounds} · {w} · {rt} · run {done + 1}/{total} · "
                  f"ETA {fmt_duration(eta) if known else '?'}", file=sys.stderr, flush=True)
            t0 = time.monotonic()
            lines, why = run_one(env, runner, w, rt, logfile)
            durations.setdefault((w, rt), []).append(time.monotonic() - t0)
            done += 1
            if lines:
                records += lines
            else:
                records.append(f"FAIL {w} {rt} {why}")
                log(f"{w} on {rt} failed in round {r}: {why}")
                failed_weft |= rt == "weft"
            raw.write_text("\n".join(records) + "\n")  # partial results survive an interrupt
    records.append(f"META load_end {loadavg()}")
    records.append(f"META elapsed {fmt_duration(time.monotonic() - started)}")
    raw.write_text("\n".join(records) + "\n")
    log(f"raw results: {raw}")
    render(raw, out)
    return 1 if failed_weft else 0


# ---------------------------------------------------------------------------------------------
# Rendering: REPORT.md and the charts
# ---------------------------------------------------------------------------------------------

@dataclass
class Results:
    meta: dict = field(default_factory=dict)
    # (workload, runtime) -> {round: {key: value}}
    runs: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)  # (round, workload, runtime, why)
    skips: list = field(default_factory=list)  # (workload, runtime, why)
    rounds: int = 0


def parse(text: str) -> Results:
    res = Results()
    r = 1
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        head, _, rest = line.partition(" ")
        if head == "META":
            key, _, value = rest.partition(" ")
            res.meta[key] = value
        elif head == "ROUND":
            r = int(rest)
            res.rounds = max(res.rounds, r)
        elif head == "RESULT":
            f = rest.split()
            if len(f) < 2:
                continue
            kv = {}
            for item in f[2:]:
                k, eq, v = item.partition("=")
                if eq:
                    kv[k] = v
            res.runs.setdefault((f[0], f[1]), {})[r] = kv
            res.rounds = max(res.rounds, r)
        elif head in ("FAIL", "SKIP"):
            f = rest.split(None, 2)
            why = f[2] if len(f) > 2 else ""
            if head == "FAIL":
                res.failures.append((r, f[0], f[1], why))
            else:
                res.skips.append((f[0], f[1], why))
    return res


def number(value: str):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class Series:
    runtime: str
    values: dict  # round -> main metric
    median: float
    low: float
    high: float
    ratio: float | None = None  # weft / this runtime, time-like, median of per-round ratios
    ratio_low: float | None = None
    ratio_high: float | None = None
    ratio_rounds: int = 0
    secondary: dict = field(default_factory=dict)  # key -> median


def cost_ratio(weft: float, other: float, lower_is_better: bool) -> float | None:
    """weft's cost relative to the other runtime's: time ÷ time, or rate⁻¹ ÷ rate⁻¹. < 1: weft faster."""
    if lower_is_better:
        return weft / other if other > 0 else None
    return other / weft if weft > 0 else None


def analyse(res: Results, name: str):
    """-> (workload, [Series], best anchor Series or None, leader Series)."""
    wl = workload_of(name)
    series = []
    for (w, rt), by_round in res.runs.items():
        if w != name:
            continue
        values = {r: number(kv.get(wl.metric)) for r, kv in by_round.items()}
        values = {r: v for r, v in values.items() if v is not None}
        if not values:
            continue
        s = Series(rt, values, statistics.median(values.values()), min(values.values()), max(values.values()))
        for key in wl.secondary:
            vals = [number(kv.get(key)) for kv in by_round.values()]
            vals = [v for v in vals if v is not None]
            if vals:
                s.secondary[key] = statistics.median(vals)
        series.append(s)
    order = {r: i for i, r in enumerate(RUNTIME_ORDER)}
    series.sort(key=lambda s: (order.get(s.runtime, len(order)), s.runtime))
    weft = next((s for s in series if s.runtime == "weft"), None)
    if weft is not None:
        for s in series:
            ratios = []
            for r, v in s.values.items():
                if r in weft.values:
                    q = cost_ratio(weft.values[r], v, wl.lower_is_better)
                    if q is not None:
                        ratios.append(q)
            if ratios:
                s.ratio = statistics.median(ratios)
                s.ratio_low, s.ratio_high = min(ratios), max(ratios)
                s.ratio_rounds = len(ratios)
    better = (lambda s: s.median) if wl.lower_is_better else (lambda s: -s.median)
    anchors = [s for s in series if s.runtime != "weft"]
    like_for_like = [s for s in anchors if (name, s.runtime) not in STAND_INS] or anchors
    best = min(like_for_like, key=better) if like_for_like else None
    leader = min(series, key=better) if series else None
    return wl, series, best, leader


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    a = abs(value)
    if a >= 1e7:
        return f"{value / 1e6:.1f}M"
    if a >= 1e6:
        return f"{value / 1e6:.2f}M"
    if a >= 100:
        return f"{value:,.0f}"
    if a >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def fmt_ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def verdict(ratio: float | None) -> str:
    if ratio is None:
        return ""
    if ratio < 0.95:
        return "weft ahead"
    if ratio > 1.05:
        return "weft behind"
    return "about even"


def render(raw: Path, out: Path) -> Path:
    res = parse(raw.read_text())
    out.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(w for (w, _) in res.runs))
    names += [w for _, w, _, _ in res.failures if w not in names]
    order = {w.name: i for i, w in enumerate(WORKLOADS)}
    names.sort(key=lambda n: order.get(n, len(order)))
    analysed = {n: analyse(res, n) for n in names}
    families = [f for f in FAMILIES if any(workload_of(n).family == f for n in names)]

    charts, chart_note = {}, None
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        chart_note = ("Charts not drawn: matplotlib is missing (Debian: apt-get install python3-matplotlib, "
                      "or tools/deps).")
    if chart_note is None:
        for fam in families:
            fam_names = [n for n in names if workload_of(n).family == fam and analysed[n][1]]
            if fam_names:
                png = out / f"{fam}.png"
                draw_family(fam, [analysed[n] for n in fam_names], png)
                charts[fam] = png.name

    m = res.meta
    md = ["# weft benchmark report", ""]
    md.append(f"Generated {m.get('date', '?')} by `{m.get('command', 'tools/bench-report')}` "
              f"({m.get('mode', '?')}; {res.rounds} round(s); weft {m.get('weft', '?')}). "
              "Regenerate with `tools/bench-report` (see `tools/bench-report --help`).")
    md.append("")
    md.append(f"> **A shared machine.** Load average at start {m.get('load_start', '?')}, at end "
              f"{m.get('load_end', '?')} (1, 5, 15 min; {m.get('cores', '?')}). Other jobs (other "
              "sessions' builds) may have run during the measurement: compare runtimes only as the "
              "ratios taken within one round, and treat a difference under about 10% as a tie.")
    md.append("")
    md.append("## How it was measured")
    md.append("")
    md.append("- Every round runs each workload once per runtime, one process each, one runtime after "
              "another (weft first, then its anchors), so drift of the machine's load touches all "
              "of them alike; then the next round.")
    md.append("- median and min–max: over the rounds, of the workload's main metric (named in each "
              "section, with which direction is better).")
    md.append("- **weft ÷ X** is weft's cost relative to X's: for a time, weft's time ÷ X's; for a rate, "
              "X's rate ÷ weft's. It is computed in each round, from the two runs of that round, and "
              "the table shows **the median of those per-round ratios** (not the ratio of the medians). "
              "Below 1.00 weft is faster, above 1.00 slower.")
    md.append("- best anchor: the anchor with the best median; leader: the runtime with the best median, "
              "weft included.")
    md.append("- Anchors: Tokio, Go, oneTBB, Asio (and asyncio/uvloop on request) from `../shared/anchors`, "
              "and the runtime-benchmarks suite's own programs for libfork, TooManyCooks, citor and oneTBB "
              "where they are built (`../shared/anchors/peers/BUILD.md`).")
    if "runtimes" in m:
        md.append(f"- Runtimes asked for: {m['runtimes']}. asyncio and uvloop run only when asked for "
                  "(`--runtimes default,python`): single-threaded, they take minutes per round.")
    round_loads = [f"{k[len('load_round'):]}: {v.split()[0]}" for k, v in m.items() if k.startswith("load_round")]
    if round_loads:
        md.append(f"- 1-minute load average as each round began: {', '.join(round_loads)}.")
    md.append("")
    md.append("## Machine")
    md.append("")
    md.append("| | |")
    md.append("|---|---|")
    for key, label in (("cpu", "CPU"), ("cores", "cores"), ("memory", "memory"), ("kernel", "kernel"),
                       ("os", "OS"), ("load_start", "load average at start"), ("load_end", "load average at end"),
                       ("elapsed", "time spent running"), ("clang", "clang (weft, peers)"), ("gcc", "g++ (C++ anchors)"),
                       ("rustc", "rustc (Tokio)"), ("go", "Go"), ("python", "Python"), ("peers", "peers")):
        if key in m:
            md.append(f"| {label} | {m[key].replace('|', '/')} |")
    md.append("")
    md.append("## Summary")
    md.append("")
    md.append("| family | workload | metric | weft (median) | best anchor (median) | weft ÷ best anchor, "
              "median of per-round ratios | leader |")
    md.append("|---|---|---|---|---|---|---|")
    for n in names:
        wl, series, best, leader = analysed[n]
        weft = next((s for s in series if s.runtime == "weft"), None)
        direction = "lower is better" if wl.lower_is_better else "higher is better"
        best_s = f"{best.runtime} {fmt(best.median)}" if best else "– (no anchor)"
        ratio = best.ratio if best else None
        md.append(f"| {FAMILIES[wl.family]} | {n} | {wl.metric} ({direction}) | "
                  f"{fmt(weft.median) if weft else 'failed'} | {best_s} | "
                  f"{'**' + fmt_ratio(ratio) + '**' if ratio is not None else '–'} {verdict(ratio)} | "
                  f"{leader.runtime if leader else '–'} |")
    stand_ins = [f"{w}: {rt}" for w, rt in sorted(STAND_INS) if w in names and (w, rt) in res.runs]
    if stand_ins:
        md.append("")
        md.append("The best anchor is chosen among the programs that do the workload's work; stand-ins "
                  f"that do other work ({', '.join(stand_ins)}: see their sections) are left out of it.")
    load_note = overload_note(m)
    if load_note:
        md.append("")
        md.append(load_note)
    md.append("")
    for fam in families:
        md.append(f"## {FAMILIES[fam]}")
        md.append("")
        if fam in charts:
            md.append(f"![{FAMILIES[fam]}: weft beside its anchors]({charts[fam]})")
            md.append("")
        elif chart_note:
            md.append(chart_note)
            md.append("")
        for n in [n for n in names if workload_of(n).family == fam]:
            wl, series, best, leader = analysed[n]
            direction = "lower is better" if wl.lower_is_better else "higher is better"
            md.append(f"### {n}: {wl.metric}, {wl.unit} ({direction})")
            md.append("")
            if wl.sizes:
                md.append(("Full size: " if m.get("mode", "").startswith("quick") else "") + wl.sizes + ".")
                md.append("")
            sizes = sizes_seen(res, n)
            if sizes:
                md.append("Sizes on the RESULT lines: " + sizes + ".")
                md.append("")
            if not series:
                md.append("No run of this workload counted.")
                md.append("")
            else:
                extra = list(wl.secondary)
                md.append(table_row(["runtime", "median", "min–max",
                                     "weft ÷ runtime (median of per-round ratios; min–max)", "rounds"]
                                    + [f"{k} (median)" for k in extra]))
                md.append("|---" * (5 + len(extra)) + "|")
                for s in series:
                    ratio = "(itself)" if s.runtime == "weft" else (
                        f"**{fmt_ratio(s.ratio)}** ({fmt_ratio(s.ratio_low)}–{fmt_ratio(s.ratio_high)})"
                        if s.ratio is not None else "– (no round with both)")
                    name = f"**{s.runtime}**" if leader and s.runtime == leader.runtime else s.runtime
                    md.append(table_row([name, fmt(s.median), f"{fmt(s.low)}–{fmt(s.high)}", ratio,
                                         str(len(s.values))] + [fmt(s.secondary.get(k)) for k in extra]))
                md.append("")
                if best is not None and best.ratio is not None:
                    md.append(f"Leader: **{leader.runtime}**. weft ÷ best anchor ({best.runtime}) = "
                              f"**{fmt_ratio(best.ratio)}**, the median of {best.ratio_rounds} per-round ratios "
                              f"({verdict(best.ratio)}).")
                elif leader is not None:
                    md.append(f"Leader: **{leader.runtime}** (no anchor ran this workload).")
                md.append("")
            present = {s.runtime for s in series}
            anchor_notes = [f"{rt}: {text}" for (w, rt), text in ANCHOR_NOTES.items() if w == n and rt in present]
            if anchor_notes:
                md.append("What differs: " + "; ".join(anchor_notes) + ".")
                md.append("")
            notes = [f"{rt}: {why}" for w, rt, why in res.skips if w == n]
            notes += [f"{rt}, round {r}: failed ({why})" for r, w, rt, why in res.failures if w == n]
            if notes:
                md.append("Not counted: " + "; ".join(notes) + ".")
                md.append("")
    other_skips = [(w, rt, why) for w, rt, why in res.skips if w not in names]
    if other_skips:
        md.append("## Not run")
        md.append("")
        for w, rt, why in other_skips:
            md.append(f"- {w} on {rt}: {why}")
        md.append("")
    md.append("## Raw data")
    md.append("")
    md.append(f"Every RESULT line, by round: [`{raw.name}`]({raw.name}). `tools/bench-report render "
              f"{raw.name}` redraws this report from it.")
    report = out / "REPORT.md"
    report.write_text("\n".join(md) + "\n")
    log(f"wrote {report}" + (f" and {', '.join(charts.values())}" if charts else ""))
    return report


def overload_note(meta: dict) -> str:
    """A sentence when the machine had more runnable work than cores while measuring."""
    try:
        cores = int(meta.get("nproc", ""))
        loads = [float(meta[k].split()[0]) for k in ("load_start", "load_end") if k in meta]
    except ValueError:
        return ""
    if not loads or max(loads) <= cores:
        return ""
    return (f"The 1-minute load average reached {max(loads):.1f} on {cores} cores: every program shared "
            "its cores with other work, so the absolute figures are slower than on a quiet machine "
            "(several times, for the fork-join programs); the per-round ratios are the figures to read.")


def table_row(cells: list) -> str:
    return "| " + " | ".join(cells) + " |"


def sizes_seen(res: Results, name: str) -> str:
    """The size keys weft's lines carry (n=, depth=, t=...), as printed."""
    keys = ("n", "depth", "t", "y", "r", "p", "c", "m", "k", "d_ms", "conns", "seconds", "threads")
    for (w, rt), by_round in res.runs.items():
        if w == name and rt == "weft":
            kv = next(iter(by_round.values()))
            return " ".join(f"{k}={kv[k]}" for k in keys if k in kv)
    return ""


COLORS = {"weft": "#d62728"}
PALETTE = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2", "#ff7f0e",
           "#393b79", "#637939"]


def color_of(runtime: str) -> str:
    if runtime in COLORS:
        return COLORS[runtime]
    others = [r for r in RUNTIME_ORDER if r != "weft"]
    i = others.index(runtime) if runtime in others else hash(runtime)
    return PALETTE[i % len(PALETTE)]


def axis_label(top: float):
    """Tick labels in one unit per axis: 2M 4M 16M, not 2.00M and 16.0M."""
    scale, suffix = (1e6, "M") if top >= 2e6 else (1e3, "k") if top >= 2e4 else (1, "")
    return lambda v, _pos: f"{v / scale:g}{suffix}" if v else "0"


def draw_family(family: str, items: list, png: Path) -> None:
    """One figure per family: a panel per workload, a bar per runtime (median, min–max error
    bars), weft red and first, each anchor's bar labelled with weft ÷ it."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    n = len(items)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.9 * rows + 0.5), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, (wl, series, best, leader) in zip(axes.flat, items):
        names = [s.runtime for s in series]
        med = [s.median for s in series]
        err = [[s.median - s.low for s in series], [s.high - s.median for s in series]]
        x = range(len(series))
        ax.bar(x, med, yerr=err, capsize=3, color=[color_of(r) for r in names], width=0.7,
               error_kw={"elinewidth": 1, "ecolor": "#333333"})
        weft = next((s for s in series if s.runtime == "weft"), None)
        if weft is not None:
            ax.axhline(weft.median, color=COLORS["weft"], linewidth=0.8, linestyle="--", zorder=0)
        top = max(s.high for s in series)
        spread = top / max(min(s.median for s in series), 1e-12)
        if spread > 30:
            ax.set_yscale("log")
        for i, s in enumerate(series):
            label = "weft" if s.runtime == "weft" else (f"{s.ratio:.2f}" if s.ratio is not None else "")
            y = s.high
            ax.annotate(label, (i, y), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                        fontsize=7, fontweight="bold" if s.runtime == "weft" else "normal")
        if ax.get_yscale() == "log":
            ax.set_ylim(top=top * 3)
        else:
            ax.set_ylim(0, top * 1.18)
        ax.set_xlim(-0.6, max(len(series), 3) - 0.4)  # one bar is as wide in every panel
        ax.set_xticks(list(x))
        ax.set_xticklabels(names, rotation=30, ha="right", fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.yaxis.set_major_formatter(FuncFormatter(axis_label(top)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        arrow = "lower is better" if wl.lower_is_better else "higher is better"
        ax.set_title(f"{wl.name}: {wl.metric}\n({wl.unit}, {arrow})", fontsize=8)
    fig.suptitle(f"{FAMILIES[family]}: weft (red) beside its anchors. Bars: median, whiskers: min–max over "
                 "rounds;\nlabels: weft ÷ runtime (median of per-round ratios, < 1 = weft faster)", fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    fig.savefig(png, dpi=80)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="tools/bench-report",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run weft's benchmarks (bench/run) and its anchors (../shared/anchors), alternating "
                    "runtimes, N rounds; write bench/report/REPORT.md and one PNG chart per workload family.",
        epilog="""
families (for --workloads): forkjoin (skynet fib fib39 nqueens spawn), scheduling (yield pingpong
  queue mutex timers deadlines), io (echo http http_pipelined crawl); or workload names.
runtimes: weft tokio hyper go tbb asio libfork TooManyCooks citor nginx python-asyncio python-uvloop;
  'default' (all but Python's; Asio's fib left out), 'python', 'all'.

Builds: weft's bench preset (as bench/run does); the Tokio anchor with cargo --offline from
Debian's librust-*-dev crates, the Go anchor (standard library only) and the C++ anchors (libtbb-dev,
libasio-dev) into build/anchors/. Nothing is fetched from the network: an anchor that cannot be
built here is skipped, and the report says so. runtime-benchmarks' programs (libfork,
TooManyCooks, citor, oneTBB) are used where shared/anchors/peers/build.sh has built them:
$PEERS/bin, build/anchors/peers/bin, or ${TMPDIR:-/tmp}/peers/bin.

  tools/bench-report --quick                         a smoke test: 1 round, small sizes
  tools/bench-report --rounds 3 --workloads forkjoin,scheduling
  tools/bench-report render bench/report/results.txt  redraw REPORT.md and the charts
""")
    sub = ap.add_subparsers(dest="command")
    render_p = sub.add_parser("render", help="REPORT.md and charts from a results file")
    render_p.add_argument("results")
    render_p.add_argument("--out", help="default: the results file's folder")
    ap.add_argument("--rounds", type=int, help="rounds (default 5; 1 with --quick)")
    ap.add_argument("--workloads", help="comma-separated workloads or families (default: all; "
                                        "with --quick: fib spawn yield pingpong mutex)")
    ap.add_argument("--runtimes", help="comma-separated runtimes (default: 'default')")
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 round, a few workloads")
    ap.add_argument("--out", default=str(ROOT / "bench" / "report"), help="default: bench/report")
    ap.add_argument("--threads", type=int, help="worker threads for every runtime (default: nproc)")
    ap.add_argument("--timeout", type=float, help="seconds per run (default 600; 120 with --quick)")
    ap.add_argument("--no-build", action="store_true", help="use what is built")
    args = ap.parse_args(argv)
    if args.command == "render":
        raw = Path(args.results)
        render(raw, Path(args.out) if args.out else raw.parent)
        return 0
    return cmd_run(args)


if __name__ == "__main__":
    sys.exit(main())
