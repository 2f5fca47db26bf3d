"""Load on `digitnet serve`: concurrent clients POST realistic 280x280 drawings to /api/predict.

    python benchmarks/web_load.py [--clients 8] [--requests 400] [--time-limit 120] [--model M]

Starts the real server in a subprocess on 127.0.0.1 (port 0), sends MNIST test digits enlarged
and placed at random in a 280x280 canvas (ints 0..255, as the page sends them) over keep-alive
connections, and reports requests/s, latency percentiles and errors (which must be 0). Loopback
only; the number of requests and the time are bounded. Run it alone: client and server share the
machine's cores. Writes benchmarks/results/web_load.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import machine_info  # noqa: E402

from digitnet.data.datasets import load_mnist  # noqa: E402

CANVAS = 280
N_BODIES = 64


def drawings(n: int, seed: int = 0) -> list[tuple[bytes, int]]:
    """(JSON body, label) for n test digits, each 120..240 px tall at a random place."""
    mnist = load_mnist()
    rng = np.random.default_rng(seed)
    bodies = []
    for index in rng.choice(len(mnist.test_images), n, replace=False):
        side = int(rng.integers(120, 241))
        digit = Image.fromarray(mnist.test_images[index]).resize(
            (side, side), Image.Resampling.BILINEAR
        )
        canvas = np.zeros((CANVAS, CANVAS), dtype=np.uint8)
        top, left = rng.integers(0, CANVAS - side + 1, size=2)
        canvas[top : top + side, left : left + side] = np.asarray(digit)
        body = json.dumps({"pixels": canvas.tolist(), "scale": 255}).encode()
        bodies.append((body, int(mnist.test_labels[index])))
    return bodies


class Server:
    """`python -m digitnet serve --port 0` with its log in a temporary file."""

    def __init__(self, model: str | None) -> None:
        self.log = tempfile.TemporaryFile(mode="w+")
        command = [sys.executable, "-m", "digitnet", "serve", "--port", "0"]
        self.process = subprocess.Popen(
            command + (["--model", model] if model else []),
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.log.seek(0)
            log = self.log.read()
            found = re.search(r"serving on http://127\.0\.0\.1:(\d+)", log)
            if found:
                self.port = int(found.group(1))
                return
            if self.process.poll() is not None:
                raise SystemExit(f"web_load: the server exited:\n{log}")
            time.sleep(0.05)
        self.process.kill()
        raise SystemExit("web_load: the server printed no URL within 60 s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def load(port: int, bodies: list[tuple[bytes, int]], args: argparse.Namespace) -> dict:
    """Run the clients; per-request latencies, statuses and whether the digit was right."""
    next_request = iter(range(args.requests))
    take = threading.Lock()
    latencies: list[float] = []
    failures: list[str] = []
    correct = [0]
    deadline = time.monotonic() + args.time_limit

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"content-type": "application/json"}
        while time.monotonic() < deadline:
            with take:
                number = next(next_request, None)
            if number is None:
                break
            body, label = bodies[number % len(bodies)]
            started = time.perf_counter()
            try:
                connection.request("POST", "/api/predict", body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as error:
                failures.append(f"{type(error).__name__}: {error}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            elapsed = time.perf_counter() - started
            with take:
                latencies.append(elapsed)
                if response.status != 200:
                    failures.append(f"HTTP {response.status}: {answer[:200]!r}")
                elif json.loads(answer)["digit"] == label:
                    correct[0] += 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    milliseconds = np.array(latencies) * 1000
    done = len(latencies)
    return {
        "canvas": f"{CANVAS}x{CANVAS} ints 0..255 (JSON, as the page sends)",
        "clients": args.clients,
        "requests": done,
        "errors": len(failures),
        "first_errors": failures[:5],
        "seconds": round(seconds, 3),
        "requests_per_second": round(done / seconds, 1) if seconds else 0.0,
        "latency_ms": {
            name: round(float(np.percentile(milliseconds, q)), 1) if done else None
            for name, q in [("p50", 50), ("p95", 95), ("p99", 99), ("max", 100)]
        },
        "digit_accuracy": round(correct[0] / done, 3) if done else None,
        "body_kib": round(float(np.mean([len(body) for body, _ in bodies])) / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (threads)")
    parser.add_argument("--requests", type=int, default=400, help="requests in all")
    parser.add_argument("--time-limit", type=float, default=120, help="stop after this many s")
    parser.add_argument("--model", help="model file (default: the bundled model)")
    parser.add_argument("--out", default=str(HERE / "results" / "web_load.json"))
    args = parser.parse_args()
    if args.clients < 1 or args.requests < 1 or args.time_limit <= 0:
        parser.error("--clients, --requests and --time-limit must be positive")
    bodies = drawings(N_BODIES)
    server = Server(args.model)
    try:
        warm_up = argparse.Namespace(clients=1, requests=8, time_limit=30)
        load(server.port, bodies, warm_up)
        result = load(server.port, bodies, args)
    finally:
        server.stop()
    result = {"benchmark": "web_load", "machine": machine_info(), **result}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    latency = result["latency_ms"]
    print(
        f"{'clients':>8} {'requests':>9} {'errors':>7} {'req/s':>7} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    )
    print(
        f"{result['clients']:>8} {result['requests']:>9} {result['errors']:>7} "
        f"{result['requests_per_second']:>7} {latency['p50']:>7} {latency['p95']:>7} "
        f"{latency['p99']:>7} {latency['max']:>7}"
    )
    print(f"digit accuracy {result['digit_accuracy']}; wrote {out}")
    for failure in result["first_errors"]:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
