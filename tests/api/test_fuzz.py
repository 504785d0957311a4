"""Schemathesis over the whole live OpenAPI schema, in process, against the WSGI application.

The schema is the one the code generates (``/api/schema/``), not the committed file. Every
operation is fuzzed as three callers of the demo province: nobody (anonymous), a citizen with
cases in every state (``citizen2``) and a clerk whose worklist holds tasks
(``330100-gongan-clerk``), with every check schemathesis has. Then, per caller, a stateful run
follows the schema's links (create an application → read it → rate it; list the worklist → claim
a task → accept it → complete it; send a ticket → read it → act on it; ...).

The one check narrowed is ``positive_data_acceptance``: a schema-valid request may still be
refused with 400 for a business rule a schema cannot state. ``BUSINESS_RULES`` lists, per
operation, the error codes such a refusal may carry and why; any other 400 to a schema-valid
request fails. ``control_character`` is accepted only when the control characters are where
OpenAPI 3.0 cannot forbid them (see ``control_characters_only_where_undeclared``).
"""

from __future__ import annotations

import copy
import io
import json
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.workflows.fixtures import life_events_restore
from zheliban.accounts.models import PersonalToken, User
from zheliban.accounts.services import personal_token_hash, personal_token_issue
from zheliban.core.text import has_control_character
from zheliban.wsgi import application

ROLES = {"anonymous": None, "citizen": "citizen2", "clerk": "330100-gongan-clerk"}

ANY_FIELD = None
REGISTRATION = frozenset({"kind", "real_name", "id_number", "credit_code", "phone", "password"})

# What a schema-valid request may be refused with (400), per operation, because the rule behind
# it is about data or state, not shape: the reason, and each error code with the fields it may
# name (``ANY_FIELD``: whichever).
BUSINESS_RULES: dict[str, tuple[str, dict[str, frozenset[str] | None]]] = {
    "accounts_register": (
        "ID numbers and credit codes carry check characters and real birth dates, passwords "
        "must pass the password validators, and a phone or an identity registers once",
        dict.fromkeys(
            [
                "id_number_format",
                "id_number_birth",
                "id_number_checksum",
                "uscc_format",
                "uscc_checksum",
                "id_number_taken",
                "credit_code_taken",
                "phone_taken",
                "identity_taken",
                "required",
                "password_too_short",
                "password_too_common",
                "password_entirely_numeric",
                "password_too_similar",
            ],
            REGISTRATION,
        ),
    ),
    "auth_token_create": (
        "credentials that name no account, or a wrong password (400, as OAuth2's token "
        "endpoint answers)",
        {"invalid_login": frozenset({"username"})},
    ),
    "assistant_ask": (
        "the region must exist",
        {"region_unknown": ANY_FIELD},
    ),
    "applications_create": (
        "the bundle or the item must be published and exactly one of them given, the answers "
        "must be the form's and pass its checks, and no upload may be needed",
        {
            "does_not_exist": frozenset({"bundle", "item"}),
            "one_subject": frozenset({"non_field_errors"}),
            "invalid_answer": ANY_FIELD,
            "unknown_field": ANY_FIELD,
            "materials_required": ANY_FIELD,
            "no_workflow": ANY_FIELD,
        },
    ),
    "applications_correction_create": (
        "only the fields the department asked to correct, with answers the form accepts",
        {"unknown_field": ANY_FIELD, "invalid_answer": ANY_FIELD},
    ),
    "applications_rating_create": (
        "only a finished case can be rated",
        {"not_finished": ANY_FIELD},
    ),
    "tasks_list": (
        "a number searched must be an 18-character ID number with a right check digit, an "
        "11-digit mobile or a case reference",
        {
            code: frozenset({"q"})
            for code in (
                "search_not_a_key",
                "id_number_format",
                "id_number_birth",
                "id_number_checksum",
            )
        },
    ),
    "tasks_correction": (
        "the fields named must be the case's answers or materials",
        {"unknown_field": frozenset({"fields"})},
    ),
    "tasks_complete": (
        "every output the step gives must be given",
        {"outputs_missing": ANY_FIELD},
    ),
    "tickets_create": (
        "the region must exist, an application must be the sender's own and not sent "
        "anonymously, `link_to` a ticket one may join; a place must be given (region, address "
        "or both coordinates) "
        "and the contact must be a phone number and an e-mail address",
        {
            "does_not_exist": frozenset({"region"}),
            "not_yours": frozenset({"application"}),
            "anonymous_application": frozenset({"application"}),
            "not_found": frozenset({"link_to"}),
            "target_report": frozenset({"link_to"}),
            "invalid": frozenset(
                {"region", "latitude", "longitude", "contact_phone", "contact_email", "attachments"}
            ),
        },
    ),
    "tickets_duplicates": (
        "the region must exist",
        {"does_not_exist": frozenset({"region"})},
    ),
    "tickets_list": (
        "a department filter must name an active department",
        {"department_unknown": frozenset({"department"})},
    ),
    "tickets_stats": (
        "a department filter must be in the caller's scope, a region must exist, and a date "
        "range has a length limit",
        {
            "department_unknown": frozenset({"department"}),
            "region_unknown": frozenset({"region"}),
            "date_range_too_long": frozenset({"date_from", "date_to"}),
        },
    ),
    "tickets_actions_create": (
        "the departments and the target must exist, and some actions need a note",
        {
            "department_unknown": frozenset({"department", "assisting"}),
            "not_found": frozenset({"target"}),
            "target_report": frozenset({"target"}),
        },
    ),
}


