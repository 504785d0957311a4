"""The project's OpenAPI generation: what every operation answers, and what every input refuses.

Each rule here mirrors a rule the server applies to every request, so that a client (or a fuzzer)
reading the schema sends what the server takes:

- every operation documents the shared error shape for the codes it can answer (400 always:
  control characters are refused everywhere, see ``zheliban.core.text``; 415 wherever a body
  is read);
- text sent to the API may not carry a control character: every string input without a pattern,
  format or choices of its own gets ``TEXT_PATTERN``, and a required text that DRF trims and
  refuses when blank gets ``NON_BLANK_TEXT_PATTERN``;
- a filter given an empty value is refused (``zheliban.core.api.FilterBackend``): its string
  parameters get ``minLength: 1``; an empty ``page`` or ``page_size`` is read as absent:
  ``allowEmptyValue``;
- a dictionary that may not be empty gets ``minProperties: 1``;
- a form (multipart or urlencoded) has no null: DRF reads an empty value of a field that may be
  null as null, so a form body's schema says so (``form_variant``) where the JSON body's says
  ``nullable``;
- ``response_links`` declares OpenAPI links (which operation a response's values feed), which
  drf-spectacular has no annotation for.
"""

from __future__ import annotations

import copy

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_field
from rest_framework import permissions, serializers

from .api import ErrorSerializer, FilterBackend

# The control characters ``zheliban.core.text.CONTROL_CHARACTER`` refuses (C0 but tab, line feed
# and carriage return; DEL), as a JSON Schema character class. Lone surrogates are refused too,
# but cannot be written in UTF-8, and a class of them would exclude every character outside the
# BMP for a client that matches UTF-16 code units.
CONTROL_CHARACTERS = "\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F"
# What ``str.strip()`` (DRF's trimming) removes, less the control characters above.
WHITESPACE = (
    "\\x09\\x0A\\x0D\\x20\\x85\\xA0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000"
)
TEXT_PATTERN = f"^[^{CONTROL_CHARACTERS}]*$"
NON_BLANK_TEXT_PATTERN = (
    f"^[^{CONTROL_CHARACTERS}]*[^{CONTROL_CHARACTERS}{WHITESPACE}][^{CONTROL_CHARACTERS}]*$"
)
FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
# Carried from ``extend_schema(extensions=...)`` to the responses by ``AutoSchema``.
LINKS_EXTENSION = "x-response-links"


def link(
    operation_id: str, description: str, request_body: dict | None = None, **parameters: str
) -> dict:
    """An OpenAPI link to ``operation_id``, its parameters (and any part of its request body)
    taken from the response by runtime expressions (``$response.body#/id``)."""
    found = {"operationId": operation_id, "parameters": parameters, "description": description}
    if request_body is not None:
        found["requestBody"] = request_body
    return found


def response_links(links_by_status: dict[int, dict[str, dict]]) -> dict:
    """``extensions`` for ``extend_schema``: the links of each response status, by name."""
    return {LINKS_EXTENSION: {str(status): links for status, links in links_by_status.items()}}


def _is_free_text(schema: dict) -> bool:
    return (
        schema.get("type") == "string"
        and not {"pattern", "format", "enum", "$ref"} & schema.keys()
        and schema.get("maxLength") != 0
    )


def _constrain_text(field: serializers.Field, schema: dict) -> None:
    """Add to a request field's schema what the server refuses in it, in place."""
    if _is_free_text(schema):
        non_blank = (
            isinstance(field, serializers.CharField)
            and not field.allow_blank
            and field.trim_whitespace
        )
        schema["pattern"] = NON_BLANK_TEXT_PATTERN if non_blank else TEXT_PATTERN
    elif isinstance(field, serializers.ListField) and isinstance(schema.get("items"), dict):
        _constrain_text(field.child, schema["items"])
    elif isinstance(field, serializers.DictField):
        if isinstance(schema.get("additionalProperties"), dict):
            _constrain_text(field.child, schema["additionalProperties"])
        if not field.allow_empty:
            schema.setdefault("minProperties", 1)


def _constrain_parameter(parameter: dict) -> None:
    schema = parameter.get("schema")
    if not isinstance(schema, dict) or parameter.get("in") == "cookie":
        return
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        schema = schema["items"]
    if _is_free_text(schema):
        schema["pattern"] = NON_BLANK_TEXT_PATTERN if schema.get("minLength") else TEXT_PATTERN


def _is_file(schema: dict) -> bool:
    items = schema.get("items") if schema.get("type") == "array" else None
    return schema.get("format") == "binary" or (
        isinstance(items, dict) and items.get("format") == "binary"
    )


