"""A disclosure auditor: an attacker who solves integer programs over the published figures.

A ``Problem`` describes one family of figures over the same people: the *atoms* (the
finest groups the figures refer to, e.g. cohort x gender x rating), an unknown
non-negative integer count per atom, and every published number as a linear
constraint (a count exactly, a mean or a share within the rounding it is printed with).
For every *target* (a hidden cell, or a group pooled away), the auditor computes with
``scipy.optimize.milp`` the smallest and largest count consistent with all of them, and,
when the true count is below ``k``, the interval its mean can lie in. A target is
disclosed when its count has a single possible value between 1 and k - 1, or its mean is
confined to an interval no wider than the printed rounding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Atom = tuple[object, ...]
Select = Callable[[Atom], bool]


@dataclass
class Problem:
    """One family of published figures over one population."""

    name: str
    atoms: list[Atom]
    value: Callable[[Atom], float] | None = None  # a person's value in the atom, if discrete
    continuous: tuple[float, float] | None = None  # else: values in [lo, hi], sums unknown
    upper: int = 10_000
    rows: list[tuple[np.ndarray, float, float]] = field(default_factory=list)
    solution: np.ndarray | None = None
    means: list[tuple[float, float]] = field(default_factory=list)  # (mean, half width)
    targets: list[tuple[str, Select, int, float | None]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.atoms) * (2 if self.continuous else 1)

    def _mask(self, select: Select) -> np.ndarray:
        return np.array([1.0 if select(a) else 0.0 for a in self.atoms])

    def _counts(self, select: Select) -> np.ndarray:
        row = np.zeros(self.size)
        row[: len(self.atoms)] = self._mask(select)
        return row

    def _sums(self, select: Select) -> np.ndarray:
        row = np.zeros(self.size)
        mask = self._mask(select)
        if self.continuous:
            row[len(self.atoms) :] = mask
        else:
            assert self.value is not None
            row[: len(self.atoms)] = mask * np.array([self.value(a) for a in self.atoms])
        return row

    def count(self, select: Select, n: int) -> None:
        """A published count of people."""
        self.rows.append((self._counts(select), n, n))

    def mean(self, select: Select, mean: float, decimals: int) -> None:
        """A published mean, printed with ``decimals``: |sum - mean x n| <= half x n."""
        half = 0.5 * 10**-decimals + 1e-9
        counts, sums = self._counts(select), self._sums(select)
        self.means.append((mean, half))
        self.rows.append((sums - (mean + half) * counts, -np.inf, 0.0))
        self.rows.append((sums - (mean - half) * counts, 0.0, np.inf))

    def share(self, part: Select, whole: Select, share: float, decimals: int) -> None:
        """A published share of a count, printed with ``decimals`` (0.43 -> 2)."""
        half = 0.5 * 10**-decimals + 1e-9
        num, den = self._counts(part), self._counts(whole)
        self.rows.append((num - (share + half) * den, -np.inf, 0.0))
        self.rows.append((num - (share - half) * den, 0.0, np.inf))

    def target(
        self, label: str, select: Select, truth: int, resolution: float | None = 0.1
    ) -> None:
        """A group the report must not disclose: its count, and its mean unless None."""
        self.targets.append((label, select, truth, resolution))

    # Solving.

    def _solve(
        self, objective: np.ndarray, extra: Sequence[tuple[np.ndarray, float, float]] = ()
    ) -> float | None:
        # scipy is imported by the tests that solve, not by every module that imports this one.
        from scipy.optimize import Bounds, LinearConstraint, milp

        rows = [*self.rows, *extra]
        n = len(self.atoms)
        if self.continuous:
            lo, hi = self.continuous
            for i in range(n):
                row = np.zeros(self.size)
                row[n + i], row[i] = 1.0, -lo
                rows.append((row, 0.0, np.inf))
                row = np.zeros(self.size)
                row[n + i], row[i] = 1.0, -hi
                rows.append((row, -np.inf, 0.0))
        constraints = (
            [
                LinearConstraint(
                    np.array([r[0] for r in rows]), [r[1] for r in rows], [r[2] for r in rows]
                )
            ]
            if rows
            else []
        )
        integrality = np.concatenate([np.ones(n), np.zeros(self.size - n)])
        upper = np.full(self.size, float(self.upper))
        if self.continuous:
            upper[n:] = self.upper * self.continuous[1]
        result = milp(
            objective, constraints=constraints, integrality=integrality, bounds=Bounds(0, upper)
        )
        self.solution = result.x if result.status == 0 else None
        return float(result.fun) if result.status == 0 else None

    def count_range(self, select: Select) -> tuple[int, int] | None:
        row = self._counts(select)
        low, high = self._solve(row), self._solve(-row)
        if low is None or high is None:
            return None
        return round(low), round(-high)

    def mean_spreads(self, select: Select, resolution: float) -> bool:
        """Whether the group's mean can differ by ``resolution`` between two solutions: two
        quick feasibility problems around one solution's mean (``mean_range`` is exact)."""
        sums, row = self._sums(select), self._counts(select)
        at_least_one = [(row, 1.0, np.inf)]
        if self._solve(row, at_least_one) is None or self.solution is None:
            return True
        m0 = float(sums @ self.solution) / float(row @ self.solution)
        up = [*at_least_one, (sums - (m0 + resolution) * row, 0.0, np.inf)]
        down = [*at_least_one, (sums - (m0 - resolution) * row, -np.inf, 0.0)]
        zero = np.zeros(self.size)
        return self._solve(zero, up) is not None or self._solve(zero, down) is not None

    def mean_range(self, select: Select, counts: tuple[int, int]) -> tuple[float, float] | None:
        sums, row = self._sums(select), self._counts(select)
        found: list[float] = []
        for n in range(max(1, counts[0]), counts[1] + 1):
            fixed = [(row, float(n), float(n))]
            low, high = self._solve(sums, fixed), self._solve(-sums, fixed)
            if low is not None and high is not None:
                found += [low / n, -high / n]
        return (min(found), max(found)) if found else None


