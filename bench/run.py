"""``python -m bench [--quick]``: seed both servers, run every cell, write the report."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import procstat, report, wrk
from bench.servers import Apprun, PocketBase, Request, Server

RESULTS = Path(__file__).parent / "results"
ALL_SCENARIOS = ["list", "filter", "get", "create", "mixed", "auth-get"]
COUNTED = {"list", "filter", "mixed"}  # PocketBase counts every page unless skipTotal=1


@dataclass
class Plan:
    mode: str
    scenarios: list[str]
    connections: list[int]
    warmup: float
    seconds: float
    repetitions: int

    @classmethod
    def of(cls, quick: bool) -> Plan:
        if quick:
            return cls("quick", ["list", "get", "create"], [32], 1, 5, 1)
        return cls("full", ALL_SCENARIOS, [32, 128], 3, 15, 2)


@dataclass
class Target:
    """A server and how it is asked: PocketBase runs twice for counted scenarios."""

    label: str
    server: Server
    skip_total: bool = False


def targets(scenario: str, apprun: Apprun, pb: PocketBase) -> list[Target]:
    out = [Target("apprun", apprun), Target("pocketbase", pb)]
    if scenario in COUNTED:
        out.append(Target("pocketbase-skiptotal", pb, skip_total=True))
    return out


def mix(scenario: str, reqs: dict[str, Request], ids: Path, owned: Path) -> list:
    if scenario == "mixed":
        return [(45, reqs["get"], ids), (45, reqs["list"], None), (10, reqs["create"], None)]
    return [(100, reqs[scenario], owned if scenario == "auth-get" else ids)]


def check(url: str, req: Request, sample_id: str, scenario: str) -> None:
    """Send the cell's request once: it must succeed and return what the scenario expects."""
    path = req.path + (sample_id + req.suffix if req.by_id else "")
    r = httpx.request(req.method, url + path, headers=req.headers, content=req.body, timeout=10)
    if not r.is_success:
        raise RuntimeError(f"{scenario}: {req.method} {path} -> {r.status_code} {r.text[:300]}")
    body = r.json()
    rows = body.get("items", body) if isinstance(body, dict) else body
    if req.method == "GET" and not req.by_id and len(rows) != 20:
        raise RuntimeError(f"{scenario}: expected a page of 20 rows, got {len(rows)}")
    if req.by_id and body.get("id") != sample_id:
        raise RuntimeError(f"{scenario}: expected row {sample_id}, got {str(body)[:300]}")


def workers_of(root: int) -> list[int]:
    """apprun's worker processes (uvicorn spawns them with multiprocessing)."""
    found = []
    for pid in procstat.tree(root)[1:]:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd:
            found.append(pid)
    return found


def run_cell(
    plan: Plan, target: Target, scenario: str, conns: int, work: Path, profile: Path | None
) -> dict:
    server = target.server
    startup = server.restore_and_start()
    try:
        token = server.sign_in() if scenario == "auth-get" else None
        reqs = server.requests(token, skip_total=target.skip_total)
        ids, owned = work / f"{server.name}.ids", work / f"{server.name}.owned"
        cell_mix = mix(scenario, reqs, ids, owned)
        for _, req, id_file in cell_mix:
            sample = (server.owned_ids if id_file == owned else server.ids)[17]
            check(server.url, req, sample, scenario)
        lua = work / f"{target.label}-{scenario}.lua"
        lua.write_text(wrk.script(cell_mix))
        if plan.warmup:
            wrk.run(server.url, lua, conns, plan.warmup)
        spy = None
        if profile and server.name == "apprun":
            pid = workers_of(server.pid)[0]
            out = profile / f"{scenario}-c{conns}.txt"
            spy = subprocess.Popen(
                [
                    *(str(Path(sys.executable).parent / "py-spy"), "record", "--nonblocking"),
                    *("-d", str(int(plan.seconds)), "-p", str(pid), "-f", "raw", "-o", str(out)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        cpu_before = procstat.cpu_seconds(server.pid)
        busy_before, wrk_before = procstat.machine_busy_seconds(), procstat.children_cpu_seconds()
        own_before = time.process_time()  # this process: the RSS sampler
        with procstat.PeakRss(server.pid) as rss:
            result = wrk.run(server.url, lua, conns, plan.seconds)
        cpu = procstat.cpu_seconds(server.pid) - cpu_before
        wrk_cpu = procstat.children_cpu_seconds() - wrk_before
        own = time.process_time() - own_before
        other = procstat.machine_busy_seconds() - busy_before - cpu - wrk_cpu - own
        if spy:
            spy.wait()
        return {
            "scenario": scenario,
            "connections": conns,
            "target": target.label,
            **asdict(result),
            "cpu_ms_per_request": cpu * 1000 / max(result.requests, 1),
            "peak_rss_mb": rss.peak / 2**20,
            "wrk_cpu_pct": wrk_cpu * 100 / result.seconds,
            # Anything else busy on the machine meanwhile (other processes), in % of one core.
            "other_cpu_pct": max(other, 0.0) * 100 / result.seconds,
            "startup_s": startup,
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the one-minute subset")
    parser.add_argument("--scenarios", help="comma-separated subset of " + ",".join(ALL_SCENARIOS))
    parser.add_argument("--profile", type=Path, help="py-spy an apprun worker into this dir")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the report goes")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk (make bench installs it)")
    plan = Plan.of(args.quick)
    if args.scenarios:
        plan.scenarios = args.scenarios.split(",")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        apprun, pb = Apprun(work, workers=cores), PocketBase(work)
        for server in (apprun, pb):
            print(f"seeding {server.name} …", flush=True)
            server.setup()
            (work / f"{server.name}.ids").write_text("\n".join(server.ids) + "\n")
            (work / f"{server.name}.owned").write_text("\n".join(server.owned_ids) + "\n")
        cells = []
        for rep in range(plan.repetitions):
            for scenario in plan.scenarios:
                for conns in plan.connections:
                    for target in targets(scenario, apprun, pb):
                        cell = run_cell(plan, target, scenario, conns, work, args.profile)
                        cell["repetition"] = rep + 1
                        cells.append(cell)
                        print(
                            f"[{rep + 1}] {scenario:8} c={conns:<3} {target.label:21} "
                            f"{cell['rps']:8.0f} req/s  p99 {cell['p99_ms']:7.2f} ms  "
                            f"errors {cell['errors']}",
                            flush=True,
                        )
        meta = report.metadata(plan, apprun, pb, cores, time.monotonic() - began)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    args.out.mkdir(parents=True, exist_ok=True)
    path = report.write(args.out / f"{stamp}-{plan.mode}", meta, cells)
    print(f"wrote {path}")
