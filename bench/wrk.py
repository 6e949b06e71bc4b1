"""wrk runs: a Lua script per cell (requests, random ids, a done() hook printing JSON)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.servers import Request

THREADS = 2
MARK = "BENCH_JSON "

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,' ..
    '"max_us":%d}\\n',
    MARK, summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
"""

_DYNAMIC = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  math.randomseed(1000 + tid)  -- the same sequence against both servers
  for _, kind in ipairs(kinds) do
    if kind.ids_file then
      kind.ids = {}
      for line in io.lines(kind.ids_file) do kind.ids[#kind.ids + 1] = line end
    else
      kind.fixed = wrk.format(kind.method, kind.path, kind.headers, kind.body)
    end
  end
end

function request()
  local roll, kind = math.random(100), kinds[#kinds]
  for _, k in ipairs(kinds) do
    if roll <= k.upto then kind = k; break end
  end
  if kind.fixed then return kind.fixed end
  local id = kind.ids[math.random(#kind.ids)]
  return wrk.format(kind.method, kind.path .. id .. kind.suffix, kind.headers, kind.body)
end
"""


def _lua(value: object) -> str:
    """A Lua literal for a string, number, None, list or str-keyed dict."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        text = json.dumps(value)
        assert text.isascii()
        return text
    if isinstance(value, list):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def script(mix: list[tuple[int, Request, Path | None]]) -> str:
    """The Lua for a weighted mix of requests; one fixed request becomes a static wrk run."""
    head = f"MARK = {_lua(MARK)}\n"
    if len(mix) == 1 and not mix[0][1].by_id:
        req = mix[0][1]
        head += f"wrk.method = {_lua(req.method)}\nwrk.body = {_lua(req.body)}\n"
        head += "".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}\n" for k, v in req.headers.items())
        return head + f"wrk.path = {_lua(req.path)}\n" + _DONE
    kinds, upto = [], 0
    for weight, req, ids in mix:
        upto += weight
        kind = {"upto": upto, "method": req.method, "path": req.path, "headers": req.headers}
        kind.update({"body": req.body, "suffix": req.suffix})
        if req.by_id:
            assert ids is not None
            kind["ids_file"] = str(ids)
        kinds.append(kind)
    assert upto == 100, mix
    return head + f"kinds = {_lua(kinds)}\n" + _DYNAMIC + _DONE


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    errors: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float


def command(url: str, script_path: Path, connections: int, seconds: float) -> list[str]:
    return [
        *("wrk", "-t", str(THREADS), "-c", str(connections), "-d", f"{seconds:g}s"),
        *("--timeout", "10s", "--latency", "-s", str(script_path), url),
    ]


def run(url: str, script_path: Path, connections: int, seconds: float) -> WrkResult:
    out = subprocess.run(
        command(url, script_path, connections, seconds),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    raw = json.loads(line[len(MARK) :])
    secs = raw["duration_us"] / 1e6
    sock = raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]
    return WrkResult(
        requests=raw["requests"],
        seconds=secs,
        rps=raw["requests"] / secs,
        errors=raw["status"] + sock,
        non_2xx=raw["status"],
        socket_errors=sock,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
    )


def version() -> str:
    out = subprocess.run(["wrk", "--version"], check=False, capture_output=True, text=True)
    return (out.stdout or out.stderr).splitlines()[0].split(" [")[0]
