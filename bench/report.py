"""The report: a Markdown table of apprun/PocketBase ratios per cell, and the raw JSON."""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import wrk
from bench.servers import Apprun, PocketBase

ROOT = Path(__file__).parent.parent


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip()


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def metadata(plan: Any, apprun: Apprun, pb: PocketBase, cores: int, elapsed: float) -> dict:
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain", "apprun") else ""
    return {
        "mode": plan.mode,
        "plan": {
            "scenarios": plan.scenarios,
            "connections": plan.connections,
            "threads": wrk.THREADS,
            "warmup_s": plan.warmup,
            "seconds": plan.seconds,
            "repetitions": plan.repetitions,
        },
        "machine": {
            "cores": cores,
            "memory_gib": round(_memory_gib(), 1),
            "kernel": platform.release(),
            "cpu": _cpu_model(),
        },
        "versions": {
            "apprun": _git("rev-parse", "--short", "HEAD") + dirty,
            "pocketbase": pb.version(),
            "wrk": wrk.version(),
            "python": platform.python_version(),
        },
        "apprun_workers": apprun.workers,
        "cold_start_s": {"apprun": apprun.cold_start_seconds, "pocketbase": pb.cold_start_seconds},
        "elapsed_s": elapsed,
    }


def aggregate(cells: list[dict]) -> dict[tuple[str, int, str], dict]:
    """Per (scenario, connections, target): medians over the repetitions and their spread."""
    groups: dict[tuple[str, int, str], list[dict]] = defaultdict(list)
    for c in cells:
        groups[c["scenario"], c["connections"], c["target"]].append(c)
    out = {}
    for key, runs in groups.items():
        rps = [r["rps"] for r in runs]
        med = {
            k: statistics.median(r[k] for r in runs)
            for k in ("rps", "p50_ms", "p90_ms", "p99_ms", "cpu_ms_per_request", "startup_s")
        }
        med["errors"] = sum(r["errors"] for r in runs)
        med["requests"] = sum(r["requests"] for r in runs)
        med["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
        others = [r["other_cpu_pct"] for r in runs if "other_cpu_pct" in r]
        med["other_cpu_pct"] = max(others) if others else None
        med["runs"] = len(runs)
        med["spread_pct"] = (max(rps) - min(rps)) / statistics.mean(rps) * 100 if rps else 0
        out[key] = med
    return out


def _cells_in_order(agg: dict) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    for scenario, conns, _ in agg:
        if (scenario, conns) not in seen:
            seen.append((scenario, conns))
    return seen


def ratios(agg: dict) -> list[dict]:
    rows = []
    for scenario, conns in _cells_in_order(agg):
        app = agg[scenario, conns, "apprun"]
        peers = [
            (t, agg[scenario, conns, t])
            for t in ("pocketbase", "pocketbase-skiptotal")
            if (scenario, conns, t) in agg
        ]
        best_label, best = max(peers, key=lambda p: p[1]["rps"])
        counted = agg[scenario, conns, "pocketbase"]
        rows.append(
            {
                "scenario": scenario,
                "connections": conns,
                "apprun_rps": app["rps"],
                "pocketbase_rps": counted["rps"],
                "pocketbase_skiptotal_rps": (
                    agg[scenario, conns, "pocketbase-skiptotal"]["rps"]
                    if (scenario, conns, "pocketbase-skiptotal") in agg
                    else None
                ),
                "best_peer": best_label,
                "rps_ratio": app["rps"] / best["rps"],
                "rps_ratio_counted": app["rps"] / counted["rps"],
                "apprun_p99_ms": app["p99_ms"],
                "peer_p99_ms": best["p99_ms"],
                "p99_ratio": app["p99_ms"] / best["p99_ms"],
            }
        )
    return rows


def _f(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def markdown(meta: dict, agg: dict, table: list[dict]) -> str:
    m, v, p = meta["machine"], meta["versions"], meta["plan"]
    lines = [
        f"# Benchmark: apprun vs PocketBase ({meta['mode']})",
        "",
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Linux {m['kernel']}",
        f"- Versions: apprun {v['apprun']}, PocketBase {v['pocketbase']}, {v['wrk']}, "
        f"Python {v['python']}",
        f"- apprun: SQLite (embedded default), production settings, "
        f"`--workers {meta['apprun_workers']}`, rate limits off; PocketBase: defaults",
        f"- wrk: {p['threads']} threads, {', '.join(map(str, p['connections']))} connections, "
        f"{p['seconds']:g} s after a {p['warmup_s']:g} s warm-up, "
        f"{p['repetitions']} run(s) per cell; data dir restored before every run",
        f"- Cold start to first healthy response (fresh dir): apprun "
        f"{meta['cold_start_s']['apprun']:.2f} s, PocketBase "
        f"{meta['cold_start_s']['pocketbase']:.2f} s; whole run {meta['elapsed_s'] / 60:.1f} min",
        f"- Commands: `make bench{'-quick' if meta['mode'] == 'quick' else ''}` "
        f"(`python -m bench{' --quick' if meta['mode'] == 'quick' else ''}`); each run is "
        f"`wrk -t {p['threads']} -c C -d {p['seconds']:g}s --timeout 10s --latency "
        "-s <cell>.lua URL` after the same with the warm-up duration",
        "",
        "## Ratios (apprun / PocketBase; the faster PocketBase variant)",
        "",
        "requests/s ratio ≥ 1.0 and p99 ratio ≤ 1.0 meet the goal.",
        "",
        "| scenario | conns | apprun req/s | PB req/s | PB skipTotal req/s | req/s ratio "
        "| vs counting PB | apprun p99 ms | PB p99 ms | p99 ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in table:
        flag = "" if r["rps_ratio"] >= 1 else " ⚠"
        lines.append(
            f"| {r['scenario']} | {r['connections']} | {_f(r['apprun_rps'])} "
            f"| {_f(r['pocketbase_rps'])} | {_f(r['pocketbase_skiptotal_rps'])} "
            f"| **{r['rps_ratio']:.2f}**{flag} | {r['rps_ratio_counted']:.2f} "
            f"| {_f(r['apprun_p99_ms'], 1)} | {_f(r['peer_p99_ms'], 1)} | {r['p99_ratio']:.2f} |"
        )
    lines += [
        "",
        "## Every cell",
        "",
        "Medians over the runs; spread = (max - min) / mean of requests/s between runs.",
        "",
        "| scenario | conns | server | req/s | p50 ms | p90 ms | p99 ms | errors "
        "| CPU ms/req | peak RSS MiB | start s | spread | other load |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (scenario, conns, target), a in agg.items():
        spread = f"{a['spread_pct']:.1f} %" if a["runs"] > 1 else "—"
        lines.append(
            f"| {scenario} | {conns} | {target} | {_f(a['rps'])} | {a['p50_ms']:.2f} "
            f"| {a['p90_ms']:.2f} | {a['p99_ms']:.2f} | {a['errors']} "
            f"| {a['cpu_ms_per_request']:.3f} | {a['peak_rss_mb']:.0f} | {a['startup_s']:.2f} "
            f"| {spread} | {_f(a['other_cpu_pct'])} % |"
        )
    lines += [
        "",
        "Errors are non-2xx answers plus socket errors. CPU is user + system time of the "
        "server's whole process tree during the measured run, per request; RSS is the "
        "tree's, sampled every 0.25 s. wrk runs on the same cores as the server. Other load is "
        "the CPU the rest of the machine used during the run (not the server, wrk or the "
        "bench), in % of one core, the largest over the runs: above a few % the cell was "
        "disturbed.",
        "",
    ]
    return "\n".join(lines)


def write(stem: Path, meta: dict, cells: list[dict]) -> Path:
    agg = aggregate(cells)
    table = ratios(agg)
    raw = {"meta": meta, "ratios": table, "cells": cells}
    stem.with_suffix(".json").write_text(json.dumps(raw, indent=2) + "\n")
    md = stem.with_suffix(".md")
    md.write_text(markdown(meta, agg, table))
    return md