# ---------------------------------------------------------------- the callers


def _token(role: str) -> str:
    # Fixed, not the issued key: schemathesis reads it when it builds the cases, before the
    # demo province (and its tokens) exists. The fixture gives each issued token this key.
    return f"fuzz-{role}"


def _schema_for(role: str, live: dict):
    """The live schema, with the role's API token on every request when it has one."""
    schema = schemathesis.openapi.from_dict(copy.deepcopy(live))
    schema.app = application
    # The scenarios walk through valid requests: the explicit phases send the invalid ones.
    schema.config.phases.stateful.generation.modes = [schemathesis.GenerationMode.POSITIVE]
    if ROLES[role] is not None:

        class RoleToken:
            def get(self, case, context):
                return _token(role)

            def set(self, case, data, context):
                case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}

        schema.auth(refresh_interval=None)(RoleToken)

    @schema.hook("after_call")
    def count(context, case, response):
        phase = case.meta.phase.name.value if case.meta is not None else "explicit"
        REQUESTS[role][phase] += 1
        STATUSES[role][response.status_code // 100] += 1
        if response.status_code < 300:
            SUCCEEDED[role].add(case.operation.label)
            if phase == "stateful":
                LINKED[role].add(case.operation.label)

    return schema


# What the fuzzing did, by caller, printed at the end of the module: requests by phase, answers
# by class, operations that answered 2xx (in the stateful scenarios too).
REQUESTS: dict[str, Counter] = {role: Counter() for role in ROLES}
STATUSES: dict[str, Counter] = {role: Counter() for role in ROLES}
SUCCEEDED: dict[str, set[str]] = {role: set() for role in ROLES}
LINKED: dict[str, set[str]] = {role: set() for role in ROLES}
LIVE_SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/", application).raw_schema
SCHEMAS = {role: _schema_for(role, LIVE_SCHEMA) for role in ROLES}


@pytest.fixture(scope="module")
def demo_province(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The demo province, seeded once for the module in a transaction rolled back at its end;
    each test runs in a savepoint inside it. The in-process requests keep the connection open,
    as Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            life_events_restore()
            call_command("seed_demo", stdout=io.StringIO())
            for role, username in ROLES.items():
                if username is not None:
                    row, _key = personal_token_issue(
                        user=User.objects.get(username=username), name=f"fuzz {role}"
                    )
                    PersonalToken.objects.filter(pk=row.pk).update(
                        key_hash=personal_token_hash(_token(role)), prefix=_token(role)[:8]
                    )
            yield
            transaction.set_rollback(True)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    for role in ROLES:
        phases = ", ".join(f"{k} {v}" for k, v in sorted(REQUESTS[role].items()))
        statuses = ", ".join(f"{k}xx {v}" for k, v in sorted(STATUSES[role].items()))
        print(
            f"\nschemathesis as {role}: {sum(REQUESTS[role].values())} requests ({phases}; "
            f"{statuses}); {len(SUCCEEDED[role])} operations answered 2xx, "
            f"{len(LINKED[role])} of them in linked scenarios: {sorted(LINKED[role])}"
        )


# ---------------------------------------------------------------- the narrowed check


def _resolve(schema, raw: dict):
    while isinstance(schema, dict) and "$ref" in schema:
        node = raw
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema if isinstance(schema, dict) else {}


def declared_strings(value, schema, raw: dict) -> Iterator[str]:
    """The strings of ``value`` that ``schema`` declares (and so may constrain): not the names
    of properties, nor anything under a property the schema does not name."""
    schema = _resolve(schema, raw)
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            yield from declared_strings(value, part, raw)
    if isinstance(value, str) and schema.get("type") == "string":
        yield value
    elif isinstance(value, list) and "items" in schema:
        for item in value:
            yield from declared_strings(item, schema["items"], raw)
    elif isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in properties:
                yield from declared_strings(item, properties[name], raw)
            elif isinstance(extra, dict):
                yield from declared_strings(item, extra, raw)


def control_characters_only_where_undeclared(case) -> bool:
    """Whether every control character of the request is in a place OpenAPI 3.0 cannot
    constrain: a property the schema leaves open (any name, any value) or the key of a
    dictionary. Everywhere else the schema forbids them (``zheliban.core.schema``)."""
    raw = case.operation.schema.raw_schema
    for container in (case.query, case.path_parameters, case.headers):
        for value in (container or {}).values():
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and has_control_character(v) for v in values):
                return False
    if case.body is None or not case.media_type:
        return True
    body = case.operation.definition.raw.get("requestBody", {})
    content = _resolve(body, raw).get("content", {})
    schema = content.get(case.media_type, {}).get("schema", {})
    return not any(has_control_character(s) for s in declared_strings(case.body, schema, raw))


def _error(response) -> dict:
    try:
        payload = json.loads(response.content)
    except ValueError:
        return {}
    return payload.get("error", {}) if isinstance(payload, dict) else {}


def business_rule_refusal(operation_id: str, code: str | None, fields: set[str]) -> bool:
    """Whether a refusal is one ``BUSINESS_RULES`` lists: its code is the operation's, and every
    field it names is one the operation's rules may refuse (the error shape carries the first
    field's code only)."""
    _reason, codes = BUSINESS_RULES.get(operation_id, ("", {}))
    if code not in codes:
        return False
    if codes[code] is ANY_FIELD:
        return True
    return fields <= set().union(*(f for f in codes.values() if f is not ANY_FIELD))


def positive_data_acceptance_but_business_rules(ctx, response, case):
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if response.status_code != 400:
            raise
        error = _error(response)
        operation_id = case.operation.definition.raw.get("operationId")
        if business_rule_refusal(operation_id, error.get("code"), set(error.get("fields", {}))):
            return None
        code = error.get("code")
        if code == "control_character" and control_characters_only_where_undeclared(case):
            return None
        raise


CHECKS = {
    "excluded_checks": [positive_data_acceptance],
    "additional_checks": [positive_data_acceptance_but_business_rules],
}
FUZZ_SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "suppress_health_check": list(HealthCheck),
    "database": None,
}


