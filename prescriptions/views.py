from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import get_for_user_or_404, role_required
from accounts.models import Role
from appointments.models import Appointment
from hospital import ratelimit, timefmt
from hospital.audit import request_ip
from prescriptions import selectors, services
from prescriptions.forms import (
    ITEMS_PREFIX,
    STARTING_ROWS,
    PrescriptionForm,
    PrescriptionItemFormSet,
    VerifyForm,
    item_rows_as_typed,
)
from prescriptions.pdf import prescription_pdf

PRESCRIPTIONS_PER_PAGE = 10


# Any other role gets the 404 a stranger's prescription gets: a prescription page confirms nothing
# to someone who may not read it.
doctors_and_patients = role_required(Role.DOCTOR, Role.PATIENT, refuse=Http404)
doctors_only = role_required(Role.DOCTOR, refuse=Http404)


@doctors_and_patients
@require_GET
def prescription_list(request):
    paginator = Paginator(selectors.prescriptions_for_user(user=request.user), PRESCRIPTIONS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = selectors.prescription_rows(page.object_list, viewer=request.user)
    return render(request, "prescriptions/list.html", {"page": page})


@doctors_and_patients
@never_cache
@require_GET
def prescription_detail(request, pk: int):
    shown = selectors.prescription_page(user=request.user, pk=pk)
    services.prescription_access_record(
        prescription=shown.prescription, user=request.user, downloaded=False, ip=request_ip(request)
    )
    return render(request, "prescriptions/detail.html", {"rx": shown})


@doctors_and_patients
@never_cache
@require_GET
def prescription_pdf_download(request, pk: int):
    shown = selectors.prescription_page(user=request.user, pk=pk)
    services.prescription_access_record(
        prescription=shown.prescription, user=request.user, downloaded=True, ip=request_ip(request)
    )
    pdf = prescription_pdf(shown, verify_url=request.build_absolute_uri(reverse("prescriptions:verify")))
    return HttpResponse(
        pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{shown.number}.pdf"'},
    )


@doctors_only
@require_http_methods(["GET", "POST"])
def prescription_write(request, appointment_id: int):
    appointment = get_for_user_or_404(
        Appointment.objects.select_related("doctor__user", "patient", "slot"), user=request.user, pk=appointment_id
    )
    return _write(request, appointment=appointment, corrected=None)


@doctors_only
@require_http_methods(["GET", "POST"])
def prescription_correct(request, pk: int):
    corrected = selectors.prescription_page(user=request.user, pk=pk)
    if corrected.superseded_by is not None:
        messages.info(request, f"{corrected.number} has already been corrected: this is its current version.")
        return redirect(corrected.superseded_by.url)
    if request.method == "GET":  # the form starts as a copy of it: a read of the prescription
        services.prescription_access_record(
            prescription=corrected.prescription, user=request.user, downloaded=False, ip=request_ip(request)
        )
    appointment = corrected.prescription.appointment
    appointment.doctor = corrected.prescription.doctor
    appointment.patient = corrected.prescription.patient
    return _write(request, appointment=appointment, corrected=corrected)


def _write(request, *, appointment: Appointment, corrected: selectors.PrescriptionPage | None) -> HttpResponse:
    """The write page: a first prescription of the visit, or a correction of `corrected`. Works
    without JavaScript: "Add another item" is a submit button that shows the page again, as typed,
    with one more empty row."""
    section = selectors.prescriptions_for_appointment(appointment=appointment, user=request.user)
    context = {
        "appointment": appointment,
        "visit_when": timefmt.format_when(appointment.slot.starts_at, appointment.doctor.timezone),
        "corrected": corrected,
    }
    if section.refusal:
        context["refusal"] = section.refusal
        return render(request, "prescriptions/write.html", context, status=409 if request.method == "POST" else 200)
    if corrected is None and section.current is not None:
        messages.info(
            request,
            f"Prescription {section.current.number} was already issued for this visit. To change it, "
            "write a correction of it.",
        )
        return redirect(section.current.detail_url)
    now = timezone.now()
    zone = appointment.doctor.timezone
    status = 200
    if request.method == "POST" and "add_item" in request.POST:
        form = PrescriptionForm(
            zone=zone,
            now=now,
            initial={name: request.POST.get(name, "") for name in ("general_advice", "follow_up_on")},
        )
        items = PrescriptionItemFormSet(initial=item_rows_as_typed(request.POST, add_one=True), prefix=ITEMS_PREFIX)
        # The browser opens the page at the new row, its first field focused, as a script would.
        items.forms[-1].fields["medicine"].widget.attrs["autofocus"] = True
    elif request.method == "POST":
        form = PrescriptionForm(request.POST, zone=zone, now=now)
        items = PrescriptionItemFormSet(request.POST, prefix=ITEMS_PREFIX)
        if form.is_valid() and items.is_valid():
            try:
                prescription = services.prescription_issue(
                    doctor_user=request.user,
                    appointment_id=appointment.pk,
                    items=items.filled_items,
                    general_advice=form.cleaned_data["general_advice"],
                    follow_up_on=form.cleaned_data["follow_up_on"],
                    supersedes_id=corrected.pk if corrected else None,
                    ip=request_ip(request),
                )
            except services.PrescriptionError as exc:
                if exc.existing is not None:  # a second submit of a form already issued
                    messages.info(request, str(exc))
                    return redirect("prescriptions:detail", pk=exc.existing.pk)
                messages.error(request, str(exc))
                status = 409
            else:
                messages.success(
                    request,
                    f"Prescription {prescription.number} issued"
                    + (f"; it replaces {corrected.number}." if corrected else ".")
                    + " The patient can read and download it now.",
                )
                return redirect("prescriptions:detail", pk=prescription.pk)
    elif corrected is not None:
        start, rows = selectors.correction_initial(corrected)
        form = PrescriptionForm(zone=zone, now=now, initial=start)
        items = PrescriptionItemFormSet(initial=[*rows, {}], prefix=ITEMS_PREFIX)
    else:
        form = PrescriptionForm(zone=zone, now=now)
        items = PrescriptionItemFormSet(initial=[{}] * STARTING_ROWS, prefix=ITEMS_PREFIX)
    context.update(form=form, items=items, can_add_item=items.total_form_count() < services.MAX_ITEMS, zone=zone)
    return render(request, "prescriptions/write.html", context, status=status)


@require_http_methods(["GET", "POST"])
def prescription_verify(request):
    """Public: a pharmacy checks a prescription by its number and code. It learns only whether it
    is valid, superseded or unknown; nothing else about it, nor whether a number exists."""
    verdict = ""
    status = 200
    form = VerifyForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.allow(
            scope="prescription-verify",
            who=request_ip(request) or "unknown",
            limit=settings.PRESCRIPTION_VERIFY_RATE_LIMIT_PER_HOUR,
            window_seconds=3600,
        ):
            messages.error(request, "Too many checks from your network in a short time. Please wait and try again.")
            status = 429
        elif form.is_valid():
            verdict = selectors.prescription_verdict(number=form.cleaned_data["number"], code=form.cleaned_data["code"])
    return render(request, "prescriptions/verify.html", {"form": form, "verdict": verdict}, status=status)
