"""Benchmark the auth function: login throughput vs raw bcrypt, and the cost of authentication.

Run: ``.venv/bin/python bench/bench_auth.py`` (about a minute). It starts its own Firestore
emulator and the auth function under functions-framework (scripts/stack.py, gunicorn with
threads, as Cloud Functions runs it), then measures

(a) POST /login throughput at bcrypt cost 12 with N concurrent clients, against raw
    ``bcrypt.checkpw`` at cost 12 with the same number of threads in the same run — the
    ratio says how much of a login is bcrypt and how much is everything else;
(b) GET /me (token verified + user document read) against GET /health (no auth, no I/O)
    on the same server, sequentially — the difference is what authentication costs.

Rate limiting is switched off (PMI_RATE_LIMIT_BACKEND=off) so the figures isolate
authentication. It prints a markdown table and rewrites the "## Auth" section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path
from typing import Any

import bcrypt
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

from benchlib import (  # noqa: E402
    BENCHMARKS_DOC,
    LoadResult,
    machine_line,
    run_for,
    run_load,
    update_section,
)
from emulator import FirestoreEmulator  # noqa: E402
from stack import Stack, free_port  # noqa: E402

from shared.auth.passwords import _prehash  # noqa: E402

BENCH_COST = 12  # the production default (shared/config.py)
PASSWORD = "violet-harbour-lantern-42"
COMMAND = ".venv/bin/python bench/bench_auth.py"


ROUNDS = 3


def merge(parts: list[LoadResult]) -> dict[str, float]:
    """Combine rounds: total requests over total time; latency percentiles averaged."""
    count = sum(p.count for p in parts)
    wall = sum(p.seconds for p in parts if p.count)
    return {
        "rps": count / wall if wall else 0.0,
        "p50": statistics.fmean(p.p(0.5) for p in parts),
        "p95": statistics.fmean(p.p(0.95) for p in parts),
        "n": count,
    }


def bench_login(base: str, emails: list[str], clients: int, seconds: float) -> LoadResult:
    # Each client signs in as its own user over its own connection, as real traffic does.
    sessions = [requests.Session() for _ in range(clients)]

    def work(client: int, index: int) -> int:
        response = sessions[client].post(
            f"{base}/login",
            json={"email": emails[client % len(emails)], "password": PASSWORD},
            timeout=30,
        )
        if response.status_code != 200:
            raise RuntimeError(f"login failed: {response.status_code} {response.text[:200]}")
        return response.status_code

    return run_for("POST /login", clients, seconds, work)


def bench_bcrypt(clients: int, seconds: float) -> LoadResult:
    hashed = bcrypt.hashpw(_prehash(PASSWORD), bcrypt.gensalt(rounds=BENCH_COST))

    def work(client: int, index: int) -> int:
        bcrypt.checkpw(_prehash(PASSWORD), hashed)  # bcrypt releases the GIL
        return 200  # an HTTP-like status, so the result reads like the login's

    return run_for("raw bcrypt.checkpw", clients, seconds, work)


def bench_get(url: str, headers: dict[str, str], requests_count: int) -> LoadResult:
    """``requests_count`` sequential GETs (one client) after a warm-up."""
    session = requests.Session()

    def get(client: int, index: int) -> int:
        response = session.get(url, headers=headers, timeout=10)
        response.raise_for_status()
        return response.status_code

    for index in range(20):  # warm-up: connections, caches, first-request imports
        get(0, index)
    return run_load(f"GET {url}", 1, requests_count, get)


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    login, raw = results["login"], results["bcrypt"]
    me, health = results["me"], results["health"]
    me_p50, health_p50 = me.median_ms, health.median_ms
    return "\n".join(
        [
            f"Measured {results['machine']} with `{COMMAND}` "
            f"(bcrypt cost {BENCH_COST}, {args.clients} concurrent clients, "
            f"functions-framework with THREADS={args.threads}, Firestore emulator, "
            "rate limiting off; login and raw bcrypt measured in 3 interleaved rounds). "
            "Same machine for client, server and emulator, which was shared with other "
            f"work (load average {results['load']:.1f} at the end): compare ratios, not "
            "absolute times. Each client signs in as its own user.",
            "",
            "| Measure | req/s | p50 ms | p95 ms | n |",
            "|---|---|---|---|---|",
            f"| POST /login (cost {BENCH_COST}) | {login['rps']:.1f} | {login['p50']:.0f} "
            f"| {login['p95']:.0f} | {login['n']:.0f} |",
            f"| raw bcrypt.checkpw (cost {BENCH_COST}) | {raw['rps']:.1f} | {raw['p50']:.0f} "
            f"| {raw['p95']:.0f} | {raw['n']:.0f} |",
            f"| GET /health (no auth) | – | {health_p50:.1f} | {health.p(0.95):.1f} "
            f"| {health.count} |",
            f"| GET /me (token + user read) | – | {me_p50:.1f} | {me.p(0.95):.1f} | {me.count} |",
            "",
            f"- Login throughput is **{login['rps'] / raw['rps']:.0%}** of raw bcrypt's at "
            "the same cost and concurrency: bcrypt dominates a login; the rest is Firestore "
            "(the attempt counters' transaction before the password check, user lookup, "
            "session transaction, the batch that takes a successful attempt back, audit "
            "write) and token signing, much of it overlapping other logins' bcrypt work.",
            f"- Authentication costs **{me_p50 - health_p50:.1f} ms** at the median "
            f"(GET /me / GET /health = {me_p50 / health_p50:.1f}×): one HS256 "
            "verification and one user-document read per request.",
            "",
        ]
    )


def register_and_confirm(base: str, emails: list[str], emulator: FirestoreEmulator) -> None:
    """Register each account and confirm it with the code the outbox holds for it."""
    from google.cloud import firestore
    from google.cloud.firestore_v1.base_query import FieldFilter

    os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.address
    outbox = firestore.Client(project=emulator.project_id).collection("outbox")
    for email in emails:
        body = {"email": email, "password": PASSWORD, "full_name": "Bench"}
        requests.post(f"{base}/register", json=body, timeout=30).raise_for_status()
        message = next(outbox.where(filter=FieldFilter("to", "==", email)).stream()).to_dict()
        code = (message or {})["confirmation_code"]
        requests.post(f"{base}/verify-email", json={"code": code}, timeout=30).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=18.0)
    parser.add_argument("--gets", type=int, default=400)
    parser.add_argument("--no-write", action="store_true", help="do not update docs")
    args = parser.parse_args()

    log_dir = ROOT / ".dev" / "bench-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    emulator = FirestoreEmulator(free_port(), project_id="demo-pmi", log_path=log_dir / "fs.log")
    emulator.start()
    os.environ["THREADS"] = str(args.threads)
    stack = Stack(
        emulator_port=emulator.port,
        gateway_port=free_port(),
        reuse_emulator=emulator,
        functions=("auth",),
        log_dir=log_dir,
        env={
            "PMI_ENVIRONMENT": "local",
            "PMI_JWT_SECRET": "bench-signing-key-0123456789abcdef-local-only",
            "PMI_BCRYPT_COST": str(BENCH_COST),
            "PMI_RATE_LIMIT_BACKEND": "off",
            "PMI_LOG_LEVEL": "ERROR",
            "THREADS": str(args.threads),
        },
    )
    try:
        stack.start(progress=lambda message: print(message, flush=True))
        base = stack.function_url("auth")
        emails = [f"bench-{i}@example.test" for i in range(args.clients)]
        register_and_confirm(base, emails, emulator)
        bench_login(base, emails, args.clients, 2.0)  # warm-up
        # Interleaved rounds: on a shared machine the load drifts; alternating puts login
        # and raw bcrypt under the same conditions, so their ratio is meaningful.
        rounds: dict[str, list[LoadResult]] = {"login": [], "bcrypt": []}
        slice_seconds = args.seconds / ROUNDS
        for number in range(1, ROUNDS + 1):
            print(
                f"round {number}/{ROUNDS}: login then raw bcrypt, {args.clients} clients, "
                f"{slice_seconds:.0f} s each ...",
                flush=True,
            )
            rounds["login"].append(bench_login(base, emails, args.clients, slice_seconds))
            rounds["bcrypt"].append(bench_bcrypt(args.clients, slice_seconds))
        results: dict[str, Any] = {name: merge(parts) for name, parts in rounds.items()}
        results["load"] = os.getloadavg()[0]
        print(f"GET /health and GET /me: {args.gets} sequential requests each ...", flush=True)
        results["health"] = bench_get(f"{base}/health", {}, args.gets)
        token = requests.post(
            f"{base}/login", json={"email": emails[0], "password": PASSWORD}, timeout=30
        ).json()["access_token"]
        results["me"] = bench_get(f"{base}/me", {"Authorization": f"Bearer {token}"}, args.gets)
    finally:
        stack.stop()
        emulator.stop()
    results["machine"] = machine_line()
    body = render(results, args)
    print()
    print(f"## Auth\n\n{body}")
    if not args.no_write:
        update_section("Auth", body)
        print(f"updated {BENCHMARKS_DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
