"""Row locks, and the one order in which everybody takes them.

    payment intent → slot → appointment → payment → patient → document counter

Booking locks the slot before it creates or touches any appointment on it; a webhook or the
success page locks the slot, then the appointment, then its payment; the unpaid-holds limit locks
the patient last. A Stripe fact about a payment intent (a capture, a refund, a dispute) locks that
intent first of all, before it even looks for whose payment it is: a refund can arrive before we
know the intent is ours. (The refund worker needs no intent lock: its refund row already names
its payment.) A late payment, holding its own appointment and payment, also locks the other
appointments on its (already locked) slot to end their lapsed holds: safe, because everyone who
locks an appointment holds its slot first. Taking them in this order everywhere means two
transactions never wait on each other in a cycle. Each app locks its own rows, the lower one first:

    payments.locks.lock_payment_intent  (first, only when recording Stripe's facts)
    hospital.locks.lock_slot            (this module)
    appointments.locks.lock_appointment (slot, then appointment)
    payments.locks.lock_payment         (slot, appointment, then payment)
    hospital.locks.lock_patient         (only while booking)
    payments.services.receipts.document_number_take
                                        (last: the year's receipt counter, then the
                                        credit-note counter, while issuing them with the
                                        payment locked)

A receipt or credit note is issued in the transaction that records its fact (reconcile, with the
payment locked), so every issuer in the hospital queues on one counter row per kind and year for
the rest of that transaction. Nobody holding a counter waits for anything but the other counter,
always taken in the order receipt then credit note: no cycle.

Moving a visit to another slot (appointments.services.appointment_move: a reschedule, or a doctor's
time off moving its visits) locks the doctor's schedule row first (FOR NO KEY UPDATE, as a
schedule edit does), then both slots in primary-key order, then the appointment. Moves of one
doctor's visits therefore queue on the doctor, and a time off that moves visits out of its span
(holding the span's slots) never waits for a slot held by a move waiting for one of those.
Whoever locks an appointment reads its slot first; if a move repointed it meanwhile, the new slot
is taken only if nobody holds it, else the caller is refused and may retry (appointments.locks).

Issuing a prescription locks the visit's appointment (slot, then appointment), then the year's
prescription number row (prescriptions.services), which nobody holds before an appointment.

A doctor's schedule edit (hospital.services.slots_generate) locks the doctor row with FOR NO KEY
UPDATE, which does not conflict with the key-share lock that inserting an appointment takes on
it, and then the slots it removes: a booking and a schedule edit never deadlock.

A patient's review (appointments.services.review_submit) locks no slot or appointment: it inserts
its row, whose unique appointment makes a second review of that visit wait for the first and fail,
and then adds to the doctor's rating totals (hospital.services.doctor_rating_add), a FOR NO KEY
UPDATE of the doctor row and the last lock it takes. Reviews of one doctor queue there, and behind
a schedule edit of that doctor, which waits for nothing a review holds.
"""

from __future__ import annotations

from django.db.models import Model, QuerySet

from accounts.models import User
from hospital.models import Doctor, Slot


class RowBusy(Exception):
    """A row we queued to lock changed meanwhile so that the work no longer fits it; nothing was
    done and a retry will do. Pages answer the "busy, try again" page, the API a 503
    (hospital.middleware, hospital.api.errors); each app's own lock errors are kinds of it."""


def lock_one(queryset: QuerySet, **lookup) -> Model:
    """The row, locked for the rest of the transaction.

    `of=("self",)`: without it PostgreSQL also locks every row the query joins through
    select_related (a slot's doctor and their user), so all bookings and webhooks of one doctor
    would queue behind each other.
    """
    return queryset.select_for_update(of=("self",)).get(**lookup)


def lock_doctor_for_move(doctor_id: int) -> None:
    """Moves of a doctor's visits queue here, behind a schedule edit of that doctor (which takes
    the same FOR NO KEY UPDATE row lock first): see "Moving a visit" above."""
    Doctor.objects.select_for_update(no_key=True, of=("self",)).filter(pk=doctor_id).values_list("pk").get()


# A locked slot comes with its doctor as every page and e-mail names them (name, specialty): what
# is done under the lock reads them without a query each.
SLOT_DOCTOR = ("doctor__user", "doctor__specialty")


def lock_slot(slot_id: int) -> Slot:
    """Everyone who books, expires or re-confirms an appointment on a slot takes this first, so
    two patients racing for one slot queue here and the second sees the first's hold (the partial
    unique constraint would also stop a double booking, but as an error, not a message)."""
    return lock_one(Slot.objects.select_related(*SLOT_DOCTOR), pk=slot_id)


def lock_slot_without_waiting(slot_id: int) -> Slot | None:
    """The slot locked, or None if someone else holds its lock now: for the one place that needs
    a slot after its appointment (appointments.locks, when a move changed the slot meanwhile),
    where waiting could close a cycle with a transaction that locks in the usual order."""
    return (
        Slot.objects.select_related(*SLOT_DOCTOR)
        .select_for_update(of=("self",), skip_locked=True)
        .filter(pk=slot_id)
        .first()
    )


def lock_patient(patient_id: int) -> None:
    """The unpaid-holds limit is a count across slots: two bookings of one patient on different
    slots would otherwise both see the count below the limit."""
    lock_one(User.objects.all(), pk=patient_id)
