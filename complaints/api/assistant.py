"""REST API of the assistant: ask, say whether it helped, flag a wrong answer (staff).

``GET /api/v1/assistant/?q=...[&region=330100]`` answers and records the question:
``{"answer", "confidence", "sources", "answered", "question_id", "ticket_url"}``. An empty
question or one over 500 characters is refused with 400 in the shared error shape and nothing is
recorded.
"""

from __future__ import annotations

from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from complaints.errors import ComplaintsErrorCode
from zheliban.core.api import ErrorSerializer, TextField
from zheliban.core.schema import link, response_links

from ..knowledge import selectors, services
from ..models import AssistantQuestion
from ..views.assistant import asker_cookie_set, asker_key, question_of_asker


class SourceSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["article", "item"])
    code = TextField()
    title = TextField()
    passage = TextField()
    url = TextField()


class AnswerSerializer(serializers.Serializer):
    answer = TextField(allow_null=True)
    confidence = serializers.FloatField(min_value=0, max_value=1)
    sources = SourceSerializer(many=True)
    answered = serializers.BooleanField()
    question_id = serializers.IntegerField()
    ticket_url = TextField(allow_null=True)


class HelpfulSerializer(serializers.Serializer):
    helpful = serializers.BooleanField()


class FlagSerializer(serializers.Serializer):
    note = TextField(max_length=300, required=False, allow_blank=True, default="")


class FeedbackSerializer(serializers.Serializer):
    question_id = serializers.IntegerField()
    helpful = serializers.BooleanField(allow_null=True)
    flagged = serializers.BooleanField()


def answer_data(question: AssistantQuestion) -> dict:
    return {
        "answer": question.answer if question.answered else None,
        "confidence": question.confidence,
        "sources": question.sources,
        "answered": question.answered,
        "question_id": question.pk,
        "ticket_url": selectors.ticket_url(question),
    }


def feedback_data(question: AssistantQuestion) -> dict:
    return {"question_id": question.pk, "helpful": question.helpful, "flagged": question.flagged}


class AssistantView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="assistant_ask",
        tags=["assistant"],
        extensions=response_links(
            {
                200: {
                    "SayIfHelpful": link(
                        "assistant_helpful",
                        "Say whether the answer helped.",
                        id="$response.body#/question_id",
                    ),
                    "FlagAnswer": link(
                        "assistant_flag",
                        "Flag the answer (staff).",
                        id="$response.body#/question_id",
                    ),
                }
            }
        ),
        summary="Ask the assistant",
        description="Answers from the knowledge base (1+N articles) and the service guides, "
        "with the passages cited and a confidence from 0 to 1. Below the threshold "
        "(`answered: false`) `answer` is null and `ticket_url` opens a consultation ticket "
        "prefilled with the question. Every question is recorded, with the signed-in user or, "
        "without an account, the session the caller already has or else an asker cookie "
        "(`zheliban_asker`, set by the answer): only they may then say whether the answer "
        "helped.",
        parameters=[
            OpenApiParameter(
                "q",
                {"type": "string", "minLength": 1, "maxLength": services.QUESTION_MAX},
                required=True,
                description="The question: 1-500 characters once trimmed.",
            ),
            OpenApiParameter(
                "region",
                OpenApiTypes.STR,
                required=False,
                pattern="^[0-9]{6}$",
                description="The asker's region: its city's and departments' articles first.",
            ),
        ],
        responses={200: AnswerSerializer, 400: ErrorSerializer},
    )
    def get(self, request):
        if request.query_params.get("region") == "":
            raise exceptions.ValidationError(
                {
                    "region": [
                        exceptions.ErrorDetail(
                            _("A region code has exactly six digits."),
                            code=ComplaintsErrorCode.REGION_INVALID,
                        )
                    ]
                }
            )
        key, new = asker_key(request)
        question = services.assistant_ask(
            question=request.query_params.get("q"),
            region_code=request.query_params.get("region"),
            user=request.user,
            session_key=key,
        )
        response = Response(answer_data(question))
        return asker_cookie_set(response, key) if new else response


class HelpfulView(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="assistant_helpful",
        tags=["assistant"],
        summary="Say whether an answer helped",
        description="Only by whoever asked: the signed-in user who asked it, or — asked "
        "without an account — the same session or asker cookie (set when it was asked). "
        "Anyone else, and a question that does not exist, answers 404 with the same message; "
        "nothing changes. The last answer counts.",
        request=HelpfulSerializer,
        responses={200: FeedbackSerializer, 400: ErrorSerializer, 404: ErrorSerializer},
    )
    def post(self, request, pk: int):
        data = HelpfulSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            question = question_of_asker(request, pk)
        except Http404 as refused:  # the shared handler would drop the message of a bare 404
            raise exceptions.NotFound(str(refused)) from refused
        question = services.question_helpful_set(
            question=question, helpful=data.validated_data["helpful"]
        )
        return Response(feedback_data(question))


class FlagView(APIView):
    permission_classes = [permissions.AllowAny]  # the service refuses anyone but staff

    @extend_schema(
        operation_id="assistant_flag",
        tags=["assistant"],
        summary="Flag an answer as wrong (staff)",
        request=FlagSerializer,
        responses={200: FeedbackSerializer, 403: ErrorSerializer, 404: ErrorSerializer},
    )
    def post(self, request, pk: int):
        data = FlagSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        question = services.question_flag(
            question=selectors.question_get(question_id=pk),
            actor=request.user,
            note=data.validated_data["note"],
        )
        return Response(feedback_data(question))


urlpatterns = [
    path("assistant/", AssistantView.as_view(), name="assistant"),
    path("assistant/<int:pk>/helpful/", HelpfulView.as_view(), name="assistant-helpful"),
    path("assistant/<int:pk>/flag/", FlagView.as_view(), name="assistant-flag"),
]
