#!/usr/bin/env python3
"""Draws weft_stress's time series (--csv) into a PNG: queue depth over time with the
watermarks (or the Queue's maxsize) drawn, and items/s in and out.

    plot_stress.py STRESS.csv OUT.png [STRESS-depth.csv]

With the third file (half a second of depth at 1 ms, which weft_stress writes next to the
CSV) a third panel shows the watermark sawtooth that the per-second samples average away.

Needs matplotlib (Debian: python3-matplotlib); renders with the Agg backend (no display)."""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def draw_bounds(ax, meta):
    """The watermarks (BackpressureQueue) or the maxsize (Queue) as dashed lines."""
    if meta.get("queue") == "backpressure":
        ax.axhline(float(meta["high"]), color="red", linestyle="--", label=f"high watermark {meta['high']}")
        ax.axhline(float(meta["low"]), color="green", linestyle="--", label=f"low watermark {meta['low']}")
    elif meta.get("maxsize"):
        ax.axhline(float(meta["maxsize"]), color="red", linestyle="--", label=f"maxsize {meta['maxsize']}")


def main(csv_path, png_path, depth_path=None):
    meta = {}
    rows = []
    with open(csv_path, newline="") as f:
        lines = f.read().splitlines()
    if lines and lines[0].startswith("#"):
        for word in lines[0].split()[2:]:
            key, _, value = word.partition("=")
            meta[key] = value
        lines = lines[1:]
    for row in csv.DictReader(lines):
        rows.append({k: float(v) for k, v in row.items()})
    if not rows:
        sys.exit(f"plot_stress: no samples in {csv_path}")

    trace = []
    if depth_path:
        try:
            with open(depth_path, newline="") as f:
                trace = [(float(r["t_s"]), float(r["depth"])) for r in csv.DictReader(f)]
        except OSError:
            trace = []

    t = [r["t_s"] for r in rows]
    panels = 3 if trace else 2
    fig, axes = plt.subplots(panels, 1, figsize=(11, 3.4 * panels))
    depth_ax, rate_ax = axes[0], axes[1]
    rate_ax.sharex(depth_ax)
    if meta.get("queue") == "backpressure":
        kind = f"weft::BackpressureQueue(high {meta.get('high')}, low {meta.get('low')})"
    else:
        kind = f"weft::Queue(maxsize {meta.get('maxsize')})"
    title = (f"weft stress: {kind}, {meta.get('producers', '?')} producers, "
             f"{meta.get('consumers', '?')} consumers, factor {meta.get('factor', '?')}")
    fig.suptitle(title)

    depth_ax.fill_between(t, [r["depth_min"] for r in rows], [r["depth_max"] for r in rows],
                          step="mid", alpha=0.3, label="depth range in the second")
    depth_ax.plot(t, [r["depth"] for r in rows], drawstyle="steps-mid", label="depth (sampled)")
    draw_bounds(depth_ax, meta)
    depth_ax.set_ylabel("items queued")
    depth_ax.set_ylim(bottom=0)
    depth_ax.legend(loc="lower right", fontsize="small")
    depth_ax.grid(alpha=0.3)

    rate_ax.plot(t, [r["in_per_s"] for r in rows], label="in (put) items/s")
    rate_ax.plot(t, [r["out_per_s"] for r in rows], label="out (consumed) items/s")
    rate_ax.set_ylabel("items/s")
    rate_ax.set_xlabel("seconds")
    rate_ax.set_ylim(bottom=0)
    rate_ax.legend(loc="lower right", fontsize="small")
    rate_ax.grid(alpha=0.3)

    if trace:
        trace_ax = axes[2]
        trace_ax.plot([p[0] for p in trace], [p[1] for p in trace], linewidth=0.8, label="depth every 1 ms")
        draw_bounds(trace_ax, meta)
        trace_ax.set_xlabel("seconds (half a second at 1 ms)")
        trace_ax.set_ylabel("items queued")
        trace_ax.set_ylim(bottom=0)
        trace_ax.legend(loc="lower right", fontsize="small")
        trace_ax.grid(alpha=0.3)

    fig.tight_layout()
    fig.savefig(png_path, dpi=80)


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    main(*sys.argv[1:])
