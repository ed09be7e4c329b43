"""Ids in API paths and who may call, shared by every area's endpoints.

Routes take ids as text (`<str:...>`): Django's int converter would answer a non-number with the
site's HTML 404 rather than the API's JSON error.
"""

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission

from accounts.models import Role
from hospital.api.schema import error

# Ids are bigint: a longer number names nothing (and must not reach the database as one).
LARGEST_ID = 2**63 - 1

BAD_ID = error(400, "The id in the path is not a whole number.")


def path_id(value: str, *, name: str = "id") -> int:
    """An id from the path: not a whole number → 400 naming `name`; a number nothing can have → 404
    (as one that is not the caller's)."""
    if not value.isascii() or not value.isdigit():
        raise ValidationError({name: ["Not a valid id: a whole number is expected."]})
    pk = int(value)
    if not 0 < pk <= LARGEST_ID:
        raise Http404
    return pk


def id_in_path(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.PATH, description=what)


class RoleIn(BasePermission):
    """Signed in with one of `roles`, as the pages' `role_required`; any other role gets 403."""

    roles: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.role in self.roles)


class PatientsOnly(RoleIn):
    roles = (Role.PATIENT,)


class DoctorsOnly(RoleIn):
    roles = (Role.DOCTOR,)


class DoctorsAndPatients(RoleIn):
    """The prescription pages: doctors and patients (staff read prescriptions in the admin)."""

    roles = (Role.DOCTOR, Role.PATIENT)
