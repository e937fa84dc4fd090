"""organizer.tally.tally_body: the exact bytes of protocol 1.1's tally, from opened pledges.

The `few` rule (1 to 4 never published as a number), `total` as the sum of what is published,
`reached` against each option's own number (never below 5), the field's option order, and the day in the
campaign's zone.
"""

import json
from datetime import UTC, date, datetime
from typing import Any

from organizer.tally import tally_body, zone_today

OPTIONS = ["a", "b", "c", "d", "e"]
DESCRIPTOR: dict[str, Any] = {
    "campaign_id": "cmp", "coalition_id": "co",
    "fields": [{"id": "school", "type": "choice", "required": True,
                "options": [{"id": o, "label": {"en": o}} for o in OPTIONS]},
               {"id": "help", "type": "checkbox", "required": False}],
    "threshold": {"field": "school", "count": 5, "per_option": {"b": 2, "e": 40}},
}


def rows(**per_option: int) -> list[dict[str, Any]]:
    return [{"answers": {"school": o, "help": True}} for o, n in per_option.items() for _ in range(n)]


def test_few_counts_total_reached_in_option_order() -> None:
    body = tally_body(DESCRIPTOR, iter(rows(e=5, d=4, b=1, a=0, c=12)), date(2027, 2, 26))
    assert body == (b'{"campaign_id":"cmp","coalition_id":"co","day":"2027-02-26","total":17,'
                    b'"counts":{"a":0,"c":12,"e":5},"few":["b","d"],"reached":["c"]}')
    # b has 1 of its own 2; e has 5 of its own 40; c reached the campaign's 5


def test_a_number_below_5_stored_before_amendment_2_is_reached_only_at_5() -> None:
    """`b` has its own number 2 (a descriptor stored before thresholds started at 5): `reached`
    at 2 would publish that b has 2 to 4 pledges, so it waits for 5, like the `few` rule."""
    t = json.loads(tally_body(DESCRIPTOR, iter(rows(b=2)), date(2027, 2, 26)))
    assert (t["few"], t["reached"], t["total"]) == (["b"], [], 0)
    t = json.loads(tally_body(DESCRIPTOR, iter(rows(b=5)), date(2027, 2, 26)))
    assert (t["counts"]["b"], t["reached"], t["total"]) == (5, ["b"], 5)


def test_answers_outside_the_options_count_nowhere() -> None:
    t = json.loads(tally_body(DESCRIPTOR, iter(rows(a=6, zz=3)), date(2027, 2, 26)))
    assert t["counts"] == {"a": 6, "b": 0, "c": 0, "d": 0, "e": 0}
    assert t["total"] == 6


def test_without_a_threshold_only_the_total() -> None:
    plain = {k: v for k, v in DESCRIPTOR.items() if k != "threshold"}
    t = json.loads(tally_body(plain, iter(rows(a=2, b=1)), date(2027, 2, 26)))
    assert (t["total"], t["counts"], t["few"], t["reached"]) == (3, {}, [], [])


def test_the_day_is_the_date_in_the_campaigns_zone() -> None:
    evening_in_california = datetime(2027, 2, 27, 5, 0, tzinfo=UTC)
    assert zone_today({"time_zone": "America/Los_Angeles"}, evening_in_california) == date(2027, 2, 26)
    assert zone_today({}, evening_in_california) == date(2027, 2, 27)  # version 1: UTC
