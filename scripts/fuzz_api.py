"""Fuzz every entry point of a real roto-server for a while; print the cases run and the 5xx seen.

    PYTHONPATH=. python scripts/fuzz_api.py --cases 2000 [--seed 1]

Uses the generators of tests/fuzz_cases.py (C2 GET/POST/WebSocket, v1 REST/WebSocket, tag POST,
camera width) and checks the catalogue invariant at the end. Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for its test harness

from tests.fuzz_cases import Driver, cases
from tests.server_process import ServerProcess


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="how many inputs to send")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (random if left out)")
    args = parser.parse_args()
    run_seed = args.seed if args.seed is not None else random.randrange(2**32)
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data", args=["--rate-limit-http", "0", "--rate-limit-ws", "0"])
        driver = Driver(server)
        started = time.monotonic()

        @seed(run_seed)
        @settings(
            max_examples=args.cases,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(cases())
        def drive(case: tuple[str, object]) -> None:
            driver.run(case)

        try:
            drive()
            broken = driver.broken_invariants()
        finally:
            driver.close()
            server.stop()
        tracebacks = server.log().count("Traceback")
    elapsed = time.monotonic() - started
    errors = [f for f in driver.failures if "-> 5" in f]
    print(f"seed {run_seed}: {driver.ran} cases in {elapsed:.0f} s, {len(errors)} x 5xx, ", end="")
    print(f"{len(driver.failures) - len(errors)} lost connections, {tracebacks} tracebacks in the server log")
    for line in driver.failures[:40]:
        print("  " + line)
    for line in broken:
        print("  invariant broken: " + line)
    return 1 if driver.failures or broken or tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
