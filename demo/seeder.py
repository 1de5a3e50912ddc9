"""The demo portfolio: a deterministic synthetic book of customers, orders, payments and cases.

`seed_portfolio()` plays twelve months of shopping and repayment forward, customer by
customer, in memory, with the same money rules the services apply (orders.ledger: schedules,
allocation order, statuses, and the day-by-day late-fee rule) and the policy in force on
each day, then writes everything with bulk inserts inside the caller's transaction. Every
row of a model with a django-simple-history `history` gets its baseline history row ("created",
reason DEMO_HISTORY_REASON) in the same batch, so the first change made to a demo row shows its
old and new values, and the audit trail has the row's creation.

Randomness comes from one `random.Random(seed)` and a Faker seeded with the same seed, and
every date is relative to the business date, so one seed on one day gives the same book.
Staff passwords are the exception: they come from `secrets`, never from the seed.
"""

from __future__ import annotations

import bisect
import datetime
import heapq
import math
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts.models import (
    CreditLine,
    CreditLineStatus,
    Customer,
    CustomerStatus,
    EmergencyContact,
    Grade,
    Language,
    User,
)
from accounts.roles import Role
from accounts.services import overdue_freeze_reason
from bnpl_admin.dates import business_date
from bnpl_admin.money import CENT, ZERO, apply_rate
from collection.models import (
    Bucket,
    CaseEvent,
    CaseEventType,
    CaseStatus,
    CollectionCase,
    ContactAttempt,
    ContactChannel,
    ContactDirection,
    ContactOutcome,
    ContactParty,
    Promise,
    Team,
)
from collection.selectors import promise_ceiling
from collection.services import CaseError, case_amounts_refresh, contact_record, promises_decide
from decisionlog.services import chain_verification_start
from orders.ledger import (
    LateFeeTerms,
    add_months,
    allocate,
    allocation_order,
    late_fee_accrue,
    prorate,
    schedule_lines,
    status_on,
)
from orders.models import (
    ORDER_TRANSITIONS,
    PLAN_INSTALLMENTS,
    AllocationKind,
    Channel,
    Hold,
    Installment,
    InstallmentStatus,
    Merchant,
    Order,
    OrderEvent,
    OrderEventType,
    OrderStatus,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    Plan,
)
from orders.services import payment_post
from policy.models import Policy
from policy.selectors import policy_in_force
from restrictions.models import RestrictionAction, RestrictionReason
from restrictions.selectors import lines_to_change
from restrictions.services import (
    approval_threshold,
    restriction_job_confirm,
    restriction_job_preview,
    restriction_job_run,
)

BATCH_SIZE = 1000
# The change reason of the baseline history row each demo row is written with.
DEMO_HISTORY_REASON = "demo book"
ONE_DAY = datetime.timedelta(days=1)


def _owed(i: Installment) -> Decimal:
    """Installment.total_outstanding without the enum walk: this runs a million times a seed."""
    return (
        i.principal_due
        - i.principal_paid
        + i.fee_due
        - i.fee_waived
        - i.fee_paid
        + i.late_fee_due
        - i.late_fee_waived
        - i.late_fee_paid
    )


# --- Resident identity numbers (GB 11643) ----------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def national_id_check_char(first17: str) -> str:
    """The 18th character of a resident identity number: ISO 7064 MOD 11-2 over the first 17."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("a resident identity number starts with 17 digits")
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


# --- The book's ingredients ---------------------------------------------------------------------

# DESIGN.md, "Credit": a grade maps to a limit; E gets no credit.
GRADE_LIMITS = {
    Grade.A: Decimal("20000.00"),
    Grade.B: Decimal("10000.00"),
    Grade.C: Decimal("5000.00"),
    Grade.D: Decimal("1500.00"),
    Grade.E: Decimal("0.00"),
}
GRADE_SCORES = {
    Grade.A: (750, 850),
    Grade.B: (690, 749),
    Grade.C: (630, 689),
    Grade.D: (570, 629),
    Grade.E: (300, 569),
}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: each persona is one of a kind
class Persona:
    """How a kind of customer repays: the demo's cast (STYLE.md §7)."""

    name: str
    share: float  # of the customers
    grades: dict[str, int]  # grade -> weight
    orders_a_year: float
    on_time: float  # chance an instalment is paid on its due date or earlier
    late_days: tuple[tuple[int, int, int], ...]  # (weight, fewest, most) days late when late
    return_rate: float  # chance an order's goods go back
    partial_payment: float  # chance a late instalment is paid in two parts
    round_up: float  # chance a payment is rounded up to ¥10, leaving credit balance
    prepay: float  # chance an instalment plan is paid off in one go before its first due date
    defaults: bool = False


GOOD_PAYER = Persona(
    name="good payer",
    share=0.73,
    grades={Grade.A: 22, Grade.B: 35, Grade.C: 28, Grade.D: 9, Grade.E: 6},
    orders_a_year=5.0,
    on_time=0.96,
    late_days=((1, 1, 3),),
    return_rate=0.02,
    partial_payment=0.0,
    round_up=0.05,
    prepay=0.08,
)
LATE_PAYER = Persona(
    name="late payer",
    share=0.15,
    grades={Grade.B: 25, Grade.C: 45, Grade.D: 30},
    orders_a_year=4.0,
    on_time=0.35,
    late_days=((45, 1, 7), (40, 8, 30), (15, 31, 75)),
    return_rate=0.03,
    partial_payment=0.25,
    round_up=0.0,
    prepay=0.0,
)
DEFAULTER = Persona(
    name="defaulter",
    share=0.05,
    grades={Grade.B: 15, Grade.C: 40, Grade.D: 45},
    orders_a_year=3.0,
    on_time=1.0,
    late_days=((1, 1, 1),),
    return_rate=0.0,
    partial_payment=0.0,
    round_up=0.0,
    prepay=0.0,
    defaults=True,
)
RETURNER = Persona(
    name="returner",
    share=0.07,
    grades={Grade.A: 20, Grade.B: 40, Grade.C: 35, Grade.D: 5},
    orders_a_year=6.0,
    on_time=0.95,
    late_days=((1, 1, 3),),
    return_rate=0.4,
    partial_payment=0.0,
    round_up=0.0,
    prepay=0.0,
)
PERSONAS = (GOOD_PAYER, LATE_PAYER, DEFAULTER, RETURNER)

# Defaulters stop paying at a chosen age so every bucket has some (days past due today).
DEFAULT_DPD_RANGES = ((95, 175), (8, 28), (35, 57), (65, 87))

CHANNEL_WEIGHTS = {Channel.SHORT_VIDEO: 50, Channel.LIVESTREAM: 35, Channel.MALL: 15}
METHOD_WEIGHTS = {
    PaymentMethod.ALIPAY: 45,
    PaymentMethod.WECHAT: 38,
    PaymentMethod.BANK_CARD: 12,
    PaymentMethod.PLATFORM_WALLET: 5,
}

# (name, category, risk flag). Invented shop names; no real brand.
MERCHANTS = (
    ("织梦女装旗舰店", "apparel", False),
    ("北极绒服饰", "apparel", False),
    ("山川户外服装", "apparel", False),
    ("简衣工坊", "apparel", False),
    ("小鹿童装", "apparel", False),
    ("潮流前线男装", "apparel", True),
    ("云裳汉服馆", "apparel", False),
    ("花间美妆", "beauty", False),
    ("水光肌护肤", "beauty", False),
    ("青黛彩妆", "beauty", False),
    ("萌萌美甲小铺", "beauty", True),
    ("素颜研究所", "beauty", False),
    ("极客数码", "electronics", False),
    ("闪电手机专营店", "electronics", True),
    ("声悦耳机", "electronics", False),
    ("智家电器", "electronics", False),
    ("光影相机馆", "electronics", True),
    ("川味小厨", "food", False),
    ("果园直送", "food", False),
    ("天山干果铺", "food", False),
    ("彩云鲜花饼", "food", False),
    ("老茶庄", "food", False),
    ("黑土地大米仓", "food", False),
    ("暖居家纺", "home", False),
    ("木语家具", "home", False),
    ("厨房好物社", "home", False),
    ("净家日用", "home", False),
    ("绿植小院", "home", False),
    ("童趣玩具屋", "toys", False),
    ("拼装模型社", "toys", True),
    ("毛绒小熊", "toys", False),
    ("益智积木坊", "toys", False),
    ("燕山运动", "sports", False),
    ("瑜伽生活馆", "sports", False),
    ("骑行装备库", "sports", False),
    ("宠物乐园", "pets", False),
    ("喵星人用品", "pets", False),
    ("书香书店", "books", False),
    ("学霸文具", "books", False),
    ("夜市好物", "home", True),
)

