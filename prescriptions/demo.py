"""Demo prescriptions: the doctor's first completed visit of today's demo day gets one, issued
through prescriptions.services as the doctor's form would, so patients and doctors find a PDF to
open (the visits of the demo's money history, months back, get none).

After payments.demo.demo_visits_seed (which completes those visits). Idempotent: a doctor who has
issued any prescription is left as they are.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from prescriptions.models import Prescription, Route
from prescriptions.services import prescription_issue

DEMO_ITEMS = (
    {
        "medicine": "Amoxicillin",
        "strength": "500 mg",
        "dose": "1 capsule",
        "route": Route.ORAL,
        "frequency": "three times a day",
        "duration": "7 days",
        "quantity": 21,
        "instructions": "Finish the course, even if you feel better.",
    },
    {
        "medicine": "Paracetamol",
        "strength": "500 mg",
        "dose": "2 tablets",
        "route": Route.ORAL,
        "frequency": "up to four times a day when needed",
        "duration": "5 days",
        "quantity": 40,
        "instructions": "No more than 8 tablets in 24 hours.",
    },
)


def demo_prescriptions_seed(*, now: dt.datetime | None = None) -> int:
    """Returns how many prescriptions were issued."""
    now = now or timezone.now()
    completed = (
        # Today's day, on any doctor's clock, began less than a day ago.
        Appointment.objects.filter(status=AppointmentStatus.COMPLETED, slot__starts_at__gte=now - dt.timedelta(days=1))
        .exclude(doctor__in=Prescription.objects.values("doctor_id"))
        .select_related("doctor__user", "slot")
        .order_by("doctor_id", "slot__starts_at")
    )
    issued = 0
    seen_doctors: set[int] = set()
    for visit in completed:
        if visit.doctor_id in seen_doctors:
            continue
        seen_doctors.add(visit.doctor_id)
        prescription_issue(
            doctor_user=visit.doctor.user,
            appointment_id=visit.pk,
            items=DEMO_ITEMS,
            general_advice="Drink plenty of fluids and rest. Come back if the fever lasts more than three days.",
            follow_up_on=None,
            ip=None,
            now=visit.slot.ends_at,
        )
        issued += 1
    return issued
