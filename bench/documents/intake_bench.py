"""Document intake under load: 2 MB PDFs filed by concurrent clients through a real server.

Starts the app under gunicorn (or werkzeug's threaded server) on a fresh SQLite file (or a
PostgreSQL database given with --database-url), creates an agent and an insured person, then
N client threads each file documents in a loop: POST /api/v1/documents (a 2 MB scanned-style
PDF, different bytes every time so content addressing never short-cuts the write), then GET
its receiptUrl (the printable PDF). The figure is the time of both together ("intake, receipt
included"), measured per request; p50/p95/p99 over all requests after one warm-up each.

    .venv/bin/python bench/documents/intake_bench.py [--clients 20] [--requests 25]
        [--server gunicorn|threaded] [--workers 2] [--threads 4]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_documents]
        [--broker-url redis://127.0.0.1:6379/15] [--pace 0]

A --database-url is created when missing and its public schema emptied: never point it at data
you keep. --pace S makes each client wait S seconds between documents (a counter agent's rhythm) instead
of firing back to back (a closed loop, i.e. the server saturated). Results are printed and
written to bench/results/intake-<time>.json.
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SSN13 = "2850775123456"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_pdf(target_bytes: int, seed: int) -> bytes:
    """A three-page scanned-style PDF (JPEG pages of noise) of about target_bytes."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    # JPEG keeps noise at ~0.6 byte per pixel at PIL's default quality: size the pages from that.
    width = 1240
    height = max(200, int(target_bytes / 3 / 0.61 / width))
    for _ in range(6):
        pages = [Image.fromarray((rng.random((height, width)) * 255).astype("uint8"), "L") for _ in range(3)]
        buf = io.BytesIO()
        pages[0].save(buf, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
        data = buf.getvalue()
        if abs(len(data) - target_bytes) / target_bytes < 0.03:
            return data
        height = int(height * target_bytes / len(data))
    return data


def multipart(pdf: bytes, tag: str, ssn: str) -> tuple[bytes, str]:
    boundary = f"bench{random.getrandbits(64):x}"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"documentType\"\r\n\r\npayslip\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\n{ssn}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan-{tag}.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    # A comment after the end marker makes the bytes (and the SHA-256) unique; readers ignore it.
    unique = pdf + f"\n%{tag}\n%%EOF\n".encode()
    return head + unique + f"\r\n--{boundary}--\r\n".encode(), boundary


def prepare(env: dict[str, str]) -> str:
    """Migrate, create the agent and one insured person; returns the SSN."""
    from datetime import date

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models.registry import Person
    from app.services.registry import search_text
    from app.services.users import create_user
    from workflows.helpers import ssn_key

    settings = {k[len("GUICHET_"):]: v for k, v in env.items() if k.startswith("GUICHET_")}
    flask_app = create_app(**settings)
    ssn = SSN13 + ssn_key(SSN13)
    with flask_app.app_context():
        upgrade(directory=str(Path(flask_app.root_path) / "migrations"), revision="heads")
        create_user("bench", "bench-password", "agent", ["counter"])
        if db.session.query(Person).filter_by(ssn=ssn).first() is None:
            db.session.add(Person(ssn=ssn, last_name="Dupré", first_names="Hélène", search_name=search_text("Dupré"),
                                  birth_date=date(1985, 7, 14), sex="F"))
        db.session.commit()
    return ssn


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of the URL when it does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).scalar() is None:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def start_server(kind: str, port: int, env: dict[str, str], workers: int, threads: int) -> subprocess.Popen:
    if kind == "gunicorn":
        cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--threads", str(threads), "--worker-class", "gthread", "--log-level", "warning",
               "app.wsgi:application"]
    else:
        code = ("from werkzeug.serving import make_server; from app import create_app; "
                f"make_server('127.0.0.1', {port}, create_app(), threaded=True).serve_forever()")
        cmd = [sys.executable, "-c", code]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) of every live process of a process group (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def token(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/api/v1/auth/token", json.dumps({"username": "bench", "password": "bench-password"}),
                 {"Content-Type": "application/json"})
    return json.loads(conn.getresponse().read())["access_token"]


def client(n: int, port: int, bearer: str, pdf: bytes, ssn: str, count: int, pace: float,
           results: list[dict[str, float]], errors: list[str], start: threading.Barrier) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    auth = {"Authorization": f"Bearer {bearer}"}
    start.wait()
    for k in range(count + 1):  # the first one warms up the connection and the server
        body, boundary = multipart(pdf, f"c{n}-r{k}", ssn)
        if pace and k:
            # After a pause longer than the server's keep-alive, a browser opens a new connection too.
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/documents", body,
                         {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"})
            response = conn.getresponse()
            payload = response.read()
            t1 = time.perf_counter()
            if response.status != 201:
                errors.append(f"POST {response.status}: {payload[:200]!r}")
                continue
            receipt_path = urlsplit(json.loads(payload)["receiptUrl"]).path
            conn.request("GET", receipt_path, headers=auth)
            receipt = conn.getresponse()
            pdf_bytes = receipt.read()
            t2 = time.perf_counter()
            if receipt.status != 200 or not pdf_bytes.startswith(b"%PDF"):
                errors.append(f"GET receipt {receipt.status}")
                continue
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            continue
        if k > 0:
            results.append({"post": (t1 - t0) * 1000, "receipt": (t2 - t1) * 1000, "total": (t2 - t0) * 1000})
        if pace:
            time.sleep(pace * random.uniform(0.5, 1.5))
    conn.close()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25, help="documents per client (after one warm-up)")
    parser.add_argument("--size-mb", type=float, default=2.0)
    parser.add_argument("--server", choices=("gunicorn", "threaded"), default="gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn process (4: as guichet web runs)")
    parser.add_argument("--database-url", default="", help="PostgreSQL URL (its public schema is emptied!)")
    parser.add_argument("--broker-url", default="memory://", help="where the OCR tasks are sent (nobody reads them)")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between a client's documents")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="guichet-intake-"))
    env = {**os.environ, "GUICHET_DATA_DIR": str(workdir), "GUICHET_SECRET_KEY": "bench-secret",
           "GUICHET_BROKER_URL": args.broker_url, "GUICHET_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}
    if args.database_url:
        ensure_database(args.database_url)
        reset_postgres(args.database_url)
        env["GUICHET_DATABASE_URL"] = args.database_url
    else:
        env.pop("GUICHET_DATABASE_URL", None)
    os.environ.update({k: v for k, v in env.items() if k.startswith("GUICHET_")})
    ssn = prepare(env)
    pdf = make_pdf(int(args.size_mb * 1024 * 1024), seed=7)
    port = free_port()
    server = start_server(args.server, port, env, args.workers, args.threads)
    try:
        bearer = token(port)
        results: list[dict[str, float]] = []
        errors: list[str] = []
        barrier = threading.Barrier(args.clients + 1)
        threads = [threading.Thread(target=client, args=(n, port, bearer, pdf, ssn, args.requests, args.pace,
                                                         results, errors, barrier)) for n in range(args.clients)]
        for t in threads:
            t.start()
        load_before = os.getloadavg()[0]
        barrier.wait()
        began = time.perf_counter()
        cpu_before = group_cpu_seconds(server.pid), time.process_time()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
        cpu_after = group_cpu_seconds(server.pid), time.process_time()
        load_after = os.getloadavg()[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    totals = [r["total"] for r in results]
    report = {
        "what": "POST /api/v1/documents (2 MB PDF) + GET receipt, per request",
        "server": args.server if args.server == "threaded" else f"gunicorn {args.workers}x{args.threads} gthread",
        "database": "postgresql" if args.database_url else "sqlite",
        "broker": args.broker_url.split("://")[0],
        "clients": args.clients, "requestsPerClient": args.requests, "pace": args.pace,
        "pdfBytes": len(pdf), "requests": len(results), "errors": len(errors), "firstErrors": errors[:5],
        "seconds": round(elapsed, 2),
        "documentsPerSecond": round(len(results) / elapsed, 1) if elapsed else None,
        # Server CPU per document (warm-ups included in the count): what caps throughput on this machine.
        "serverCpuMsPerDocument": round((cpu_after[0] - cpu_before[0]) * 1000 / max(1, len(results) + args.clients), 1),
        "clientCpuMsPerDocument": round((cpu_after[1] - cpu_before[1]) * 1000 / max(1, len(results) + args.clients), 1),
        "loadAverage": [round(load_before, 2), round(load_after, 2)],
        "totalMs": {"p50": round(pct(totals, 50), 1), "p95": round(pct(totals, 95), 1),
                    "p99": round(pct(totals, 99), 1), "max": round(max(totals), 1),
                    "mean": round(statistics.mean(totals), 1)} if totals else None,
        "postMs": {"p50": round(pct([r["post"] for r in results], 50), 1),
                   "p95": round(pct([r["post"] for r in results], 95), 1)} if results else None,
        "receiptMs": {"p50": round(pct([r["receipt"] for r in results], 50), 1),
                      "p95": round(pct([r["receipt"] for r in results], 95), 1)} if results else None,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "system": platform.platform()},
    }
    print(json.dumps(report, indent=2))
    out = ROOT / "bench" / "results" / f"intake-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