# What each category's shops sell, at a typical price in yuan; a sale lands near it.
ITEMS = {
    "apparel": (
        ("T恤", 59),
        ("衬衫", 99),
        ("卫衣", 129),
        ("针织衫", 149),
        ("牛仔裤", 159),
        ("连衣裙", 199),
        ("运动鞋", 399),
        ("风衣", 499),
        ("羽绒服", 699),
    ),
    "beauty": (
        ("洗面奶", 59),
        ("面膜 10 片", 79),
        ("防晒霜", 99),
        ("口红套装", 249),
        ("面霜", 299),
        ("精华液", 399),
        ("香水", 599),
    ),
    "electronics": (
        ("充电宝", 99),
        ("电动牙刷", 199),
        ("蓝牙耳机", 299),
        ("智能手表", 999),
        ("扫地机器人", 1999),
        ("手机", 2999),
        ("平板电脑", 3299),
        ("笔记本电脑", 5499),
        ("微单相机", 5999),
    ),
    "food": (
        ("螺蛳粉 5 袋", 45),
        ("鲜花饼", 49),
        ("大米 10kg", 69),
        ("水果礼盒", 99),
        ("坚果礼盒", 129),
        ("茶叶礼盒", 299),
    ),
    "home": (
        ("乳胶枕", 159),
        ("不粘锅", 189),
        ("收纳柜", 259),
        ("四件套", 299),
        ("空气净化器", 1299),
        ("床垫", 1999),
        ("沙发", 2999),
    ),
    "toys": (("拼图", 59), ("毛绒玩具", 89), ("遥控车", 199), ("积木套装", 299), ("拼装模型", 399)),
    "sports": (("瑜伽垫", 79), ("哑铃套装", 199), ("骑行头盔", 229), ("登山包", 299), ("跑步鞋", 459)),
    "pets": (("宠物饮水机", 129), ("猫粮", 159), ("狗粮", 189), ("猫爬架", 299)),
    "books": (("考研资料", 99), ("绘本套装", 129), ("书包", 159), ("钢笔礼盒", 199)),
}

# Where customers live: (province, city, [(district, GB/T 2260 code)], weight).
PLACES = (
    ("北京市", "北京市", (("东城区", "110101"), ("朝阳区", "110105"), ("海淀区", "110108")), 7),
    ("上海市", "上海市", (("黄浦区", "310101"), ("徐汇区", "310104"), ("浦东新区", "310115")), 7),
    ("天津市", "天津市", (("和平区", "120101"), ("南开区", "120104")), 3),
    ("重庆市", "重庆市", (("渝中区", "500103"), ("江北区", "500105")), 4),
    ("广东省", "广州市", (("天河区", "440106"), ("越秀区", "440104"), ("海珠区", "440105")), 7),
    ("广东省", "深圳市", (("南山区", "440305"), ("福田区", "440304"), ("宝安区", "440306")), 7),
    ("浙江省", "杭州市", (("西湖区", "330106"), ("余杭区", "330110")), 5),
    ("浙江省", "宁波市", (("鄞州区", "330212"),), 2),
    ("江苏省", "南京市", (("玄武区", "320102"), ("鼓楼区", "320106")), 4),
    ("江苏省", "苏州市", (("姑苏区", "320508"), ("吴中区", "320506")), 4),
    ("四川省", "成都市", (("武侯区", "510107"), ("锦江区", "510104"), ("青羊区", "510105")), 5),
    ("湖北省", "武汉市", (("武昌区", "420106"), ("洪山区", "420111"), ("江汉区", "420103")), 4),
    ("山东省", "济南市", (("历下区", "370102"),), 2),
    ("山东省", "青岛市", (("市南区", "370202"), ("崂山区", "370212")), 3),
    ("河南省", "郑州市", (("金水区", "410105"), ("二七区", "410103")), 4),
    ("湖南省", "长沙市", (("岳麓区", "430104"), ("芙蓉区", "430102")), 3),
    ("福建省", "厦门市", (("思明区", "350203"), ("湖里区", "350206")), 2),
    ("福建省", "福州市", (("鼓楼区", "350102"),), 2),
    ("陕西省", "西安市", (("雁塔区", "610113"), ("碑林区", "610103")), 3),
    ("辽宁省", "沈阳市", (("和平区", "210102"),), 2),
    ("辽宁省", "大连市", (("中山区", "210202"),), 2),
    ("黑龙江省", "哈尔滨市", (("南岗区", "230103"),), 2),
    ("云南省", "昆明市", (("五华区", "530102"),), 2),
    ("广西壮族自治区", "南宁市", (("青秀区", "450103"),), 2),
    ("安徽省", "合肥市", (("蜀山区", "340104"),), 2),
    ("新疆维吾尔自治区", "乌鲁木齐市", (("天山区", "650102"), ("沙依巴克区", "650103")), 2),
    ("新疆维吾尔自治区", "喀什地区", (("喀什市", "653101"),), 1),
)
# Many people in Xinjiang keep Ürümqi time.
URUMQI_PROVINCE = "新疆维吾尔自治区"

RELATIONSHIPS = ("parent", "spouse", "sibling", "friend", "child")

# The demo staff: one or two per role, plus a superuser.
STAFF = (
    ("risk", Role.RISK_ANALYST),
    ("risk2", Role.RISK_ANALYST),  # the second analyst of the risk console's maker–checker
    ("agent1", Role.COLLECTIONS_AGENT),
    ("agent2", Role.COLLECTIONS_AGENT),
    ("field1", Role.FIELD_AGENT),
    ("field2", Role.FIELD_AGENT),
    ("manager", Role.COLLECTIONS_MANAGER),
    ("ops", Role.OPERATIONS_ADMIN),
    ("admin", None),
)
SUPERUSER_ROLE = "superuser"


def demo_prefix(seed: int) -> str:
    """What every platform id and provider reference of one seed starts with."""
    return f"demo{seed}-"


# --- Results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    username: str
    role: str
    password: str | None  # None: the user already existed and keeps its password


@dataclass
class Summary:
    seed: int
    today: datetime.date
    customers: int = 0
    orders: int = 0
    orders_by_status: Counter = field(default_factory=Counter)
    installments: int = 0
    overdue_installments: int = 0
    payments: int = 0
    allocations: int = 0
    open_cases_by_bucket: Counter = field(default_factory=Counter)
    resolved_cases: int = 0
    frozen_lines: int = 0
    personas: Counter = field(default_factory=Counter)
    decisions_by_outcome: Counter = field(default_factory=Counter)
    logins: list[Login] = field(default_factory=list)
    visits: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    promises: Counter = field(default_factory=Counter)


# --- Staff -----------------------------------------------------------------------------------


class DemoError(Exception):
    """The database is not ready for the demo book (say, not migrated)."""


def _strong_password(user: User) -> str:
    while True:
        password = secrets.token_urlsafe(12)  # 16 characters
        try:
            validate_password(password, user)
        except ValidationError:
            continue
        return password


def staff_ensure(*, fake) -> tuple[list[Login], list[User]]:
    """Create the demo staff users that do not exist yet, each with a fresh random password.

    Returns the logins (password None for users that already existed) and the collections
    agents, in username order, for the round-robin assignment of cases.
    """
    groups = {g.name: g for g in Group.objects.filter(name__in=[str(r) for r in Role])}
    missing = [str(r) for r in Role if str(r) not in groups]
    if missing:
        raise DemoError(f"role groups missing (run `manage.py migrate` first): {', '.join(missing)}")
    logins = []
    for username, role in STAFF:
        last_name, first_name = fake.last_name(), fake.first_name()
        user = User.objects.filter(username=username).first()
        password = None
        if user is None:
            user = User(
                username=username,
                first_name=first_name,
                last_name=last_name,
                email=f"{username}@demo.example.com",
                is_staff=role in (None, Role.OPERATIONS_ADMIN),
                is_superuser=role is None,
            )
            password = _strong_password(user)
            user.set_password(password)
            user.save()
            if role is not None:
                user.groups.add(groups[str(role)])
        # An existing user is left exactly as it is: no new password, no new role.
        logins.append(Login(username, SUPERUSER_ROLE if role is None else str(role), password))
    agents = list(
        User.objects.filter(
            username__in=[u for u, r in STAFF if r == Role.COLLECTIONS_AGENT],
            groups__name=Role.COLLECTIONS_AGENT,
        ).order_by("username")
    )
    return logins, agents


# --- The simulation ----------------------------------------------------------------------------


@dataclass
class _OrderSim:
    order: Order
    key: int  # stands in for the primary key (same order) until the rows are written
    installments: list[Installment] = field(default_factory=list)
    never_paid: bool = False  # the defaulter's order


@dataclass
class _Spec:
    """An order a customer will try to place."""

    placed_at: datetime.datetime
    forced_delivery: datetime.date | None = None  # the defaulter's order
    forced_plan: Plan | None = None


@dataclass
class _CustomerSim:
    customer: Customer
    line: CreditLine
    persona: Persona
    stop_paying: datetime.date | None = None
    orders: list[_OrderSim] = field(default_factory=list)
    installments: list[Installment] = field(default_factory=list)
    intent: dict[int, datetime.date] = field(default_factory=dict)  # id(installment) -> date paid
    credits: list[list] = field(default_factory=list)  # [payment, unapplied amount], oldest first
    credit_days: set = field(default_factory=set)


