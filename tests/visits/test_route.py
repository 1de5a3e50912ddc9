"""The field agent's suggested route: district by district (the district of the earliest visit
first), then nearest next on the addresses' coordinates; addresses without them close the district."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from visits.selectors import Stop, route_order

T0 = datetime.datetime(2026, 3, 10, 1, 0, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class V:
    name: str
    district: str
    lat: str | None
    lon: str | None
    minutes: int = 0


def _stop(v: V) -> Stop:
    return Stop(
        district=("广东省", "深圳市", v.district),
        latitude=Decimal(v.lat) if v.lat else None,
        longitude=Decimal(v.lon) if v.lon else None,
        scheduled_for=T0 + datetime.timedelta(minutes=v.minutes),
    )


def names(visits) -> list[str]:
    return [v.name for v in route_order(visits, stop=_stop)]


def test_districts_first_then_nearest_next():
    visits = [
        V("far", "南山区", "22.60", "113.90", minutes=0),
        V("near-far", "南山区", "22.58", "113.91", minutes=5),
        V("start", "南山区", "22.50", "113.93", minutes=-30),
        V("futian", "福田区", "22.54", "114.05", minutes=60),
        V("middle", "南山区", "22.53", "113.93", minutes=90),
    ]
    # 南山区 has the earliest visit (start); from there the nearest is middle, then near-far, then far.
    assert names(visits) == ["start", "middle", "near-far", "far", "futian"]


def test_visits_without_coordinates_close_their_district_by_time():
    visits = [
        V("unknown-late", "南山区", None, None, minutes=50),
        V("a", "南山区", "22.50", "113.93", minutes=10),
        V("unknown-early", "南山区", None, None, minutes=0),
        V("b", "南山区", "22.51", "113.93", minutes=20),
    ]
    assert names(visits) == ["a", "b", "unknown-early", "unknown-late"]


def test_an_empty_day_is_an_empty_route():
    assert route_order([], stop=_stop) == []


_coordinate = st.one_of(st.none(), st.decimals(min_value=-80, max_value=80, places=4).map(str))


@given(
    st.lists(
        st.builds(
            V,
            name=st.uuids().map(str),
            district=st.sampled_from(["南山区", "福田区", "天山区"]),
            lat=_coordinate,
            lon=_coordinate,
            minutes=st.integers(-600, 600),
        ),
        max_size=25,
    )
)
def test_every_visit_is_on_the_route_once_and_districts_stay_together(visits):
    route = route_order(visits, stop=_stop)
    assert sorted(v.name for v in route) == sorted(v.name for v in visits)
    districts = [v.district for v in route]
    # Each district is one run: once left, never come back to.
    runs = [d for i, d in enumerate(districts) if i == 0 or districts[i - 1] != d]
    assert len(runs) == len(set(districts))
