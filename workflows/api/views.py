"""REST API of applications (the citizen's) and of the worklist (staff's joint handling).

Every write goes through ``workflows.services``; a refusal there (``Refused``, ``Conflict``,
``Forbidden``) becomes the shared error shape with its status and code, plus the claim's
``holder`` on a 409. Staff see only their own departments' tasks: another department's task is
answered 404, exactly like one that does not exist. A caller with no department (a citizen)
gets an empty worklist.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from workflows.errors import WorkflowsErrorCode
from zheliban.core.api import ErrorSerializer, Refusal, valid_data
from zheliban.core.idempotency import (
    body_digest,
    idempotency_check,
    idempotency_key_of,
    idempotency_parameter,
    idempotency_remember,
)
from zheliban.core.schema import link, response_links

from .. import selectors, services
from ..forms import FormSpec, prefill, validate_answers
from ..models import Application, Task
from .clock import (
    HandOverSerializer,
    ProcedureStartSerializer,
    SendBackSerializer,
    SuperviseSerializer,
    SupervisionSerializer,
)
from .serializers import (
    ApplicationCreateSerializer,
    ApplicationDetailSerializer,
    ApplicationErrorSerializer,
    ApplicationSerializer,
    CorrectionCreateSerializer,
    ExtensionDecisionSerializer,
    ExtensionRequestSerializer,
    RatingCreateSerializer,
    RatingSerializer,
    TaskActionSerializer,
    TaskCompleteSerializer,
    TaskConflictSerializer,
    TaskCorrectionSerializer,
    TaskDetailSerializer,
    TaskRejectSerializer,
    TaskSerializer,
    WorklistQuerySerializer,
)

UUID_PATTERN = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
TASK_ID_PATTERN = r"[0-9]{1,18}"

IDEMPOTENCY_PARAMETER = idempotency_parameter(required=True, created="application")
APPLICATION_PARAMETER = OpenApiParameter(
    "id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The application's id."
)
TASK_PARAMETER = OpenApiParameter(
    "id",
    OpenApiTypes.INT,
    OpenApiParameter.PATH,
    description="The task's id.",
    examples=[OpenApiExample("A task", value=1)],
)
CITIZEN_ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 404: ErrorSerializer}


def application_links(pointer: str) -> dict:
    """Links from a response naming an application (at ``pointer``) to what can be done with it."""
    return {
        "Application": link("applications_retrieve", "The application.", id=pointer),
        "RateApplication": link(
            "applications_rating_create", "Rate it, once finished.", id=pointer
        ),
        "CorrectApplication": link(
            "applications_correction_create", "Send a correction asked for.", id=pointer
        ),
    }


def task_links(task: str) -> dict:
    """Links from a response holding a task (at the pointer ``task``) to the task and to its
    moves, with the version read."""
    moves = ("claim", "release", "accept", "correction", "complete", "reject")
    return {
        "Task": link("tasks_retrieve", "The task with its case.", id=f"{task}/id"),
        **{
            f"{move.capitalize()}Task": link(
                f"tasks_{move}",
                f"The {move} move, on the task as read.",
                request_body={"version": f"{task}/version"},
                id=f"{task}/id",
            )
            for move in moves
        },
    }


STAFF_ERRORS = {
    400: ErrorSerializer,
    401: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    409: TaskConflictSerializer,
}


# ---------------------------------------------------------------- applications


def application_submitted_with_key(*, user, key: str) -> Application | None:
    """The caller's application already submitted under this idempotency key, if any."""
    return (
        selectors.application_list_for_citizen(user=user)
        .filter(idempotency_key=key)
        .exclude(status=Application.Status.DRAFT)
        .first()
    )


def checked_answers(*, spec: FormSpec, user, given: dict) -> dict:
    """The answers as the generated form cleans them, or a 400 naming each bad field."""
    asked = {field.name for field in spec.fields}
    supplied = {name: value for name, value in given.items() if value is not None}
    data = {**prefill(spec, user=user, licences=selectors.licences_for(user)), **supplied}
    answers, errors = validate_answers(spec, data, applicant=user)
    problems = {
        f"answers.{name}": [
            exceptions.ErrorDetail(m, code=WorkflowsErrorCode.INVALID_ANSWER) for m in messages
        ]
        for name, messages in errors.items()
    }
    for name in given:
        if name not in asked:
            problems[f"answers.{name}"] = [
                exceptions.ErrorDetail(
                    _("This form does not ask for this field."),
                    code=WorkflowsErrorCode.UNKNOWN_FIELD,
                )
            ]
    if problems:
        raise exceptions.ValidationError(problems)
    return answers


