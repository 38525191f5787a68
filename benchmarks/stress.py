"""Normal traffic against ``polynlu serve``, alone and next to stalled, slow and abusive clients.

    python benchmarks/stress.py runs/baseline-en-US                  # 2 × 20 s, loopback only
    python benchmarks/stress.py MODEL --seconds 30 --stalled 400 --serve-option=--workers=2
    (ulimit -n 256; polynlu serve MODEL --port 8123) & python benchmarks/stress.py --url http://127.0.0.1:8123

Phase 1 runs only the normal clients (keep-alive connections each sending /v1/parse requests
one after another). Phase 2 runs the same clients while, on the same server:

- *stalled* clients open connections, send half a request line and stop (and reconnect when
  the server closes them);
- *slow* clients send a request body one byte a second;
- *abusive* clients loop over malformed request lines, unknown methods, oversized bodies, a
  wrong content type and invalid UTF-8.

It prints one table (normal-traffic requests, errors, p50/p99 latency and throughput for each
phase; what the attackers got back) and writes benchmarks/results/stress.json. Every socket
goes to 127.0.0.1, and every loop stops at its deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import random
import statistics
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from common import write_result
from rich.console import Console
from rich.table import Table

from polynlu.serving.server import serve_in_background

UTTERANCES = [
    ("wake me up at five am this friday", "en-US"),
    ("what's the weather like tomorrow", "en-US"),
    ("turn off the lights in the kitchen", "en-US"),
    ("play some jazz", "en-US"),
]
ABUSE = [
    b"NOT A REQUEST\r\n\r\n",
    b"BREW /v1/parse HTTP/1.1\r\nhost: x\r\n\r\n",
    b"POST /v1/parse HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    b"content-length: 50000000\r\n\r\n",
    b"POST /v1/parse HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n"
    b"\r\nhi",
    b"POST /v1/parse HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 17"
    b'\r\n\r\n{"text": "\xff\xfe"}',
    b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nhost: x\r\n\r\n",
]


async def normal_client(url: str, deadline: float, latencies: list[float], errors: Counter[str]):
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while time.monotonic() < deadline:
            text, locale = random.choice(UTTERANCES)
            started = time.perf_counter()
            try:
                response = await http.post("/v1/parse", json={"text": text, "locale": locale})
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[f"HTTP {response.status_code}"] += 1
            except httpx.HTTPError as error:
                errors[type(error).__name__] += 1


async def _exchange(port: int, payload: bytes, pause: float, answers: Counter[str]) -> None:
    """Send ``payload`` (byte by byte every ``pause`` seconds if pause > 0), read the answer's
    status line, count it."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError as error:
        answers[f"connect: {type(error).__name__}"] += 1
        await asyncio.sleep(0.2)
        return
    try:
        if pause:
            for byte in payload:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(pause)
        else:
            writer.write(payload)
            await writer.drain()
        status = await reader.readline()
        answers[status.decode("latin-1").strip()[9:12] or "closed"] += 1
    except (OSError, asyncio.IncompleteReadError) as error:
        answers[type(error).__name__] += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def attacker(kind: str, port: int, deadline: float, answers: Counter[str]) -> None:
    while time.monotonic() < deadline:
        remaining = max(0.1, deadline - time.monotonic())
        if kind == "stalled":
            work = _exchange(port, b"GET /v1/health HTTP/1.1\r\n", 0, answers)
        elif kind == "slow":
            body = b'{"text": "play jazz"}'
            head = b"POST /v1/parse HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            head += b"content-length: %d\r\n\r\n" % len(body)
            work = _exchange(port, head + body, 1.0, answers)
        else:
            work = _exchange(port, random.choice(ABUSE), 0, answers)
        try:
            await asyncio.wait_for(work, remaining)
        except TimeoutError:
            answers["held to the end"] += 1


