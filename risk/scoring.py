"""The scoring engine: a version loaded once, then pure arithmetic per customer.

Points per characteristic are the points of the bin the value falls in; the score is the
version's base points plus their sum; the grade is the highest band the score reaches and the
limit that grade's. The reason codes are the (at most) three characteristics that cost the most
points against their best bin, most costly first (ties in the version's order); a
characteristic that scored its best bin is never a reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from accounts.models import Grade

from .characteristics import MISSING
from .models import ScorecardVersion

REASONS_KEPT = 3


@dataclass(frozen=True)
class LoadedBin:
    lower: float | None
    upper: float | None
    category: str
    points: int

    def holds(self, value) -> bool:
        if value is None:
            return self.category == MISSING
        if isinstance(value, str):
            return self.category == value
        if self.category:
            return False
        return (self.lower is None or value >= self.lower) and (self.upper is None or value < self.upper)


@dataclass(frozen=True)
class LoadedCharacteristic:
    code: str
    bins: tuple[LoadedBin, ...]
    best: int = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "best", max((b.points for b in self.bins), default=0))

    def points_for(self, value) -> int:
        for candidate in self.bins:
            if candidate.holds(value):
                return candidate.points
        return 0  # a value no bin holds (a card without a "missing" bin) earns nothing


@dataclass(frozen=True)
class LoadedCard:
    version_id: int
    base_points: int
    characteristics: tuple[LoadedCharacteristic, ...]
    bands: tuple[tuple[int, str, Decimal], ...]  # (min_score, grade, limit), highest first

    def grade_for(self, score: int) -> tuple[str, Decimal]:
        for min_score, grade, limit in self.bands:
            if score >= min_score:
                return grade, limit
        if self.bands:
            _min, grade, limit = self.bands[-1]
            return grade, limit
        return Grade.E, Decimal("0.00")


@dataclass(frozen=True)
class ScoreResult:
    score: int
    grade: str
    limit: Decimal
    points: dict[str, int]
    reasons: list[str]


def card_load(version: ScorecardVersion) -> LoadedCard:
    """The version as plain data (three queries)."""
    characteristics = []
    for characteristic in version.characteristics.prefetch_related("bins").order_by("position", "id"):
        bins = tuple(
            LoadedBin(
                lower=None if b.lower is None else float(b.lower),
                upper=None if b.upper is None else float(b.upper),
                category=b.category,
                points=b.points,
            )
            for b in sorted(characteristic.bins.all(), key=lambda b: (b.position, b.id))
        )
        characteristics.append(LoadedCharacteristic(characteristic.code, bins))
    bands = tuple(
        sorted(
            ((band.min_score, band.grade, band.limit) for band in version.grade_bands.all()),
            key=lambda band: (-band[0], band[1]),
        )
    )
    return LoadedCard(version.pk, version.base_points, tuple(characteristics), bands)


def score_values(card: LoadedCard, values: dict) -> ScoreResult:
    points: dict[str, int] = {}
    losses = []
    for position, characteristic in enumerate(card.characteristics):
        earned = characteristic.points_for(values.get(characteristic.code))
        points[characteristic.code] = earned
        loss = characteristic.best - earned
        if loss > 0:
            losses.append((-loss, position, characteristic.code))
    score = card.base_points + sum(points.values())
    grade, limit = card.grade_for(score)
    reasons = [code for _loss, _position, code in sorted(losses)[:REASONS_KEPT]]
    return ScoreResult(score=score, grade=grade, limit=limit, points=points, reasons=reasons)
