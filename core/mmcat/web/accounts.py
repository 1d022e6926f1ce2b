"""Sign-in and sign-out, password reset by e-mail, the lockout after repeated failures
(django-axes), and the entry to OpenID Connect sign-in (``/oidc/``, see :mod:`mmcat.oidc`)."""

from __future__ import annotations

from urllib.parse import urlencode

from axes.utils import reset as reset_lockout
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.urls import include, path, reverse

from ..oidc import oidc_enabled, provider_name


def sign_in_options(request) -> dict:
    """Template context of the login page: the SSO button, when OIDC is configured."""
    if not oidc_enabled():
        return {"oidc_enabled": False}
    url = reverse("oidc_authentication_init")
    next_url = request.POST.get("next") or request.GET.get("next")
    if next_url:
        url += "?" + urlencode({"next": next_url})
    return {"oidc_enabled": True, "oidc_provider_name": provider_name(), "oidc_url": url}


def cooloff_minutes() -> int:
    cooloff = settings.AXES_COOLOFF_TIME
    return round(cooloff.total_seconds() / 60) if cooloff else 0


class LoginView(auth_views.LoginView):
    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **sign_in_options(self.request)}


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout answer (``AXES_LOCKOUT_CALLABLE``): the login page with the reason."""
    username = request.POST.get("username", "") if request.method == "POST" else ""
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "locked_out": True,
        "cooloff_minutes": cooloff_minutes(),
        "next": request.POST.get("next") or request.GET.get("next", ""),
        **sign_in_options(request),
    }
    return render(request, "registration/login.html", context, status=429)


def client_ip(request) -> str | None:
    """The client's address for the lockout (``AXES_CLIENT_IP_CALLABLE``). Behind
    ``MMCAT_PROXY_COUNT`` trusted proxies it is the one the outermost proxy saw, taken from the
    right of X-Forwarded-For (entries further left are whatever the client sent)."""
    count = getattr(settings, "MMCAT_PROXY_COUNT", 0)
    if count > 0:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [a for a in forwarded if a]
        if len(forwarded) >= count:
            return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def not_a_password_attempt(request, credentials=None) -> bool:
    """``AXES_WHITELIST_CALLABLE``: the OIDC callback is not counted nor locked. The provider
    checked the password; a refused SSO sign-in (say, an unlinked username) must not lock
    everybody behind the same address out of SSO."""
    return request is not None and request.path == reverse("oidc_authentication_callback")


class PasswordResetView(auth_views.PasswordResetView):
    """Mails a one-time link to every account with that address and a usable password (not
    accounts that sign in only with SSO, nor service accounts). The page never says whether
    the address is known."""

    template_name = "registration/reset_password.html"
    email_template_name = "registration/reset_password_email.txt"
    subject_template_name = "registration/reset_password_subject.txt"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **sign_in_options(self.request)}

    def form_valid(self, form):
        self.extra_email_context = {
            "valid_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
            "login_url": self.request.build_absolute_uri(reverse("login")),
        }
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Sets the new password; a sign-in lockout of that username is lifted with it."""

    template_name = "registration/reset_password_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        reset_lockout(username=form.user.get_username())
        return response


# The pages' templates are not named like Django's: the admin's templates of those names would
# win (django.contrib.admin comes first in INSTALLED_APPS).
urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),  # POST only
    path("password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name="registration/reset_password_sent.html"), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/complete/", auth_views.PasswordResetCompleteView.as_view(
        template_name="registration/reset_password_complete.html"),
        name="password_reset_complete"),
    # Always mounted; 404 until OIDC is configured (mmcat.oidc.AuthenticateView, CallbackView).
    path("oidc/", include("mozilla_django_oidc.urls")),
]
