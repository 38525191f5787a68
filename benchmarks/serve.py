"""Serving speed: HTTP load at concurrency 1, 8 and 64, and in-process parse latency.

    python benchmarks/serve.py runs/zero-shot                # 30 s per concurrency level
    python benchmarks/serve.py runs/zero-shot --seconds 10 --concurrency 1,64
    python benchmarks/serve.py runs/zero-shot-int8 --workers 2 --threads 1

Starts `polynlu serve MODEL [--workers W --threads T]` on 127.0.0.1 and drives it with N
connections, each sending `POST /v1/parse` with a MASSIVE dev utterance (with its locale) and
waiting for the answer before sending the next. The load generator is wrk (`apt-get install
wrk`: C, one thread, so the server keeps most of the CPU) when it is installed, else an async
httpx client.
Client and server share the machine's cores, as they would on one box. Then it times
`NLU.parse` in-process on one thread (batch 1) and `parse_batch` on two threads (batch 64).
Writes benchmarks/results/NAME.json (`--name`, default serve).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from common import write_result
from rich.console import Console
from rich.table import Table
from zero_shot import SHARED

from polynlu.data import MassiveData
from polynlu.data.massive import cap_per_locale
from polynlu.serving.server import serve_in_background


def utterances(data: str, per_locale: int) -> list[tuple[str, str]]:
    dataset = MassiveData(data)
    examples = cap_per_locale(dataset.read(dataset.locales, "dev").examples, per_locale)
    return [(e.utt, e.locale) for e in examples]


WRK_SCRIPT = """
local bodies = {%s}
local sent = 0
request = function()
  sent = sent + 1
  return wrk.format("POST", "/v1/parse", {["Content-Type"] = "application/json"},
                    bodies[(sent %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nRESULT {"requests": %%d, "duration_us": %%d, "errors": %%d, "non_2xx": %%d, ' ..
    '"p50_us": %%d, "p95_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def load_with_wrk(
    url: str, requests: list[tuple[str, str]], concurrency: int, seconds: float
) -> dict[str, Any]:
    bodies = [json.dumps({"text": t, "locale": loc}, ensure_ascii=False) for t, loc in requests]
    assert not any("]==]" in body for body in bodies)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as f:
        f.write(WRK_SCRIPT % ",".join(f"[==[{body}]==]" for body in bodies))
    done = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds:.0f}s", "--timeout", "10s",
         "-s", f.name, url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    Path(f.name).unlink()
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    elapsed = result["duration_us"] / 1e6
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 1),
        "requests": result["requests"],
        "errors": result["errors"] + result["non_2xx"],
        "requests_per_s": round(result["requests"] / elapsed, 1),
        "p50_ms": round(result["p50_us"] / 1000, 2),
        "p95_ms": round(result["p95_us"] / 1000, 2),
        "p99_ms": round(result["p99_us"] / 1000, 2),
        "generator": "wrk",
    }


async def load(
    url: str, requests: list[tuple[str, str]], concurrency: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def user(offset: int) -> None:
            nonlocal errors
            index = offset
            while time.perf_counter() < stop:
                text, locale = requests[index % len(requests)]
                index += concurrency
                sent = time.perf_counter()
                try:
                    response = await client.post("/v1/parse", json={"text": text, "locale": locale})
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - sent)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(user(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    milliseconds = np.array(latencies) * 1000
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 2),
        "p95_ms": round(float(np.percentile(milliseconds, 95)), 2),
        "p99_ms": round(float(np.percentile(milliseconds, 99)), 2),
        "generator": "httpx",
    }


def in_process(model: Path, requests: list[tuple[str, str]]) -> dict[str, Any]:
    from polynlu import NLU

    nlu = NLU.load(model)
    nlu.model.set_threads(1)
    for text, locale in requests[:50]:
        nlu.parse(text, locale)
    single = []
    for text, locale in requests[:500]:
        started = time.perf_counter()
        nlu.parse(text, locale)
        single.append((time.perf_counter() - started) * 1000)
    nlu.model.set_threads(2)
    batches = [requests[i : i + 64] for i in range(0, min(len(requests), 64 * 40), 64)]
    nlu.parse_batch([t for t, _ in batches[0]], [loc for _, loc in batches[0]])
    started = time.perf_counter()
    for batch in batches:
        nlu.parse_batch([t for t, _ in batch], [loc for _, loc in batch])
    elapsed = time.perf_counter() - started
    return {
        "batch1_threads": 1,
        "batch1_median_ms": round(statistics.median(single), 2),
        "batch1_p99_ms": round(float(np.percentile(single, 99)), 2),
        "batch64_threads": 2,
        "batch64_utterances_per_s": round(sum(len(b) for b in batches) / elapsed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", default=str(SHARED) if SHARED.exists() else "massive")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--per-locale", type=int, default=40, help="dev utterances per locale")
    parser.add_argument("--name", default="serve")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, help="model threads per worker (serve's default)")
    parser.add_argument("--micro-batch-wait-ms", type=float, help="(serve's default)")
    args = parser.parse_args()
    console = Console()
    requests = utterances(args.data, args.per_locale)
    # Interleave locales, so every client sees a mix of scripts and lengths.
    requests.sort(key=lambda pair: hash(pair[0]) % 9973)

    options = {
        "--workers": args.workers,
        "--threads": args.threads,
        "--micro-batch-wait-ms": args.micro_batch_wait_ms,
    }
    command_options = ["--log-level", "warning"]
    for option, value in options.items():
        if value is not None:
            command_options += [option, str(value)]
    with serve_in_background(args.model, *command_options, quiet=False) as url:
        asyncio.run(load(url, requests, 8, 3.0))  # warm-up
        runs = []
        for concurrency in [int(c) for c in args.concurrency.split(",")]:
            console.print(f"concurrency {concurrency}: {args.seconds:.0f} s ...")
            if shutil.which("wrk"):
                runs.append(load_with_wrk(url, requests, concurrency, args.seconds))
            else:
                runs.append(asyncio.run(load(url, requests, concurrency, args.seconds)))
    local = in_process(args.model, requests)

    generator = runs[0]["generator"] if runs else "none"
    server_options = " ".join(f"{o} {v}" for o, v in options.items() if v is not None)
    table = Table(title=f"HTTP load on 127.0.0.1, {args.model.name} {server_options} ({generator})")
    for column in ("concurrency", "requests/s", "p50 ms", "p95 ms", "p99 ms", "errors"):
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(
            str(run["concurrency"]),
            f"{run['requests_per_s']:.0f}",
            f"{run['p50_ms']:.1f}",
            f"{run['p95_ms']:.1f}",
            f"{run['p99_ms']:.1f}",
            str(run["errors"]),
        )
    console.print(table)
    console.print(
        f"in-process parse, batch 1, 1 thread: median {local['batch1_median_ms']:.1f} ms, "
        f"p99 {local['batch1_p99_ms']:.1f} ms; batch 64, 2 threads: "
        f"{local['batch64_utterances_per_s']:.0f} utterances/s"
    )
    path = write_result(
        args.name,
        {
            "benchmark": "serve",
            "model": str(args.model),
            "server": {o.lstrip("-").replace("-", "_"): v for o, v in options.items()},
            "utterances": len(requests),
            "load": runs,
            "in_process": local,
        },
    )
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
