"""Access helpers: who may see what.

Every object a user reaches by id goes through `get_for_user_or_404`: the model's queryset
narrows itself to what that user may see (`visible_to(user)`), so someone else's record is a
404, never a 403 that would confirm it exists.
"""

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from accounts.models import Role

M = TypeVar("M", bound=Model)


def get_for_user_or_404(queryset: QuerySet[M], *, user, pk) -> M:
    return get_object_or_404(queryset.visible_to(user), pk=pk)


def role_required(*roles: Role, refuse: type[Exception] = PermissionDenied) -> Callable:
    """Let in signed-in users with one of `roles`; visitors go to log in, other roles get 403, or
    whatever `refuse` is raised as (Http404 where even a 403 would say too much)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.user.role not in roles:
                raise refuse
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