# ---------------------------------------------------------------- the tests


def _fuzz_test(role: str, max_examples: int):
    @SCHEMAS[role].parametrize()
    @settings(max_examples=max_examples, **FUZZ_SETTINGS)
    @pytest.mark.django_db
    def test(case, demo_province):
        case.call_and_validate(**CHECKS)

    test.__doc__ = f"Every operation of the live schema, as {role}, with every check."
    return test


test_api_as_anonymous = _fuzz_test("anonymous", max_examples=5)
test_api_as_citizen = _fuzz_test("citizen", max_examples=10)
test_api_as_clerk = _fuzz_test("clerk", max_examples=10)


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(ROLES))
def test_api_follows_its_links(role, demo_province):
    """Stateful: scenarios that follow the schema's links, as each caller."""
    machine = SCHEMAS[role].as_state_machine()

    class Scenario(machine):
        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
                **CHECKS,
            )

    run_state_machine_as_test(
        Scenario, settings=settings(max_examples=40, stateful_step_count=8, **FUZZ_SETTINGS)
    )


def test_every_business_rule_names_an_operation_of_the_schema():
    operations = {
        operation.definition.raw.get("operationId")
        for result in SCHEMAS["anonymous"].get_all_operations()
        for operation in [result.ok()]
    }
    assert set(BUSINESS_RULES) <= operations


def test_a_refusal_passes_only_for_the_listed_codes_and_fields():
    assert business_rule_refusal("tickets_stats", "department_unknown", {"department", "region"})
    assert business_rule_refusal("applications_rating_create", "not_finished", set())
    assert not business_rule_refusal("tickets_stats", "department_unknown", {"period"})
    assert not business_rule_refusal("tickets_stats", "blank", {"region"})
    assert not business_rule_refusal("tickets_create", "invalid", {"content"})
    assert not business_rule_refusal("items_list", "invalid", set())


def test_control_characters_pass_only_where_the_schema_cannot_forbid_them():
    tickets = SCHEMAS["anonymous"]["/api/v1/tickets/"]["POST"]
    applications = SCHEMAS["anonymous"]["/api/v1/applications/"]["POST"]

    def case(operation, **body):
        return operation.Case(body=body, media_type="application/json")

    assert control_characters_only_where_undeclared(case(tickets, content="噪音", x_y="\x00"))
    assert control_characters_only_where_undeclared(
        case(applications, bundle="newborn", answers={"baby\x01name": "陈"})
    )
    assert not control_characters_only_where_undeclared(case(tickets, content="噪\x00音"))
    assert not control_characters_only_where_undeclared(
        case(applications, bundle="newborn", answers={"baby_name": "陈\x1f"})
    )
    assert not control_characters_only_where_undeclared(
        tickets.Case(query={"q": "\x07"}, body={"content": "a"}, media_type="application/json")
    )
