"""Fitting a scorecard on the book: weight-of-evidence bins and a logistic regression.

1. Sample: every customer on the book at the observation date (`on` minus the performance
   window, six months by default), described by the characteristics as of that date
   (risk.characteristics looks back: later orders and payments do not count).
2. Target ("bad"): an instalment due in the performance window that reached `target_dpd`
   days late (30 by default) by `on`.
3. Bins: a numeric characteristic is cut at its quartiles (edges that split nobody are
   dropped) plus a "missing" bin; a categorical one has a bin per category. Each bin's weight
   of evidence is WoE = ln(share of goods in the bin / share of bads in the bin), with 0.5
   added to each count so an empty cell stays finite.
4. Model: scikit-learn's LogisticRegression of bad on the WoE of each characteristic.
5. Points, by the standard scaling: a score of `base_score` at good:bad odds of `base_odds`,
   and `pdo` more points double the odds. factor = pdo / ln 2, offset = base_score − factor ·
   ln(base_odds); a bin earns −β·WoE·factor points (rounded) and the version's base points are
   offset − β₀·factor, so score = offset + factor · ln(odds of good).
6. Grades: bands at the 80th, 50th, 25th and 10th percentiles of the scores the new points
   give the book as it is on `on` (A to D, E below), with DESIGN.md's limits.
The version records the method, sample, bad rate, AUC and Gini (on the sample), the scaling
and the dates in `fitted`.
"""

from __future__ import annotations

import datetime
import itertools
import math
from decimal import Decimal

from django.db.models import Case, Count, DateField, DurationField, F, Max, Value, When
from django.db.models.functions import TruncDate

from accounts.models import Grade
from orders.models import Installment, InstallmentStatus

from .characteristics import (
    DEFINITIONS,
    MISSING,
    _days,
    _end_of,
    customer_id_batches,
    facts_for_batch,
    merchant_return_rates,
)
from .scoring import LoadedBin, LoadedCard, LoadedCharacteristic, score_values
from .services import DEFAULT_LIMITS, BandSpec, BinSpec, scorecard_version_draft_create

DEMO_SCORECARD = "Demo scorecard"
METHOD = "WoE quartile bins + logistic regression (scikit-learn)"


class FitError(Exception):
    """The book cannot support a fit (too few customers or too few bads)."""


def _bad_customers(*, observed: datetime.date, on: datetime.date, target_dpd: int) -> set[int]:
    end = _end_of(on)
    days_late = Case(
        When(paid_at__lt=end, then=TruncDate("paid_at") - F("due_date")),
        default=Value(on, output_field=DateField()) - F("due_date"),
        output_field=DurationField(),
    )
    rows = (
        Installment.objects.filter(
            due_date__gt=observed, due_date__lte=on - datetime.timedelta(days=target_dpd)
        )
        .exclude(status=InstallmentStatus.WAIVED)
        .values("customer_id")
        .annotate(worst=Max(days_late), n=Count("id"))
        .values_list("customer_id", "worst")
    )
    return {customer_id for customer_id, worst in rows if _days(worst) >= target_dpd}


def _edges(values: list[float]) -> list[float]:
    import numpy as np

    if not values:
        return []
    low = min(values)
    edges = {round(float(q), 4) for q in np.quantile(np.array(values), [0.25, 0.5, 0.75]) if q > low}
    if len(edges) < 2:
        # Mostly one value (no days late, nothing returned): that value is a bin of its own, and
        # the rest is cut at its median.
        rest = [v for v in values if v > low]
        if rest:
            edges |= {round(min(rest), 4), round(float(np.median(np.array(rest))), 4)}
    return sorted(e for e in edges if e > low)


def _numeric_bins(edges: list[float]) -> list[tuple[float | None, float | None]]:
    bounds = [None, *edges, None]
    return list(itertools.pairwise(bounds))


