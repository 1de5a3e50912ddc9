"""A bulk job's filter in plain words, in the reader's language."""

from django.utils.translation import gettext as _

from orders.models import Merchant


def filter_sentence(spec: dict, *, merchants: dict | None = None) -> str:
    parts = []
    if spec.get("grade"):
        parts.append(_("grade %(grade)s") % {"grade": spec["grade"]})
    if spec.get("merchant"):
        if merchants is not None and spec["merchant"] in merchants:
            name = merchants[spec["merchant"]]
        else:
            name = Merchant.objects.filter(pk=spec["merchant"]).values_list("name", flat=True).first() or "?"
        parts.append(_("customers of %(merchant)s") % {"merchant": name})
    if spec.get("flagged_merchants"):
        parts.append(_("customers of a merchant with the risk flag"))
    if spec.get("dpd_over") is not None:
        parts.append(
            _("more than %(dpd)s days past due in the last %(days)s days")
            % {"dpd": spec["dpd_over"], "days": spec.get("within_days") or 90}
        )
    return " · ".join(parts) if parts else _("no filter")
