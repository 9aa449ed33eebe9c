"""What the company measures: customer satisfaction and response time, never handle time.

Per answered mention: its first response time (the customer's post to our first reply), whether that met its
priority's response target, and the customer's rating when there is one. Nothing here, or anywhere, times
how long a person spent on a reply (no page-open-to-send, no typing time): only the customer's wait counts.

The table stream turns each of these facts into counters of a daily roll-up (socialcare.data.rollups), so a
report over a year reads one item per day. First response times go into a histogram whose buckets grow by
8%: a percentile read from it is within 4% of the exact one."""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

PRIORITIES = ("urgent", "normal", "low")
DEFAULT_PRIORITY = "normal"

# Histogram: one bucket per second below EXACT_BELOW, then buckets whose bounds grow by GROWTH. A value's
# estimate is its bucket's geometric middle, at most sqrt(GROWTH) - 1 (3.9%) away from any value in it.
EXACT_BELOW = 16
GROWTH = 1.08
_LOG_GROWTH = math.log(GROWTH)

# The distribution a lead reads (Chatwoot-like, on a social media scale): upper bounds in seconds.
DISTRIBUTION = (
    ("under 15 min", 15 * 60),
    ("15 to 60 min", 60 * 60),
    ("1 to 4 h", 4 * 3600),
    ("4 to 24 h", 24 * 3600),
    ("over 24 h", None),
)


def bucket_of(seconds: int) -> int:
    """The histogram bucket of a first response time in whole seconds."""
    seconds = max(0, int(seconds))
    if seconds < EXACT_BELOW:
        return seconds
    return EXACT_BELOW + int(math.log(seconds / EXACT_BELOW) / _LOG_GROWTH)


def bucket_estimate(bucket: int) -> float:
    """The value a bucket stands for: exact below EXACT_BELOW, else its bounds' geometric middle."""
    if bucket < EXACT_BELOW:
        return float(bucket)
    return EXACT_BELOW * GROWTH ** (bucket - EXACT_BELOW + 0.5)


def distribution_index(seconds: int) -> int:
    """Which of DISTRIBUTION's ranges a first response time falls in."""
    for index, (_label, upper) in enumerate(DISTRIBUTION):
        if upper is not None and seconds < upper:
            return index
    return len(DISTRIBUTION) - 1