def fit_scorecard(
    *,
    on: datetime.date,
    window_months: int = 6,
    target_dpd: int = 30,
    pdo: int = 20,
    base_score: int = 600,
    base_odds: int = 50,
    by=None,
    scorecard_name: str = DEMO_SCORECARD,
    min_bads: int = 20,
):
    """Fit on the book as of `on` and write a new DRAFT version; FitError when the book is too small."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    observed = on - datetime.timedelta(days=30 * window_months)
    rates = merchant_return_rates(on=observed)
    facts = {}
    for first_id, last_id in customer_id_batches(batch_size=5000):
        facts.update(facts_for_batch(on=observed, first_id=first_id, last_id=last_id, merchant_rates=rates))
    bads = _bad_customers(observed=observed, on=on, target_dpd=target_dpd)
    ids = sorted(facts)
    y = np.array([1 if i in bads else 0 for i in ids])
    n_bad = int(y.sum())
    if len(ids) < 100 or n_bad < min_bads or len(ids) - n_bad < min_bads:
        raise FitError(f"{len(ids)} customers and {n_bad} bads at {observed}: too few to fit")
    n_good = len(ids) - n_bad

    codes = list(DEFINITIONS)
    bins_of: dict[str, list] = {}
    woe_of: dict[str, list[float]] = {}
    columns = []
    for code in codes:
        definition = DEFINITIONS[code]
        values = [facts[i].values.get(code) for i in ids]
        if definition.categorical:
            cells = [c for c, _label in definition.categories]
            assign = [cells.index(v) if v in cells else len(cells) for v in values]
            cells.append(MISSING)
            specs = [("cat", c) for c in cells]
        else:
            edges = _edges([v for v in values if v is not None])
            ranges = _numeric_bins(edges)

            def place(v, ranges=ranges):
                if v is None:
                    return len(ranges)
                for k, (lo, hi) in enumerate(ranges):
                    if (lo is None or v >= lo) and (hi is None or v < hi):
                        return k
                return len(ranges) - 1

            assign = [place(v) for v in values]
            specs = [("num", r) for r in ranges] + [("cat", MISSING)]
        woes = []
        for k in range(len(specs)):
            goods = sum(1 for a, t in zip(assign, y, strict=True) if a == k and t == 0)
            bad_n = sum(1 for a, t in zip(assign, y, strict=True) if a == k and t == 1)
            if goods + bad_n == 0:
                woes.append(0.0)  # a bin nobody fell in (say "missing" of a value always known): neutral
            else:
                woes.append(math.log(((goods + 0.5) / n_good) / ((bad_n + 0.5) / n_bad)))
        bins_of[code], woe_of[code] = specs, woes
        columns.append([woes[a] for a in assign])

    x = np.array(columns).T
    model = LogisticRegression(C=1.0, max_iter=1000)
    model.fit(x, y)
    probability = model.predict_proba(x)[:, 1]
    auc = float(roc_auc_score(y, probability))
    factor = pdo / math.log(2)
    offset = base_score - factor * math.log(base_odds)
    beta0 = float(model.intercept_[0])
    characteristics = []
    point_columns = []
    for j, code in enumerate(codes):
        beta = float(model.coef_[0][j])
        specs = []
        points = []
        for (kind, what), woe in zip(bins_of[code], woe_of[code], strict=True):
            p = round(-beta * woe * factor)
            points.append(p)
            if kind == "cat":
                specs.append(BinSpec(points=p, category=what))
            else:
                lo, hi = what
                specs.append(
                    BinSpec(
                        points=p,
                        lower=None if lo is None else Decimal(str(lo)),
                        upper=None if hi is None else Decimal(str(hi)),
                    )
                )
        characteristics.append((code, specs))
        point_columns.append(points)
    base_points = round(offset - beta0 * factor)

    # The grade bands: percentiles of the scores the new points give the book as it is on `on`
    # (the population the version will grade), not of the older sample it was fitted on.
    card = LoadedCard(
        version_id=0,
        base_points=base_points,
        characteristics=tuple(
            LoadedCharacteristic(
                code,
                tuple(
                    LoadedBin(
                        lower=None if s.lower is None else float(s.lower),
                        upper=None if s.upper is None else float(s.upper),
                        category=s.category,
                        points=s.points,
                    )
                    for s in specs
                ),
            )
            for code, specs in characteristics
        ),
        bands=(),
    )
    rates_now = merchant_return_rates(on=on)
    scores = []
    for first_id, last_id in customer_id_batches(batch_size=5000):
        batch = facts_for_batch(on=on, first_id=first_id, last_id=last_id, merchant_rates=rates_now)
        scores += [score_values(card, fact.values).score for fact in batch.values()]
    cuts = [round(float(np.percentile(scores, q))) for q in (80, 50, 25, 10)]
    for k in range(1, len(cuts)):  # strictly decreasing, so every grade has a band
        if cuts[k] >= cuts[k - 1]:
            cuts[k] = cuts[k - 1] - 1
    bands = [
        BandSpec(Grade.A, cuts[0], DEFAULT_LIMITS[Grade.A]),
        BandSpec(Grade.B, cuts[1], DEFAULT_LIMITS[Grade.B]),
        BandSpec(Grade.C, cuts[2], DEFAULT_LIMITS[Grade.C]),
        BandSpec(Grade.D, cuts[3], DEFAULT_LIMITS[Grade.D]),
        BandSpec(Grade.E, -100_000, DEFAULT_LIMITS[Grade.E]),
    ]
    fitted = {
        "method": METHOD,
        "fitted_on": on.isoformat(),
        "observation_date": observed.isoformat(),
        "performance_months": window_months,
        "target": f"an instalment due in the performance window {target_dpd}+ days past due",
        "sample_size": len(ids),
        "bads": n_bad,
        "bad_rate": round(n_bad / len(ids), 4),
        "auc": round(auc, 4),
        "gini": round(2 * auc - 1, 4),
        "scaling": {"pdo": pdo, "base_score": base_score, "base_odds": base_odds},
        "coefficients": {code: round(float(model.coef_[0][j]), 4) for j, code in enumerate(codes)},
        "intercept": round(beta0, 4),
        "grade_bands": "80th, 50th, 25th and 10th percentiles of the book's scores on fitted_on",
    }
    return scorecard_version_draft_create(
        scorecard_name=scorecard_name,
        base_points=base_points,
        characteristics=characteristics,
        bands=bands,
        fitted=fitted,
        by=by,
        note=f"Fitted on the book of {on:%Y-%m-%d}",
    )


def hand_set_version(*, by=None, scorecard_name: str = DEMO_SCORECARD):
    """A version with points set by hand (a book too small to fit): the same characteristics,
    points in the spirit of a fitted card, recorded as hand-set."""
    d = Decimal

    def num(*cuts_points):
        # cuts_points: (upper, points) ..., last (None, points); plus missing
        specs, lower = [], None
        for upper, points in cuts_points:
            specs.append(BinSpec(points=points, lower=lower, upper=None if upper is None else d(str(upper))))
            lower = None if upper is None else d(str(upper))
        return specs

    characteristics = [
        ("months_on_book", num((3, 0), (6, 8), (12, 15), (None, 20))),
        ("on_time_share", [*num((0.8, 0), (0.95, 25), (None, 45)), BinSpec(15, category=MISSING)]),
        ("worst_dpd_12m", num((1, 50), (4, 35), (15, 15), (31, 5), (None, 0))),
        ("completed_orders", num((1, 0), (3, 8), (None, 15))),
        ("utilisation", [*num((0.3, 20), (0.7, 12), (0.95, 5), (None, 0)), BinSpec(20, category=MISSING)]),
        ("returned_share", [*num((0.01, 10), (0.2, 6), (None, 0)), BinSpec(5, category=MISSING)]),
        ("livestream_share", [*num((0.3, 8), (0.6, 4), (None, 0)), BinSpec(4, category=MISSING)]),
        ("merchant_risk", [*num((0.01, 12), (0.2, 5), (None, 0)), BinSpec(6, category=MISSING)]),
        (
            "channel_mix",
            [
                BinSpec(6, category="short_video"),
                BinSpec(8, category="mall"),
                BinSpec(0, category="livestream"),
                BinSpec(5, category="mixed"),
                BinSpec(3, category="none"),
                BinSpec(3, category=MISSING),
            ],
        ),
        ("merchant_return_rate", [*num((0.05, 8), (0.15, 4), (None, 0)), BinSpec(4, category=MISSING)]),
    ]
    bands = [
        BandSpec(Grade.A, 560, DEFAULT_LIMITS[Grade.A]),
        BandSpec(Grade.B, 530, DEFAULT_LIMITS[Grade.B]),
        BandSpec(Grade.C, 500, DEFAULT_LIMITS[Grade.C]),
        BandSpec(Grade.D, 470, DEFAULT_LIMITS[Grade.D]),
        BandSpec(Grade.E, -100_000, DEFAULT_LIMITS[Grade.E]),
    ]
    return scorecard_version_draft_create(
        scorecard_name=scorecard_name,
        base_points=400,
        characteristics=characteristics,
        bands=bands,
        fitted={"method": "hand-set", "note": "points set by hand; no fit"},
        by=by,
        note="Hand-set points",
    )
