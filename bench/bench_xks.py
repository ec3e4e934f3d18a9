"""The AWS KMS XKS proxy under load: latency at 500 requests/s and throughput, per key backend.

    python bench/bench_xks.py [--quick] [--json] [--backends embedded,pkcs11,openbao]
                              [--profile DIR]

The real thing: `sumun serve` on a fresh SUMUN_HOME with the XKS listener (TLS 1.3, the real
keyring, SigV4 credentials and ledger, the SQLite ledger as configured by default; each call's
`xks` entry is a strict append — durable before the call is answered), pinned to the first
core with `taskset`. The load generator runs on the other core: raw HTTP/1.1 over keep-alive
TLS connections (uvloop), every request SigV4-signed ahead of time (this script's signer,
checked byte for byte against botocore's SigV4Auth), with distinct kmsRequestIds.

    open loop    a constant arrival rate (500 requests/s), Encrypt then Decrypt; latency from
                 the moment each request is written and from the moment it was due (so a
                 stalled server is not hidden: no coordinated omission)
    closed loop  32 keep-alive connections, each sending its next call as soon as the last was
                 answered (Encrypt and Decrypt alternating): operations/s, the server's CPU per
                 call, and calls per second of server CPU (what one whole core gives — the
                 steady figure on a shared machine, where others' use of the core is printed)

Side by side in the same run: the embedded backend, PKCS#11 (a SoftHSM2 token made here) and
OpenBao Transit (a `bao server -dev` started here, pinned to the client core), and the floor —
the same AES-256-GCM encrypt or decrypt called directly through pyca/cryptography (and
`openssl speed -evp aes-256-gcm` for scale). Plaintext 32 bytes (a data key), AAD 32 bytes,
CDIV requested on Encrypt. `--profile DIR` adds a py-spy pass per backend (when installed).

Targets (issue 16, one core, embedded backend): Encrypt/Decrypt p99 <= 5 ms at 500 requests/s
with TLS keep-alive; >= 3,000 operations/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import resource
import secrets
import selectors
import shutil
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from tests.xks.support import make_pki  # noqa: E402

SUMUN = [sys.executable, "-m", "sumun.cli.main"]
CORES = sorted(os.sched_getaffinity(0))
SERVER_CORE, CLIENT_CORE = CORES[0], CORES[-1]
REGION = "eu-central-1"
PREFIX = "/bench"
KEYSTORE, KEY_ID = "bench", "bench-key"
PLAINTEXT = os.urandom(32)
AAD = os.urandom(32)
RATE = 500.0
CONNECTIONS = 32  # closed loop
POOL = 32  # open loop: keep-alive connections available to the scheduler
PRINCIPAL = "arn:aws:iam::123456789012:role/bench"
KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/0b5e1f9c-1111-2222-3333-444455556666"


# -- SigV4, precomputed ---------------------------------------------------------------------------


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


@dataclass
class Signer:
    akid: str
    secret: str
    host: str
    _keys: dict[str, bytes] = field(default_factory=dict)

    def _key(self, date: str) -> bytes:
        if date not in self._keys:
            k = _hmac(f"AWS4{self.secret}".encode(), date)
            for part in (REGION, "kms-xks-proxy", "aws4_request"):
                k = _hmac(k, part)
            self._keys[date] = k
        return self._keys[date]

    def headers(self, path: str, body: bytes, amz_date: str) -> dict[str, str]:
        signed = "content-type;host;x-amz-date"
        canonical = "\n".join(
            [
                "POST",
                path,
                "",
                f"content-type:application/json\nhost:{self.host}\nx-amz-date:{amz_date}\n",
                signed,
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{amz_date[:8]}/{REGION}/kms-xks-proxy/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        signature = hmac.new(self._key(amz_date[:8]), to_sign.encode(), hashlib.sha256).hexdigest()
        return {
            "Content-Type": "application/json",
            "Host": self.host,
            "X-Amz-Date": amz_date,
            "Authorization": f"AWS4-HMAC-SHA256 Credential={self.akid}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}",
        }

    def request(self, path: str, body: bytes, amz_date: str) -> bytes:
        head = "".join(f"{k}: {v}\r\n" for k, v in self.headers(path, body, amz_date).items())
        return f"POST {path} HTTP/1.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode() + body

    def check_against_botocore(self, path: str, body: bytes) -> None:
        """This signer and botocore's SigV4Auth must agree byte for byte."""
        import datetime
        from unittest import mock

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        when = datetime.datetime(2026, 12, 1, 12, 0, 0)
        req = AWSRequest(
            method="POST",
            url=f"https://{self.host}{path}",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with mock.patch("botocore.auth.get_current_datetime", return_value=when):
            SigV4Auth(Credentials(self.akid, self.secret), "kms-xks-proxy", REGION).add_auth(req)
        ours = self.headers(path, body, when.strftime("%Y%m%dT%H%M%SZ"))["Authorization"]
        if req.headers["Authorization"] != ours:
            raise AssertionError(f"signer mismatch:\n{req.headers['Authorization']}\n{ours}")


def _amz_now() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _meta(operation: str) -> dict[str, str]:
    return {
        "awsPrincipalArn": PRINCIPAL,
        "kmsKeyArn": KEY_ARN,
        "kmsOperation": operation,
        "kmsRequestId": str(uuid.uuid4()),
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def encrypt_body() -> bytes:
    return json.dumps(
        {
            "requestMetadata": _meta("Encrypt"),
            "plaintext": _b64(PLAINTEXT),
            "additionalAuthenticatedData": _b64(AAD),
            "encryptionAlgorithm": "AES_GCM",
            "ciphertextDataIntegrityValueAlgorithm": "SHA_256",
        }
    ).encode()


def decrypt_body(sealed: dict[str, str]) -> bytes:
    return json.dumps(
        {
            "requestMetadata": _meta("Decrypt"),
            "ciphertext": sealed["ciphertext"],
            "ciphertextMetadata": sealed["ciphertextMetadata"],
            "initializationVector": sealed["initializationVector"],
            "authenticationTag": sealed["authenticationTag"],
            "additionalAuthenticatedData": _b64(AAD),
            "encryptionAlgorithm": "AES_GCM",
        }
    ).encode()


# -- a minimal keep-alive HTTP/1.1 client over TLS -----------------------------------------------

_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)


class _Conn(asyncio.Protocol):
    """One keep-alive connection: one request in flight at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        match = _LENGTH.search(self.buf, 0, end + 2)
        length = int(match.group(1)) if match else 0
        if len(self.buf) < end + 4 + length:
            return
        status = int(self.buf[9:12])
        body = bytes(self.buf[end + 4 : end + 4 + length])
        del self.buf[: end + 4 + length]
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))

    async def call(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self.waiter


async def _connect(port: int, ctx: ssl.SSLContext, n: int) -> list[_Conn]:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(n):
        _t, proto = await loop.create_connection(
            _Conn, "127.0.0.1", port, ssl=ctx, server_hostname="localhost"
        )
        conns.append(proto)
    return conns


def _close(conns: list[_Conn]) -> None:
    for c in conns:
        if c.transport is not None:
            c.transport.close()


@dataclass
class Target:
    port: int
    ctx: ssl.SSLContext
    signer: Signer

    def path(self, op: str) -> str:
        return f"{PREFIX}/kms/xks/v1/keys/{KEY_ID}/{op}"

    def encrypts(self, n: int) -> list[bytes]:
        date = _amz_now()
        return [self.signer.request(self.path("encrypt"), encrypt_body(), date) for _ in range(n)]

    def decrypts(self, sealed: list[dict[str, str]], n: int) -> list[bytes]:
        date = _amz_now()
        return [
            self.signer.request(self.path("decrypt"), decrypt_body(sealed[i % len(sealed)]), date)
            for i in range(n)
        ]


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cpu_pid(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_threads(pid: int) -> tuple[float, float]:
    """(event-loop thread, every other thread) CPU seconds of process `pid`."""
    main = other = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            if int(tid) == pid:
                main += seconds
            else:
                other += seconds
    return main, other


def _core_busy(core: int) -> tuple[float, float]:
    """(busy, total) jiffies of one core, from /proc/stat."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            values = [int(v) for v in line.split()[1:]]
            idle = values[3] + values[4]  # idle + iowait
            return float(sum(values) - idle), float(sum(values))
    return 0.0, 0.0


def _pct(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(q * len(sorted_ms)))]


