"""Shared REST plumbing: one pagination and one error shape for every endpoint."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import CoreErrorCode, Refused


class TextField(serializers.CharField):
    """A text input that is text: a number or a boolean where the schema says string is refused
    (``invalid``), not turned into its digits as DRF's ``CharField`` would."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"


# A yes/no query flag as clients send it: 1/0, true/false or yes/no, in any case.
FLAG_VALUES = {"1": "1", "true": "1", "yes": "1", "0": "0", "false": "0", "no": "0"}


class FlagField(serializers.ChoiceField):
    """A query flag: "1" (only those) or "0" (no restriction), also sent as true/false or
    yes/no; anything else is refused with the accepted values named."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(choices=[(v, v) for v in ("1", "0", "true", "false")], **kwargs)

    def to_internal_value(self, data):
        if data == "" and self.allow_blank:
            return ""
        value = FLAG_VALUES.get(str(data).strip().lower())
        if value is None:
            self.fail("invalid_choice", input=data)
        return value


class CodeNameSerializer(serializers.Serializer):
    """A thing named by its code: a department, a region, an item."""

    code = serializers.CharField()
    name = serializers.CharField()


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        raw = [v for v in request.query_params.getlist(self.page_size_query_param) if v != ""]
        if not raw:
            return self.page_size
        if (
            len(raw) > 1
            or not (raw[0].isascii() and raw[0].isdigit())
            or not 1 <= int(raw[0]) <= self.max_page_size
        ):
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        exceptions.ErrorDetail(
                            _("Give page_size once, as a whole number from 1 to %(max)d.")
                            % {"max": self.max_page_size},
                            code=CoreErrorCode.PAGE_SIZE_INVALID,
                        )
                    ]
                }
            )
        return int(raw[0])

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


class ErrorSerializer(serializers.Serializer):
    """``{"error": {"code": ..., "message": ..., "fields": {field: [messages]}}}``"""

    class _Error(serializers.Serializer):
        code = serializers.CharField()
        message = serializers.CharField()
        fields = serializers.DictField(  # type: ignore[assignment]
            child=serializers.ListField(child=serializers.CharField()), required=False
        )

    error = _Error()


def error_payload(*, code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    """The one error shape of the API (see ``ErrorSerializer``), for answers made outside DRF
    too (the middleware that refuses control characters)."""
    error: dict = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    return {"error": error}


def _django_validation_to_drf(exc: DjangoValidationError) -> exceptions.ValidationError:
    detail: dict[str, list[exceptions.ErrorDetail]] | list[exceptions.ErrorDetail]
    if hasattr(exc, "error_dict"):
        detail = {
            field: [
                exceptions.ErrorDetail(str(e.message % (e.params or {})), code=e.code or "invalid")
                for e in errors
            ]
            for field, errors in exc.error_dict.items()
        }
    else:
        detail = [
            exceptions.ErrorDetail(str(e.message % (e.params or {})), code=e.code or "invalid")
            for e in exc.error_list
        ]
    return exceptions.ValidationError(detail)


def _first(detail):
    if isinstance(detail, dict):
        for value in detail.values():
            return _first(value)
    if isinstance(detail, list) and detail:
        return _first(detail[0])
    return detail


class Refusal(exceptions.APIException):
    """A refused request: its status, code and any extra keys of the error object."""

    def __init__(self, message: str, *, code: str, status_code: int, extra=None) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.extra = extra or {}


def refusal_from(exc: Refused) -> exceptions.APIException:
    """A service's refusal as an API answer: its status and code, the holder of a conflict."""
    if exc.code == CoreErrorCode.NOT_FOUND:
        # Another department's task or case is answered like one that does not exist.
        return exceptions.NotFound(exc.message)
    extra = {"holder": exc.holder} if exc.status == 409 and exc.holder else {}
    return Refusal(exc.message, code=exc.code, status_code=exc.status, extra=extra)


def flat_errors(detail, prefix: str = "") -> dict:
    """Serializer errors with nested fields as dotted keys (``answers.baby_name``)."""
    flat: dict = {}
    for key, value in detail.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flat_errors(value, prefix=f"{name}."))
        else:
            flat[name] = value
    return flat


def valid_data(serializer_class, data) -> dict:
    """The serializer's validated data, or a 400 naming each field (nested ones dotted)."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise exceptions.ValidationError(flat_errors(serializer.errors))
    return serializer.validated_data


def exception_handler(exc, context):
    """The API's one exception handler: service refusals, Django's and DRF's errors, each in
    the one error shape (``ErrorSerializer``)."""
    if isinstance(exc, Refused):
        exc = refusal_from(exc)
    if isinstance(exc, DjangoValidationError):
        exc = _django_validation_to_drf(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    first = _first(detail)
    fields = None
    if isinstance(detail, dict) and isinstance(exc, exceptions.ValidationError):
        fields = {
            key: [str(v) for v in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    payload = error_payload(
        code=str(getattr(first, "code", None) or getattr(exc, "default_code", "error")),
        message=str(first) if first is not None else str(exc),
        fields=fields,
    )
    payload["error"].update(getattr(exc, "extra", None) or {})
    return Response(payload, status=response.status_code, headers=response.headers)


def query_params_given(query_params, names) -> dict[str, str]:
    """The parameters of ``names`` a request gives (others, e.g. DRF's ``format``, are not the
    endpoint's own). One given empty is refused (400 ``blank``), as everywhere in the API: the
    schema's enums and patterns hold for every value sent."""
    given = {name: query_params[name] for name in names if name in query_params}
    blank = [name for name, value in given.items() if not value.strip()]
    if blank:
        raise exceptions.ValidationError(
            {
                name: [
                    exceptions.ErrorDetail(
                        _("Give a value, or leave %(name)s out.") % {"name": name},
                        code=CoreErrorCode.BLANK,
                    )
                ]
                for name in blank
            }
        )
    return given


class FilterBackend(DjangoFilterBackend):
    """django-filter, except that a filter given with an empty value is refused (400) rather
    than read as "no filter": the schema's enums and patterns hold for every value sent."""

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is None:
            return None
        query_params_given(request.query_params, filterset.filters)
        return filterset
