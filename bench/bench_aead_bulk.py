"""Bulk AEAD throughput: Sumun's AES-256-GCM and ARIA-256-GCM against `openssl speed`.

    python bench/bench_aead_bulk.py [--seconds S] [--reps N] [--cpu] [--json] [--check]

Both sides process 1 MiB payloads in the same run, interleaved, and each figure is the best of
--reps repetitions, so that noise from other work on a small shared machine mostly drops out.
Sumun's figure is a whole `encrypt`/`decrypt` call (nonce in, fresh ciphertext||tag out);
`openssl speed -evp` streams EVP_*Update over one buffer in place without per-record set-up
or tag, so it is the ceiling. MB is 10^6 bytes, as `openssl speed` counts.

Caveat printed with the results: Sumun's AES goes through pyca `cryptography`, which bundles
its own OpenSSL build, while `openssl speed` and Sumun's ARIA use the system libcrypto; the
AES ratio therefore compares two OpenSSL builds and can exceed 1.

With --json the table goes to stderr and a single JSON object to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import sumun  # noqa: F401 - only to see whether it is importable
except ImportError:  # run from a checkout without an install
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import cryptography
from cryptography.hazmat.backends.openssl import backend as pyca_backend

from sumun.crypto.hazmat.aead import AeadCipher, Suite, new_cipher

PAYLOAD = 1 << 20
MB = 1e6
SUITES = [(Suite.AES_256_GCM, "aes-256-gcm"), (Suite.ARIA_256_GCM, "aria-256-gcm")]
OPS = ("encrypt", "decrypt")
_RATE_LINE = re.compile(r"^\+F:\d+:[^:]+:([0-9.]+)", re.MULTILINE)


def _sumun_rate(
    call: Callable[[bytes], bytes], seconds: float, clock: Callable[[], float]
) -> float:
    """MB/s of `call(nonce)` on one payload over `seconds`, with a fresh counter nonce each."""
    call(bytes(12))  # warm-up: first-use costs (thread context, page faults) are not the rate
    calls = 0
    start = clock()
    deadline = start + seconds
    now = start
    while now < deadline:
        call(calls.to_bytes(12, "big"))
        calls += 1
        now = clock()
    return calls * PAYLOAD / (now - start) / MB


def _openssl_rate(openssl: str, cipher: str, decrypt: bool, seconds: int, cpu: bool) -> float:
    argv = [openssl, "speed", "-mr", "-evp", cipher, "-bytes", str(PAYLOAD)]
    argv += ["-seconds", str(seconds)]
    if not cpu:
        argv.append("-elapsed")  # wall clock, like time.perf_counter on our side
    if decrypt:
        argv.append("-decrypt")
    proc = subprocess.run(
        argv, check=False, capture_output=True, text=True, timeout=seconds * 10 + 30
    )
    match = _RATE_LINE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"{' '.join(argv)} failed: {proc.stderr.strip()[:300]}")
    return float(match.group(1)) / MB  # -mr reports bytes per second


def run(seconds: float, reps: int, cpu: bool, openssl: str) -> dict[str, Any]:
    clock = time.process_time if cpu else time.perf_counter
    openssl_seconds = max(1, round(seconds))
    data = os.urandom(PAYLOAD)
    ciphers = {suite: new_cipher(suite, os.urandom(32)) for suite, _ in SUITES}
    best: dict[tuple[str, str, str], float] = {}

    def keep(key: tuple[str, str, str], rate: float) -> None:
        best[key] = max(best.get(key, 0.0), rate)

    # Interleaved (suite x op x side) inside each repetition, so a burst of load elsewhere
    # hurts one sample of each rather than all samples of one figure.
    for _ in range(reps):
        for suite, name in SUITES:
            cipher = ciphers[suite]
            sealed = cipher.encrypt(bytes(12), data, b"")

            def encrypt(nonce: bytes, cipher: AeadCipher = cipher) -> bytes:
                return cipher.encrypt(nonce, data, b"")

            def decrypt(
                _nonce: bytes, cipher: AeadCipher = cipher, sealed: bytes = sealed
            ) -> bytes:
                return cipher.decrypt(bytes(12), sealed, b"")  # authenticates every time

            keep((name, "encrypt", "sumun"), _sumun_rate(encrypt, seconds, clock))
            keep((name, "decrypt", "sumun"), _sumun_rate(decrypt, seconds, clock))
            for op in OPS:
                rate = _openssl_rate(openssl, name, op == "decrypt", openssl_seconds, cpu)
                keep((name, op, "openssl"), rate)

    rows = []
    for _, name in SUITES:
        for op in OPS:
            ours, theirs = best[(name, op, "sumun")], best[(name, op, "openssl")]
            rows.append(
                {
                    "suite": name,
                    "op": op,
                    "sumun_mb_s": round(ours, 1),
                    "openssl_mb_s": round(theirs, 1),
                    "ratio": round(ours / theirs, 3),
                }
            )
    version = subprocess.run([openssl, "version"], check=True, capture_output=True, text=True)
    return {
        "payload_bytes": PAYLOAD,
        "seconds_per_sample": seconds,
        "openssl_seconds_per_sample": openssl_seconds,
        "reps": reps,
        "clock": "cpu" if cpu else "wall",
        "results": rows,
        "openssl_cli": version.stdout.strip(),
        "pyca_cryptography": f"{cryptography.__version__} ({pyca_backend.openssl_version_text()})",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0],
    }


def _table(report: dict[str, Any], min_ratio: float) -> str:
    lines = [
        f"1 MiB payloads, best of {report['reps']} x {report['seconds_per_sample']}s "
        f"({report['clock']} clock); MB = 10^6 bytes",
        f"{'suite':<14}{'op':<9}{'sumun MB/s':>12}{'openssl MB/s':>14}{'ratio':>8}  target",
    ]
    for row in report["results"]:
        verdict = "ok" if row["ratio"] >= min_ratio else "BELOW"
        lines.append(
            f"{row['suite']:<14}{row['op']:<9}{row['sumun_mb_s']:>12.1f}"
            f"{row['openssl_mb_s']:>14.1f}{row['ratio']:>8.3f}  >= {min_ratio:.2f} {verdict}"
        )
    lines.append(f"openssl CLI: {report['openssl_cli']}")
    lines.append(f"sumun AES via pyca {report['pyca_cryptography']} (its own OpenSSL build)")
    lines.append(f"load average at the end: {report['loadavg_1m']:.2f} on {report['cpus']} CPUs")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per sample (default 3)")
    parser.add_argument("--reps", type=int, default=3, help="samples per figure, best kept")
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of wall clock")
    parser.add_argument("--json", action="store_true", help="JSON on stdout, table on stderr")
    parser.add_argument("--min-ratio", type=float, default=0.80, help="target sumun/openssl")
    parser.add_argument("--check", action="store_true", help="exit 1 if a ratio is below")
    parser.add_argument("--openssl", default=shutil.which("openssl") or "openssl")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.reps < 1:
        parser.error("--seconds must be > 0 and --reps >= 1")

    report = run(args.seconds, args.reps, args.cpu, args.openssl)
    report["min_ratio"] = args.min_ratio
    print(_table(report, args.min_ratio), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(json.dumps(report, indent=2))
    below = [r for r in report["results"] if r["ratio"] < args.min_ratio]
    return 1 if args.check and below else 0


if __name__ == "__main__":
    sys.exit(main())
