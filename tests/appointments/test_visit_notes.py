"""Visit notes: a draft while the visit is in progress, signed when it completes, final from then
on (corrections are signed addenda); read by the visit's doctor and the clinical-records group
only, every read and write in the audit log."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffGroup
from appointments.models import (
    Appointment,
    AppointmentStatus,
    VisitNote,
    VisitNoteAddendum,
    VisitNoteIsSigned,
)
from appointments.services import (
    VisitNoteRefused,
    appointment_complete,
    visit_note_add_addendum,
    visit_note_save_draft,
)
from hospital.models import AuditAction, AuditEntry
from tests.factories import DoctorFactory, StaffFactory, UserFactory, visit

pytestmark = pytest.mark.django_db

S = AppointmentStatus
NOW = dt.datetime(2026, 6, 1, 8, 40, tzinfo=dt.UTC)  # ten minutes into a 09:30 BST visit
NOTE = "Chest clear. BP 128/82. Review in six weeks."


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def in_progress() -> Appointment:
    doctor = DoctorFactory(user=UserFactory(role="doctor", first_name="Amara", last_name="Okafor"))
    return visit(status=S.IN_PROGRESS, doctor=doctor, starts_at=NOW - dt.timedelta(minutes=10))


@pytest.fixture
def signed(in_progress) -> Appointment:
    doctor = in_progress.doctor.user
    visit_note_save_draft(appointment_id=in_progress.pk, doctor=doctor, text=NOTE)
    appointment_complete(appointment_id=in_progress.pk, doctor=doctor)
    return in_progress


def doctor_client(client, appointment):
    client.force_login(appointment.doctor.user)
    return client


def detail(appointment) -> str:
    return reverse("appointments:detail", args=[appointment.pk])


def note_url(appointment) -> str:
    return reverse("appointments:visit_note", args=[appointment.pk])


def addendum_url(appointment) -> str:
    return reverse("appointments:visit_note_addendum", args=[appointment.pk])


def said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def audit_actions(record) -> list[str]:
    return list(
        AuditEntry.objects.filter(record_type=record._meta.label_lower, record_id=str(record.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )


def staff_in(group: StaffGroup):
    user = StaffFactory(is_superuser=False)
    user.groups.add(Group.objects.get(name=group))
    return user


# -- the draft ---------------------------------------------------------------------------------


def test_the_doctor_writes_and_rewrites_the_draft_each_save_audited(client, in_progress):
    client = doctor_client(client, in_progress)

    first = client.post(note_url(in_progress), {"text": "  Chest clear.  "})
    client.post(note_url(in_progress), {"text": NOTE})
    client.post(note_url(in_progress), {"text": NOTE})  # unchanged: nothing written

    assert first.status_code == 302 and first.url == detail(in_progress) + "#visit-note"
    assert said(first) == ["Draft note saved."]
    note = VisitNote.objects.get(appointment=in_progress)
    assert (note.text, note.is_signed) == (NOTE, False)
    assert audit_actions(note) == [AuditAction.CREATE, AuditAction.UPDATE]
    page = client.get(detail(in_progress))
    assert NOTE in page.text and "Draft, last saved" in page.text


def test_no_note_before_the_visit_starts(client, in_progress):
    Appointment.objects.filter(pk=in_progress.pk).update(status=S.CONFIRMED)

    response = doctor_client(client, in_progress).post(note_url(in_progress), {"text": NOTE})

    assert said(response) == ["You can write the visit note while the visit is in progress. Start the visit first."]
    assert not VisitNote.objects.exists()


def test_a_note_too_long_is_shown_again_with_what_was_typed(client, in_progress):
    text = "x" * 20001
    response = doctor_client(client, in_progress).post(note_url(in_progress), {"text": text})
    assert response.status_code == 400
    assert "Ensure this value has at most 20000 characters" in response.text
    assert text in response.text
    assert not VisitNote.objects.exists()


# -- signing -----------------------------------------------------------------------------------


def test_completing_signs_the_draft_in_the_same_step(client, in_progress):
    client = doctor_client(client, in_progress)
    client.post(note_url(in_progress), {"text": NOTE})

    client.post(reverse("appointments:visit_action", args=[in_progress.pk, "complete"]))

    note = VisitNote.objects.get(appointment=in_progress)
    assert (note.text, note.signed_by, note.signed_at) == (NOTE, in_progress.doctor.user, NOW)
    assert audit_actions(note) == [AuditAction.CREATE, AuditAction.SIGN]
    in_progress.refresh_from_db()
    assert in_progress.status == S.COMPLETED


def test_sign_and_complete_saves_the_last_words_typed(client, in_progress):
    client = doctor_client(client, in_progress)
    client.post(note_url(in_progress), {"text": "Chest clear."})

    response = client.post(reverse("appointments:visit_action", args=[in_progress.pk, "complete"]), {"text": NOTE})

    assert said(response)[-1] == "Visit completed. Your note is signed; corrections from now on are addenda."
    note = VisitNote.objects.get(appointment=in_progress)
    assert note.text == NOTE and note.is_signed


def test_sign_and_complete_with_a_note_too_long_completes_nothing(client, in_progress):
    response = doctor_client(client, in_progress).post(
        reverse("appointments:visit_action", args=[in_progress.pk, "complete"]), {"text": "x" * 20001}
    )
    assert response.status_code == 400
    in_progress.refresh_from_db()
    assert in_progress.status == S.IN_PROGRESS
    assert not VisitNote.objects.exists()


def test_a_visit_completed_without_a_note_gets_an_empty_signed_one_to_add_to(client, in_progress):
    appointment_complete(appointment_id=in_progress.pk, doctor=in_progress.doctor.user)

    note = VisitNote.objects.get(appointment=in_progress)
    assert note.text == "" and note.is_signed
    page = doctor_client(client, in_progress).get(detail(in_progress))
    assert "No note was written during the visit." in page.text
    assert "Sign and add addendum" in page.text


def test_a_refused_completion_signs_nothing(in_progress):
    visit_note_save_draft(appointment_id=in_progress.pk, doctor=in_progress.doctor.user, text=NOTE)
    with pytest.raises(Appointment.DoesNotExist):
        appointment_complete(appointment_id=in_progress.pk, doctor=DoctorFactory().user)
    assert not VisitNote.objects.get().is_signed


# -- final once signed -------------------------------------------------------------------------


def test_the_service_refuses_to_change_a_signed_note(client, signed):
    response = doctor_client(client, signed).post(note_url(signed), {"text": "Rewritten."})

    assert said(response) == ["This visit's note is signed and cannot change. Add an addendum to correct it."]
    assert VisitNote.objects.get().text == NOTE
    with pytest.raises(VisitNoteRefused):
        visit_note_save_draft(appointment_id=signed.pk, doctor=signed.doctor.user, text="Rewritten.")


def test_the_model_and_its_queryset_refuse_to_change_or_delete_a_signed_note(signed):
    note = VisitNote.objects.get()
    note.text = "Rewritten."
    with pytest.raises(VisitNoteIsSigned):
        note.save()
    with pytest.raises(VisitNoteIsSigned):
        VisitNote.objects.get().delete()
    with pytest.raises(VisitNoteIsSigned):
        VisitNote.objects.filter(pk=note.pk).update(text="Rewritten.")
    with pytest.raises(VisitNoteIsSigned):
        VisitNote.objects.all().delete()
    partial = VisitNote.objects.only("text").get()  # loaded without its signature: still refused
    partial.text = "Rewritten."
    with pytest.raises(VisitNoteIsSigned):
        partial.save()
    assert VisitNote.objects.get().text == NOTE


def test_the_database_refuses_to_change_a_signed_note(signed):
    with pytest.raises(DatabaseError, match="final"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE appointments_visitnote SET text = 'Rewritten.'")
    assert VisitNote.objects.get().text == NOTE


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_to_delete_a_signed_note_or_an_addendum(signed):
    visit_note_add_addendum(appointment_id=signed.pk, doctor=signed.doctor.user, text="Allergy: penicillin.")
    for sql in ("DELETE FROM appointments_visitnoteaddendum", "DELETE FROM appointments_visitnote"):
        with pytest.raises(DatabaseError, match="final"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert VisitNote.objects.count() == 1 and VisitNoteAddendum.objects.count() == 1


def test_the_database_keeps_a_drafts_text_changeable(in_progress):
    visit_note_save_draft(appointment_id=in_progress.pk, doctor=in_progress.doctor.user, text="Draft.")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE appointments_visitnote SET text = 'Draft, edited.'")
    assert VisitNote.objects.get().text == "Draft, edited."


def test_a_signature_is_a_person_and_a_moment_together(in_progress):
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        VisitNote.objects.create(appointment=in_progress, created_at=now, updated_at=now, signed_at=now)


def test_the_admin_offers_no_way_to_change_or_delete_a_note(client, signed):
    client.force_login(StaffFactory())  # a superuser
    note = VisitNote.objects.get()
    change = reverse("admin:appointments_visitnote_change", args=[note.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"text": "Rewritten."}).status_code == 403
    assert (
        client.post(reverse("admin:appointments_visitnote_delete", args=[note.pk]), {"post": "yes"}).status_code == 403
    )
    assert client.get(reverse("admin:appointments_visitnote_add")).status_code == 403
    assert VisitNote.objects.get().text == NOTE


# -- addenda -----------------------------------------------------------------------------------


def test_the_doctor_adds_dated_signed_addenda_below_the_note(client, signed):
    client = doctor_client(client, signed)

    response = client.post(addendum_url(signed), {"addendum-text": "Correction: BP 118/82."})
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        client.force_login(signed.doctor.user)  # the next day: signed out while away, in again
        client.post(addendum_url(signed), {"addendum-text": "Lab results normal."})

    assert said(response) == ["Addendum signed and added to the note."]
    addenda = list(VisitNoteAddendum.objects.all())
    assert [(a.text, a.author, a.signed_at) for a in addenda] == [
        ("Correction: BP 118/82.", signed.doctor.user, NOW),
        ("Lab results normal.", signed.doctor.user, NOW + dt.timedelta(days=1)),
    ]
    assert audit_actions(addenda[0]) == [AuditAction.CREATE]
    page = client.get(detail(signed)).text
    assert page.index(NOTE) < page.index("Correction: BP 118/82.") < page.index("Lab results normal.")
    assert "Signed by Amara Okafor · <time" in page
    assert "1 Jun 2026, 09:40 BST" in page and "2 Jun 2026, 09:40 BST" in page
    assert VisitNote.objects.get().text == NOTE


def test_an_empty_addendum_is_a_form_error(client, signed):
    response = doctor_client(client, signed).post(addendum_url(signed), {"addendum-text": "   "})
    assert response.status_code == 400
    assert "This field is required." in response.text
    assert not VisitNoteAddendum.objects.exists()


def test_no_addendum_before_the_note_is_signed(client, in_progress):
    visit_note_save_draft(appointment_id=in_progress.pk, doctor=in_progress.doctor.user, text=NOTE)

    response = doctor_client(client, in_progress).post(addendum_url(in_progress), {"addendum-text": "Too soon."})

    assert said(response) == [
        "Addenda correct a signed note: this visit has none yet. It is signed when the visit completes."
    ]
    assert not VisitNoteAddendum.objects.exists()


def test_an_addendum_is_final_too(signed):
    addendum = visit_note_add_addendum(appointment_id=signed.pk, doctor=signed.doctor.user, text="Allergy: none.")
    addendum.text = "Rewritten."
    with pytest.raises(VisitNoteIsSigned):
        addendum.save()
    with pytest.raises(VisitNoteIsSigned):
        addendum.delete()
    with pytest.raises(VisitNoteIsSigned):
        VisitNoteAddendum.objects.update(text="Rewritten.")
    with pytest.raises(DatabaseError, match="final"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE appointments_visitnoteaddendum SET text = 'Rewritten.'")
    assert VisitNoteAddendum.objects.get().text == "Allergy: none."


def test_the_database_refuses_an_addendum_on_a_draft(in_progress):
    note = visit_note_save_draft(appointment_id=in_progress.pk, doctor=in_progress.doctor.user, text=NOTE)
    with pytest.raises(DatabaseError, match="signed visit note"), transaction.atomic():
        VisitNoteAddendum.objects.create(note=note, author=in_progress.doctor.user, text="x", signed_at=NOW)


# -- who reads notes ----------------------------------------------------------------------------


def test_the_doctor_reading_the_note_is_audited(client, signed):
    doctor_client(client, signed).get(detail(signed))
    assert audit_actions(VisitNote.objects.get())[-1] == AuditAction.READ


def test_another_doctor_cannot_read_or_write_the_note(client, signed):
    client.force_login(DoctorFactory().user)
    assert client.get(detail(signed)).status_code == 404
    assert client.post(note_url(signed), {"text": "x"}).status_code == 404
    assert client.post(addendum_url(signed), {"addendum-text": "x"}).status_code == 404
    assert not VisitNoteAddendum.objects.exists()


def test_a_visitor_who_is_not_signed_in_is_sent_to_log_in(client, signed):
    for response in (client.get(detail(signed)), client.post(addendum_url(signed), {"addendum-text": "x"})):
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))
    assert not VisitNoteAddendum.objects.exists()


def test_the_patient_never_reads_the_note_on_their_page(client, signed):
    client.force_login(signed.patient)
    response = client.get(detail(signed))
    assert response.status_code == 200 and NOTE not in response.text


@pytest.mark.parametrize("group", [StaffGroup.BILLING, StaffGroup.FRONT_DESK])
def test_staff_outside_clinical_records_never_read_the_note(client, signed, group):
    client.force_login(staff_in(group))
    note = VisitNote.objects.get()

    page = client.get(detail(signed))
    admin_page = client.get(reverse("admin:appointments_visitnote_change", args=[note.pk]))

    assert page.status_code == 200 and NOTE not in page.text
    assert admin_page.status_code == 403
    assert client.get(reverse("admin:appointments_visitnote_changelist")).status_code == 403
    assert AuditAction.READ not in audit_actions(note)


def test_clinical_records_reads_notes_and_addenda_in_the_admin_and_is_audited(client, signed):
    visit_note_add_addendum(appointment_id=signed.pk, doctor=signed.doctor.user, text="Allergy: penicillin.")
    reader = staff_in(StaffGroup.CLINICAL_RECORDS)
    client.force_login(reader)
    note = VisitNote.objects.get()

    response = client.get(reverse("admin:appointments_visitnote_change", args=[note.pk]))

    assert response.status_code == 200
    assert NOTE in response.text and "Allergy: penicillin." in response.text
    entry = AuditEntry.objects.filter(record_type="appointments.visitnote", action=AuditAction.READ).get()
    assert (entry.actor, entry.patient) == (reader, signed.patient)
    listing = client.get(reverse("admin:appointments_visitnote_changelist"))
    assert listing.status_code == 200 and NOTE not in listing.text
