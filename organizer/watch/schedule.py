"""When the next round starts: at random, so rounds do not form a pattern a server could learn,
and more often in the week before an action day, when a changed page would do the most harm."""

import random
from datetime import date

USUAL_MINUTES = 60
LAST_WEEK_MINUTES = 15


def mean_pause(action_days: list[date], today: date) -> float:
    """Seconds between rounds on average: a quarter hour in the week before an action day."""
    near = any(0 <= (day - today).days <= 7 for day in action_days)
    return 60.0 * (LAST_WEEK_MINUTES if near else USUAL_MINUTES)


def next_pause(action_days: list[date], today: date, rng: random.Random) -> float:
    """Exponential around the mean (arrivals with no rhythm), kept between a tenth and thrice it."""
    mean = mean_pause(action_days, today)
    return min(max(rng.expovariate(1 / mean), mean / 10), mean * 3)