class PortfolioBuilder:
    """Builds the whole book in memory; `write()` inserts it."""

    def __init__(self, *, seed: int, customers: int, today: datetime.date, merchants: list[Merchant], fake):
        self.seed = seed
        self.n_customers = customers
        self.today = today
        self.yesterday = today - ONE_DAY
        self.start = add_months(today, -12)
        self.rng = random.Random(seed)
        # Coordinates of addresses come from their own stream, so the rest of the book is the
        # same whether or not addresses have them (visits: the field agents' route).
        self.geo_rng = random.Random(f"{seed}-geo")
        self.fake = fake
        self.tz = timezone.get_current_timezone()
        self.prefix = demo_prefix(seed)
        self.merchants = merchants
        self.risky_merchants = [m for m in merchants if m.is_risky] or merchants
        self.safe_merchants = [m for m in merchants if not m.is_risky] or merchants
        # One query instead of one per day; policy_on() must pick what policy_in_force() picks.
        self._policy_rows = list(Policy.objects.order_by("effective_from"))
        self._policy_dates = [p.effective_from for p in self._policy_rows]
        self._policies: dict[datetime.date, Policy] = {}
        if self.policy_on(today).pk != policy_in_force(on=today).pk:
            raise AssertionError("policy_on() disagrees with policy_in_force()")
        self._terms: dict[datetime.date, LateFeeTerms] = {}
        self._seq = 0
        self._order_no = 0
        self._payment_no = 0

        self.sims: list[_CustomerSim] = []
        self.contacts: list[EmergencyContact] = []
        self.orders: list[_OrderSim] = []
        self.payments: list[Payment] = []
        self.allocations: list[PaymentAllocation] = []
        self.order_events: list[OrderEvent] = []
        self.cases: list[CollectionCase] = []
        self.case_events: list[CaseEvent] = []

    # -- small helpers --

    def policy_on(self, day: datetime.date) -> Policy:
        """policy_in_force's rule (the latest version in force on `day`) on rows read once."""
        policy = self._policies.get(day)
        if policy is None:
            index = bisect.bisect_right(self._policy_dates, day)
            if index == 0:
                raise Policy.DoesNotExist(f"no policy is in force on {day:%Y-%m-%d}")
            policy = self._policies[day] = self._policy_rows[index - 1]
        return policy

    def terms_on(self, day: datetime.date) -> LateFeeTerms:
        terms = self._terms.get(day)
        if terms is None:
            terms = self._terms[day] = LateFeeTerms.from_policy(self.policy_on(day))
        return terms

    def at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.tz)

    def some_time(self, day: datetime.date, first_hour: int = 8, last_hour: int = 23) -> datetime.datetime:
        return self.at(day, self.rng.randint(first_hour, last_hour), self.rng.randint(0, 59))

    def pick(self, weights: dict):
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def event(self, order: Order, type_: OrderEventType, at: datetime.datetime, **payload) -> None:
        self.order_events.append(OrderEvent(order=order, type=type_, created_at=at, payload=payload))

    def transition(
        self, order: Order, to: OrderStatus, at: datetime.datetime, reason: str = "", record: bool = True
    ) -> None:
        """The demo's order_transition: the same edge and the same event, without a save.

        Shipping and delivery are not recorded as status events (`record=False`): they are
        a third of all events, shipped_at and delivered_at hold their times, and the
        "delivered, schedule built" event marks delivery; leaving them out keeps the seed fast.
        """
        if to not in ORDER_TRANSITIONS[OrderStatus(order.status)]:
            raise ValueError(f"demo order {order.external_reference}: {order.status} -> {to}")
        if record:
            self.event(
                order, OrderEventType.STATUS_CHANGED, at, old=str(order.status), new=str(to), reason=reason
            )
        order.status = to
        if to in (OrderStatus.COMPLETED, OrderStatus.RETURNED, OrderStatus.CANCELLED):
            order.closed_at = at

    # -- customers --

    def build(self) -> None:
        rng = self.rng
        counts = {
            DEFAULTER: max(1, min(self.n_customers, max(4, round(self.n_customers * DEFAULTER.share)))),
            LATE_PAYER: round(self.n_customers * LATE_PAYER.share),
            RETURNER: round(self.n_customers * RETURNER.share),
        }
        for persona in (LATE_PAYER, RETURNER):
            counts[persona] = min(counts[persona], self.n_customers - sum(counts.values()) + counts[persona])
        counts[GOOD_PAYER] = self.n_customers - sum(counts.values())
        cast = [p for p in (DEFAULTER, LATE_PAYER, RETURNER, GOOD_PAYER) for _ in range(counts[p])]
        rng.shuffle(cast)
        defaulters_seen = 0
        for number, persona in enumerate(cast, start=1):
            sim = self._customer(number, persona)
            if persona.defaults:
                low, high = DEFAULT_DPD_RANGES[defaulters_seen % len(DEFAULT_DPD_RANGES)]
                defaulters_seen += 1
                sim.stop_paying = self.today - datetime.timedelta(days=rng.randint(low, high))
            self.sims.append(sim)
            self._play(sim, self._order_specs(sim))
        self._close_books()

    def _customer(self, number: int, persona: Persona) -> _CustomerSim:
        rng, fake = self.rng, self.fake
        province, city, districts, _weight = rng.choices(PLACES, weights=[p[3] for p in PLACES])[0]
        district, area_code = rng.choice(districts)
        if rng.random() < 0.15:  # registered elsewhere than where they live now
            area_code = rng.choice(rng.choice(PLACES)[2])[1]
        birth = self.today - datetime.timedelta(days=rng.randint(18 * 365 + 5, 60 * 365))
        first17 = f"{area_code}{birth:%Y%m%d}{rng.randint(1, 999):03d}"
        phone = fake.phone_number()
        customer = Customer(
            platform_user_id=f"{self.prefix}{number:06d}",
            name=fake.name(),
            phone=phone,
            email=fake.free_email() if rng.random() < 0.4 else "",
            national_id=first17 + national_id_check_char(first17),
            province=province,
            city=city,
            district=district,
            street=(
                f"{fake.street_name()}{rng.randint(1, 999)}号"
                f"{rng.randint(1, 30)}栋{rng.randint(1, 6)}单元{rng.randint(1, 33)}{rng.randint(1, 8):02d}室"
            ),
            timezone="Asia/Urumqi" if province == URUMQI_PROVINCE and rng.random() < 0.5 else "Asia/Shanghai",
            language=Language.EN if rng.random() < 0.1 else Language.ZH_HANS,
        )
        customer.latitude, customer.longitude = demo_coordinates(self.geo_rng, city, district)
        grade = self.pick(persona.grades)
        low, high = GRADE_SCORES[grade]
        line = CreditLine(
            customer=customer,
            limit=GRADE_LIMITS[grade],
            grade=grade,
            score=rng.randint(low, high),
            status=CreditLineStatus.ACTIVE,
        )
        for _ in range(rng.choice((1, 1, 2))):
            self.contacts.append(
                EmergencyContact(
                    customer=customer,
                    name=fake.name(),
                    relationship=rng.choice(RELATIONSHIPS),
                    phone=fake.phone_number(),
                )
            )
        return _CustomerSim(customer=customer, line=line, persona=persona)

    def _order_specs(self, sim: _CustomerSim) -> list[_Spec]:
        """When the customer will try to buy; sets when they joined."""
        rng = self.rng
        specs = []
        if sim.stop_paying is not None:
            # The defaulter's order (their first): its first instalment falls due the day they stop paying.
            plan = (
                Plan.PAY_LATER if rng.random() < 0.6 else rng.choice((Plan.INSTALMENTS_3, Plan.INSTALMENTS_6))
            )
            if plan == Plan.PAY_LATER:
                delivered = sim.stop_paying - datetime.timedelta(
                    days=self.policy_on(sim.stop_paying).pay_later_trial_days
                )
            else:
                delivered = add_months(sim.stop_paying, -1)
            placed = delivered - datetime.timedelta(days=3)
            joined = placed - datetime.timedelta(days=rng.randint(0, 40))
            specs.append(_Spec(self.some_time(placed, 9, 22), forced_delivery=delivered, forced_plan=plan))
            first, extra = placed + ONE_DAY, rng.randint(0, 3)
        else:
            joined = self.today - datetime.timedelta(days=rng.randint(3, 365 + 120))
            first = max(joined, self.start)
            window = (self.yesterday - first).days
            expected = sim.persona.orders_a_year * max(window, 1) / 365
            extra = 1 + min(int(rng.expovariate(1 / max(expected, 0.3))), 20)
            if sim.line.grade == Grade.E:
                extra = rng.randint(1, 2)
        sim.customer.created_at = self.at(joined, 7, rng.randint(0, 59))  # before any order that day
        span = max((self.yesterday - first).days, 0)
        for _ in range(extra):
            day = first + datetime.timedelta(days=rng.randint(0, span))
            specs.append(_Spec(self.some_time(day, 8, 23)))
        return specs

    # -- playing a customer's year forward --

    def _play(self, sim: _CustomerSim, specs: list[_Spec]) -> None:
        queue: list = []

        def push(when: datetime.datetime, kind: str, *data) -> None:
            heapq.heappush(queue, (when, self.next_seq(), kind, data))

        for spec in specs:
            push(spec.placed_at, "place", spec)
        handlers = {
            "place": self._place,
            "cancel": self._cancel,
            "ship": self._ship,
            "deliver": self._deliver,
            "return": self._return,
            "credit": self._apply_credit,
            "pay": self._pay,
        }
        while queue:
            when, _, kind, data = heapq.heappop(queue)
            if when.date() >= self.today:
                continue  # the books are closed through yesterday
            handlers[kind](sim, when, push, *data)

    def _outstanding_principal(self, sim: _CustomerSim) -> Decimal:
        total = ZERO
        for o in sim.orders:
            if o.order.status in (OrderStatus.APPROVED, OrderStatus.SHIPPED):
                total += o.order.amount
            elif o.order.status == OrderStatus.DELIVERED:
                total += sum((i.principal_due - i.principal_paid for i in o.installments), ZERO)
        return total

    def _days_past_due(self, sim: _CustomerSim, day: datetime.date) -> int:
        overdue = [i.due_date for i in sim.installments if i.due_date < day and _owed(i) > ZERO]
        return (day - min(overdue)).days if overdue else 0

    def _basket(self, category: str) -> tuple[str, Decimal]:
        """An item and its price: near the item's typical price, several of a cheap one."""
        rng = self.rng
        item, typical = rng.choice(ITEMS[category])
        quantity = rng.choice((1, 1, 1, 2, 3)) if typical < 150 else 1
        # The random spread is a plain factor; the price itself is only ever a Decimal.
        spread = Decimal(rng.lognormvariate(0, 0.3)).quantize(Decimal("0.001"))
        raw = min(max(typical * quantity * spread, Decimal(39)), Decimal(7999))
        whole = int(raw)
        # Shop prices: 59.90 below ¥100, 199.00 or 1299.00 above.
        price = Decimal(whole) + Decimal("0.90") if whole < 100 else Decimal(whole // 10 * 10 + 9)
        return f"{item} ×{quantity}", min(max(price, Decimal("39.00")), Decimal("7999.00")).quantize(CENT)

    def _plan(self, amount: Decimal) -> Plan:
        if amount < 300:
            weights = {Plan.PAY_LATER: 85, Plan.INSTALMENTS_3: 15}
        elif amount < 1000:
            weights = {Plan.PAY_LATER: 55, Plan.INSTALMENTS_3: 30, Plan.INSTALMENTS_6: 15}
        else:
            weights = {
                Plan.PAY_LATER: 25,
                Plan.INSTALMENTS_3: 25,
                Plan.INSTALMENTS_6: 30,
                Plan.INSTALMENTS_12: 20,
            }
        return self.pick(weights)

    def _place(self, sim: _CustomerSim, when, push, spec: _Spec) -> None:
        """order_place, in memory: the same checks, in the same order."""
        rng = self.rng
        forced = spec.forced_plan is not None
        risky = forced or rng.random() < (0.25 if sim.persona.defaults else 0.04)
        merchant = rng.choice(self.risky_merchants if risky else self.safe_merchants)
        # A merchant re-categorised in the admin since an earlier seed sells home goods here.
        item_summary, amount = self._basket(merchant.category if merchant.category in ITEMS else "home")
        available = max(sim.line.limit - self._outstanding_principal(sim), ZERO)
        if forced:
            amount = max(min(amount, available), Decimal("39.00"))
        plan = spec.forced_plan or self._plan(amount)
        fee_rate = self.policy_on(when.date()).fee_rate_for(PLAN_INSTALLMENTS[plan])

        reasons = []
        if self._days_past_due(sim, when.date()) >= self.policy_on(when.date()).freeze_at_dpd:
            reasons.append("credit_line_not_active")  # frozen until a person unfreezes it
        elif sim.line.grade == Grade.E:
            reasons.append("grade_no_credit")
        elif amount > available:
            reasons.append("over_available_limit")

        self._order_no += 1
        order = Order(
            customer=sim.customer,
            merchant=merchant,
            external_reference=f"{self.prefix}O{self._order_no:07d}",
            channel=self.pick(CHANNEL_WEIGHTS),
            item_summary=item_summary,
            amount=amount,
            plan=plan,
            fee_rate=fee_rate,
            fee_amount=apply_rate(amount, fee_rate),
            placed_at=when,
            status=OrderStatus.DECLINED if reasons else OrderStatus.APPROVED,
            decline_reasons=reasons,
        )
        o = _OrderSim(order=order, key=len(self.orders) + 1, never_paid=spec.forced_delivery is not None)
        self.orders.append(o)
        sim.orders.append(o)
        if reasons:
            self.event(order, OrderEventType.DECLINED, when, reasons=reasons)
            return
        self.event(order, OrderEventType.PLACED, when, amount=str(amount), plan=str(plan))
        if spec.forced_delivery is not None:
            push(self.some_time(spec.forced_delivery - 2 * ONE_DAY, 9, 20), "ship", o, spec.forced_delivery)
        elif rng.random() < 0.03:
            push(when + datetime.timedelta(hours=rng.randint(1, 20)), "cancel", o)
        else:
            push(when + datetime.timedelta(hours=rng.randint(6, 40)), "ship", o, None)

    def _cancel(self, sim, when, push, o: _OrderSim) -> None:
        self.transition(o.order, OrderStatus.CANCELLED, when, reason="cancelled by the shopper")

    def _ship(self, sim, when, push, o: _OrderSim, delivery: datetime.date | None) -> None:
        self.transition(o.order, OrderStatus.SHIPPED, when, record=False)
        o.order.shipped_at = when
        delivered_at = (
            self.some_time(delivery, 9, 20)
            if delivery is not None
            else when + datetime.timedelta(hours=self.rng.randint(20, 96))
        )
        push(delivered_at, "deliver", o)

    def _deliver(self, sim: _CustomerSim, when, push, o: _OrderSim) -> None:
        """order_deliver, in memory: the schedule starts at delivery."""
        rng, order = self.rng, o.order
        self.transition(order, OrderStatus.DELIVERED, when, record=False)
        order.delivered_at = when
        delivered_on = when.date()
        lines = schedule_lines(
            principal=order.amount,
            fee_rate=order.fee_rate,
            installments=PLAN_INSTALLMENTS[Plan(order.plan)],
            delivered_on=delivered_on,
            trial_days=self.policy_on(delivered_on).pay_later_trial_days,
        )
        for line in lines:
            installment = Installment(
                order_id=o.key,
                customer=sim.customer,
                sequence=line.sequence,
                due_date=line.due_date,
                principal_due=line.principal,
                fee_due=line.fee,
                status=InstallmentStatus.SCHEDULED,
            )
            o.installments.append(installment)
            sim.installments.append(installment)
            if line.due_date not in sim.credit_days:
                sim.credit_days.add(line.due_date)
                push(self.at(line.due_date, 6), "credit")
        self.event(
            order,
            OrderEventType.DELIVERED,
            when,
            installments=len(lines),
            first_due=lines[0].due_date.isoformat(),
        )

        if sim.stop_paying is None and rng.random() < sim.persona.return_rate:
            asked = delivered_on + datetime.timedelta(days=rng.randint(1, 3))
            if asked >= self.today:
                return  # nothing to record yet; the shopper has not decided
            returned_on = delivered_on + datetime.timedelta(days=rng.randint(4, 8))
            if returned_on >= self.today:
                # The goods are on their way back: collection on this order is paused.
                order.hold, order.hold_since = Hold.RETURN, asked
                self.event(
                    order, OrderEventType.HOLD_OPENED, self.some_time(asked, 9, 21), hold=str(Hold.RETURN)
                )
                return
            full = rng.random() < 0.75
            push(self.some_time(returned_on, 9, 21), "return", o, full)
            if full:
                return
        self._intend(sim, o, delivered_on, push)

    def _intend(self, sim: _CustomerSim, o: _OrderSim, delivered_on: datetime.date, push) -> None:
        """Decide, from the persona, when each instalment will be paid (or that it never will)."""
        rng, persona = self.rng, sim.persona
        if o.never_paid:
            return
        if len(o.installments) > 1 and rng.random() < persona.prepay:
            day = delivered_on + datetime.timedelta(days=rng.randint(10, 25))
            for installment in o.installments:
                sim.intent[id(installment)] = day
            push(self.some_time(day, 8, 23), "pay", o.installments[-1], None)
            return
        for installment in o.installments:
            due = installment.due_date
            if sim.stop_paying is not None and due >= sim.stop_paying:
                continue  # the defaulter never pays this
            roll = rng.random()
            if roll < persona.on_time:
                early = rng.randint(1, 5) if roll < persona.on_time * 0.2 else 0
                day = max(due - datetime.timedelta(days=early), delivered_on + ONE_DAY)
            else:
                band = rng.choices(persona.late_days, weights=[b[0] for b in persona.late_days])[0]
                day = due + datetime.timedelta(days=rng.randint(band[1], band[2]))
                if (day - due).days > 6 and rng.random() < persona.partial_payment:
                    half = due + datetime.timedelta(days=rng.randint(1, (day - due).days - 1))
                    push(self.some_time(half, 8, 23), "pay", installment, Decimal("0.5"))
            sim.intent[id(installment)] = day
            push(self.some_time(day, 8, 23), "pay", installment, None)

    def _return(self, sim: _CustomerSim, when, push, o: _OrderSim, full: bool) -> None:
        """order_return, in memory, before anything on the order was paid (no refunds)."""
        self._accrue(sim, when.date())  # customer_catch_up: the late fees through today first
        order = o.order
        principal_left = sum((i.principal_due for i in o.installments), ZERO)
        amount = principal_left
        if not full:
            share = Decimal(self.rng.randint(20, 60)) / 100
            amount = max((principal_left * share).quantize(Decimal("1")), Decimal("1")).quantize(CENT)
            amount = min(amount, principal_left - CENT)
        remaining = amount
        for installment in sorted(o.installments, key=lambda i: -i.sequence):
            if remaining == ZERO:
                break
            cut = min(remaining, installment.principal_due)
            old = installment.principal_due
            installment.principal_due = old - cut
            installment.fee_due = prorate(installment.fee_due, installment.principal_due, old)
            remaining -= cut
        for installment in o.installments:
            if full:
                installment.late_fee_due = installment.late_fee_paid + installment.late_fee_waived
            self._restatus(installment, when)
        self.event(
            order,
            OrderEventType.RETURNED,
            when,
            amount=str(amount),
            full=full,
            reason="goods returned",
            refunded="0.00",
        )
        if full:
            self.transition(order, OrderStatus.RETURNED, when, reason="goods returned")

    # -- money --

    def _restatus(self, installment: Installment, at: datetime.datetime) -> None:
        status = status_on(installment, at.date())
        if status == InstallmentStatus.PAID and installment.paid_at is None:
            installment.paid_at = at
        elif status != InstallmentStatus.PAID:
            installment.paid_at = None
        installment.status = status

    def _accrue(self, sim: _CustomerSim, through: datetime.date) -> None:
        for o in sim.orders:
            if o.order.hold or not any(
                i.due_date < through and i.principal_due > i.principal_paid for i in o.installments
            ):
                continue
            late_fee_accrue(installments=o.installments, through=through, terms_on=self.terms_on)

    def _payable(self, sim: _CustomerSim, day: datetime.date) -> list[Installment]:
        return allocation_order(i for i in sim.installments if i.due_date <= day and _owed(i) > ZERO)

    def _post(self, sim, payment: Payment, lines, kind: AllocationKind, when: datetime.datetime) -> None:
        """_save_allocations, in memory: entries, statuses, events and paid-up orders."""
        if not lines:
            return
        by_order: dict[int, list] = {}
        for line in lines:
            self.allocations.append(
                PaymentAllocation(
                    payment=payment,
                    installment=line.installment,
                    component=line.component,
                    amount=line.amount,
                    kind=kind,
                    business_date=when.date(),
                )
            )
            self._restatus(line.installment, when)
            by_order.setdefault(line.installment.order_id, []).append(
                [line.installment.sequence, str(line.component), str(line.amount)]
            )
        for key, order_lines in by_order.items():
            o = self.orders[key - 1]
            self.event(
                o.order,
                OrderEventType.PAYMENT_ALLOCATED,
                when,
                payment=payment.external_reference,
                kind=str(kind),
                lines=order_lines,
            )
            if o.order.status == OrderStatus.DELIVERED and all(_owed(i) == ZERO for i in o.installments):
                self.transition(o.order, OrderStatus.COMPLETED, when, reason="paid in full")

    def _pay(self, sim: _CustomerSim, when, push, target: Installment, part: Decimal | None) -> None:
        """The customer pays what they mean to: payment_post, in memory."""
        rng, day = self.rng, when.date()
        # The sweep for this business date ran at 00:30: a late payment pays today's late fee too.
        self._accrue(sim, day)
        if part is not None:
            amount = (_owed(target) * part).quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            meant = [i for i in sim.installments if sim.intent.get(id(i), self.today) <= day]
            amount = sum((_owed(i) for i in meant), ZERO) - sum((c[1] for c in sim.credits), ZERO)
            if amount > ZERO and rng.random() < sim.persona.round_up:
                amount = Decimal(math.ceil((amount + 1) / 10) * 10).quantize(CENT)
        if amount <= ZERO:
            return
        self._payment_no += 1
        payment = Payment(
            customer=sim.customer,
            amount=amount,
            received_at=when,
            method=self.pick(METHOD_WEIGHTS),
            external_reference=f"{self.prefix}P{self._payment_no:07d}",
        )
        lines, left = allocate(amount, self._payable(sim, day))
        payment.credit_created = left
        self.payments.append(payment)
        self._post(sim, payment, lines, AllocationKind.PAYMENT, when)
        if left > ZERO:
            sim.credits.append([payment, left])

    def _apply_credit(self, sim: _CustomerSim, when, push) -> None:
        """credit_balance_apply on a due date: oldest payment's credit first. The sweep applies
        it before that day's late fees."""
        if not sim.credits:
            return
        self._accrue(sim, when.date() - ONE_DAY)
        installments = self._payable(sim, when.date())
        for source in sim.credits:
            lines, left = allocate(source[1], installments)
            source[1] = left
            self._post(sim, source[0], lines, AllocationKind.CREDIT, when)
        sim.credits = [c for c in sim.credits if c[1] > ZERO]

    # -- today: late fees through yesterday, statuses, cases, freezes --

    def _close_books(self) -> None:
        for sim in self.sims:
            self._accrue(sim, self.yesterday)
            for installment in sim.installments:
                installment.status = status_on(installment, self.today)
            self._cases(sim)

    def _cases(self, sim: _CustomerSim) -> None:
        """Open a case for today's arrears and a resolved one for each earlier spell of arrears."""
        spans = []
        for i in sim.installments:
            last = i.paid_at.date() - ONE_DAY if i.paid_at else self.today
            if last > i.due_date:
                spans.append((i.due_date + ONE_DAY, last, i))
        if not spans:
            return
        spans.sort(key=lambda s: (s[0], s[1]))
        spells, current = [], [spans[0]]
        for span in spans[1:]:
            if span[0] <= max(s[1] for s in current) + ONE_DAY:
                current.append(span)
            else:
                spells.append(current)
                current = [span]
        spells.append(current)
        freeze_at = self.policy_on(self.today).freeze_at_dpd
        for spell in spells:
            first, last = spell[0][0], max(s[1] for s in spell)
            worst, day = 0, first
            while day <= last:
                worst = max(worst, max((day - s[2].due_date).days for s in spell if s[0] <= day <= s[1]))
                day += ONE_DAY
            opened_at = self.at(first, 2, 0)
            if last == self.today:
                dpd = self._days_past_due(sim, self.today)
                case = CollectionCase(
                    customer=sim.customer,
                    status=CaseStatus.OPEN,
                    days_past_due=dpd,
                    bucket=Bucket.for_dpd(dpd),
                    opened_at=opened_at,
                )
                if dpd >= freeze_at:
                    # As the sweep froze it, the night the arrears reached the threshold.
                    frozen_on = first + datetime.timedelta(days=freeze_at - 1)
                    sim.line.status = CreditLineStatus.FROZEN
                    sim.line.status_reason = overdue_freeze_reason(days=freeze_at, on=frozen_on)
                    sim.line.status_changed_at = self.at(frozen_on, 2, 0)
            else:
                closed_at = max(s[2].paid_at for s in spell)
                case = CollectionCase(
                    customer=sim.customer,
                    status=CaseStatus.RESOLVED,
                    days_past_due=worst,
                    bucket=Bucket.for_dpd(worst),
                    opened_at=opened_at,
                    closed_at=closed_at,
                )
                # A person unfroze the line once the arrears were paid.
                sim.line.status_changed_at = closed_at
            self.cases.append(case)

    # -- writing --

    def write(self, agents: Sequence[User]) -> None:
        """Insert the book, parents first; bulk_create fills each child's foreign key."""
        # Each customer's and credit line's first history row is dated when they signed up, not
        # when the seeder ran: the demo's later changes (a restriction at 09:30 today, the
        # rescoring) then come after it in the line's history whatever the time of seeding.
        _create(Customer, [s.customer for s in self.sims], dated=lambda customer: customer.created_at)
        _create(CreditLine, [s.line for s in self.sims], dated=lambda line: line.customer.created_at)
        _create(EmergencyContact, self.contacts)
        _create(Order, [o.order for o in self.orders])
        installments = []
        for o in self.orders:
            for installment in o.installments:
                installment.order_id = o.order.pk
                installments.append(installment)
        _create(Installment, installments)
        _create(Payment, self.payments)
        _create(PaymentAllocation, self.allocations)
        _create(OrderEvent, self.order_events)

        # Cases go round-robin to the collections agents, open ones first, worst first.
        open_cases = sorted((c for c in self.cases if c.closed_at is None), key=lambda c: -c.days_past_due)
        closed_cases = [c for c in self.cases if c.closed_at is not None]
        for n, case in enumerate(open_cases + closed_cases):
            case.assigned_agent = agents[n % len(agents)] if agents else None
        _create(CollectionCase, open_cases + closed_cases)
        for case in open_cases + closed_cases:
            payload = {"days_past_due": case.days_past_due, "bucket": str(case.bucket)}
            self.case_events.append(
                CaseEvent(case=case, type=CaseEventType.OPENED, created_at=case.opened_at, payload=payload)
            )
            if case.assigned_agent is not None:
                self.case_events.append(
                    CaseEvent(
                        case=case,
                        type=CaseEventType.ASSIGNED,
                        created_at=case.opened_at,
                        payload={"agent": case.assigned_agent.username, "rule": "round robin"},
                    )
                )
            if case.closed_at is not None:
                self.case_events.append(
                    CaseEvent(
                        case=case,
                        type=CaseEventType.CLOSED,
                        created_at=case.closed_at,
                        payload={"reason": "paid"},
                    )
                )
        _create(ContactAttempt, self._contact_history(open_cases))
        _create(CaseEvent, self.case_events)

    # A few recent contacts on each open case, within the CN conduct rules (one call a day at
    # most, in the day's window, only the latest call connected, so the US rules hold too).
    _LAST_CALL = (
        (ContactOutcome.REACHED, "客户表示本周内还款"),
        (ContactOutcome.NO_ANSWER, "无人接听"),
        (ContactOutcome.CLAIMS_PAID, "客户称已还款，待核实"),
        (ContactOutcome.WRONG_NUMBER, "号码有误，需核实"),
    )

    def _contact_history(self, open_cases: Sequence[CollectionCase]) -> list[ContactAttempt]:
        contacts = []
        # A customer with an order on hold (return, dispute) is not chased.
        held = {o.order.customer_id for o in self.orders if o.order.hold}
        for n, case in enumerate(open_cases):
            if case.assigned_agent is None or case.customer_id in held:
                continue
            last_outcome, last_summary = self._LAST_CALL[n % len(self._LAST_CALL)]
            plan = (
                (5, 10, ContactChannel.PHONE, ContactOutcome.NO_ANSWER, "无人接听"),
                (3, 14, ContactChannel.SMS, ContactOutcome.REACHED, "已发送还款提醒短信"),
                (1, 11, ContactChannel.PHONE, last_outcome, last_summary),
            )
            for days_ago, hour, channel, outcome, summary in plan:
                at = self.at(self.today - datetime.timedelta(days=days_ago), hour, 7 * (n % 8))
                if at < case.opened_at:
                    continue
                contact = ContactAttempt(
                    case=case,
                    customer=case.customer,
                    agent=case.assigned_agent,
                    at=at,
                    channel=channel,
                    party=ContactParty.DEBTOR,
                    direction=ContactDirection.OUTBOUND,
                    outcome=outcome,
                    summary=summary,
                )
                contacts.append(contact)
                self.case_events.append(
                    CaseEvent(
                        case=case,
                        type=CaseEventType.CONTACT,
                        actor=case.assigned_agent,
                        created_at=at,
                        payload={
                            "channel": str(channel),
                            "party": str(ContactParty.DEBTOR),
                            "direction": str(ContactDirection.OUTBOUND),
                            "outcome": str(outcome),
                            "emergency_contact": None,
                            "at": at.isoformat(),
                        },
                    )
                )
        return contacts

    def summary(self, summary: Summary) -> Summary:
        installments = [i for s in self.sims for i in s.installments]
        summary.customers = len(self.sims)
        summary.orders = len(self.orders)
        summary.orders_by_status = Counter(str(o.order.status) for o in self.orders)
        summary.installments = len(installments)
        summary.overdue_installments = sum(1 for i in installments if i.status == InstallmentStatus.OVERDUE)
        summary.payments = len(self.payments)
        summary.allocations = len(self.allocations)
        summary.open_cases_by_bucket = Counter(c.bucket for c in self.cases if c.closed_at is None)
        summary.resolved_cases = sum(1 for c in self.cases if c.closed_at is not None)
        summary.frozen_lines = sum(1 for s in self.sims if s.line.status == CreditLineStatus.FROZEN)
        summary.personas = Counter(s.persona.name for s in self.sims)
        return summary


def _create(model, objs: Sequence, *, dated: Callable | None = None) -> None:
    """Bulk-insert `objs`, with a baseline history row for each when `model` keeps a history,
    dated `dated(obj)` when given (else now)."""
    if hasattr(model, "history"):
        for obj in objs if dated else ():
            obj._history_date = dated(obj)  # simple-history's bulk_history_create reads it
        bulk_create_with_history(
            objs, model, batch_size=BATCH_SIZE, default_change_reason=DEMO_HISTORY_REASON
        )
    else:
        model.objects.bulk_create(objs, batch_size=BATCH_SIZE)


def merchants_ensure(*, today: datetime.date) -> list[Merchant]:
    """The demo merchants, created when missing (a second seed reuses them), in a fixed order."""
    existing = {m.name: m for m in Merchant.objects.filter(name__in=[name for name, _c, _r in MERCHANTS])}
    joined = timezone.make_aware(datetime.datetime.combine(add_months(today, -24), datetime.time(10)))
    _create(
        Merchant,
        [
            Merchant(name=name, category=category, is_risky=risky, created_at=joined)
            for name, category, risky in MERCHANTS
            if name not in existing
        ],
    )
    by_name = {m.name: m for m in Merchant.objects.filter(name__in=[name for name, _c, _r in MERCHANTS])}
    return [by_name[name] for name, _c, _r in MERCHANTS]


# The demo's collections teams: each seeded agent in one, so the case queue and the agents'
# shared queues have content; the demo manager manages both.
TEAMS = (("华南催收一组", "agent1"), ("华东催收二组", "agent2"))


def teams_ensure(*, agents: Sequence[User]) -> list[Team]:
    """Create the demo teams that do not exist yet (a second seed keeps them as they are)."""
    manager = User.objects.filter(username="manager", groups__name=Role.COLLECTIONS_MANAGER).first()
    by_username = {agent.username: agent for agent in agents}
    teams = []
    for name, username in TEAMS:
        team = Team.objects.filter(name=name).first()
        if team is None and manager is not None:
            team = Team.objects.create(name=name, manager=manager)
            if username in by_username:
                team.members.add(by_username[username])
        if team is not None:
            teams.append(team)
    return teams


def demo_data_exists(seed: int) -> bool:
    prefix = demo_prefix(seed)
    return (
        Customer.objects.filter(platform_user_id__startswith=prefix).exists()
        or Order.objects.filter(external_reference__startswith=prefix).exists()
        or Payment.objects.filter(external_reference__startswith=prefix).exists()
    )


# --- Home visits (visits) -------------------------------------------------------------------------
# Where the cities are (latitude, longitude of the centre); a district sits a little off it and an
# address a little off its district. About one address in six has no coordinates (as in life).
CITY_CENTRES = {
    "北京市": ("39.9042", "116.4074"),
    "上海市": ("31.2304", "121.4737"),
    "天津市": ("39.0842", "117.2009"),
    "重庆市": ("29.5630", "106.5516"),
    "广州市": ("23.1291", "113.2644"),
    "深圳市": ("22.5431", "114.0579"),
    "杭州市": ("30.2741", "120.1551"),
    "宁波市": ("29.8683", "121.5440"),
    "南京市": ("32.0603", "118.7969"),
    "苏州市": ("31.2990", "120.5853"),
    "成都市": ("30.5728", "104.0668"),
    "武汉市": ("30.5928", "114.3055"),
    "济南市": ("36.6512", "117.1201"),
    "青岛市": ("36.0671", "120.3826"),
    "郑州市": ("34.7466", "113.6254"),
    "长沙市": ("28.2282", "112.9388"),
    "厦门市": ("24.4798", "118.0894"),
    "福州市": ("26.0745", "119.2965"),
    "西安市": ("34.3416", "108.9398"),
    "沈阳市": ("41.8057", "123.4315"),
    "大连市": ("38.9140", "121.6147"),
    "哈尔滨市": ("45.8038", "126.5349"),
    "昆明市": ("25.0389", "102.7183"),
    "南宁市": ("22.8170", "108.3665"),
    "合肥市": ("31.8206", "117.2272"),
    "乌鲁木齐市": ("43.8256", "87.6168"),
    "喀什地区": ("39.4704", "75.9898"),
}
_MICRODEGREE = Decimal("0.000001")


def demo_coordinates(rng: random.Random, city: str, district: str) -> tuple[Decimal | None, Decimal | None]:
    centre = CITY_CENTRES.get(city)
    if centre is None or rng.random() < 1 / 6:
        return None, None
    # The district's offset from the centre is fixed by its name; the address's is random.
    offset = random.Random(f"{city}{district}")
    lat = (
        Decimal(centre[0])
        + Decimal(offset.randint(-400, 400)) / 10_000
        + Decimal(rng.randint(-150, 150)) / 10_000
    )
    lon = (
        Decimal(centre[1])
        + Decimal(offset.randint(-400, 400)) / 10_000
        + Decimal(rng.randint(-150, 150)) / 10_000
    )
    return lat.quantize(_MICRODEGREE), lon.quantize(_MICRODEGREE)


# How many visits of each kind the demo shows, at most (as many as there are eligible cases).
DEMO_VISITS = {"requested": 3, "today": 4, "done": 2, "rejected": 1}
# Today's visits, customer-local times, in the field agents' visiting hours.
DEMO_VISIT_HOURS = ((10, 0), (11, 30), (14, 0), (16, 30))


def _demo_photo() -> bytes:
    """A small picture of a door (Pillow), standing in for the field agents' evidence."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), (214, 222, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle((110, 40, 210, 230), fill=(140, 82, 45), outline=(60, 40, 20), width=4)
    draw.ellipse((188, 130, 198, 140), fill=(230, 200, 60))
    draw.rectangle((0, 230, 320, 240), fill=(120, 120, 120))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def visits_seed(*, today: datetime.date) -> Counter:
    """Home visits through the visits services: requested (for a manager to decide), approved for
    today for the demo field agents (field1 and field2), done yesterday with a photo, rejected.

    Only on open M3 and M4+ cases of customers who owe money overdue and hold no order on hold;
    a case the services refuse (a pending promise, say) is skipped.
    """

    from django.core.files.uploadedfile import SimpleUploadedFile

    from bnpl_admin.errors import DomainError
    from visits.selectors import ELIGIBLE_BUCKETS, visit_zone
    from visits.services import (
        Position,
        visit_approve,
        visit_check_in,
        visit_check_out,
        visit_record_outcome,
        visit_reject,
        visit_request,
    )

    made: Counter = Counter()
    manager = User.objects.filter(username="manager", groups__name=Role.COLLECTIONS_MANAGER).first()
    field_agents = list(
        User.objects.filter(username__in=("field1", "field2"), groups__name=Role.FIELD_AGENT).order_by(
            "username"
        )
    )
    if manager is None or len(field_agents) < 2:
        return made
    held = Order.objects.exclude(hold="").values("customer_id")
    cases = list(
        CollectionCase.objects.open()
        .filter(bucket__in=ELIGIBLE_BUCKETS, assigned_agent__groups__name=Role.COLLECTIONS_AGENT)
        .exclude(customer_id__in=held)
        .select_related("customer", "assigned_agent")
        .order_by("-days_past_due", "id")
    )
    now = (
        timezone.now()
        if today == business_date()
        else timezone.make_aware(datetime.datetime.combine(today, datetime.time(12)))
    )
    yesterday = today - ONE_DAY

    def local(day: datetime.date, hour: int, minute: int, customer) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=visit_zone(customer))

    def one(kind: str, case) -> bool:
        agent = case.assigned_agent
        customer = case.customer
        if kind == "requested":
            visit_request(
                case=case,
                by=agent,
                reason="多次电话无人接听，短信未回复，需上门核实地址并沟通还款",
                proposed_date=today + datetime.timedelta(days=2),
                now=now,
            )
        elif kind == "rejected":
            visit = visit_request(
                case=case, by=agent, reason="客户称已搬家，申请上门核实", proposed_date=today, now=now
            )
            visit_reject(visit=visit, by=manager, reason="先联系紧急联系人核实新地址", now=now)
        elif kind == "today":
            hour, minute = DEMO_VISIT_HOURS[made["today"] % len(DEMO_VISIT_HOURS)]
            visit = visit_request(
                case=case, by=agent, reason="逾期超过60天，失联，需上门走访", proposed_date=today, now=now
            )
            visit_approve(
                visit=visit,
                by=manager,
                field_agents=field_agents,
                scheduled_for=local(today, hour, minute, customer),
                reason="两人同行，注意文明沟通",
                now=now,
            )
        else:  # done yesterday, with a photo
            morning = local(yesterday, 8, 0, customer)
            visit = visit_request(
                case=case, by=agent, reason="逾期超过90天，需上门走访", proposed_date=yesterday, now=morning
            )
            visit = visit_approve(
                visit=visit,
                by=manager,
                field_agents=field_agents,
                scheduled_for=local(yesterday, 10, 0, customer),
                now=morning,
            )
            here = (customer.latitude, customer.longitude)
            position = (
                Position(latitude=here[0], longitude=here[1], accuracy=Decimal("18")) if all(here) else None
            )
            visit = visit_check_in(
                visit=visit, by=field_agents[0], at=local(yesterday, 10, 6, customer), position=position
            )
            photo = SimpleUploadedFile("door.jpg", _demo_photo(), content_type="image/jpeg")
            visit = visit_record_outcome(
                visit=visit,
                by=field_agents[0],
                outcome="promise_made" if made["done"] % 2 == 0 else "not_home",
                notes="见到本人，态度配合，承诺本月底前还清逾期款项"
                if made["done"] % 2 == 0
                else "敲门无人应答，邻居称白天上班",
                photos=[photo],
                now=local(yesterday, 10, 35, customer),
            )
            visit_check_out(
                visit=visit, by=field_agents[1], at=local(yesterday, 10, 40, customer), position=position
            )
        return True

    plan = [kind for kind, count in DEMO_VISITS.items() for _ in range(count)]
    for case in cases:
        if not plan:
            break
        try:
            with transaction.atomic():
                one(plan[0], case)
        except DomainError:
            continue  # the services refused this case (the rules hold for the demo too)
        made[plan.pop(0)] += 1
    return made


def seed_portfolio(*, seed: int, customers: int, today: datetime.date | None = None) -> Summary:
    """Build and write the demo book for `seed`. Call inside transaction.atomic()."""
    from faker import Faker  # imported here: only seeding needs it

    started = time.monotonic()
    today = today or business_date()
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    summary = Summary(seed=seed, today=today)
    summary.logins, agents = staff_ensure(fake=fake)
    teams = teams_ensure(agents=agents)
    assignment_rules_ensure(teams=teams)
    builder = PortfolioBuilder(
        seed=seed, customers=customers, today=today, merchants=merchants_ensure(today=today), fake=fake
    )
    builder.build()
    builder.write(agents)
    # The builder writes the book and its cases directly, as the nights' sweeps would have left
    # them; the sweep's last step sets each open case's stored amount overdue, so does this.
    case_amounts_refresh()
    case_page_extras(builder)
    builder.summary(summary)
    summary.promises = promises_seed(builder=builder)
    risk_seed(today=today)

    arrangements_seed()
    summary.visits = visits_seed(today=today)
    summary.decisions_by_outcome = decisions_seed(prefix=demo_prefix(seed), today=today)
    restrictions_demo(today=today)
    summary.seconds = time.monotonic() - started
    return summary


# --- Promises to pay (issue 11) -------------------------------------------------------------------
# Made in contacts, paid (or not) with real payments, and decided by the ledger, all through the
# services, so the case pages show promises kept, broken and pending as a person would have left them.
PROMISES_SEEDED = 9


def promises_seed(*, builder: PortfolioBuilder) -> Counter:
    """A few promises on the worst open cases whose customers can be called (nothing on hold): in
    turn one kept (paid in full before its date), one broken (paid in part), one pending (due in a
    few days). Returns the promises by status."""
    today = builder.today
    held = {o.order.customer_id for o in builder.orders if o.order.hold}
    cases = sorted(
        (
            case
            for case in builder.cases
            if case.closed_at is None
            and case.assigned_agent is not None
            and case.customer_id not in held
            and case.days_past_due >= 15
        ),
        key=lambda case: (-case.days_past_due, case.customer_id),
    )
    made = 0
    for n, case in enumerate(cases):
        if made >= PROMISES_SEEDED:
            break
        shape = ("kept", "broken", "pending")[made % 3]
        # (days ago the promise was made, days from today it falls due, days ago paid, share paid)
        made_ago, due_in, paid_ago, share = {
            "kept": (8, -3, 5, Decimal("1")),
            "broken": (9, -4, 6, Decimal("0.4")),
            "pending": (1, 5, None, None),
        }[shape]
        made_at = builder.at(today - datetime.timedelta(days=made_ago), 15, 5 * (n % 10))
        due = today + datetime.timedelta(days=due_in)
        # At most what a payment then could be allocated to, so a paid promise is covered.
        ceiling = promise_ceiling(
            customer_id=case.customer_id, due_date=due if paid_ago is None else made_at.date()
        )
        amount = (ceiling * Decimal("0.3")).quantize(CENT, rounding=ROUND_HALF_UP)
        if amount < Decimal("1.00"):
            continue
        try:
            contact_record(
                case=case,
                agent=case.assigned_agent,
                # An app message, not a call: the seeded calls keep within both profiles' limits.
                channel=ContactChannel.APP,
                direction=ContactDirection.INBOUND,
                party=ContactParty.DEBTOR,
                outcome=ContactOutcome.PROMISE_MADE,
                summary="客户承诺按期还款",
                now=made_at,
                promise_amount=amount,
                promise_due=due,
            )
        except CaseError:  # the conduct profile in force forbids the call then: another case
            continue
        made += 1
        if paid_ago is not None:
            payment_post(
                customer=case.customer,
                amount=(amount * share).quantize(CENT, rounding=ROUND_HALF_UP),
                reference=f"{builder.prefix}PROMISE-{n:04d}",
                received_at=builder.at(today - datetime.timedelta(days=paid_ago), 20, 15),
                method=PaymentMethod.WECHAT,
            )
    promises_decide(on=today)
    return Counter(
        Promise.objects.filter(case__in=[c for c in builder.cases if c.pk]).values_list("status", flat=True)
    )


# --- The risk console: the demo scorecard, every customer scored, increases waiting -------------


def risk_seed(*, today: datetime.date) -> None:
    """Fit the demo scorecard on the book (risk.fitting; a book too small to fit gets the
    hand-set version), have "risk" request its activation and "risk2" activate it, score every
    customer (risk.services.customers_rescore: limits fall, rise or wait for approval), and make
    sure a few increases wait in the approvals queue."""
    from risk import services as risk_services
    from risk.fitting import FitError, fit_scorecard, hand_set_version
    from risk.models import LimitChange, LimitChangeStatus

    maker = User.objects.get(username="risk")
    checker = User.objects.get(username="risk2")
    if risk_services.active_version() is None:
        try:
            version = fit_scorecard(on=today, by=maker)
        except FitError:
            version = hand_set_version(by=maker)
        risk_services.scorecard_activation_request(version=version, by=maker)
        risk_services.scorecard_activate(version=version, by=checker, reason="demo scorecard")
    risk_services.customers_rescore(on=today)
    wanted = 5 - LimitChange.objects.filter(status=LimitChangeStatus.PENDING).count()
    if wanted <= 0:
        return
    candidates = (
        CreditLine.objects.filter(status=CreditLineStatus.ACTIVE, limit__gt=0, limit__lt=Decimal("10000.00"))
        .exclude(customer__limit_changes__status=LimitChangeStatus.PENDING)
        .select_related("customer")
        .order_by("-score", "customer_id")[:wanted]
    )
    for line in candidates:
        risk_services.limit_increase_propose(
            customer=line.customer,
            new_limit=line.limit * 2,
            by=maker,
            reason="客户申请提额，近半年按时还款",
            on=today,
        )


# --- Case page (customer 360, issue 11): reminders sent and agents' notes on the open cases --------

_DEMO_NOTES = (
    "客户称工资下周五发放，届时一次性还清逾期款项。",
    "客户对第二期金额有疑问，已解释滞纳金计算方式。",
    "客户要求只在晚上七点后联系，已记录。",
    "客户手机常关机，建议改用短信和App消息。",
)


def case_page_extras(builder: PortfolioBuilder) -> None:
    """What the case page shows beyond the book: the reminders the outbox sent on the open cases'
    instalments (T-3, due date, then after due as the policy says; none while an order is on
    hold) as history rows like the contacts, and a note from the agent on some cases, written
    through collection.services.case_note_add."""
    from collection.services import case_note_add
    from reminders.models import Channel as ReminderChannel
    from reminders.models import Reminder, installment_key, kind_for_offset
    from reminders.models import Status as ReminderStatus

    today = builder.today
    offsets = sorted(builder.policy_on(today).reminder_offsets())
    open_customers = {case.customer_id: case for case in builder.cases if case.closed_at is None}
    held = {o.order.customer_id for o in builder.orders if o.order.hold}
    reminders = []
    for sim in builder.sims:
        case = open_customers.get(sim.customer.pk)
        if case is None or sim.customer.pk in held:
            continue
        for installment in sim.installments:
            for offset in offsets:
                day = installment.due_date + datetime.timedelta(days=offset)
                paid_on = installment.paid_at.date() if installment.paid_at else None
                if day >= today or day < case.opened_at.date() - datetime.timedelta(days=40):
                    continue
                if paid_on is not None and paid_on <= day:
                    continue
                kind = kind_for_offset(offset)
                when = f"将于{installment.due_date.isoformat()}到期" if offset < 0 else "已到期"
                sent_at = builder.at(day, 10, 5 * (installment.sequence % 6))
                reminders.append(
                    Reminder(
                        key=installment_key(installment.pk, kind, ReminderChannel.SMS),
                        kind=kind,
                        offset_days=offset,
                        channel=ReminderChannel.SMS,
                        customer=sim.customer,
                        installment=installment,
                        business_date=day,
                        send_on=day,
                        not_before=sent_at,
                        next_attempt_at=sent_at,
                        status=ReminderStatus.SENT,
                        attempts=1,
                        sends=1,
                        sent_at=sent_at,
                        recipient=sim.customer.phone,
                        body=(
                            f"【先买后付】{sim.customer.name}，您好：您的第{installment.sequence}期账单"
                            f"{when}，"
                            "请按时还款，如已还款请忽略。"
                        ),
                        created_at=sent_at,
                    )
                )
    _create(Reminder, reminders)
    # A note on every third open case, by its agent, through the service (today, as an agent would).
    open_cases = sorted(open_customers.values(), key=lambda case: (-case.days_past_due, case.pk))
    for n, case in enumerate(open_cases[::3]):
        if case.assigned_agent is not None:
            case_note_add(case=case, by=case.assigned_agent, text=_DEMO_NOTES[n % len(_DEMO_NOTES)])


# --- Assignment rules by bucket (collection.assignment): the early buckets to the first team,
# the later ones to the second, as the demo manager would set them. A second seed keeps them.
RULES = (("M1", 0, "by load"), ("M2", 1, "round robin"), ("M3", 1, "by load"), ("M4+", 1, "by load"))


def assignment_rules_ensure(*, teams: Sequence[Team]) -> None:
    from collection.assignment import assignment_rule_create
    from collection.models import AssignmentRule

    manager = User.objects.filter(username="manager", groups__name=Role.COLLECTIONS_MANAGER).first()
    if manager is None or len(teams) < 2 or AssignmentRule.objects.exists():
        return
    for bucket, team, method in RULES:
        assignment_rule_create(by=manager, bucket=bucket, team=teams[team], method=method)


# --- Settlements, restructures and write-offs (settlements app), through its services -----------


def arrangements_seed() -> Counter:
    """Settlements waiting for a manager and approved, restructures approved and waiting, and the
    write-offs the nightly sweep would propose, made through the settlements services by the
    cases' own agents and decided by the demo manager, so the approval queue and the case
    timelines show them. Deterministic: the worst open cases below the write-off threshold first."""
    from orders.selectors import customer_settleable_balance
    from policy.selectors import policy_in_force
    from settlements.services import arrangement_approve, arrangement_propose, write_offs_propose

    made: Counter = Counter()
    manager = User.objects.filter(username="manager", groups__name=Role.COLLECTIONS_MANAGER).first()
    if manager is None:
        return made
    today = business_date()
    threshold = policy_in_force(on=today).write_off_proposal_dpd
    cases = list(
        CollectionCase.objects.open()
        .filter(
            status=CaseStatus.OPEN,
            days_past_due__gt=0,
            days_past_due__lt=threshold,
            assigned_agent__groups__name=Role.COLLECTIONS_AGENT,
        )
        .select_related("customer", "assigned_agent")
        .order_by("-days_past_due", "id")[:12]
    )
    plans = [
        ("settlement", False, "客户失业，申请减免滞纳金"),
        ("restructure", True, "客户收入下降，同意分 6 期还款"),
        ("settlement", True, "客户一次性结清，减免部分费用"),
        ("restructure", False, "客户申请延长还款期"),
        ("settlement", False, "客户家中有人住院，申请减免"),
    ]
    for case, (kind, approve, reason) in zip(cases, plans, strict=False):
        owed = customer_settleable_balance(customer=case.customer)
        if owed["total"] <= ZERO:
            continue
        if kind == "settlement":
            terms = {
                "late_fee_discount": owed["late_fee"],
                "fee_discount": (owed["fee"] / 2).quantize(CENT),
                # A twentieth: less than the last of 12 instalments, so no instalment is waived whole.
                "principal_discount": (owed["principal"] / 20).quantize(CENT),
            }
            if sum(terms.values(), ZERO) <= ZERO:
                continue
        else:
            terms = {"months": 6}
        request = arrangement_propose(case=case, by=case.assigned_agent, kind=kind, reason=reason, **terms)
        if approve:
            arrangement_approve(request=request, by=manager, reason="核实无误，同意")
        made[(kind, approve)] += 1
    made["write_off"] = write_offs_propose(on=today)
    return made


# --- Order decisions (decisions app) ---------------------------------------------------------

# The newest orders the decision service decides again, linked to them (a sample keeps the seed
# fast: each decision is a few queries), and the platform's calls for orders not yet accepted.
DECIDED_ORDERS = 60
PLATFORM_CALLS_WAITING = 6  # referred within the review window: the review queue's content
PLATFORM_CALLS_REVIEWED = 4  # referred two days ago: declined by the analyst, or expired


def decisions_seed(*, prefix: str, today: datetime.date) -> Counter:
    """Decisions through decisions.services for the newest demo orders and for a few of the
    platform's calls: approved, declined and referred ones, a few referrals waiting for review.

    A referral linked to a demo order is approved by the demo risk analyst (the order went
    ahead in the book), so the seeded orders stay exactly as the book played them; the
    declined and expired referrals are of calls that never became orders.
    """
    from decisions.models import Outcome, ReviewOutcome
    from decisions.services import order_decide, order_review, order_reviews_expire

    analyst = User.objects.filter(username="risk", groups__name=Role.RISK_ANALYST).first()
    orders = list(
        Order.objects.filter(external_reference__startswith=prefix)
        .select_related("customer", "merchant")
        .order_by("-placed_at", "-id")[:DECIDED_ORDERS]
    )
    counts: Counter = Counter()
    for order in reversed(orders):
        decision = order_decide(
            customer=order.customer,
            amount=order.amount,
            merchant=order.merchant,
            channel=order.channel,
            placed_at=order.placed_at,
            order=order,
        )
        counts[decision.outcome] += 1
        if decision.outcome == Outcome.REFER and analyst is not None:
            order_review(
                decision=decision, by=analyst, outcome=ReviewOutcome.APPROVED, note="已电话核实，同意放款"
            )

    risky = list(Merchant.objects.filter(is_risky=True).order_by("name")) or list(
        Merchant.objects.order_by("name")
    )
    customers = list(
        Customer.objects.filter(
            platform_user_id__startswith=prefix,
            status=CustomerStatus.ACTIVE,
            credit_line__status=CreditLineStatus.ACTIVE,
        )
        .exclude(credit_line__grade=Grade.E)
        .order_by("platform_user_id")[: PLATFORM_CALLS_WAITING + PLATFORM_CALLS_REVIEWED]
    )
    now = timezone.now()
    amounts = (Decimal("299.00"), Decimal("1288.00"), Decimal("86.50"), Decimal("659.00"), Decimal("2399.00"))
    for n, customer in enumerate(customers):
        waiting = n < PLATFORM_CALLS_WAITING
        decision = order_decide(
            customer=customer,
            amount=amounts[n % len(amounts)],
            merchant=risky[n % len(risky)],
            channel=(Channel.LIVESTREAM, Channel.SHORT_VIDEO)[n % 2],
            placed_at=now - datetime.timedelta(hours=2 + 3 * n if waiting else 48 + n),
        )
        counts[decision.outcome] += 1
        if decision.outcome == Outcome.REFER and not waiting and analyst is not None and n % 2:
            order_review(
                decision=decision, by=analyst, outcome=ReviewOutcome.DECLINED, note="直播间高风险商户，拒绝"
            )
    order_reviews_expire(now=now)  # the rest of the old calls: declined, review expired
    return counts


# --- Restrictions and the decision log (issue 12) ----------------------------------------------


def restrictions_demo(*, today: datetime.date) -> None:
    """A flagged merchant's customers frozen through a bulk job (left done) and a verification of
    the decision log, both through the services."""
    analyst = User.objects.filter(groups__name=Role.RISK_ANALYST).order_by("id").first()
    if analyst is None:
        return
    flagged = list(Merchant.objects.filter(is_risky=True).order_by("name"))
    # The flagged merchant with the fewest lines to freeze that still has some, under the
    # approval threshold so the demo job runs without a checker.
    sized = sorted(
        (
            lines_to_change(spec={"merchant": m.pk}, action=RestrictionAction.FREEZE, on=today).count(),
            m.name,
            m,
        )
        for m in flagged
    )
    chosen = next((m for count, _name, m in sized if 0 < count <= approval_threshold(on=today)), None)
    if chosen is not None:
        job = restriction_job_preview(
            spec={"merchant": chosen.pk},
            action=RestrictionAction.FREEZE,
            reason_code=RestrictionReason.MERCHANT_RISK,
            text="商户涉嫌刷单，冻结其客户额度待复核",
            by=analyst,
        )
        restriction_job_confirm(job=job, by=analyst, publish=False)
        # At a fixed time of the business day, so the same seed gives the same book.
        at = timezone.make_aware(datetime.datetime.combine(today, datetime.time(9, 30)))
        restriction_job_run(job=job, on=today, at=at)
    chain_verification_start(by=analyst, inline=True)