def check_no_uploads_needed(spec: FormSpec) -> None:
    missing = [m.name for m in spec.asked_materials if m.required]
    if missing:
        raise Refusal(
            _(
                "This application needs materials that you upload: %(materials)s. The API "
                "does not take uploads; apply on the website."
            )
            % {"materials": ", ".join(missing)},
            code=WorkflowsErrorCode.MATERIALS_REQUIRED,
            status_code=400,
            extra={"materials": missing},
        )


@extend_schema_view(
    list=extend_schema(
        operation_id="applications_list",
        tags=["applications"],
        extensions=response_links({200: application_links("$response.body#/results/0/id")}),
        summary="My applications",
        description="The caller's own applications, newest first, drafts included.",
        responses={
            200: ApplicationSerializer(many=True),
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
    ),
    retrieve=extend_schema(
        operation_id="applications_retrieve",
        tags=["applications"],
        summary="One of my applications",
        description="Status, each department's part with its tasks and delivery, the results "
        "and the timeline. Another person's application is answered 404.",
        parameters=[APPLICATION_PARAMETER],
        responses={200: ApplicationDetailSerializer, **CITIZEN_ERRORS},
    ),
)
class ApplicationViewSet(viewsets.GenericViewSet):
    """Applications of the caller: file one, follow them, rate a finished one."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    lookup_value_regex = UUID_PATTERN
    filter_backends: list = []
    serializer_class = ApplicationSerializer
    queryset = Application.objects.none()

    def list(self, request):
        page = self.paginate_queryset(selectors.application_list_for_citizen(user=request.user))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk: str):
        app = selectors.application_get_for_citizen(user=request.user, pk=pk)
        return Response(
            ApplicationDetailSerializer(app, context=self.get_serializer_context()).data
        )

    @extend_schema(
        operation_id="applications_create",
        tags=["applications"],
        extensions=response_links(
            {status: application_links("$response.body#/id") for status in (200, 201)}
        ),
        summary="Apply for a bundle or an item",
        description="Files and submits the application in one call. The answers are checked "
        "as the web form checks them (ID numbers with their check digit, dates, choices ...); "
        "any error answers 400 with a message per field and creates nothing. An application "
        "that needs materials the citizen uploads is refused with 400 `materials_required` "
        "(materials a department already holds, or fetched by data sharing, are no obstacle). "
        "Answers 201 with the new application, or 200 with the one a request with the same "
        "`Idempotency-Key` created before.",
        parameters=[IDEMPOTENCY_PARAMETER],
        request=ApplicationCreateSerializer,
        responses={
            201: ApplicationDetailSerializer,
            200: ApplicationDetailSerializer,
            400: ApplicationErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            422: ErrorSerializer,
        },
    )
    def create(self, request):
        key = idempotency_key_of(request)
        data = valid_data(ApplicationCreateSerializer, request.data)
        digest = body_digest(request)
        idempotency_check(user=request.user, scope="applications", key=key, digest=digest)
        app = application_submitted_with_key(user=request.user, key=key)
        created = False
        if app is not None:
            idempotency_remember(user=request.user, scope="applications", key=key, digest=digest)
        else:
            bundle, item = data.get("bundle"), data.get("item")
            workflow = services.workflow_for(bundle=bundle, item=item)
            prepared = selectors.application_prepare(
                user=request.user, workflow=workflow, bundle=bundle, item=item
            )
            spec = prepared.spec
            check_no_uploads_needed(spec)
            answers = checked_answers(spec=spec, user=request.user, given=data["answers"])
            with transaction.atomic():  # the key's record commits with the application
                app, created = services.application_create_and_submit(
                    applicant=request.user,
                    bundle=bundle,
                    item=item,
                    answers=answers,
                    idempotency_key=key,
                    prepared=prepared,
                )
                idempotency_remember(
                    user=request.user, scope="applications", key=key, digest=digest
                )
        app = selectors.application_get_for_citizen(user=request.user, pk=app.pk)
        body = ApplicationDetailSerializer(app, context=self.get_serializer_context()).data
        if not created:
            return Response(body, status=status.HTTP_200_OK)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})

    @extend_schema(
        operation_id="applications_rating_create",
        tags=["applications"],
        summary="Rate a finished application",
        description="好差评: once per case, after it is finished. Rating again answers 409 "
        "(`rated`); rating an unfinished case answers 400 (`not_finished`).",
        parameters=[APPLICATION_PARAMETER],
        request=RatingCreateSerializer,
        responses={201: RatingSerializer, 409: ErrorSerializer, **CITIZEN_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="rating")
    def rating(self, request, pk: str):
        app = selectors.application_get_for_citizen(user=request.user, pk=pk)
        data = valid_data(RatingCreateSerializer, request.data)
        rating = services.rating_submit(
            applicant=request.user, application=app, score=data["score"], comment=data["comment"]
        )
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="applications_correction_create",
        tags=["applications"],
        summary="Send the correction a department asked for",
        description="补正: answers only the fields the department ticked (`corrections` of the "
        "task in the application's parts). A field not asked for, or a bad answer, answers 400 "
        "and changes nothing; a task no longer waiting for a correction answers 409. Materials "
        "to upload again are sent on the website.",
        parameters=[APPLICATION_PARAMETER],
        request=CorrectionCreateSerializer,
        responses={200: ApplicationDetailSerializer, 409: ErrorSerializer, **CITIZEN_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="correction")
    def correction(self, request, pk: str):
        app = selectors.application_get_for_citizen(user=request.user, pk=pk)
        data = valid_data(CorrectionCreateSerializer, request.data)
        task = next((t for t in app.tasks.all() if t.pk == data["task"]), None)
        if task is None:
            raise exceptions.NotFound()
        spec = selectors.application_form_spec(app)
        asked = set(task.correction_fields)
        problems = {
            f"answers.{name}": [
                exceptions.ErrorDetail(
                    _("This form does not ask for this field."),
                    code=WorkflowsErrorCode.UNKNOWN_FIELD,
                )
            ]
            for name in data["answers"]
            if name not in asked
        }
        if problems:
            raise exceptions.ValidationError(problems)
        answers, errors = validate_answers(spec, data["answers"], only=data["answers"].keys())
        if errors:
            raise exceptions.ValidationError(
                {
                    f"answers.{name}": [
                        exceptions.ErrorDetail(m, code=WorkflowsErrorCode.INVALID_ANSWER)
                        for m in messages
                    ]
                    for name, messages in errors.items()
                }
            )
        services.correction_resubmit(applicant=request.user, task_id=task.pk, answers=answers)
        app = selectors.application_get_for_citizen(user=request.user, pk=app.pk)
        return Response(
            ApplicationDetailSerializer(app, context=self.get_serializer_context()).data
        )


# ---------------------------------------------------------------- worklist


def task_action_schema(name: str, summary: str, description: str, request):
    return extend_schema(
        operation_id=f"tasks_{name}",
        tags=["worklist"],
        extensions=response_links({200: task_links("$response.body#")}),
        summary=summary,
        description=description
        + " Answers the task as it now stands. Another department's task answers 404; a move "
        "the task's state does not allow, a claim someone else holds or a stale `version` "
        "answers 409 and changes nothing.",
        parameters=[TASK_PARAMETER],
        request=request,
        responses={200: TaskDetailSerializer, **STAFF_ERRORS},
    )


@extend_schema_view(
    list=extend_schema(
        operation_id="tasks_list",
        tags=["worklist"],
        extensions=response_links({200: task_links("$response.body#/results/0")}),
        summary="My departments' worklist",
        description="Tasks of the departments the caller works in (as clerk or supervisor), "
        "by due date, each with its applicant masked. With `overdue=1`, a supervisor of a "
        "government service centre gets every overdue task of the departments the centre "
        "oversees too. `q` finds a case by an exact key (logged). Someone who works in no "
        "department (a citizen) gets an empty list.",
        parameters=[WorklistQuerySerializer],
        responses={
            200: TaskSerializer(many=True),
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
    ),
    retrieve=extend_schema(
        operation_id="tasks_retrieve",
        tags=["worklist"],
        extensions=response_links({200: task_links("$response.body#")}),
        summary="A task with its case",
        description="The task, the case's answers (ID numbers masked unless you hold the "
        "claim), the data passed from earlier steps and the task's history. Another "
        "department's task answers 404, like one that does not exist.",
        parameters=[TASK_PARAMETER],
        responses={
            200: TaskDetailSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    ),
)
class TaskViewSet(viewsets.GenericViewSet):
    """Tasks of joint handling in the caller's departments, and their moves."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser]
    lookup_value_regex = TASK_ID_PATTERN
    filter_backends: list = []
    serializer_class = TaskSerializer
    queryset = Task.objects.none()

    def list(self, request):
        query = WorklistQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        search = query.validated_data.get("q")
        tasks = selectors.worklist(
            user=request.user,
            state=query.validated_data.get("state", ""),
            overdue=query.validated_data.get("overdue") == "1",
            department_code=query.validated_data.get("department", ""),
            search=search,
        )
        ids = self.paginate_queryset(tasks.values_list("pk", flat=True))
        if search is not None:
            found = self.paginator.page.paginator.count
            services.staff_search_record(user=request.user, where="api", key=search, found=found)
        rows = selectors.worklist_rows(ids)
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def retrieve(self, request, pk: str):
        return Response(self._detail(request, self._task(request, pk)))

    def _task(self, request, pk: str) -> Task:
        return selectors.task_get_for_staff(user=request.user, pk=int(pk))

    def _spec(self, task: Task) -> FormSpec:
        return selectors.application_form_spec(task.application)

    def _detail(self, request, task: Task, spec: FormSpec | None = None) -> dict:
        shown = selectors.task_shown(task=task, viewer=request.user, spec=spec or self._spec(task))
        if shown.reveal_to_log:
            services.task_reveal_record(task=task, actor=request.user)
        context = {**self.get_serializer_context(), "shown": shown}
        return TaskDetailSerializer(task, context=context).data

    def _move(self, request, task: Task, name: str, data: dict, **arguments) -> Response:
        services.task_transition(
            actor=request.user,
            task_id=task.pk,
            action=name,
            expected_version=data.get("version"),
            **arguments,
        )
        return Response(self._detail(request, self._task(request, task.pk)))

    @task_action_schema(
        "claim",
        "Claim a task",
        "Take the task to work on it; the others in the department see you hold it.",
        TaskActionSerializer,
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk: str):
        task = self._task(request, pk)
        return self._move(request, task, "claim", valid_data(TaskActionSerializer, request.data))

    @task_action_schema(
        "release", "Release a task", "Give back a task you hold.", TaskActionSerializer
    )
    @action(detail=True, methods=["post"])
    def release(self, request, pk: str):
        task = self._task(request, pk)
        return self._move(request, task, "release", valid_data(TaskActionSerializer, request.data))

    @task_action_schema(
        "accept",
        "Accept a task (受理)",
        "Accept the step of a task you hold.",
        TaskActionSerializer,
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk: str):
        task = self._task(request, pk)
        return self._move(request, task, "accept", valid_data(TaskActionSerializer, request.data))

    @task_action_schema(
        "correction",
        "Ask for a correction (补正)",
        "The citizen is asked to fix only the answers and materials named; the task comes "
        "back to where it was when they resubmit. A name that is not one of the task's "
        "answers or materials answers 400 (`unknown_field`).",
        TaskCorrectionSerializer,
    )
    @action(detail=True, methods=["post"])
    def correction(self, request, pk: str):
        task = self._task(request, pk)
        data = valid_data(TaskCorrectionSerializer, request.data)
        # Only what the department's steps use may be asked for again (need to know).
        known = selectors.task_shown(task=task, viewer=request.user).correctable
        unknown = [name for name in data["fields"] if name not in known]
        if unknown:
            raise exceptions.ValidationError(
                {
                    "fields": [
                        exceptions.ErrorDetail(
                            _("Not an answer or material your department uses: %(names)s.")
                            % {"names": ", ".join(unknown)},
                            code=WorkflowsErrorCode.UNKNOWN_FIELD,
                        )
                    ]
                }
            )
        return self._move(
            request, task, "correction", data, reason=data["reason"], fields=data["fields"]
        )

    @task_action_schema(
        "complete",
        "Complete a task",
        "Finish the step with what it gives; later steps become ready and receive the outputs "
        "they need. Missing outputs answer 400 (`outputs_missing`).",
        TaskCompleteSerializer,
    )
    @action(detail=True, methods=["post"])
    def complete(self, request, pk: str):
        task = self._task(request, pk)
        data = valid_data(TaskCompleteSerializer, request.data)
        return self._move(request, task, "complete", data, outputs=data["outputs"])

    @task_action_schema(
        "reject",
        "Reject a task",
        "Refuse the department's part with a reason; the steps that depend on it are not "
        "carried out, the others go on.",
        TaskRejectSerializer,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk: str):
        task = self._task(request, pk)
        data = valid_data(TaskRejectSerializer, request.data)
        return self._move(request, task, "reject", data, reason=data["reason"])

    @task_action_schema(
        "extension_create",
        "Ask for more time (延期)",
        "The clerk holding the task asks a supervisor of the department for more working days, "
        "with a reason. Nothing changes until a supervisor approves. A request already waiting "
        "answers 409 (`extension_pending`).",
        ExtensionRequestSerializer,
    )
    @action(detail=True, methods=["post"], url_path="extension")
    def extension(self, request, pk: str):
        task = self._task(request, pk)
        data = valid_data(ExtensionRequestSerializer, request.data)
        services.extension_request(
            actor=request.user, task_id=task.pk, workdays=data["workdays"], reason=data["reason"]
        )
        return Response(self._detail(request, self._task(request, task.pk)))

    @task_action_schema(
        "extension_decide",
        "Decide a request for more time (延期)",
        "A supervisor of the task's department approves (the due date moves by the working "
        "days asked) or refuses (nothing changes), with a reason the citizen reads. Anyone "
        "else answers 403 (`not_supervisor`); a request already decided answers 409 "
        "(`decided`).",
        ExtensionDecisionSerializer,
    )
    @action(detail=True, methods=["post"], url_path="extension-decision")
    def extension_decision(self, request, pk: str):
        task = self._task(request, pk)
        data = valid_data(ExtensionDecisionSerializer, request.data)
        if not task.extensions.filter(pk=data["extension"]).exists():
            raise exceptions.NotFound(_("No such extension request for this task."))
        services.extension_decide(
            actor=request.user,
            extension_id=data["extension"],
            approve=data["decision"] == "approve",
            reason=data["reason"],
        )
        return Response(self._detail(request, self._task(request, task.pk)))

    @task_action_schema(
        "hand_over",
        "Hand a task to a colleague",
        "The holder hands the task to a clerk or supervisor of the same department "
        "(`not_a_colleague` otherwise); the colleague holds it from now on and is told. In the "
        "history, not shown to the citizen.",
        HandOverSerializer,
    )
    @action(detail=True, methods=["post"], url_path="hand-over")
    def hand_over(self, request, pk: str):
        task = self._task(request, pk)
        data = valid_data(HandOverSerializer, request.data)
        return self._move(
            request,
            task,
            "hand_over",
            data,
            colleague_id=data["colleague"],
            reason=data.get("reason", ""),
        )

    @task_action_schema(
        "send_back",
        "Send the case back a step",
        "The holder sends the case back to the steps this one comes after: they "
        "reopen (accepted, due again in their own working days) and this step waits for them. "
        "The first step answers 409 (`no_earlier_step`).",
        SendBackSerializer,
    )
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request, pk: str):
        task = self._task(request, pk)
        data = valid_data(SendBackSerializer, request.data)
        return self._move(request, task, "send_back", data, reason=data["reason"])

    @task_action_schema(
        "procedure_start",
        "Start a special procedure (the clock pauses)",
        "The holder starts testing, inspection, appraisal, expert review, a public "
        "notice or a hearing: the time limit pauses until it ends and the citizen is told. One "
        "at a time (`procedure_running`).",
        ProcedureStartSerializer,
    )
    @action(detail=True, methods=["post"], url_path="procedure")
    def procedure(self, request, pk: str):
        task = self._task(request, pk)
        data = valid_data(ProcedureStartSerializer, request.data)
        services.procedure_start(
            actor=request.user,
            task_id=task.pk,
            kind=data["kind"],
            reason=data["reason"],
            expected_end=data["expected_end"],
        )
        return Response(self._detail(request, self._task(request, task.pk)))

    @task_action_schema(
        "procedure_end",
        "End the special procedure (the clock runs again)",
        "The due date and the case's promise move by the working days it took; "
        "the citizen is told the new date. None running answers 409 (`procedure_not_running`).",
        None,
    )
    @action(detail=True, methods=["post"], url_path="procedure-end")
    def procedure_end(self, request, pk: str):
        task = self._task(request, pk)
        services.procedure_end(actor=request.user, task_id=task.pk)
        return Response(self._detail(request, self._task(request, task.pk)))

    @extend_schema(
        operation_id="tasks_supervise",
        tags=["worklist"],
        summary="Issue a 督办",
        description="A supervisor of the department, or of a government service centre "
        "overseeing it, issues a 督办: addressed to the department's supervisors (or the next "
        "level up), who must reply in writing within 2 working days.",
        request=SuperviseSerializer,
        parameters=[TASK_PARAMETER],
        responses={201: SupervisionSerializer, **STAFF_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="supervise")
    def supervise(self, request, pk: str):
        task = self._task(request, pk)
        data = valid_data(SuperviseSerializer, request.data)
        supervision = services.supervision_issue(
            actor=request.user, task_id=task.pk, reason=data["reason"]
        )
        return Response(SupervisionSerializer(supervision).data, status=201)
