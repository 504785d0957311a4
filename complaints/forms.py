"""Forms of the complaints desk's pages; the rules themselves live in ``services``."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from departments.models import Region

from .models import Ticket
from .services import CONTENT_MAX_CHARS, TITLE_MAX_CHARS


class TicketForm(forms.Form):
    kind = forms.ChoiceField(label=_("What is it?"), choices=Ticket.Kind.choices)
    title = forms.CharField(
        label=_("Title"),
        required=False,
        max_length=TITLE_MAX_CHARS,
        help_text=_("Optional: a few words; we use the first sentence otherwise."),
    )
    content = forms.CharField(
        label=_("What happened, or what do you want to ask?"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=CONTENT_MAX_CHARS,
    )
    region = forms.ModelChoiceField(
        label=_("Region"),
        queryset=Region.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("— choose —"),
    )
    address = forms.CharField(label=_("Address"), required=False, max_length=200)
    latitude = forms.CharField(label=_("Latitude"), required=False, max_length=20)
    longitude = forms.CharField(label=_("Longitude"), required=False, max_length=20)
    anonymous = forms.BooleanField(
        label=_("Send anonymously (you will not be called back)"), required=False
    )
    public = forms.BooleanField(
        label=_("Show the content and the reply in public (without your name)"), required=False
    )
    question = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, hotline: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.hotline = hotline
        if hotline:
            self.fields["contact_name"] = forms.CharField(
                label=_("Caller's name"), required=False, max_length=60
            )
            self.fields["contact_phone"] = forms.CharField(
                label=_("Caller's phone"), required=False, max_length=20
            )


class ActionForm(forms.Form):
    action = forms.CharField(max_length=20)
    version = forms.IntegerField(required=False)
    note = forms.CharField(required=False, max_length=CONTENT_MAX_CHARS)
    department = forms.CharField(required=False, max_length=40)
    assisting = forms.CharField(required=False, max_length=400)
    target = forms.CharField(required=False, max_length=20)
    satisfaction = forms.IntegerField(required=False, min_value=1, max_value=5)
    article = forms.CharField(required=False, max_length=40)
    category = forms.CharField(required=False, max_length=20)
    kind = forms.CharField(required=False, max_length=12)
    until = forms.DateField(required=False)
    approve = forms.TypedChoiceField(
        required=False,
        choices=[("yes", "yes"), ("no", "no")],
        coerce=lambda value: value == "yes",
        empty_value=None,
    )
