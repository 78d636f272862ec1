"""Disclosure control: which figures of the report may be shown, counted in people.

Pure rules over counts, no I/O. ``k`` is the smallest number of distinct people a
published figure may stand on. The report applies three rules (README, "Confidentiality"):

1. A figure is shown only when at least ``k`` people stand behind it.
2. A breakdown (by cohort, gender, ...) pools its groups of fewer than ``k`` people, and the
   pool absorbs the next smallest group while it is still below ``k``: every group shown
   has ``k`` people or more and the groups add up to the total, so no subtraction of
   shown figures isolates fewer than ``k`` people. A breakdown left with one group is
   not shown.
3. A distribution of answers pools answers given by fewer than ``k`` people (rating points
   with their neighbours, choices into "other answers"), so every band shown holds no one
   or at least ``k`` people. The mean is shown beside the bands only when it cannot pin
   the count of one rating point to a value between 1 and ``k - 1``
   (``mean_pins_a_point`` checks this exactly); otherwise bands are widened, and the mean
   is left out when even one band would not do.

Yes/no figures (a certificate obtained, an option ticked, a question answered right) are
shown only when both the people who did and those who did not are none or at least ``k``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

Band = tuple[int, int]  # first and last index (inclusive) of consecutive points
# Whether a group of categories (or a band of points) may not be shown on its own. The
# default is "between 1 and k - 1 answers"; the supervisors' section counts distinct
# supervisors and distinct supervisees instead, which a sum of counts cannot tell.
Fails = Callable[[Sequence[str]], bool]
BandFails = Callable[[Band], bool]


def pool_groups(
    counts: Mapping[str, int], k: int, fails: Fails | None = None
) -> list[tuple[str, ...]] | None:
    """Groups as shown: each tuple one row; None when fewer than two rows would remain.

    ``fails`` says whether some groups together are too few to be shown (default: they
    hold between 1 and k - 1 people); a union of groups must never fail more than a part.
    """

    def too_few(members: Sequence[str]) -> bool:
        if fails is not None:
            return fails(members)
        return 0 < sum(present[g] for g in members) < k

    present = {g: n for g, n in counts.items() if n > 0}
    small = sorted(g for g in present if too_few((g,)))
    large = sorted((g for g in present if not too_few((g,))), key=lambda g: (present[g], g))
    rows: list[tuple[str, ...]] = [(g,) for g in sorted(large)]
    if small:
        pool = list(small)
        # The pool must itself stand on k people: it takes the smallest shown groups.
        while too_few(pool) and large:
            taken = large.pop(0)
            pool.append(taken)
            rows.remove((taken,))
        if too_few(pool):
            return None
        rows.append(tuple(sorted(pool)))
    return rows if len(rows) >= 2 else None


def binary_shown(count: int, total: int, k: int) -> bool:
    """Whether a yes/no count may be shown: neither side holds between 1 and k - 1 people."""
    rest = total - count
    return total >= k and not (0 < count < k) and not (0 < rest < k)


def choice_bands(
    counts: Mapping[str, int], k: int, fails: Fails | None = None
) -> list[tuple[str, ...]] | None:
    """Options of a single-choice item as shown: small ones pooled as "other answers".

    Every band holds no one or at least k people; None when one band would remain.
    """
    empty = [(o,) for o, n in counts.items() if n == 0]
    pooled = pool_groups(counts, k, fails)
    if pooled is None:
        return None
    return sorted([*pooled, *empty], key=lambda band: list(counts).index(band[0]))


def scale_bands(counts: Sequence[int], k: int, fails: BandFails | None = None) -> list[Band] | None:
    """Consecutive rating points merged until each band holds no one or at least k people.

    The smallest band below k merges with its smaller neighbour, so bands stay as narrow
    as the counts allow. None when everything ends in one band. ``fails`` replaces "holds
    between 1 and k - 1 people" (a wider band must never fail more than a narrower one).
    """
    bands = [(i, i) for i in range(len(counts))]

    def total(band: Band) -> int:
        return sum(counts[band[0] : band[1] + 1])

    def too_few(band: Band) -> bool:
        return fails(band) if fails is not None else 0 < total(band) < k

    while True:
        small = [i for i, b in enumerate(bands) if too_few(b)]
        if not small:
            return bands if len(bands) > 1 else None
        if len(bands) == 1:
            return None
        i = min(small, key=lambda j: (total(bands[j]), j))
        left = i - 1 if i > 0 else None
        right = i + 1 if i + 1 < len(bands) else None
        if left is None or (right is not None and total(bands[right]) < total(bands[left])):
            assert right is not None
            bands[i : right + 1] = [(bands[i][0], bands[right][1])]
        else:
            bands[left : i + 1] = [(bands[left][0], bands[i][1])]


def widen(bands: list[Band]) -> list[Band] | None:
    """The next coarser banding: the two adjacent bands of fewest points merged."""
    if len(bands) <= 2:
        return None
    i = min(range(len(bands) - 1), key=lambda j: (bands[j + 1][1] - bands[j][0], j))
    return [*bands[:i], (bands[i][0], bands[i + 1][1]), *bands[i + 2 :]]


def sum_interval(mean: float, n: int, decimals: int) -> tuple[int, int]:
    """The integer totals a mean of n values, rounded to ``decimals``, can stand for."""
    half = 0.5 * 10**-decimals
    return math.ceil(round((mean - half) * n, 9)), math.floor(round((mean + half) * n, 9))


def mean_pins_a_point(
    values: Sequence[int],
    bands: Sequence[Band],
    totals: Sequence[int],
    sums: tuple[int, int],
    k: int,
) -> bool:
    """Whether the bands' totals and a mean, together, fix one point's count in 1..k-1.

    ``values`` are the points' numeric values (consecutive integers), ``sums`` the integer
    interval the rounded mean allows for the sum of all values. Exact: within a band of
    consecutive points every integer weighted sum between its extremes can be reached, so
    each feasibility test is interval arithmetic.
    """
    low, high = sums
    spans = [(values[a] * t, values[b] * t) for (a, b), t in zip(bands, totals, strict=True)]
    for j, ((a, b), total) in enumerate(zip(bands, totals, strict=True)):
        if a == b or total == 0:
            continue
        others_low = sum(s[0] for i, s in enumerate(spans) if i != j)
        others_high = sum(s[1] for i, s in enumerate(spans) if i != j)
        # The band's own weighted sum must fall in [want_low, want_high].
        want_low, want_high = low - others_high, high - others_low
        for p in range(a, b + 1):
            feasible = [
                x
                for x in range(0, min(total, k) + 1)
                if _band_can(values, a, b, p, x, total, want_low, want_high)
            ]
            if len(feasible) != 1 or not 0 < feasible[0] < k:
                continue
            larger = any(
                _band_can(values, a, b, p, x, total, want_low, want_high)
                for x in range(k + 1, total + 1)
            )
            if not larger:
                return True
    return False


def pinned_points(
    values: Sequence[int],
    bands: Sequence[Band],
    totals: Sequence[int],
    sums: tuple[int, int],
) -> dict[int, int]:
    """The points inside a band of several whose count the bands and the mean fix exactly.

    ``mean_pins_a_point`` only looks for counts between 1 and k - 1; the supervisors'
    section also hides a count of k answers or more that rests on fewer than k supervisors,
    so it needs every count that can be solved for, whatever its size.
    """
    low, high = sums
    spans = [(values[a] * t, values[b] * t) for (a, b), t in zip(bands, totals, strict=True)]
    found: dict[int, int] = {}
    for j, ((a, b), total) in enumerate(zip(bands, totals, strict=True)):
        if a == b or total == 0:
            continue
        others_low = sum(s[0] for i, s in enumerate(spans) if i != j)
        others_high = sum(s[1] for i, s in enumerate(spans) if i != j)
        want_low, want_high = low - others_high, high - others_low
        for p in range(a, b + 1):
            feasible = [
                x
                for x in range(total + 1)
                if _band_can(values, a, b, p, x, total, want_low, want_high)
            ]
            if len(feasible) == 1:
                found[p] = feasible[0]
    return found


def _band_can(
    values: Sequence[int], a: int, b: int, p: int, x: int, total: int, low: int, high: int
) -> bool:
    """Whether x people on point p and the rest of the band elsewhere in it can sum in range."""
    rest = total - x
    v = values[p]
    if rest == 0:
        return low <= v * x <= high
    lower = (a, p - 1) if p > a else None
    upper = (p + 1, b) if p < b else None
    base = v * x
    if lower is None or upper is None:
        run = lower or upper
        assert run is not None
        return base + values[run[0]] * rest <= high and base + values[run[1]] * rest >= low
    # y people in the lower run, rest - y in the upper one: an interval for each y.
    lo_a, lo_b, up_a, up_b = values[lower[0]], values[lower[1]], values[upper[0]], values[upper[1]]
    # min(y) = up_a*(rest-y) + lo_a*y ; max(y) = up_b*(rest-y) + lo_b*y
    y_from = max(0, math.ceil((base + up_a * rest - high) / (up_a - lo_a)))
    y_to = min(rest, math.floor((base + up_b * rest - low) / (up_b - lo_b)))
    return y_from <= y_to
