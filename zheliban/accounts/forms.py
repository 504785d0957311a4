from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from zheliban.accounts.errors import AccountsErrorCode

from .models import User


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("Mobile number, ID number or user name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )

    error_messages = {
        "invalid_login": _("The account or password is wrong. Please try again."),
        "inactive": _("This account is disabled."),
    }


class RegistrationForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("I register as"),
        choices=[(User.Kind.CITIZEN, _("Citizen")), (User.Kind.ENTERPRISE, _("Enterprise"))],
        initial=User.Kind.CITIZEN,
        widget=forms.RadioSelect,
    )
    real_name = forms.CharField(
        label=_("Real name or enterprise name"),
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        required=False,
        help_text=_("Citizens: the 18 characters on your ID card."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text"}),
    )
    credit_code = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        required=False,
        help_text=_("Enterprises: the 18 characters on the business licence."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        help_text=_("At least 10 characters, not all digits, not a common password."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and cleaned.get("password") != cleaned.get("password_again"):
            self.add_error(
                "password_again",
                forms.ValidationError(
                    _("The two passwords differ."), code=AccountsErrorCode.PASSWORD_MISMATCH
                ),
            )
        return cleaned


class CounterRegistrationForm(forms.Form):
    """A walk-in citizen's ID card, as the counter clerk reads it (no password: the citizen sets
    one through the one-time link the counter hands over)."""

    real_name = forms.CharField(label=_("Name (姓名)"), max_length=100)
    sex = forms.ChoiceField(
        label=_("Sex (性别)"),
        choices=[("男", _("Male (男)")), ("女", _("Female (女)"))],
        widget=forms.RadioSelect,
    )
    birth_date = forms.DateField(
        label=_("Date of birth (出生)"), widget=forms.DateInput(attrs={"type": "date"})
    )
    id_number = forms.CharField(
        label=_("Citizen ID number (公民身份号码)"),
        max_length=18,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("Mobile number (optional)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )
