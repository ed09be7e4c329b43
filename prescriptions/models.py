"""Prescriptions: written by the visit's doctor after a completed, paid visit, then frozen.

A prescription is written as a draft and issued in the same transaction (prescriptions.services):
the draft exists only inside that transaction, so its items can be added while the database can
still tell them from later edits. Once issued nothing about it changes, in Python (save and
delete refuse) nor, on PostgreSQL, in SQL (prescriptions.immutability). A correction is a new
prescription that `supersedes` the old one; the old one is superseded because something points
at it, not because a field on it was changed.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Exists, F, OuterRef, Q

from accounts.models import Role
from appointments.models import Appointment
from hospital.models import Doctor

# Crockford's base 32: no I, L, O or U, so a code read aloud or copied by hand is not misread.
VERIFICATION_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VERIFICATION_CODE_LENGTH = 12  # 60 bits: guessing one behind the verification page's rate limit is hopeless


# What a writer gives for each item (the write form's rows, prescriptions.services' input).
ITEM_FIELDS = ("medicine", "strength", "dose", "route", "frequency", "duration", "quantity", "instructions")


class PrescriptionIsIssued(Exception):
    """An attempt to change or remove an issued prescription or its items."""


class Route(models.TextChoices):
    ORAL = "oral", "By mouth"
    SUBLINGUAL = "sublingual", "Under the tongue"
    TOPICAL = "topical", "On the skin"
    TRANSDERMAL = "transdermal", "Skin patch"
    INHALED = "inhaled", "Inhaled"
    NASAL = "nasal", "In the nose"
    EYE = "eye", "In the eye"
    EAR = "ear", "In the ear"
    RECTAL = "rectal", "Rectal"
    VAGINAL = "vaginal", "Vaginal"
    SUBCUTANEOUS = "subcutaneous", "Injection under the skin"
    INTRAMUSCULAR = "intramuscular", "Injection into a muscle"
    INTRAVENOUS = "intravenous", "Into a vein"


class PrescriptionQuerySet(models.QuerySet):
    def issued(self) -> PrescriptionQuerySet:
        return self.filter(issued_at__isnull=False)

    def visible_to(self, user) -> PrescriptionQuerySet:
        """A patient's own and a doctor's own, issued. Staff read prescriptions in the admin
        (clinical records only), not in these pages."""
        if not user.is_authenticated:
            return self.none()
        if user.role == Role.DOCTOR:
            return self.issued().filter(doctor__user=user)
        if user.role == Role.PATIENT:
            return self.issued().filter(patient=user)
        return self.none()

    def with_superseded(self) -> PrescriptionQuerySet:
        """`is_superseded` on each row, in the same query: an issued correction points at it."""
        corrections = Prescription.objects.issued().filter(supersedes=OuterRef("pk"))
        return self.annotate(is_superseded=Exists(corrections))

    def update(self, **kwargs):
        if self.issued().exists():
            raise PrescriptionIsIssued("An issued prescription cannot be changed.")
        return super().update(**kwargs)

    def delete(self):
        if self.issued().exists():
            raise PrescriptionIsIssued("An issued prescription cannot be deleted.")
        return super().delete()


class Prescription(models.Model):
    # The doctor and the patient are the appointment's, copied so the access filters and the
    # admin read them without a join; the service sets them from the appointment, never from input.
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="prescriptions")
    doctor = models.ForeignKey(Doctor, on_delete=models.PROTECT, related_name="prescriptions")
    patient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="prescriptions",
        limit_choices_to={"role": Role.PATIENT},
    )
    number = models.CharField(max_length=20, unique=True, help_text="e.g. RX-2026-000123; printed on the PDF.")
    verification_code = models.CharField(
        max_length=VERIFICATION_CODE_LENGTH,
        help_text="Printed on the PDF; with the number, it lets a pharmacy check the prescription.",
    )
    general_advice = models.TextField(blank=True, max_length=2000)
    follow_up_on = models.DateField("follow-up date", null=True, blank=True)
    # The day of issue on the doctor's clock: the date printed, and the earliest follow-up date.
    issued_on = models.DateField()
    issued_at = models.DateTimeField(null=True, blank=True, help_text="Empty only while being written.")
    # One correction per prescription (one-to-one): two corrections of one prescription would
    # leave two current versions.
    supersedes = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )

    objects = PrescriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(follow_up_on__isnull=True) | Q(follow_up_on__gte=F("issued_on")),
                name="prescription_follow_up_not_before_issue",
            ),
            # One original per visit: a second prescription of a visit is a correction of the
            # first, so a form submitted twice cannot issue twice.
            models.UniqueConstraint(
                fields=["appointment"],
                condition=Q(supersedes__isnull=True),
                name="prescription_one_original_per_appointment",
            ),
        ]
        indexes = [models.Index(fields=["patient", "issued_at"]), models.Index(fields=["doctor", "issued_at"])]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        if self.is_issued_in_db:
            raise PrescriptionIsIssued("An issued prescription cannot be changed; write a correction instead.")
        super().save(*args, **kwargs)
        self._stored_issued = self.issued_at is not None

    def delete(self, *args, **kwargs):
        if self.is_issued_in_db or self.issued_at is not None:
            raise PrescriptionIsIssued("An issued prescription cannot be deleted.")
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # Loaded without issued_at (deferred): taken as issued, so nothing slips through unchecked.
        instance._stored_issued = instance.__dict__.get("issued_at", True) is not None
        return instance

    @property
    def is_issued_in_db(self) -> bool:
        return getattr(self, "_stored_issued", False)

    @property
    def verification_code_display(self) -> str:
        """'7KQ2-M9XD-4HTR': groups of four, as printed and as a person reads it out."""
        code = self.verification_code
        return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


class PrescriptionItemQuerySet(models.QuerySet):
    def _of_issued(self) -> bool:
        return self.filter(prescription__issued_at__isnull=False).exists()

    def update(self, **kwargs):
        if self._of_issued():
            raise PrescriptionIsIssued("Items of an issued prescription cannot be changed.")
        return super().update(**kwargs)

    def delete(self):
        if self._of_issued():
            raise PrescriptionIsIssued("Items of an issued prescription cannot be deleted.")
        return super().delete()


class PrescriptionItem(models.Model):
    prescription = models.ForeignKey(Prescription, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveSmallIntegerField(help_text="Order on the prescription, from 1.")
    medicine = models.CharField(max_length=200)
    strength = models.CharField(max_length=60, blank=True, help_text="e.g. 500 mg, 1%")
    dose = models.CharField(max_length=100, help_text="e.g. 1 tablet, 2 puffs")
    route = models.CharField(max_length=20, choices=Route.choices, default=Route.ORAL)
    frequency = models.CharField(max_length=100, help_text="e.g. twice a day")
    duration = models.CharField(max_length=100, help_text="e.g. 7 days")
    quantity = models.PositiveIntegerField(
        validators=[MinValueValidator(1, "The quantity must be at least 1.")],
        help_text="How many to dispense, e.g. 14 tablets: 14.",
    )
    instructions = models.CharField(max_length=300, blank=True, help_text="e.g. after food")

    objects = PrescriptionItemQuerySet.as_manager()

    class Meta:
        ordering = ["prescription", "position"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="prescriptionitem_quantity_positive"),
            models.CheckConstraint(condition=Q(route__in=Route.values), name="prescriptionitem_route_known"),
            models.UniqueConstraint(fields=["prescription", "position"], name="prescriptionitem_unique_position"),
        ]

    def __str__(self) -> str:
        return " ".join(part for part in (self.medicine, self.strength) if part)

    def save(self, *args, **kwargs):
        if self._prescription_is_issued():
            raise PrescriptionIsIssued("Items of an issued prescription cannot be added or changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._prescription_is_issued():
            raise PrescriptionIsIssued("Items of an issued prescription cannot be deleted.")
        return super().delete(*args, **kwargs)

    def _prescription_is_issued(self) -> bool:
        return Prescription.objects.issued().filter(pk=self.prescription_id).exists()


class PrescriptionNumberSequence(models.Model):
    """The last number given out in a year. One row per year, locked while a number is taken, so
    numbers are consecutive and never given twice (a rolled-back issue gives its number back)."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"