async def open_loop(target: Target, requests: list[bytes], rate: float) -> dict[str, Any]:
    """Constant arrival rate: request i is due at t0 + i/rate, sent then on an idle keep-alive
    connection (or as soon as one is free). Latency from the moment it was written, and — the
    conservative figure — from the moment it was due (the client timer's slack included)."""
    clock = time.perf_counter
    conns = await _connect(target.port, target.ctx, POOL)
    idle: asyncio.Queue[_Conn] = asyncio.Queue()
    for c in conns:
        idle.put_nowait(c)
    from_send: list[float] = []
    from_due: list[float] = []
    errors: dict[int, int] = {}
    tasks = []

    async def fire(request: bytes, due: float) -> None:
        conn = await idle.get()
        sent = clock()
        status, _ = await conn.call(request)
        done = clock()
        from_send.append((done - sent) * 1000)
        from_due.append((done - due) * 1000)
        if status != 200:
            errors[status] = errors.get(status, 0) + 1
        idle.put_nowait(conn)

    cpu0 = _cpu_self()
    start = clock() + 0.05
    for i, request in enumerate(requests):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(fire(request, due)))
    await asyncio.gather(*tasks)
    wall = clock() - start
    client_cpu = (_cpu_self() - cpu0) / wall
    _close(conns)
    lat, due_lat = sorted(from_send), sorted(from_due)
    return {
        "requests": len(lat),
        "rate": rate,
        "achieved_rate": len(lat) / wall,
        "errors": errors,
        "p50_ms": _pct(lat, 0.50),
        "p90_ms": _pct(lat, 0.90),
        "p99_ms": _pct(lat, 0.99),
        "max_ms": lat[-1],
        "mean_ms": statistics.fmean(lat),
        "p99_from_due_ms": _pct(due_lat, 0.99),
        "max_from_due_ms": due_lat[-1],
        "client_core_busy": client_cpu,
    }