def quantile(histogram: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank q-quantile (the value at rank ceil(q * n)) from a bucket histogram."""
    total = sum(count for count in histogram.values() if count > 0)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += max(0, histogram[bucket])
        if seen >= rank:
            return bucket_estimate(bucket)
    return bucket_estimate(max(histogram))


def exact_quantile(values: Iterable[int], q: float) -> float | None:
    """The same nearest-rank quantile over the values themselves (what the histogram approximates)."""
    ordered = sorted(values)
    if not ordered:
        return None
    return float(ordered[max(1, math.ceil(q * len(ordered))) - 1])


@dataclass
class Counters:
    """The figures of one group (all, a platform, an agent, a priority, a day or an hour) in a roll-up."""

    mentions: int = 0
    answered: int = 0
    met: int = 0
    missed: int = 0
    sent: int = 0  # surveys sent
    responses: int = 0  # surveys answered
    ratings: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))
    histogram: dict[int, int] = field(default_factory=dict)
    distribution: list[int] = field(default_factory=lambda: [0] * len(DISTRIBUTION))

    def add(self, other: "Counters") -> None:
        self.mentions += other.mentions
        self.answered += other.answered
        self.met += other.met
        self.missed += other.missed
        self.sent += other.sent
        self.responses += other.responses
        for rating, count in other.ratings.items():
            self.ratings[rating] = self.ratings.get(rating, 0) + count
        for bucket, count in other.histogram.items():
            self.histogram[bucket] = self.histogram.get(bucket, 0) + count
        self.distribution = [a + b for a, b in zip(self.distribution, other.distribution, strict=True)]


# ---------------------------------------------------------------- facts: what one stream record adds


@dataclass(frozen=True)
class Fact:
    """One counted event, named so that a repeated stream record names the same fact (counted once).
    `day` and `hour` are when the customer's mention was received (UTC): every figure of a mention lands on
    the day it came in, so `answered` never exceeds `mentions` for a period."""

    key: str
    day: str
    hour: int
    groups: tuple[str, ...]
    counts: dict[str, int]


def _received(image: Mapping[str, Any]) -> datetime:
    value = str(image.get("received_at") or image.get("created_at"))
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _where(received: datetime) -> tuple[str, int]:
    moment = received.astimezone(UTC)
    return moment.strftime("%Y-%m-%d"), moment.hour


def _is_customer_mention(image: Mapping[str, Any]) -> bool:
    return image.get("entity") == "mention" and not image.get("is_ours") and image.get("status") != "ours"


def received_fact(image: Mapping[str, Any], priority: str) -> Fact | None:
    """A customer's mention was stored (an INSERT)."""
    if not _is_customer_mention(image):
        return None
    day, hour = _where(_received(image))
    mention = f"{image['platform']}-{image['external_id']}"
    groups = ("all", f"platform={image['platform']}", f"priority={priority}", f"hour={hour:02d}")
    return Fact(f"received#{mention}", day, hour, groups, {"mentions": 1})


def answered_fact(
    old: Mapping[str, Any], new: Mapping[str, Any], targets: Mapping[str, timedelta]
) -> Fact | None:
    """A customer's mention got its first answer (answered_at appeared): first response time, SLA, agent."""
    if not _is_customer_mention(new) or old.get("answered_at") or not new.get("answered_at"):
        return None
    seconds = new.get("first_response_seconds")
    if seconds is None:
        return None
    seconds = max(0, int(seconds))
    priority = str(new.get("priority") or DEFAULT_PRIORITY)
    target = targets.get(priority) or targets.get(DEFAULT_PRIORITY) or timedelta(hours=1)
    met = seconds <= target.total_seconds()
    day, hour = _where(_received(new))
    mention = f"{new['platform']}-{new['external_id']}"
    groups = (
        "all",
        f"platform={new['platform']}",
        f"priority={priority}",
        f"hour={hour:02d}",
        f"agent={str(new.get('answered_by') or 'unknown').lower()}",
    )
    counts = {
        "answered": 1,
        "met" if met else "missed": 1,
        f"f{bucket_of(seconds)}": 1,
        f"d{distribution_index(seconds)}": 1,
    }
    return Fact(f"answered#{mention}", day, hour, groups, counts)


def _survey_groups(image: Mapping[str, Any]) -> tuple[str, int, tuple[str, ...]]:
    day, hour = _where(_received(image))
    groups = (
        "all",
        f"platform={image['platform']}",
        f"priority={image.get('priority') or DEFAULT_PRIORITY}",
        f"hour={hour:02d}",
        f"agent={str(image.get('agent') or 'unknown').lower()}",
    )
    return day, hour, groups


def survey_sent_fact(old: Mapping[str, Any], new: Mapping[str, Any]) -> Fact | None:
    """A survey reached the customer (its state became sent): counted for the agent who answered, whom the
    survey recorded when it was sent."""
    if new.get("entity") != "survey" or new.get("state") != "sent" or old.get("state") == "sent":
        return None
    day, hour, groups = _survey_groups(new)
    return Fact(f"survey_sent#{new['survey_id']}", day, hour, groups, {"sent": 1})


def rated_fact(old: Mapping[str, Any], new: Mapping[str, Any]) -> Fact | None:
    """The customer rated, or changed their rating: one more response, or one rating moved to another."""
    if new.get("entity") != "survey" or not new.get("rating"):
        return None
    version = int(new.get("rating_version") or 0)
    if version <= int(old.get("rating_version") or 0):
        return None  # another change of the survey (its comment): no new rating
    day, hour, groups = _survey_groups(new)
    counts: dict[str, int] = {f"r{int(new['rating'])}": 1}
    if old.get("rating"):
        counts[f"r{int(old['rating'])}"] = counts.get(f"r{int(old['rating'])}", 0) - 1
    else:
        counts["responses"] = 1
    return Fact(f"rated#{new['survey_id']}#{version}", day, hour, groups, counts)


def facts_of_record(
    event_name: str, old: Mapping[str, Any], new: Mapping[str, Any], targets: Mapping[str, timedelta]
) -> list[Fact]:
    """What one table stream record adds to the measures (usually nothing)."""
    facts: list[Fact | None] = []
    if new.get("entity") == "mention":
        if event_name == "INSERT" and _is_customer_mention(new):
            facts.append(received_fact(new, str(new.get("priority") or _classify(new))))
        facts.append(answered_fact(old, new, targets))
    elif new.get("entity") == "survey":
        facts.append(survey_sent_fact(old, new))
        facts.append(rated_fact(old, new))
    return [fact for fact in facts if fact is not None]


def _classify(image: Mapping[str, Any]) -> str:
    """The priority dispatch will give a mention that has none yet (dispatch sets it after the INSERT)."""
    from socialcare.data.mentions import item_to_mention
    from socialcare.dispatch.routing import classify_priority

    try:
        return classify_priority(item_to_mention(dict(image))).value
    except Exception:  # an image that does not parse still counts as received
        return DEFAULT_PRIORITY


def first_answer(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, datetime] | None:
    """(mention id, answered at) when this record is a customer's mention getting its first answer."""
    if not _is_customer_mention(new) or old.get("answered_at") or not new.get("answered_at"):
        return None
    answered_at = datetime.fromisoformat(str(new["answered_at"]).replace("Z", "+00:00"))
    return f"{new['platform']}-{new['external_id']}", answered_at