def form_variant(schema: dict) -> dict:
    """A request component's schema as a form sends it: each property that may be null may be
    empty instead (a form has no null, and DRF reads such an empty value as null)."""
    variant = copy.deepcopy(schema)
    for name, prop in variant.get("properties", {}).items():
        if prop.pop("nullable", False):
            description = prop.pop("description", None)
            variant["properties"][name] = {
                "anyOf": [prop, {"type": "string", "maxLength": 0}],
                **({"description": description} if description else {}),
            }
    return variant


def without_files(schema: dict) -> None:
    """Drop, in place, the properties only a multipart form can carry (files)."""
    files = [name for name, prop in schema.get("properties", {}).items() if _is_file(prop)]
    for name in files:
        del schema["properties"][name]
        if name in schema.get("required", []):
            schema["required"].remove(name)


class AutoSchema(openapi.AutoSchema):
    """Document the shared error shape on every operation, for the codes it can answer, and the
    input rules above."""

    def _needs_authentication(self) -> bool:
        classes = list(getattr(self.view, "permission_classes", []))
        if not classes or all(cls is permissions.AllowAny for cls in classes):
            return False
        if all(cls is permissions.IsAuthenticatedOrReadOnly for cls in classes):
            return self.method not in permissions.SAFE_METHODS
        return True

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            _constrain_parameter(parameter)
        for status, links in operation.pop(LINKS_EXTENSION, {}).items():
            operation["responses"][status].setdefault("links", {}).update(links)
        return operation

    def _get_request_body(self, direction="request"):
        """JSON cannot carry files and forms cannot carry null: a body taken both ways gets a
        form component of its own (``<Name>FormRequest``), and the JSON one loses the files."""
        body = super()._get_request_body(direction)
        content = (body or {}).get("content", {})
        for media_type, media in content.items():
            ref = media.get("schema", {}).get("$ref", "")
            if media_type not in FORM_MEDIA_TYPES or not ref:
                continue
            name = ref.rsplit("/", 1)[-1]
            form_name = name.removesuffix("Request") + "FormRequest"
            form = ResolvedComponent(form_name, ResolvedComponent.SCHEMA, object=form_name)
            if form not in self.registry:
                base = self.registry[(name, ResolvedComponent.SCHEMA)].schema
                variant = form_variant(base)
                if variant == base and not any(map(_is_file, base.get("properties", {}).values())):
                    continue
                form.schema = variant
                self.registry.register_on_missing(form)
                without_files(base)
            media["schema"] = form.ref
        return body

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request":
            for name, field in serializer.fields.items():
                if isinstance(schema["properties"].get(name), dict):
                    _constrain_text(field, schema["properties"][name])
        return schema

    def _get_filter_parameters(self):
        parameters = super()._get_filter_parameters()
        if any(issubclass(backend, FilterBackend) for backend in self.get_filter_backends()):
            filters = getattr(self.view, "filterset_class", None) or ()
            names = set(getattr(filters, "base_filters", {})) | set(
                getattr(self.view, "filterset_fields", None) or ()
            )
            for parameter in parameters:
                schema = parameter.get("schema", {})
                if parameter["name"] in names and schema.get("type") == "string":
                    schema.setdefault("minLength", 1)
        return parameters

    def _get_pagination_parameters(self):
        parameters = super()._get_pagination_parameters()
        for parameter in parameters:
            # ``Pagination`` reads an empty page size, and DRF an empty page, as not given.
            parameter["allowEmptyValue"] = True
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = ["400"]
        if self.method == "GET":
            codes.append("404")
        if self._needs_authentication():
            codes += ["401", "403"]
        if getattr(self.view, "throttle_classes", None):
            codes.append("429")
        if self.method in ("POST", "PUT", "PATCH"):
            # A body in a media type the operation does not parse.
            codes.append("415")
        for code in codes:
            responses.setdefault(
                code, self._get_response_for_code(ErrorSerializer, code, direction=direction)
            )
        return responses


class NamedChoiceField(serializers.ChoiceField):
    """A choice field whose choices are the schema component ``enum_name``, wherever it is used.

    Other apps have fields named ``state`` and ``kind`` too; without a name of its own, each set
    of choices would get a hashed one (and a warning, which fails the committed schema's test).
    """

    def __init__(self, *, enum_name: str, **kwargs) -> None:
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldSchema(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema = build_choice_field(field)
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={k: schema[k] for k in ("enum", "type", "description") if k in schema},
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref
