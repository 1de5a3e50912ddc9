"""Staff users, the platform's customers (shoppers), their emergency contacts and credit lines."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from bnpl_admin.money import MoneyField

from .names import person_name
from .roles import Role

phone_validator = RegexValidator(r"^\+?\d{6,15}$", _("Enter a phone number of 6 to 15 digits."))
national_id_validator = RegexValidator(
    r"^\d{17}[\dXx]$", _("A resident identity number has 17 digits and a check character.")
)


class User(AbstractUser):
    """A member of staff. Customers never sign in to this console."""

    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    language = models.CharField(
        _("language"), max_length=8, choices=[("zh-hans", "简体中文"), ("en", "English")], default="zh-hans"
    )

    # Role changes are group changes: keep them in the history too.
    history = HistoricalRecords(
        verbose_name=_("historical user"),
        verbose_name_plural=_("historical users"),
        excluded_fields=["password", "last_login"],
        m2m_fields=["groups", "user_permissions"],
    )

    # The names "user" and "users" come from AbstractUser.Meta, translated by Django itself.
    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        permissions = [("change_user_roles", "Can change the roles of staff users")]

    def get_full_name(self) -> str:
        # Django joins "first last" with a space, which turns 钟丽 into "丽 钟".
        return person_name(family=self.last_name, given=self.first_name)

    def has_role(self, role: Role) -> bool:
        return self.groups.filter(name=role).exists()

    @property
    def role_names(self) -> list[str]:
        return sorted(g.name for g in self.groups.all())


class CustomerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RESTRICTED = "restricted", _("Restricted")
    CLOSED = "closed", _("Closed")


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class Customer(models.Model):
    """A shopper of the platform who buys now and pays later."""

    platform_user_id = models.CharField(_("platform user id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20, validators=[phone_validator])
    email = models.EmailField(_("email"), blank=True)
    national_id = models.CharField(
        _("national id"), max_length=18, blank=True, validators=[national_id_validator]
    )
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    street = models.CharField(_("street address"), max_length=200, blank=True)
    # Where the address is on a map, when known: home visits suggest a route from it (visits).
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    language = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS
    )
    status = models.CharField(
        _("status"), max_length=12, choices=CustomerStatus.choices, default=CustomerStatus.ACTIVE
    )
    created_at = models.DateTimeField(_("created at"), default=now, db_index=True)
    # Written only by orders.services.customer_catch_up (the sweep's own record is its chunks).
    books_through = models.DateField(
        _("books caught up through"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Late fees and credit balance were brought up to date through this business date."),
    )

    history = HistoricalRecords(
        verbose_name=_("historical customer"), verbose_name_plural=_("historical customers")
    )

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        permissions = [("reveal_pii", "Can reveal unmasked phone numbers and national ids")]
        indexes = [models.Index(fields=["phone"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.platform_user_id})"

    @property
    def address(self) -> str:
        return " ".join(p for p in (self.province, self.city, self.district, self.street) if p)


class EmergencyContact(models.Model):
    """Someone who may be asked to pass a message on: never told of the debt (DESIGN.md)."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="emergency_contacts",
    )
    name = models.CharField(_("name"), max_length=100)
    relationship = models.CharField(_("relationship"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, validators=[phone_validator])

    history = HistoricalRecords(
        verbose_name=_("historical emergency contact"),
        verbose_name_plural=_("historical emergency contacts"),
    )

    class Meta:
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship})"


class CreditLineStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    CLOSED = "closed", _("Closed")


class Grade(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    E = "E", _("E (no credit)")


class CreditLine(models.Model):
    """A customer's one credit line. Available credit is computed, never stored (selectors)."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="credit_line"
    )
    limit = MoneyField(_("credit limit"))
    status = models.CharField(
        _("status"), max_length=8, choices=CreditLineStatus.choices, default=CreditLineStatus.ACTIVE
    )
    status_reason = models.CharField(_("status reason"), max_length=200, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    score = models.PositiveSmallIntegerField(_("credit score"), null=True, blank=True)
    grade = models.CharField(_("grade"), max_length=1, choices=Grade.choices, default=Grade.C)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    history = HistoricalRecords(
        verbose_name=_("historical credit line"), verbose_name_plural=_("historical credit lines")
    )

    class Meta:
        verbose_name = _("credit line")
        verbose_name_plural = _("credit lines")
        permissions = [("freeze_creditline", "Can freeze and unfreeze credit lines")]
        constraints = [
            models.CheckConstraint(
                condition=Q(limit__gte=0),
                name="creditline_limit_not_negative",
                violation_error_message=_("The credit limit cannot be negative."),
            ),
            models.CheckConstraint(
                condition=~Q(status=CreditLineStatus.FROZEN) | ~Q(status_reason=""),
                name="creditline_frozen_has_reason",
                violation_error_message=_("A frozen credit line needs a reason."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer.platform_user_id}: ¥{self.limit} {self.get_status_display()}"
