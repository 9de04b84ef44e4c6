"""The laptop-thèque at the desk: check-out and check-in round trips through the JSON API
of a real `epn serve` (gunicorn, 2 workers) on a fresh SQLite data directory, and the
contested case (two desks lending the same device at once).

    .venv/bin/python bench/lending_desk.py [--devices 100] [--threads 4]

Prints requests/s and p50/p95/max latency of check-out and check-in, how many of the
contested pairs had exactly one winner, and the machine time of the desk's check-out and
check-in pages in headless Chromium (the "under a minute" is the mediator's part). It
asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def prepare(data_dir: Path, devices: int) -> tuple[str, list[str]]:
    from appliance.accounts import create_token, create_user
    from appliance.config import load_config, write_config_file
    from appliance.db import database, init_database
    from appliance.lending.inventory import import_inventory, parse_inventory
    from appliance.members import create_member

    data_dir.mkdir(parents=True)
    write_config_file(data_dir, {"site": {"name": "Bench"}})
    init_database(load_config(data_dir).database_path)
    with database.connection_context():
        create_user("bench", "bench-password-1", "mediator", "Bench")
    rows = "tag,kind,accessories\n" + "".join(f"B-{n:04d},laptop,charger\n" for n in range(devices))
    with database.connection_context():
        import_inventory(parse_inventory(rows.encode()))
        today = date.today()
        numbers = [
            create_member(f"P{n}", "", "fr", "visitor", True, None, today).number
            for n in range(2 * devices)
        ]
        return create_token("bench"), numbers


def timed(call) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    status = call()
    return time.perf_counter() - start, status


def report(name: str, results: list[tuple[float, int]], wall: float) -> None:
    times = sorted(t for t, _ in results)
    p95 = times[int(len(times) * 0.95) - 1] if len(times) > 1 else times[0]
    print(
        f"{name}: {len(times)} requests in {wall:.2f} s = {len(times) / wall:.0f}/s; "
        f"p50 {statistics.median(times) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms; "
        f"statuses {sorted({s for _, s in results})}"
    )


def desk_flow(url: str, tags: list[str], numbers: list[str]) -> None:
    """The desk in headless Chromium, as a mediator does it (the typing is instant here):
    scan the tag + Enter, scan the member card, tick the terms, lend; then the check-in
    with its checklist. Prints the seconds per loan and per return, machine time only."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("desk in Chromium: skipped (playwright is not installed)")
        return
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/lib/chromium/chromium", args=["--disable-gpu"]
        )
        page = browser.new_page()
        page.goto(url + "/staff/login")
        page.fill("#username", "bench")
        page.fill("#password", "bench-password-1")
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        lend_times, return_times = [], []
        for tag, number in zip(tags, numbers):
            start = time.perf_counter()
            page.goto(url + "/staff/lending/")
            with page.expect_navigation():
                page.keyboard.type(tag)
                page.keyboard.press("Enter")
            page.fill("#borrower", number)
            page.check("#accept_terms")
            with page.expect_navigation():
                page.click("button[name=action][value=checkout]")
            lend_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            for box in page.locator("input[name=accessories]").all():
                box.check()
            page.check("#wiped")
            page.check("#signed_out")
            with page.expect_navigation():
                page.click("button[name=action][value=checkin]")
            return_times.append(time.perf_counter() - start)
        browser.close()
    print(
        f"desk in Chromium: check-out {statistics.mean(lend_times):.2f} s, "
        f"check-in {statistics.mean(return_times):.2f} s (mean of {len(tags)}, machine time only)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    from tests.conftest import LiveServer

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        token, numbers = prepare(data_dir, args.devices)
        server = LiveServer(data_dir, Path(tmp) / "serve.log")
        headers = {"Authorization": f"Bearer {token}"}
        tags = [f"B-{n:04d}" for n in range(args.devices)]
        try:

            def lend(i: int) -> int:
                return requests.post(
                    f"{server.url}/api/v1/loans",
                    headers=headers,
                    timeout=30,
                    json={"tag": tags[i], "member_number": numbers[i], "accept_terms": True},
                ).status_code

            with ThreadPoolExecutor(args.threads) as pool:
                start = time.perf_counter()
                out = list(pool.map(lambda i: timed(lambda: lend(i)), range(args.devices)))
                report("check-out", out, time.perf_counter() - start)
            loans = requests.get(f"{server.url}/api/v1/loans", headers=headers, timeout=30).json()[
                "loans"
            ]

            def give_back(loan: dict) -> int:
                return requests.post(
                    f"{server.url}/api/v1/loans/{loan['id']}/return",
                    headers=headers,
                    timeout=30,
                    json={
                        "accessories_back": ["charger"],
                        "condition": "good",
                        "wiped": True,
                        "signed_out": True,
                    },
                ).status_code

            with ThreadPoolExecutor(args.threads) as pool:
                start = time.perf_counter()
                out = list(pool.map(lambda loan: timed(lambda: give_back(loan)), loans))
                report("check-in", out, time.perf_counter() - start)

            def contested(i: int) -> list[int]:
                with ThreadPoolExecutor(2) as pair:
                    body = [
                        {
                            "tag": tags[i],
                            "member_number": numbers[args.devices + i + k],
                            "accept_terms": True,
                        }
                        for k in (0, 1)
                        if args.devices + i + k < len(numbers)
                    ]
                    return sorted(
                        pair.map(
                            lambda b: (
                                requests.post(
                                    f"{server.url}/api/v1/loans",
                                    headers=headers,
                                    json=b,
                                    timeout=30,
                                ).status_code
                            ),
                            body,
                        )
                    )

            pairs = [contested(i) for i in range(0, args.devices - 1, 2)]
            free = tags[1::2][:5]  # not lent in the contested round
            desk_flow(server.url, free, numbers[: len(free)])
            print(
                f"contested: {sum(p == [201, 409] for p in pairs)} of {len(pairs)} pairs had exactly one winner"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
