"""Login throttling for the dashboard and the admin (both log in with a password).

After LLM_LOGIN_MAX_FAILURES wrong passwords for one username from one address,
that username is refused from that address, even with the right password, for
LLM_LOGIN_LOCKOUT_SECONDS, and the form says for how long. The count is per
username *and* address, so an attacker guessing one name neither locks out the
other users nor that user elsewhere. A login that succeeds clears the count.

The counts live in Django's cache (local memory: right for the one gunicorn
process of llmsite/gunicorn.py; see CACHES in settings for more processes).
The address is the one the connection came from (REMOTE_ADDR): behind a proxy on
the box every client shares the proxy's, which makes the count per username.
"""

import hashlib
import math
import time

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache


def locked_for(request, username: str) -> float:
    """Seconds left before `username` may try again from this request's address; 0 if it may now."""
    until = cache.get(_key("login-locked", request, username))
    return max(0.0, until - time.time()) if until else 0.0


def record_failure(request, username: str) -> None:
    failures_key = _key("login-failures", request, username)
    cache.add(failures_key, 0, settings.LLM_LOGIN_LOCKOUT_SECONDS)
    if cache.incr(failures_key) >= settings.LLM_LOGIN_MAX_FAILURES:
        cache.delete(failures_key)
        seconds = settings.LLM_LOGIN_LOCKOUT_SECONDS
        cache.set(_key("login-locked", request, username), time.time() + seconds, seconds)


def record_success(request, username: str) -> None:
    cache.delete(_key("login-failures", request, username))


def _key(kind, request, username):
    who = hashlib.sha256(f"{username.casefold()}\n{request.META.get('REMOTE_ADDR', '')}".encode()).hexdigest()
    return f"{kind}:{who}"


class ThrottledLoginMixin:
    """For a Django authentication form: refuse a locked-out username before checking
    its password, and count the wrong passwords."""

    lockout_message = ""

    def clean(self):
        username = self.cleaned_data.get("username")
        if username is None or self.request is None:
            return super().clean()
        if seconds := locked_for(self.request, username):
            minutes = math.ceil(seconds / 60)
            self.lockout_message = (
                f"Too many failed logins for this username from your address: logging in is paused. "
                f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
            )
            raise forms.ValidationError(self.lockout_message, code="locked_out")
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if error.code == "invalid_login":
                record_failure(self.request, username)
            raise
        record_success(self.request, username)
        return cleaned


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    """The dashboard's login (/accounts/login/)."""


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    """The admin's login (/admin/login/)."""