async def closed_loop(
    target: Target, requests: list[bytes], connections: int, seconds: float, server_pid: int
) -> dict[str, Any]:
    conns = await _connect(target.port, target.ctx, connections)
    done = 0
    errors: dict[int, int] = {}
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def worker(conn: _Conn, offset: int) -> None:
        nonlocal done
        i = offset
        while time.perf_counter() < stop:
            t = time.perf_counter()
            status, _ = await conn.call(requests[i % len(requests)])
            latencies.append((time.perf_counter() - t) * 1000)
            i += connections
            if status == 200:
                done += 1
            else:
                errors[status] = errors.get(status, 0) + 1

    cpu0, scpu0, wall0 = _cpu_self(), _cpu_pid(server_pid), time.perf_counter()
    core0, threads0 = _core_busy(SERVER_CORE), _cpu_threads(server_pid)
    await asyncio.gather(*(worker(c, k) for k, c in enumerate(conns)))
    wall = time.perf_counter() - wall0
    core1, threads1 = _core_busy(SERVER_CORE), _cpu_threads(server_pid)
    client_cpu = (_cpu_self() - cpu0) / wall
    server_seconds = _cpu_pid(server_pid) - scpu0
    server_cpu = server_seconds / wall
    core = (core1[0] - core0[0]) / max(1.0, core1[1] - core0[1])
    _close(conns)
    lat = sorted(latencies)
    return {
        "connections": connections,
        "seconds": wall,
        "ops_per_s": done / wall,
        "errors": errors,
        "p50_ms": _pct(lat, 0.50),
        "p99_ms": _pct(lat, 0.99),
        "client_core_busy": client_cpu,
        "server_core_busy": server_cpu,
        # Others' work on the server's core (this machine is shared): the core's busy share
        # less the server's own.
        "others_on_server_core": max(0.0, core - server_cpu),
        "server_cpu_us_per_op": server_seconds / max(1, done) * 1e6,
        # of which the event loop's thread, and the others (the ledger's writer, the backend's
        # worker threads)
        "loop_thread_us_per_op": (threads1[0] - threads0[0]) / max(1, done) * 1e6,
        "other_threads_us_per_op": (threads1[1] - threads0[1]) / max(1, done) * 1e6,
        # What one whole core would answer: calls per second of the server's CPU time.
        "ops_per_server_core_s": done / server_seconds if server_seconds else 0.0,
    }


# -- the deployment ---------------------------------------------------------------------------


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUMUN_")}
    env.update(extra, SUMUN_HOME=str(home))
    return env


