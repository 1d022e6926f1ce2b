"""Sign-in with OpenID Connect (Keycloak or any OIDC provider) through mozilla-django-oidc.

It is on only when the six ``OIDC_*`` settings that name the client and the provider's endpoints
are all set (``settings.py`` reads them from the environment). The URLs under ``/oidc/`` are
always mounted; while sign-in with OIDC is off they answer 404 and the backend ignores every call.

Who is who
----------
The provider's ``sub`` claim (from the verified ID token; the userinfo answer must carry the same
``sub``) is stored in ``Person.external_id``, and a later sign-in with the same ``sub`` is the same
Person. The first sign-in creates the Person: username from ``preferred_username`` (else the
``sub``), names from ``given_name``/``family_name``, the e-mail address, and no usable password.
Each later sign-in updates the names and the e-mail address from the provider.

An existing account is **never** matched by e-mail address, nor by username: either would let
whoever controls that address or name at the provider take over a local account. When the
wanted username belongs to a local account that is not linked to any SSO identity, the sign-in
is refused with a message naming the ``sub``: facility staff link the accounts by putting that
``sub`` in the Person's "external id" (admin), and the next SSO sign-in uses the local account,
with its proposals. When the username belongs to another SSO identity, the new Person gets a
numbered username (``alice-2``). Service accounts never sign in this way.
"""

from __future__ import annotations

import logging
import re

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

logger = logging.getLogger(__name__)

REQUIRED_SETTINGS = (
    "OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET",
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
)
USERNAME_MAX = 150
#: The characters Django's username validator accepts; anything else becomes "_".
NOT_USERNAME_CHARS = re.compile(r"[^\w.@+-]")
#: Where the backend leaves, for the callback view, why it refused a sign-in.
REFUSAL_ATTRIBUTE = "mmcat_oidc_refusal"


def oidc_enabled() -> bool:
    """Whether sign-in with OpenID Connect is configured (read at each request)."""
    return all(getattr(settings, name, None) for name in REQUIRED_SETTINGS)


def provider_name() -> str:
    return getattr(settings, "OIDC_PROVIDER_NAME", "") or "SSO"


class PersonOIDCBackend(OIDCAuthenticationBackend):
    """Authenticates the OIDC callback; maps ``sub`` to :attr:`Person.external_id`."""

    def __init__(self, *args, **kwargs):
        # Django instantiates every backend on each authenticate() call, also for a password
        # sign-in; the parent's __init__ raises while OIDC is not configured.
        self.UserModel = get_user_model()
        self.enabled = oidc_enabled()
        if self.enabled:
            super().__init__(*args, **kwargs)

    def authenticate(self, request, **kwargs):
        # Only the callback view's call counts: it always passes a nonce (None when nonces are
        # off). A password sign-in on /login/?code=..&state=.. must never reach the provider.
        if not self.enabled or request is None or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        """The parent checks signature, algorithm, expiry and nonce; the audience must be us."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token was issued to another client.")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = self.get_userinfo(access_token, id_token, payload)
        subject = payload.get("sub")
        if not subject or userinfo.get("sub") != subject:
            raise SuspiciousOperation("The userinfo subject differs from the ID token's.")
        claims = {**payload, **userinfo}
        person = self.UserModel.objects.filter(external_id=subject).first()
        if person is None:
            return self.create_user(claims)
        if person.is_service:
            return self.refuse(f"The {provider_name()} identity {subject} belongs to a service "
                               "account, which cannot sign in to the web site.")
        if not person.is_active:
            return self.refuse("This account is deactivated. Ask facility staff.")
        return self.update_user(person, claims)

    def refuse(self, reason: str):
        logger.warning("OIDC sign-in refused: %s", reason)
        setattr(self.request, REFUSAL_ATTRIBUTE, reason)
        return None

    def create_user(self, claims):
        subject = claims["sub"]
        username = self.free_username(claims)
        if username is None:
            return None
        person = self.UserModel(username=username, external_id=subject, is_active=True)
        self.copy_profile(person, claims)
        person.set_unusable_password()
        try:
            with transaction.atomic():
                person.save()
        except IntegrityError:  # the same person's first sign-in, twice at once
            person = self.UserModel.objects.filter(external_id=subject).first()
            if person is None:
                raise
            return person
        logger.info("OIDC: created %s for subject %s", username, subject)
        return person

    def free_username(self, claims) -> str | None:
        subject = claims["sub"]
        wanted = str(claims.get("preferred_username") or subject)
        base = NOT_USERNAME_CHARS.sub("_", wanted)[: USERNAME_MAX - 6] or "user"
        existing = self.UserModel.objects.filter(username__iexact=base).first()
        if existing is None:
            return base
        if not existing.external_id:
            return self.refuse(
                f"An mmCAT account named “{existing.username}” already exists and is not linked "
                f"to a {provider_name()} identity. Ask facility staff to link it to your "
                f"identity {subject}; then sign in again."
            )
        number = 2
        while self.UserModel.objects.filter(username__iexact=f"{base}-{number}").exists():
            number += 1
        return f"{base}-{number}"

    def update_user(self, user, claims):
        before = (user.first_name, user.last_name, user.email)
        self.copy_profile(user, claims)
        if (user.first_name, user.last_name, user.email) != before:
            user.save(update_fields=["first_name", "last_name", "email"])
        return user

    @staticmethod
    def copy_profile(person, claims) -> None:
        """Names and e-mail from the claims the provider sent; a claim it left out is kept."""
        if claims.get("given_name") is not None:
            person.first_name = str(claims["given_name"])[:150]
        if claims.get("family_name") is not None:
            person.last_name = str(claims["family_name"])[:150]
        if claims.get("email") and claims.get("email_verified", True) is not False:
            person.email = str(claims["email"])[:254]


class AuthenticateView(OIDCAuthenticationRequestView):
    """``/oidc/authenticate/``: redirects to the provider (state, nonce, PKCE in the session)."""

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Sign-in with OpenID Connect is not configured.")
        return super().get(request)


class CallbackView(OIDCAuthenticationCallbackView):
    """``/oidc/callback/``: the provider's answer. Every failure goes back to the login page with
    a message, instead of an error page."""

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Sign-in with OpenID Connect is not configured.")
        try:
            return super().get(request)
        except SuspiciousOperation as exc:  # unknown or replayed state, bad token, nonce, audience
            logger.warning("OIDC callback refused: %s", exc)
            setattr(request, REFUSAL_ATTRIBUTE, "The answer of the sign-in service did not match "
                    "a sign-in started from this browser. Please try again.")
        except (requests.RequestException, jwt.PyJWTError, ValueError, KeyError) as exc:
            logger.error("OIDC sign-in failed: %r", exc)
            setattr(request, REFUSAL_ATTRIBUTE, f"{provider_name()} did not answer as expected. "
                    "Please try again later.")
        return self.login_failure()

    def login_failure(self):
        if self.request.GET.get("error") and not hasattr(self.request, REFUSAL_ATTRIBUTE):
            reason = "The sign-in was cancelled or refused."
        else:
            reason = getattr(self.request, REFUSAL_ATTRIBUTE, None) or "Please try again."
        messages.error(self.request, f"Sign-in with {provider_name()} failed. {reason}")
        return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
