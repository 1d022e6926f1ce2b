"""API tokens in the web UI: each person's own tokens (``/account/tokens/``), and the beamlines'
service accounts with their tokens, managed by facility staff (``/staff/service-accounts/``).

A token's key is shown once: creating a token keeps the key in the session just long enough for
the next page, which takes it out and shows it (reloading that page no longer shows it). Only the
key's hash is stored with the token.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import wraps

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone

from ..models import ApiToken, Beamline, Person

SHOWN_ONCE_KEY = "mmcat_new_token_keys"
MAX_EXPIRY_YEARS = 10


# --- forms ------------------------------------------------------------------------------------

class TokenForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100,
        help_text="What the token is for, e.g. “xia2 on my laptop” or “acquisition”.",
        widget=forms.TextInput(attrs={"id": "token-name", "autocomplete": "off"}),
    )
    expires_on = forms.DateField(
        label="Expiry date", required=False,
        help_text="Optional. The token stops working at the start of that day. Empty: it "
        "works until revoked.",
        widget=forms.DateInput(attrs={"id": "token-expires", "type": "date"},
                               format="%Y-%m-%d"),
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        today = timezone.localdate()
        if day <= today:
            raise forms.ValidationError("The expiry date must be in the future.")
        if day > today + timedelta(days=round(365.25 * MAX_EXPIRY_YEARS)):
            raise forms.ValidationError(
                f"The expiry date must be within {MAX_EXPIRY_YEARS} years.")
        return day

    def expires_at(self):
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


class ServiceAccountForm(forms.Form):
    username = forms.CharField(
        label="Username", max_length=150, validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only, e.g. “i04-1-daq”.",
        widget=forms.TextInput(attrs={"id": "service-username", "autocomplete": "off"}),
    )
    beamline = forms.ModelChoiceField(
        label="Beamline", queryset=Beamline.objects.order_by("name"), empty_label="Choose…",
        widget=forms.Select(attrs={"id": "service-beamline"}),
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if Person.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(f"The username “{username}” is taken.")
        return username


def report_errors(request, form) -> None:
    """One message per invalid field, naming it (the fields show their errors too)."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else "Form"
        for error in errors:
            messages.error(request, f"{label}: {error}")


# --- helpers ----------------------------------------------------------------------------------

def with_status(tokens):
    now = timezone.now()
    for token in tokens:
        if token.revoked_at is not None:
            token.status = "revoked"
        elif token.expires_at is not None and token.expires_at <= now:
            token.status = "expired"
        else:
            token.status = "active"
    return tokens


def issue(request, person, form):
    """Issue the token; keep its key for the next page only."""
    token, key = ApiToken.issue(person, form.cleaned_data["name"], expires_at=form.expires_at())
    request.session.setdefault(SHOWN_ONCE_KEY, {})[str(token.pk)] = key
    request.session.modified = True
    return token


def take_key(request, token) -> str | None:
    """The new token's key, once: it leaves the session as it is read."""
    keys = request.session.get(SHOWN_ONCE_KEY) or {}
    key = keys.pop(str(token.pk), None)
    if key is not None:
        request.session[SHOWN_ONCE_KEY] = keys
    return key


def revoke(request, token, back):
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        messages.success(request, f"Token “{token.name}” ({token.prefix}…) is revoked. "
                         "Programs using it can no longer sign in with it.")
    else:
        messages.info(request, f"Token “{token.name}” was revoked already.")
    return redirect(back)


def shown_once(request, token, back, owner_label):
    context = {"token": token, "key": take_key(request, token), "back": back,
               "owner_label": owner_label}
    response = render(request, "mmcat/accounts/token_created.html", context)
    response["Cache-Control"] = "no-store"
    return response