def _cli(home: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [*SUMUN, *args, "--json"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"sumun {' '.join(args[:3])} failed: {out.stderr[-1500:]}")
    return dict(json.loads(out.stdout))


@dataclass
class Deployment:
    backend: str
    proc: subprocess.Popen[bytes]
    port: int
    akid: str
    secret: str
    home: Path

    def ledger_size(self) -> int:
        db = self.home / "ledger" / "ledger.db"
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return int(conn.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0])


def deploy(tmp: Path, backend: str, keys: dict[str, Any], extra_env: dict[str, str]) -> Deployment:
    home = tmp / f"home-{backend}"
    home.mkdir()
    port = _port()
    conf = {
        "keys": keys,
        "admin_api": {"enabled": False},
        "xks": {
            "listen": f"127.0.0.1:{port}",
            "tls_cert_file": str(tmp / "server.crt"),
            "tls_key_file": str(tmp / "server.key"),
            "region": REGION,
        },
    }
    (home / "sumun.yaml").write_text(json.dumps(conf))
    env = _env(home, extra_env)
    shares = _cli(home, env, "init", "--custodians", "3", "--threshold", "2")["shares"][:2]
    quorum = [a for s in shares for a in ("--share", s)]
    _cli(home, env, "xks", "keystores", "create", KEYSTORE, "--uri-prefix", PREFIX)
    cred = _cli(home, env, "xks", "credentials", "issue", KEYSTORE, *quorum)
    _cli(home, env, "xks", "keys", "create", KEYSTORE, KEY_ID, "--usage", "both", *quorum)
    proc = subprocess.Popen(
        [
            "taskset",
            "-c",
            str(SERVER_CORE),
            *SUMUN,
            "serve",
            "--port",
            str(_port()),
            "--json",
            *quorum,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=(tmp / f"serve-{backend}.log").open("wb"),
    )
    dep = Deployment(backend, proc, port, cred["access_key_id"], cred["secret_access_key"], home)
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:  # bounded: a server that never starts is an error
        sel.register(proc.stdout, selectors.EVENT_READ)
        line = proc.stdout.readline() if sel.select(60) else b""
    ready = json.loads(line) if line.startswith(b"{") else {}
    if "xks_url" not in ready:
        stop(dep)
        log = (tmp / f"serve-{backend}.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"sumun serve did not start its XKS listener: {line!r}\n{log}")
    return dep


def stop(dep: Deployment) -> None:
    if dep.proc.poll() is None:
        dep.proc.terminate()
        try:
            dep.proc.wait(30)
        except subprocess.TimeoutExpired:
            dep.proc.kill()
            dep.proc.wait(10)


@contextlib.contextmanager
def softhsm(tmp: Path) -> Iterator[tuple[dict[str, Any], dict[str, str]] | None]:
    from sumun.config import DEFAULT_SOFTHSM_MODULE

    util = shutil.which("softhsm2-util")
    if util is None or not Path(DEFAULT_SOFTHSM_MODULE).exists():
        yield None
        return
    (tmp / "tokens").mkdir(parents=True)
    conf = tmp / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp / 'tokens'}\nlog.level = ERROR\n")
    pin = secrets.token_hex(8)
    env = {"SOFTHSM2_CONF": str(conf), "SUMUN_PKCS11_PIN": pin}
    subprocess.run(
        [util, "--init-token", "--free", "--label", "bench", "--so-pin", pin, "--pin", pin],
        check=True,
        capture_output=True,
        env={**os.environ, **env},
    )
    keys = {
        "backend": "pkcs11",
        "pkcs11": {"module": DEFAULT_SOFTHSM_MODULE, "token_label": "bench"},
    }
    yield keys, env


@contextlib.contextmanager
def openbao(tmp: Path) -> Iterator[tuple[dict[str, Any], dict[str, str]] | None]:
    from tests.fixtures.openbao import find_bao, start_dev_server, stop_dev_server

    bao = find_bao()
    if bao is None:
        yield None
        return
    server = start_dev_server(bao, tmp)
    # The backend is outside the one Sumun core: it shares the load generator's core.
    subprocess.run(
        ["taskset", "-a", "-p", "-c", str(CLIENT_CORE), str(server.process.pid)],
        check=False,
        capture_output=True,
    )
    try:
        yield (
            {"backend": "openbao", "openbao": {"address": server.address}},
            {"SUMUN_OPENBAO_TOKEN": server.token},
        )
    finally:
        stop_dev_server(server)


# -- the floor --------------------------------------------------------------------------------


def floor(seconds: float) -> dict[str, Any]:
    """AES-256-GCM encrypt + decrypt of the same sizes, called directly (one core)."""
    aead = AESGCM(AESGCM.generate_key(256))
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(1000):
            iv = os.urandom(12)
            aead.decrypt(iv, aead.encrypt(iv, PLAINTEXT, AAD), AAD)
        n += 1000
    pairs = n / (time.perf_counter() - start)
    out: dict[str, Any] = {
        "cryptography_ops_per_s": 2 * pairs,
        "cryptography_us_per_op": 5e5 / pairs,
    }
    if shutil.which("openssl"):
        done = subprocess.run(
            [
                "taskset",
                "-c",
                str(CLIENT_CORE),
                "openssl",
                "speed",
                "-evp",
                "aes-256-gcm",
                "-bytes",
                str(len(PLAINTEXT)),
                "-seconds",
                "1",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        found = re.search(
            r"Doing AES-256-GCM ops for 1s on \d+ size blocks: (\d+)", done.stderr + done.stdout
        )
        if found is None:
            found = re.search(r"Doing .*?: (\d+) .*?in", done.stderr + done.stdout)
        if found:
            out["openssl_ops_per_s"] = int(found.group(1))
    return out


# -- profile ------------------------------------------------------------------------------------


def start_profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    """py-spy (when installed) sampling the server for `seconds`, on the client core."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return None
    return subprocess.Popen(
        [
            "taskset",
            "-c",
            str(CLIENT_CORE),
            spy,
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--rate",
            "250",
            "--nonblocking",
            "--duration",
            str(int(seconds)),
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frame(frame: str) -> str:
    """'fn (path/to/file.py:12)' → 'module.py:fn' (no line: a function is one row)."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{name}"


_OUTER = ("typer/", "<frozen", "sumun/cli/", "asyncio/runners", "uvloop/__init__")


def summarise_profile(raw: Path, top: int = 25) -> dict[str, Any]:
    """Inclusive and self shares of the samples of busy threads, per function."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";") if " (" in f]
        frames = [f for f in frames if not f.startswith(_OUTER)]
        if not frames:
            continue
        total += count
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count

    def rank(d: dict[str, int]) -> list[tuple[str, float]]:
        return [(k, v / total) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    return {"samples": total, "inclusive": rank(inclusive), "self": rank(own)}


# -- one backend ------------------------------------------------------------------------------


async def run_backend(dep: Deployment, quick: bool, profile: Path | None) -> dict[str, Any]:
    ctx = ssl.create_default_context(cafile=str(dep.home.parent / "ca.crt"))
    target = Target(dep.port, ctx, Signer(dep.akid, dep.secret, f"localhost:{dep.port}"))
    target.signer.check_against_botocore(target.path("encrypt"), encrypt_body())
    # Warm up (connections, caches, the new rows reaching the server) and collect ciphertexts.
    conns = await _connect(dep.port, ctx, 1)
    deadline = time.monotonic() + 10
    while True:
        status, body = await conns[0].call(target.encrypts(1)[0])
        if status == 200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    if status != 200:
        raise RuntimeError(f"{dep.backend}: Encrypt answered {status}: {body!r}")
    sealed = []
    for request in target.encrypts(200):
        status, body = await conns[0].call(request)
        sealed.append(json.loads(body))
    status, body = await conns[0].call(target.decrypts(sealed, 1)[0])
    if status != 200 or json.loads(body)["plaintext"] != _b64(PLAINTEXT):
        raise RuntimeError(f"{dep.backend}: Decrypt answered {status}: {body!r}")
    for request in target.decrypts(sealed, 200):
        await conns[0].call(request)
    _close(conns)

    seconds = 2.0 if quick else 8.0
    n = int(RATE * seconds)
    ledger0 = dep.ledger_size()
    result: dict[str, Any] = {"open_loop": {}}
    scpu0, wall0, core0 = _cpu_pid(dep.proc.pid), time.perf_counter(), _core_busy(SERVER_CORE)
    result["open_loop"]["encrypt"] = await open_loop(target, target.encrypts(n), RATE)
    result["open_loop"]["decrypt"] = await open_loop(target, target.decrypts(sealed, n), RATE)
    core1, wall = _core_busy(SERVER_CORE), time.perf_counter() - wall0
    busy = (_cpu_pid(dep.proc.pid) - scpu0) / wall
    result["open_loop"]["server_core_busy"] = busy
    result["open_loop"]["others_on_server_core"] = max(
        0.0, (core1[0] - core0[0]) / max(1.0, core1[1] - core0[1]) - busy
    )
    closed_s = 2.0 if quick else 6.0
    mixed = [
        r
        for pair in zip(target.encrypts(12_000), target.decrypts(sealed, 12_000), strict=True)
        for r in pair
    ]
    result["closed_loop"] = await closed_loop(target, mixed, CONNECTIONS, closed_s, dep.proc.pid)
    answered = 2 * n + result["closed_loop"]["ops_per_s"] * result["closed_loop"]["seconds"]
    result["ledger"] = {
        "durability": "strict (SQLite WAL, synchronous=FULL; durable before the answer)",
        "entries_written": dep.ledger_size() - ledger0,
        "calls_answered": round(answered),
    }
    if profile is not None:  # a separate pass: the figures above are taken without a sampler
        raw = profile / f"xks-{dep.backend}.txt"
        spy = start_profile(dep.proc.pid, 8.0, raw)
        if spy is not None:
            await closed_loop(target, mixed, CONNECTIONS, 8.5, dep.proc.pid)
            spy.wait(30)
            if raw.exists():
                result["profile"] = summarise_profile(raw)
    return result


def _verdict(value: float, target: float, *, at_most: bool) -> str:
    met = value <= target if at_most else value >= target
    return "met" if met else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases (~1 minute in all)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--backends", default="embedded,pkcs11,openbao")
    parser.add_argument(
        "--profile", type=Path, help="also profile the server (py-spy) into this folder"
    )
    args = parser.parse_args()
    if len(CORES) < 2:
        print("bench_xks skipped: it needs two cores (the server's and the load generator's)")
        return
    wanted = args.backends.split(",")
    results: dict[str, Any] = {
        "setup": {
            "load_average_at_start": os.getloadavg()[0],
            "server_core": SERVER_CORE,
            "client_core": CLIENT_CORE,
            "tls": "TLS 1.3 (TLS_AES_256_GCM_SHA384), ECDSA P-256 certificate, keep-alive",
            "plaintext_bytes": len(PLAINTEXT),
            "aad_bytes": len(AAD),
            "rate": RATE,
            "connections_closed_loop": CONNECTIONS,
        },
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="bench-xks-") as raw:
        tmp = Path(raw)
        make_pki(tmp)
        os.sched_setaffinity(0, {CLIENT_CORE})
        results["floor"] = floor(0.5 if args.quick else 1.0)
        setups = {
            "embedded": contextlib.nullcontext(({"backend": "embedded"}, {})),
            "pkcs11": softhsm(tmp / "hsm"),
            "openbao": openbao(tmp / "bao"),
        }
        import uvloop

        for name in wanted:
            with setups[name] as setup:
                if setup is None:
                    results["backends"][name] = {"skipped": "not installed"}
                    continue
                keys, env = setup
                dep = deploy(tmp, name, keys, env)
                try:
                    results["backends"][name] = uvloop.run(
                        run_backend(dep, args.quick, args.profile)
                    )
                finally:
                    stop(dep)
    results["setup"]["load_average_at_end"] = os.getloadavg()[0]
    emb = results["backends"].get("embedded", {})
    if "open_loop" in emb:
        p99 = max(emb["open_loop"]["encrypt"]["p99_ms"], emb["open_loop"]["decrypt"]["p99_ms"])
        ops = emb["closed_loop"]["ops_per_s"]
        capacity = emb["closed_loop"]["ops_per_server_core_s"]
        results["targets"] = {
            "p99_ms_at_500_rps": {
                "value": p99,
                "target": 5.0,
                "verdict": _verdict(p99, 5.0, at_most=True),
            },
            "ops_per_s": {
                "value": ops,
                "target": 3000,
                "verdict": _verdict(ops, 3000, at_most=False),
            },
            "ops_per_server_core_second": {
                "value": capacity,
                "target": 3000,
                "verdict": _verdict(capacity, 3000, at_most=False),
            },
        }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    report(results)


def _report_ledger_and_profile(results: dict[str, Any]) -> None:
    for name, r in results["backends"].items():
        if "ledger" in r:
            led = r["ledger"]
            print(
                f"ledger ({name}): +{led['entries_written']:,} `xks` entries for "
                f"{led['calls_answered']:,} calls answered; {led['durability']}"
            )
    for name, r in results["backends"].items():
        if "profile" in r:
            prof = r["profile"]
            print(f"\nprofile {name} ({prof['samples']} samples of busy threads), inclusive:")
            for fn, share in prof["inclusive"]:
                print(f"  {share:6.1%}  {fn}")
            print("self:")
            for fn, share in prof["self"][:15]:
                print(f"  {share:6.1%}  {fn}")


def report(results: dict[str, Any]) -> None:
    s = results["setup"]
    print(
        f"XKS proxy: `sumun serve` pinned to core {s['server_core']}, load generator on core "
        f"{s['client_core']}; {s['tls']}; plaintext {s['plaintext_bytes']} B, AAD "
        f"{s['aad_bytes']} B; load average {s['load_average_at_start']:.2f} at start, "
        f"{s['load_average_at_end']:.2f} at end"
    )
    f = results["floor"]
    line = (
        f"floor: cryptography AESGCM encrypt or decrypt {f['cryptography_ops_per_s']:,.0f} ops/s "
        f"({f['cryptography_us_per_op']:.2f} µs/op)"
    )
    if "openssl_ops_per_s" in f:
        line += (
            f"; openssl speed -evp aes-256-gcm ({s['plaintext_bytes']} B) "
            f"{f['openssl_ops_per_s']:,} ops/s"
        )
    print(line)
    print(f"\nopen loop, {s['rate']:.0f} requests/s, ms (from send; p99 from the scheduled time)")
    print(
        f"{'backend':9} {'op':8} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} {'p99 due':>8}  errors"
    )
    for name, r in results["backends"].items():
        if "skipped" in r:
            print(f"{name:9} skipped: {r['skipped']}")
            continue
        for op in ("encrypt", "decrypt"):
            o = r["open_loop"][op]
            print(
                f"{name:9} {op:8} {o['p50_ms']:7.2f} {o['p90_ms']:7.2f} {o['p99_ms']:7.2f} "
                f"{o['max_ms']:7.2f} {o['p99_from_due_ms']:8.2f}  {sum(o['errors'].values())}"
            )
        ol = r["open_loop"]
        print(
            f"{'':9} server core: {ol['server_core_busy']:.0%} Sumun, "
            f"{ol['others_on_server_core']:.0%} other processes; client core "
            f"{ol['encrypt']['client_core_busy']:.0%}"
        )
    print(
        f"\nclosed loop, {s['connections_closed_loop']} keep-alive connections, Encrypt and "
        "Decrypt alternating"
    )
    print(
        f"{'backend':9} {'ops/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'µs CPU/op':>10} "
        f"{'loop':>6} {'other':>6} {'ops/core-s':>10} {'server':>7} {'others':>7} {'client':>7}"
    )
    for name, r in results["backends"].items():
        if "skipped" in r:
            continue
        c = r["closed_loop"]
        print(
            f"{name:9} {c['ops_per_s']:7,.0f} {c['p50_ms']:7.1f} {c['p99_ms']:7.1f} "
            f"{c['server_cpu_us_per_op']:10.0f} {c['loop_thread_us_per_op']:6.0f} "
            f"{c['other_threads_us_per_op']:6.0f} {c['ops_per_server_core_s']:10,.0f} "
            f"{c['server_core_busy']:7.0%} {c['others_on_server_core']:7.0%} "
            f"{c['client_core_busy']:7.0%}"
        )
    _report_ledger_and_profile(results)
    print()
    others = {
        name: max(
            r["open_loop"]["others_on_server_core"], r["closed_loop"]["others_on_server_core"]
        )
        for name, r in results["backends"].items()
        if "open_loop" in r
    }
    shared = [f"{name} {share:.0%}" for name, share in others.items()]
    busiest = max(others.values(), default=0.0)
    if busiest > 0.10:
        print(
            "warning: other processes took up to this share of the server's core ("
            + ", ".join(shared)
            + "): latencies and ops/s are pessimistic; ops/core-s is the steadier figure"
        )
    for name, t in results.get("targets", {}).items():
        print(f"target {name}: {t['value']:,.2f} vs {t['target']:,} — {t['verdict']}")


if __name__ == "__main__":
    main()
