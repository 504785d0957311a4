"""The baseline of ``tests.bench.run``: a bare Django view answering a small JSON object.

The same Django and the same gunicorn settings as the portal, nothing else: no apps, no
middleware, no database, no templates. Every page's throughput is read as a share of this one's.

    gunicorn tests.bench.bare:application      # GET /bare/
"""

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-bare-view-not-a-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        USE_TZ=True,
    )

from django.core.wsgi import get_wsgi_application
from django.http import JsonResponse
from django.urls import path


def bare(request):
    return JsonResponse({"status": "ok"})


urlpatterns = [path("bare/", bare)]

application = get_wsgi_application()
