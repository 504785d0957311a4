"""Admin of the knowledge base (articles), the assistant's log and pinned answers.

Saves and deletions go through ``complaints.knowledge.services`` so that every process rebuilds
its assistant index once they commit; pinning from the log is an action with a confirmation
page (``complaints/knowledge_pin.html``).

The log is scoped by ``questions_for_staff`` (the desk reads all of it, other staff the
questions of their departments' regions) and names the asker only as
``question_asker_visible`` allows: to the desk, masked, and never next to a report.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import ServiceItem
from zheliban.core.identity import mask_name, mask_phone

from ..knowledge import services
from ..knowledge.selectors import questions_for_staff
from ..models import Article, AssistantQuestion, PinnedAnswer
from .tickets import viewer_is_desk


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("code", "question", "scope", "region", "department", "overrides", "valid_until")
    list_filter = ("scope", "source", "is_active")
    search_fields = ("code", "question", "keywords", "source_ref")
    raw_id_fields = ("overrides",)
    autocomplete_fields = ("region", "department")
    list_select_related = ("region", "department", "overrides")
    readonly_fields = ("created_at", "updated_at")

    def save_model(self, request, obj, form, change):
        services.article_save(article=obj, actor=request.user)

    def delete_model(self, request, obj):
        services.article_delete(article=obj, actor=request.user)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for article in queryset:
            services.article_delete(article=article, actor=request.user)


class PinForm(forms.Form):
    article = forms.CharField(label=gettext_lazy("Article code"), required=False, max_length=40)
    item = forms.CharField(
        label=gettext_lazy("Item implementation code"), required=False, max_length=40
    )

    def clean(self):
        data = super().clean()
        article_code, item_code = data.get("article", "").strip(), data.get("item", "").strip()
        if bool(article_code) == bool(item_code):
            raise ValidationError(_("Give either an article code or an item code."))
        if article_code:
            data["article"] = Article.objects.filter(code=article_code, is_active=True).first()
            if data["article"] is None:
                raise ValidationError(_("No active article has this code."))
            data["item"] = None
        else:
            data["item"] = ServiceItem.objects.filter(code=item_code, is_active=True).first()
            if data["item"] is None:
                raise ValidationError(_("No published item has this code."))
            data["article"] = None
        return data


@admin.register(AssistantQuestion)
class AssistantQuestionAdmin(admin.ModelAdmin):
    list_display = (
        "question",
        "answered",
        "confidence",
        "helpful",
        "flagged",
        "asker",
        "ticket_opened",
        "asked_at",
    )
    list_filter = ("answered", "helpful", "flagged")
    search_fields = ("question", "normalized")
    date_hierarchy = "asked_at"
    exclude = ("user", "ticket")
    readonly_fields = (
        "question",
        "normalized",
        "answer",
        "confidence",
        "answered",
        "sources",
        "region",
        "asker",
        "helpful",
        "flagged",
        "flag_note",
        "flagged_by",
        "ticket_opened",
        "asked_at",
    )
    actions = ["pin_answer"]

    def has_add_permission(self, request):
        return False

    def get_queryset(self, request):
        return questions_for_staff(request.user, desk=viewer_is_desk(request))

    @admin.display(description=gettext_lazy("asked by"))
    def asker(self, obj):
        if not obj.asker_visible:
            return "—"
        if obj.user_id is None:
            return _("without an account")
        name = obj.user.real_name or obj.user.username
        return " ".join(filter(None, [mask_name(name), mask_phone(obj.user.phone)]))

    @admin.display(description=gettext_lazy("ticket opened"))
    def ticket_opened(self, obj):
        if obj.ticket_id is None:
            return "—"
        if not obj.ticket_reachable:
            return _("a ticket outside your departments")
        return obj.ticket.number

    @admin.action(description=gettext_lazy("Pin an article or an item as the answer"))
    def pin_answer(self, request, queryset):
        form = PinForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            pinned = 0
            for question in queryset:
                try:
                    services.answer_pin(
                        question=question.question,
                        article=form.cleaned_data["article"],
                        item=form.cleaned_data["item"],
                        actor=request.user,
                    )
                except ValidationError as error:
                    self.message_user(request, "; ".join(error.messages), messages.ERROR)
                    continue
                pinned += 1
            self.message_user(request, _("%(count)d answers pinned.") % {"count": pinned})
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Pin an answer"),
            "questions": queryset,
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "complaints/knowledge_pin.html", context)


class PinnedAnswerForm(forms.ModelForm):
    class Meta:
        model = PinnedAnswer
        fields = ("question", "article", "item")


@admin.register(PinnedAnswer)
class PinnedAnswerAdmin(admin.ModelAdmin):
    form = PinnedAnswerForm
    list_display = ("question", "article", "item", "pinned_by", "updated_at")
    search_fields = ("question", "normalized")
    raw_id_fields = ("article", "item")
    list_select_related = ("article", "item", "pinned_by")

    def save_model(self, request, obj, form, change):
        if change and obj.pk:  # the question may have changed
            services.pins_delete(pins=PinnedAnswer.objects.filter(pk=obj.pk), actor=request.user)
        pinned = services.answer_pin(
            question=obj.question, article=obj.article, item=obj.item, actor=request.user
        )
        obj.pk = pinned.pk

    def delete_model(self, request, obj):
        services.pins_delete(pins=PinnedAnswer.objects.filter(pk=obj.pk), actor=request.user)

    def delete_queryset(self, request, queryset):
        services.pins_delete(pins=queryset, actor=request.user)
