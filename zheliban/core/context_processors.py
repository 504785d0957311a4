from django.conf import settings

from .page_cache import template_context


def site(request):
    """The site's name and elder mode; while a page to keep is made (``page_cache``), the
    marker each visitor's own form token replaces."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "elder_mode": getattr(request, "elder_mode", False),
        **template_context(request),
    }
