from django.conf import settings


def site(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        "elder_mode": getattr(request, "elder_mode", False),
    }