@dataclass(frozen=True, slots=True)
class Leak:
    problem: str
    target: str
    what: str


def audit(problem: Problem, k: int) -> list[Leak]:
    """Every target the published figures of ``problem`` disclose."""
    leaks = []
    bounds = problem.continuous or (
        (min(problem.value(a) for a in problem.atoms), max(problem.value(a) for a in problem.atoms))
        if problem.value is not None and problem.atoms
        else None
    )
    for label, select, truth, resolution in problem.targets:
        found = problem.count_range(select)
        assert found is not None, f"{problem.name}: the published figures are inconsistent"
        low, high = found
        assert low <= truth <= high, f"{problem.name}/{label}: truth {truth} not in {found}"
        if low == high and 0 < low < k:
            leaks.append(Leak(problem.name, label, f"count = {low}"))
            continue
        if (
            bounds is None
            or resolution is None
            or not 0 < truth < k
            or (problem.value is None and not problem.continuous)
        ):
            continue
        values = {problem.value(a) for a in problem.atoms if select(a)} if problem.value else set()
        if len(values) == 1:
            continue  # one value by definition (a rating point): only its count can leak
        if problem.mean_spreads(select, resolution):
            continue  # two solutions a rounding apart: not determined (the exact range is slow)
        interval = problem.mean_range(select, found)
        if interval is None:
            continue
        lo, hi = interval
        # Everyone in a group of at least k at the same end of the scale: an aggregate
        # says so whatever the disclosure control; not a leak of the small group itself.
        at_end = hi - lo < 1e-9 and min(abs(lo - bounds[0]), abs(lo - bounds[1])) < 1e-9
        homogeneous = at_end and any(abs(m - lo) <= h for m, h in problem.means)
        if hi - lo <= resolution + 1e-9 and not homogeneous:
            leaks.append(Leak(problem.name, label, f"mean in [{lo:.3f}, {hi:.3f}]"))
    return leaks
