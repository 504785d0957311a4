"""Reads of the catalog that pages and the API share."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from .models import Bundle, BundleItem, JointStage, LifeEvent, Material, ServiceItem, Theme


def item_get_public(*, code: str) -> ServiceItem:
    """A published item with everything its guide shows; 404 otherwise."""
    qs = (
        ServiceItem.objects.filter(is_active=True)
        .select_related("department", "region", "region__parent")
        .prefetch_related(
            Prefetch("materials", queryset=Material.objects.select_related("issuer")),
            Prefetch("joint_stages", queryset=JointStage.objects.select_related("department")),
            "themes",
        )
    )
    return get_object_or_404(qs, code=code)


def theme_list() -> QuerySet[Theme]:
    return Theme.objects.order_by("sort_order", "name")


def life_event_list() -> QuerySet[LifeEvent]:
    return LifeEvent.objects.order_by("sort_order", "slug")


def bundle_get_public(*, slug: str) -> Bundle:
    qs = Bundle.objects.filter(is_active=True).select_related("region", "life_event")
    qs = qs.prefetch_related(
        Prefetch(
            "parts",
            queryset=BundleItem.objects.select_related("item", "item__department").order_by(
                "sort_order", "id"
            ),
        )
    )
    return get_object_or_404(qs, slug=slug)


def bundle_list_public() -> QuerySet[Bundle]:
    return Bundle.objects.filter(is_active=True).select_related("region", "life_event")