def attack(port: int, seconds: float, attackers: dict[str, int]) -> dict[str, dict[str, int]]:
    """The attackers, in a process of their own: in the normal clients' event loop they would
    slow those clients down on the client side and spoil the measurement."""

    async def run() -> dict[str, Counter[str]]:
        deadline = time.monotonic() + seconds
        answers: dict[str, Counter[str]] = {kind: Counter() for kind in attackers}
        await asyncio.gather(
            *(
                attacker(kind, port, deadline, answers[kind])
                for kind, count in attackers.items()
                for _ in range(count)
            )
        )
        return answers

    return {kind: dict(counts) for kind, counts in asyncio.run(run()).items()}


async def phase(
    url: str, seconds: float, clients: int, attackers: dict[str, int]
) -> dict[str, Any]:
    port = int(url.rsplit(":", 1)[1])
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        attacking = pool.submit(attack, port, seconds, attackers) if attackers else None
        started = time.perf_counter()
        await asyncio.gather(
            *(normal_client(url, deadline, latencies, errors) for _ in range(clients))
        )
        elapsed = time.perf_counter() - started
        answers = attacking.result(timeout=seconds + 60) if attacking else {}
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": dict(errors),
        "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else None,
        "p99_ms": round(1000 * ordered[int(0.99 * (len(ordered) - 1))], 1) if ordered else None,
        "throughput_rps": round(len(latencies) / elapsed, 1),
        "attackers": attackers,
        "attackers_got": answers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, nargs="?", help="a model to serve here")
    parser.add_argument(
        "--url", help="a polynlu serve already running on 127.0.0.1 (say, under ulimit -n 256)"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="each phase")
    parser.add_argument("--clients", type=int, default=8, help="normal clients")
    parser.add_argument("--stalled", type=int, default=300)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--abusive", type=int, default=4)
    parser.add_argument(
        "--serve-option", action="append", default=[], help="passed to polynlu serve"
    )
    parser.add_argument("--name", default="stress")
    args = parser.parse_args()
    console = Console()
    options = [part for option in args.serve_option for part in option.split("=", 1)]
    attack = {"stalled": args.stalled, "slow": args.slow, "abusive": args.abusive}
    if (args.model is None) == (args.url is None):
        parser.error("give a MODEL to serve, or the --url of a running server")
    if args.url and not args.url.startswith(("http://127.", "http://localhost")):
        parser.error("--url must be a server on this machine's loopback")
    serving = (
        serve_in_background(args.model, "--log-level", "warning", *options)
        if args.model
        else contextlib.nullcontext(args.url)
    )
    with serving as url:
        console.print(f"Serving {args.model or url} at {url}; phase 1: normal traffic alone")
        alone = asyncio.run(phase(url, args.seconds, args.clients, {}))
        console.print(
            "Phase 2: the same, next to " + ", ".join(f"{n} {k}" for k, n in attack.items())
        )
        attacked = asyncio.run(phase(url, args.seconds, args.clients, attack))
        health = httpx.get(f"{url}/v1/health").status_code
    table = Table(title=f"Normal traffic ({args.clients} clients, {args.seconds:g} s a phase)")
    for column in ("phase", "requests", "errors", "p50 ms", "p99 ms", "req/s"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    for name, result in (("alone", alone), ("with attackers", attacked)):
        table.add_row(
            name,
            f"{result['requests']:,}",
            str(sum(result["errors"].values())),
            str(result["p50_ms"]),
            str(result["p99_ms"]),
            str(result["throughput_rps"]),
        )
    console.print(table)
    for kind, counts in attacked["attackers_got"].items():
        console.print(f"  {kind} clients got: {counts}")
    console.print(f"  /v1/health after the attack: {health}")
    path = write_result(
        args.name,
        {
            "benchmark": "stress",
            "model": str(args.model) if args.model else None,
            "url": args.url,
            "serve_options": options,
            "seconds_per_phase": args.seconds,
            "clients": args.clients,
            "alone": alone,
            "with_attackers": attacked,
            "health_after": health,
        },
    )
    console.print(f"Wrote {path}")


if __name__ == "__main__":
    main()
