from django.conf import settings
from django.utils import translation

ELDER_COOKIE = "zhb_elder"


class LanguageMiddleware:
    """Chinese unless the visitor chose otherwise.

    Pages follow the language cookie set by the switcher and fall back to Chinese, whatever the
    browser asks for; API and Open311 clients may also ask with ``Accept-Language``.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.supported:
            language = settings.LANGUAGE_CODE
            if request.path.startswith(("/api/", "/open311/")):
                language = translation.get_language_from_request(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        if not request.path.startswith(("/api/", "/open311/", "/static/")):
            response.headers["Vary"] = ", ".join(
                filter(None, [response.headers.get("Vary"), "Cookie"])
            )
        return response


class ElderModeMiddleware:
    """Elder mode (长辈版): larger text and controls, remembered in a cookie."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.elder_mode = request.COOKIES.get(ELDER_COOKIE) == "1"
        return self.get_response(request)