def staff_only(view):
    """Facility staff only; anyone else gets 404, as for anything they may not see."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.sees_everything:
            raise Http404("Not found.")
        return view(request, *args, **kwargs)

    return wrapper


# --- a person's own tokens --------------------------------------------------------------------

@login_required
def token_list(request):
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            token = issue(request, request.user, form)
            return redirect("token-created", pk=token.pk)
        report_errors(request, form)
    tokens = with_status(list(request.user.api_tokens.order_by("-created_at", "-pk")))
    context = {"form": form, "tokens": tokens,
               "tomorrow": timezone.localdate() + timedelta(days=1)}
    return render(request, "mmcat/accounts/token_list.html", context)


@login_required
def token_created(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, person=request.user)
    return shown_once(request, token, reverse("token-list"), "your")


@login_required
def token_revoke(request, pk):
    token = get_object_or_404(ApiToken, pk=pk, person=request.user)
    if request.method == "POST":
        return revoke(request, token, "token-list")
    return render(request, "mmcat/accounts/token_revoke.html",
                  {"token": token, "back": reverse("token-list"), "owner": None})


# --- service accounts (facility staff) --------------------------------------------------------

def service_accounts():
    return Person.objects.filter(is_service=True)


@staff_only
def service_account_list(request):
    form = ServiceAccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            beamline = form.cleaned_data["beamline"]
            with transaction.atomic():
                account = Person.objects.create_user(
                    form.cleaned_data["username"], "", None, is_service=True,
                    first_name=beamline.name, last_name="service account",
                )
                beamline.staff.add(account)
            messages.success(request, f"Service account “{account.username}” created for "
                             f"{beamline.name}. Issue its first token below.")
            return redirect("service-account-detail", pk=account.pk)
        report_errors(request, form)
    accounts = service_accounts().order_by("username").prefetch_related(
        Prefetch("beamlines", queryset=Beamline.objects.order_by("name")),
        Prefetch("api_tokens", queryset=ApiToken.objects.order_by("-created_at", "-pk")),
    )
    for account in accounts:
        account.tokens = with_status(list(account.api_tokens.all()))
        account.active_tokens = [t for t in account.tokens if t.status == "active"]
    return render(request, "mmcat/accounts/service_account_list.html",
                  {"form": form, "accounts": accounts})


@staff_only
def service_account_detail(request, pk):
    account = get_object_or_404(service_accounts(), pk=pk)
    form = TokenForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            token = issue(request, account, form)
            return redirect("service-token-created", pk=account.pk, token_pk=token.pk)
        report_errors(request, form)
    context = {
        "account": account,
        "beamlines": account.beamlines.order_by("name"),
        "tokens": with_status(list(account.api_tokens.order_by("-created_at", "-pk"))),
        "form": form,
        "tomorrow": timezone.localdate() + timedelta(days=1),
    }
    return render(request, "mmcat/accounts/service_account_detail.html", context)


@staff_only
def service_token_created(request, pk, token_pk):
    token = get_object_or_404(ApiToken, pk=token_pk, person__pk=pk, person__is_service=True)
    back = reverse("service-account-detail", args=[pk])
    return shown_once(request, token, back, f"the service account {token.person.username}’s")


@staff_only
def service_token_revoke(request, pk, token_pk):
    token = get_object_or_404(ApiToken.objects.select_related("person"), pk=token_pk,
                              person__pk=pk, person__is_service=True)
    back = reverse("service-account-detail", args=[pk])
    if request.method == "POST":
        return revoke(request, token, back)
    return render(request, "mmcat/accounts/token_revoke.html",
                  {"token": token, "back": back, "owner": token.person})


urlpatterns = [
    path("account/tokens/", token_list, name="token-list"),
    path("account/tokens/<int:pk>/", token_created, name="token-created"),
    path("account/tokens/<int:pk>/revoke/", token_revoke, name="token-revoke"),
    path("staff/service-accounts/", service_account_list, name="service-account-list"),
    path("staff/service-accounts/<int:pk>/", service_account_detail,
         name="service-account-detail"),
    path("staff/service-accounts/<int:pk>/tokens/<int:token_pk>/", service_token_created,
         name="service-token-created"),
    path("staff/service-accounts/<int:pk>/tokens/<int:token_pk>/revoke/", service_token_revoke,
         name="service-token-revoke"),
]
