"""Ingest under load, through the system as `make run` serves it: signed X deliveries from concurrent
senders, some of them resent, then what was stored and who was texted, read back through the CLI."""

import random
import re
import statistics
import sys
import threading
import time
from collections import Counter
from typing import Any

import requests

from bench.lambda_like import REPO_ROOT
from tests.running_stack import RunningStack, running_stack


def ingest_load(deliveries: int = 2000, senders: int = 8, resend_share: float = 0.1) -> dict[str, Any]:
    # Imported here: the test helpers load the socialcare package, whose Metrics must be created after the
    # other measures set the template's environment.
    from socialcare.platforms.x.payloads import tweet
    from tests.conftest import tweet_delivery, x_signature

    unique = int(deliveries * (1 - resend_share))
    bodies = [
        tweet_delivery(tweet(tweet_id=str(7 * 10**17 + i), text=f"@brand load test #{i}#"))
        for i in range(unique)
    ]
    chooser = random.Random(42)  # the same resends on every run
    plan = list(range(unique)) + [chooser.randrange(unique) for _ in range(deliveries - unique)]
    chooser.shuffle(plan)
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    log = REPO_ROOT / ".aws-sam" / "bench-stack.log"
    with running_stack(log_path=str(log)) as stack:
        add_agent(stack)
        url = f"{stack.api_url}/webhooks/x"
        cursor = iter(plan)

        def send() -> None:
            session = requests.Session()
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                body = bodies[index]
                headers = {
                    "content-type": "application/json",
                    "x-twitter-webhooks-signature": x_signature(body),
                }
                started = time.perf_counter()
                status = session.post(url, data=body, headers=headers, timeout=30).status_code
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if status != 200:
                        failures.append(status)

        started = time.perf_counter()
        threads = [threading.Thread(target=send) for _ in range(senders)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        print(f"sent in {wall:.1f} s; reading back", file=sys.stderr, flush=True)
        stored_ids = stored(stack, unique)
        texts = wait_for_texts(stack, len(stored_ids))
    sent_ids = {f"x-{7 * 10**17 + i}" for i in range(unique)}
    texted = Counter(int(found) for text in texts for found in re.findall(r"#(\d+)#", text))
    per_mention = {index: texted.get(index, 0) for index in range(unique)}
    return {
        "ingest": {
            "deliveries": deliveries,
            "senders": senders,
            "per_s": round(deliveries / wall, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(statistics.quantiles(latencies, n=100)[98] * 1000, 1),
            "rejected": len(failures),
            "stored": len(stored_ids & sent_ids),
            "notified": sum(1 for count in per_mention.values() if count >= 1),
            "lost": len(sent_ids - stored_ids),
            "double": sum(1 for count in per_mention.values() if count > 1),
        }
    }


def add_agent(stack: RunningStack) -> None:
    # A lead takes what nobody else can (here: beyond the open-assignment limit), so every mention is texted.
    added = stack.cli(
        "agents", "add", "--name", "Load", "--email", "load@example.com", "--phone", "+14155550177", "--lead"
    )
    assert added.returncode == 0, added.stderr
    shift = stack.cli("shifts", "set", "load@example.com", "Mon-Sun 00:00-24:00", "--tz", "UTC")
    assert shift.returncode == 0, shift.stderr


def stored(stack: RunningStack, expected: int) -> set[str]:
    """The stored X mentions' ids, from `mentions list`'s text (its --json also reads each mention's replies,
    one query each, which the dispatcher still at work makes slow)."""
    listed = stack.cli("mentions", "list", "--platform", "x", "--limit", str(expected * 2))
    assert listed.returncode == 0, listed.stderr
    return set(re.findall(r"\s(x-\d+)\s", listed.stdout))


def wait_for_texts(stack: RunningStack, expected: int, timeout_s: float = 600) -> list[str]:
    """The bodies of every SMS, once `expected` mentions have one, nothing new arrived for 30 s, or
    `timeout_s` passed. The local dispatcher texts eight to ten mentions a second once the burst is in, fewer
    on a busy machine: `double` counts only the mentions texted by then (`notified`), so the wait covers the
    whole burst."""
    deadline = time.monotonic() + timeout_s
    last_count, last_change = -1, time.monotonic()
    while True:
        texts = [
            m["body"] + " " + m.get("mention_id", "")
            for m in stack.cli_json("local", "outbox", "--json")
            if m["channel"] == "sms"
        ]
        if len(texts) != last_count:
            last_count, last_change = len(texts), time.monotonic()
        if len(texts) >= expected or time.monotonic() - last_change > 30 or time.monotonic() > deadline:
            return texts
        time.sleep(5)  # each look copies the whole outbox: do not compete with the dispatcher for the CPU
