from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django_htmx.http import HttpResponseClientRedirect

from llm.rules.roles import Actor


def staff_required(view):
    """Anonymous visitors go to the login page; signed-in users who are not staff get 403.

    Staff are the dashboard's operators (llm/rules/roles.py): they may also change the state.
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            login = redirect_to_login(request.get_full_path())
            # A refresh from htmx would swap the login page into a panel: reload the page instead.
            return HttpResponseClientRedirect(login.url) if request.htmx else login
        if not Actor.of(request).is_operator:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
