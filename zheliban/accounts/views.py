from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import services
from .forms import LoginForm, RegistrationForm


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@require_http_methods(["GET", "POST"])
def register(request):
    form = RegistrationForm(request.POST or None)
    next_url = _safe_next(request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_register(
                kind=data["kind"],
                real_name=data["real_name"],
                phone=data["phone"],
                password=data["password"],
                id_number=data["id_number"],
                credit_code=data["credit_code"],
            )
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            login(request, user, backend="zheliban.accounts.backends.LoginBackend")
            messages.success(request, _("Welcome. Your account is ready."))
            return redirect(next_url or "accounts:profile")
    return render(
        request,
        "accounts/register.html",
        {"form": form, "next": next_url},
        status=400 if form.errors else 200,
    )


def _safe_next(request) -> str:
    """Where to go after registering: the page that sent the citizen here (an apply page, with
    its draft), if it is on this site."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if ok else ""


@login_required
def profile(request):
    return render(request, "accounts/profile.html", {"account": request.user})


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """The first password of an account made for its owner at a service counter, through the
    one-time link the counter handed over (``services.set_password_path``)."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("accounts:login")
    post_reset_login = False

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is set. Log in with your ID number."))
        return response
