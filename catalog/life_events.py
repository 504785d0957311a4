"""Life events (人生大事) and enterprise stages by which citizens browse the catalog."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class LifeEvent:
    slug: str
    name: Promise
    audience: str  # "citizen" or "enterprise"
    keywords: str  # what the search box receives when the entry point is followed


LIFE_EVENTS: tuple[LifeEvent, ...] = (
    LifeEvent("birth", _("Having a baby"), "citizen", "出生"),
    LifeEvent("school", _("Going to school"), "citizen", "入学"),
    LifeEvent("work", _("Finding work"), "citizen", "就业"),
    LifeEvent("marriage", _("Marriage"), "citizen", "婚姻登记"),
    LifeEvent("housing", _("Housing"), "citizen", "住房"),
    LifeEvent("retirement", _("Retirement"), "citizen", "退休"),
    LifeEvent("bereavement", _("After a death"), "citizen", "死亡"),
    LifeEvent("company-start", _("Starting a business"), "enterprise", "企业设立"),
    LifeEvent("company-change", _("Changing a business"), "enterprise", "变更登记"),
    LifeEvent("company-close", _("Closing a business"), "enterprise", "注销"),
)
