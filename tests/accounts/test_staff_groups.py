"""Staff groups: each sees in the admin exactly what its work needs. Billing never reads notes,
prescriptions or the audit log; front desk never sees money beyond a payment's status."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.models import StaffGroup
from accounts.staff_groups import permission_names_for, staff_groups_apply
from appointments.models import VisitNote
from tests.factories import StaffFactory, visit

pytestmark = pytest.mark.django_db


def staff_in(group: StaffGroup):
    user = StaffFactory(is_superuser=False)
    user.groups.add(Group.objects.get(name=group))
    return user


def registered(*app_labels: str) -> set[str]:
    """The admin's models of these apps, as "app_label.ModelName"."""
    return {model._meta.label for model in admin.site._registry if model._meta.app_label in app_labels}


def admin_index_models(client, user) -> set[str]:
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return {
        f"{app['app_label']}.{model['object_name']}" for app in response.context["app_list"] for model in app["models"]
    }


EXPECTED = {
    StaffGroup.FRONT_DESK: lambda: {
        "accounts.User",
        "accounts.PatientProfile",
        "appointments.Appointment",
        "hospital.Specialty",
        "hospital.Doctor",
        "hospital.WorkingHours",
        "hospital.TimeOff",
        "hospital.Slot",
    },
    StaffGroup.BILLING: lambda: (
        {"accounts.User", "appointments.Appointment"}
        | registered("payments", "djstripe") - {"djstripe.APIKey", "djstripe.WebhookEndpoint"}
    ),
    # The prescriptions app registers its own models; whatever they are, this group reads them.
    StaffGroup.CLINICAL_RECORDS: lambda: (
        {"appointments.VisitNote", "hospital.AuditEntry"} | registered("prescriptions")
    ),
    StaffGroup.ADMINISTRATOR: lambda: (
        {model._meta.label for model in admin.site._registry} - {"appointments.VisitNote"} - registered("prescriptions")
    ),
}


def test_the_four_groups_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= set(StaffGroup.values)


@pytest.mark.parametrize("group", list(StaffGroup))
def test_each_group_sees_exactly_its_models_in_the_admin(client, group):
    assert admin_index_models(client, staff_in(group)) == EXPECTED[group]()


def test_a_staff_member_in_no_group_sees_nothing(client):
    assert admin_index_models(client, StaffFactory(is_superuser=False)) == set()


def test_billing_is_refused_a_visit_note(client):
    appointment = visit(status="completed")
    note = VisitNote.objects.create(
        appointment=appointment,
        text="Private.",
        created_at=appointment.slot.starts_at,
        updated_at=appointment.slot.starts_at,
        signed_at=appointment.slot.starts_at,
        signed_by=appointment.doctor.user,
    )
    client.force_login(staff_in(StaffGroup.BILLING))
    response = client.get(reverse("admin:appointments_visitnote_change", args=[note.pk]))
    assert response.status_code == 403
    assert b"Private." not in response.content
    assert client.get(reverse("admin:hospital_auditentry_changelist")).status_code == 403


def test_front_desk_reads_an_appointments_payment_status_but_no_amount(client):
    appointment = visit(doctor=None)  # a $50.00 fee, paid
    client.force_login(staff_in(StaffGroup.FRONT_DESK))

    listing = client.get(reverse("admin:appointments_appointment_changelist")).text
    change = client.get(reverse("admin:appointments_appointment_change", args=[appointment.pk])).text
    page = client.get(reverse("appointments:detail", args=[appointment.pk])).text

    for text in (listing, change):
        assert "Paid" in text and "$50.00" not in text
    assert "$50.00" not in page
    assert client.get(reverse("admin:payments_payment_changelist")).status_code == 403
    assert client.get(reverse("admin:payments_refund_changelist")).status_code == 403


def test_billing_reads_the_amounts(client):
    appointment = visit()
    client.force_login(staff_in(StaffGroup.BILLING))
    assert "$50.00" in client.get(reverse("admin:appointments_appointment_changelist")).text
    assert "$50.00" in client.get(reverse("appointments:detail", args=[appointment.pk])).text


# -- the table, applied after every migrate ----------------------------------------------------


def test_applying_the_table_again_puts_each_group_back_as_declared():
    billing = Group.objects.get(name=StaffGroup.BILLING)
    billing.permissions.add(Permission.objects.get(codename="view_visitnote"))
    Group.objects.filter(name=StaffGroup.FRONT_DESK).delete()

    staff_groups_apply()

    assert not billing.permissions.filter(codename="view_visitnote").exists()
    front_desk = Group.objects.get(name=StaffGroup.FRONT_DESK)
    assert set(front_desk.permissions.values_list("codename", flat=True)) >= {"view_appointment", "change_slot"}


def test_models_that_arrive_later_are_granted_on_the_next_migrate():
    """As when an app's new models are migrated after this table was written."""
    arrived = ContentType.objects.get_or_create(app_label="payments", model="futurerecord")[0]
    for action in ("view", "change"):
        Permission.objects.get_or_create(
            content_type=arrived, codename=f"{action}_futurerecord", defaults={"name": f"Can {action}"}
        )

    staff_groups_apply()

    def codenames(group):
        return set(
            Group.objects.get(name=group).permissions.filter(content_type=arrived).values_list("codename", flat=True)
        )

    assert codenames(StaffGroup.BILLING) == {"view_futurerecord"}
    assert codenames(StaffGroup.ADMINISTRATOR) == {"view_futurerecord", "change_futurerecord"}
    assert codenames(StaffGroup.CLINICAL_RECORDS) == codenames(StaffGroup.FRONT_DESK) == set()


@pytest.mark.parametrize(
    ("group", "granted"),
    [
        (StaffGroup.CLINICAL_RECORDS, ["prescriptions.view_prescription", "prescriptions.view_prescriptionitem"]),
        (StaffGroup.ADMINISTRATOR, []),
        (StaffGroup.BILLING, []),
        (StaffGroup.FRONT_DESK, []),
    ],
)
def test_prescriptions_are_read_by_clinical_records_only(group, granted):
    names = ["prescriptions.add_prescription", "prescriptions.view_prescription", "prescriptions.view_prescriptionitem"]
    assert permission_names_for(group, names) == granted


def test_billing_and_front_desk_never_get_medical_records():
    medical = ["appointments.view_visitnote", "appointments.view_visitnoteaddendum", "hospital.view_auditentry"]
    for group in (StaffGroup.BILLING, StaffGroup.FRONT_DESK):
        assert permission_names_for(group, medical) == []
