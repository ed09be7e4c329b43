import functools

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db import OperationalError
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import role_required
from accounts.models import Role
from accounts.next_url import safe_next_url
from appointments import selectors, services, visit_place
from appointments.forms import (
    AddendumForm,
    AppointmentFilterForm,
    BookingForm,
    CancelVisitForm,
    RescheduleForm,
    ReviewForm,
    VisitNoteForm,
)
from appointments.locks import AppointmentBusy
from appointments.models import Appointment, AppointmentStatus
from appointments.services import AppointmentTransitionError, BookingError, ReviewError, VisitNoteRefused, review_submit
from appointments.visit_actions import DoctorAction
from hospital import ratelimit
from hospital.audit import request_ip
from hospital.middleware import database_unreachable, unavailable_response
from hospital.money import format_money
from hospital.selectors import doctor_free_slots_by_day
from payments import selectors as money
from payments import services as payments
from payments.forms import RefundForm, StaffCancelForm, canceled_message, refund_requested_message
from payments.models import CancellationPolicy
from payments.patient_labels import payment_status_for_patient, payment_status_seen_by
from payments.receipt_documents import payment_documents_for
from payments.services.cancellation import appointment_cancel
from prescriptions.selectors import prescriptions_for_appointment

APPOINTMENTS_PER_PAGE = 10
HELD_BUT_UNAVAILABLE = (
    "The service is briefly unavailable. Your time is held for you, but the payment page could not be "
    "opened: please try again in a minute from My appointments."
)


def _site_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _see_other(url: str) -> HttpResponse:
    """303: after a POST the browser must GET the next page (here: Stripe's hosted checkout)."""
    return HttpResponse(status=303, headers={"Location": url})


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def book(request, slot_id: int):
    slot = selectors.slot_to_book(slot_id=slot_id, patient=request.user)
    form = BookingForm(request.POST or None)
    status = 200
    if request.method == "POST" and not ratelimit.allow(
        scope="book", who=str(request.user.pk), limit=settings.BOOKING_RATE_LIMIT_PER_HOUR, window_seconds=3600
    ):
        messages.error(request, "You have made many bookings in a short time. Please wait a while and try again.")
        status = 429
    elif request.method == "POST" and form.is_valid():
        try:
            appointment = payments.appointment_book(
                patient=request.user, slot_id=slot.pk, reason=form.cleaned_data["reason"], site_url=_site_url(request)
            )
        except BookingError as exc:
            if exc.appointment is not None:
                messages.info(request, str(exc))
                return redirect("appointments:detail", pk=exc.appointment.pk)
            messages.error(request, str(exc))
            status = 409
        else:
            return _redirect_to_checkout(request, appointment.pk)
    is_free = selectors.slot_is_free(slot=slot)
    context = {
        "slot": slot,
        "times": selectors.slot_times(slot),
        "doctor": slot.doctor,
        "form": form,
        "is_free": is_free,
        "place": visit_place.offered_place(slot.doctor),
        # The patient's own live hold on this slot (e.g. back from the payment page): offer to resume it.
        "own_hold": None if is_free else selectors.patient_hold_on_slot(user=request.user, slot_id=slot.pk),
        "pay_minutes": settings.CHECKOUT_SESSION_MINUTES,
        # The policy the booking will copy, from this slot's start: read before paying.
        "policy_lines": money.cancellation_policy_lines(
            terms=CancellationPolicy.in_force(),
            clock_at=slot.starts_at,
            fee=slot.doctor.fee_amount,
            currency=slot.doctor.fee_currency,
            zone=slot.doctor.timezone,
        )
        if is_free
        else [],
    }
    return render(request, "appointments/book.html", context, status=status)


def _redirect_to_checkout(request, appointment_id: int) -> HttpResponse:
    try:
        url = payments.checkout_redirect_url(appointment_id=appointment_id, site_url=_site_url(request))
    except OperationalError as exc:
        if not database_unreachable(exc):
            raise
        # The hold committed before the database went away: "nothing was saved" would be untrue.
        return unavailable_response(request, exc, message=HELD_BUT_UNAVAILABLE)
    except BookingError as exc:  # PaymentUnavailable included: the hold stays, the page offers a retry
        if Appointment.objects.filter(pk=appointment_id, status=AppointmentStatus.CONFIRMED).exists():
            messages.success(request, "Your payment has already gone through: the appointment is confirmed.")
        else:
            messages.error(request, str(exc))
        return redirect("appointments:detail", pk=appointment_id)
    return _see_other(url)


@role_required(Role.PATIENT)
@require_GET
def my_appointments(request):
    form = AppointmentFilterForm.from_query(request.GET)
    filters = form.initial
    when = filters.get("when") or "upcoming"
    sort = filters.get("sort") or selectors.default_sort(when=when)
    appointments = selectors.appointments_for_patient(
        user=request.user,
        when=when,
        status=filters.get("status", ""),
        payment_statuses=form.payment_statuses,
        sort=sort,
    )
    shown = selectors.appointment_page(
        appointments,
        number=page_number(request.GET.get("page")),
        per_page=APPOINTMENTS_PER_PAGE,
        payment_status_shown=payment_status_for_patient,
    )
    paginator = Paginator((), APPOINTMENTS_PER_PAGE)
    paginator.count = shown.count  # counted with the page's rows, in the same query
    page = Page(shown.cards, shown.number, paginator)
    query = QueryDict(mutable=True)  # links keep the filters in use, not what was typed
    query.update(filters)
    tab_query = query.copy()  # the tabs switch `when` and keep the other filters
    tab_query.pop("when", None)
    return render(
        request,
        "appointments/my_appointments.html",
        {
            "form": form,
            "page": page,
            "when": when,
            "sort": sort,
            "sort_chosen": bool(filters.get("sort")),
            "status": filters.get("status", ""),
            "payment": filters.get("payment", ""),
            "filter_query": query.urlencode(),
            "tab_query": tab_query.urlencode(),
            "is_filtered": bool(filters.get("status") or filters.get("payment")),
        },
    )


def page_number(asked: str | None) -> int:
    """The page asked for in the query string; page 1 for anything that is not a positive number."""
    try:
        return max(1, int(asked or 1))
    except ValueError:
        return 1


@role_required(Role.PATIENT, Role.STAFF, Role.DOCTOR)
@require_GET
def detail(request, pk: int):
    if request.user.is_doctor:
        return _doctor_detail(request, pk)
    return _detail_page(request, pk)


def _detail_page(
    request,
    pk: int,
    *,
    review_form: ReviewForm | None = None,
    refund_form: RefundForm | None = None,
    cancel_form: StaffCancelForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    appointment = selectors.appointment_detail(
        user=request.user,
        pk=pk,
        payment_status_shown=functools.partial(payment_status_seen_by, user=request.user),
        now=now,
    )
    panel = money.staff_money_panel(appointment=appointment, user=request.user)
    if panel is not None and panel.can_refund and refund_form is None:
        refund_form = RefundForm(currency=panel.currency, refundable=panel.refundable)
    return render(
        request,
        "appointments/detail.html",
        {
            "appointment": appointment,
            "payment": appointment.payment,
            # Payable until the Checkout session expires; the hold's grace after it is not offered.
            "hold_is_live": appointment.times.payable,
            "hold_lapsed": appointment.status == AppointmentStatus.PENDING_PAYMENT and not appointment.times.payable,
            "now": now,
            "review_box": selectors.review_box(appointment=appointment, user=request.user),
            "review_form": review_form or ReviewForm(),
            "prescriptions": prescriptions_for_appointment(appointment=appointment, user=request.user),
            "can_change": money.patient_may_change(appointment=appointment, user=request.user, now=now),
            "cancellation_refund": money.cancellation_refund_shown(appointment.payment),
            # Staff read amounts only where they may read payments: front desk sees the status alone.
            "sees_money": request.user.is_patient or request.user.has_perm("payments.view_payment"),
            # Receipts and credit notes: for the paying patient and billing staff only.
            "money_documents": payment_documents_for(user=request.user, payment=appointment.payment),
            "money": panel,
            "refund_form": refund_form,
            "cancel_form": cancel_form or StaffCancelForm(),
        },
        status=status,
    )


@role_required(Role.PATIENT)
@require_POST
def review(request, pk: int):
    appointment = selectors.appointment_for_user(user=request.user, pk=pk)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, appointment.pk, review_form=form)  # the errors beside the fields
    try:
        review_submit(
            patient=request.user,
            appointment_id=appointment.pk,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
    except ReviewError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Thank you for rating your visit.")
    return redirect("appointments:detail", pk=appointment.pk)


@role_required(Role.PATIENT)
@require_POST
def pay(request, pk: int):
    appointment = selectors.appointment_for_user(user=request.user, pk=pk)
    return _redirect_to_checkout(request, appointment.pk)


@role_required(Role.PATIENT)
@require_POST
def cancel_hold(request, pk: int):
    appointment = selectors.appointment_for_user(user=request.user, pk=pk)
    try:
        payments.hold_cancel(appointment_id=appointment.pk)
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Your booking was canceled and the time slot released. You have not been charged.")
    return redirect("appointments:detail", pk=appointment.pk)


@role_required(Role.PATIENT)
@require_GET
def paid(request, pk: int):
    """Stripe's success_url. The session id in the query string is only a hint: the session is
    fetched from Stripe and recorded exactly as the webhook would record it."""
    appointment = selectors.appointment_for_user(user=request.user, pk=pk)
    try:
        payments.checkout_success(appointment=appointment, session_id=request.GET.get("session_id", ""))
    except BookingError as exc:
        messages.warning(request, str(exc))
        return redirect("appointments:detail", pk=appointment.pk)
    appointment.refresh_from_db()
    if appointment.status == AppointmentStatus.CONFIRMED:
        messages.success(
            request, "Payment received. Your appointment is confirmed; a confirmation e-mail is on its way."
        )
    else:
        messages.info(request, "Thank you. We are waiting for the payment to be confirmed.")
    return redirect("appointments:detail", pk=appointment.pk)


# -- the patient's cancel and reschedule ------------------------------------------------------


def _visit_for_change(request, pk: int, now) -> Appointment:
    return selectors.appointment_detail(
        user=request.user, pk=pk, payment_status_shown=payment_status_for_patient, now=now
    )


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def cancel(request, pk: int):
    """The patient's cancel: GET shows the policy and what comes back now; POST cancels."""
    now = timezone.now()
    appointment = _visit_for_change(request, pk, now)
    if request.method == "POST":
        try:
            quote = payments.appointment_cancel(appointment_id=appointment.pk, by=request.user, now=now)
        except (BookingError, AppointmentBusy) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request,
                f"Your appointment is canceled. {quote.amount_words} is being refunded to your card."
                if quote.amount
                else "Your appointment is canceled. Under the cancellation policy no refund is due.",
            )
        return _see_other(reverse("appointments:detail", args=[appointment.pk]))
    refusal = money.cancel_refusal(appointment=appointment, by=request.user, now=now)
    if refusal:
        messages.error(request, refusal)
        return redirect("appointments:detail", pk=appointment.pk)
    payment = appointment.payment
    return render(
        request,
        "appointments/cancel.html",
        {
            "appointment": appointment,
            "quote": money.cancellation_quote(appointment=appointment, payment=payment, by=request.user, now=now),
            "policy_lines": money.visit_policy_lines(appointment=appointment, payment=payment),
            "paid": format_money(payment.captured_amount, payment.currency),
        },
    )


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def reschedule(request, pk: int):
    """The patient picks another free time of the same doctor; nothing is paid or refunded."""
    now = timezone.now()
    appointment = _visit_for_change(request, pk, now)
    payment = appointment.payment
    refusal = money.reschedule_refusal(appointment=appointment, payment=payment, by=request.user, now=now)
    if refusal:
        messages.error(request, refusal)
        return redirect("appointments:detail", pk=appointment.pk)
    slot_days = doctor_free_slots_by_day(doctor=appointment.doctor, now=now)
    form = RescheduleForm(request.POST or None, slot_days=slot_days)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            payments.appointment_reschedule(
                appointment_id=appointment.pk, slot_id=form.cleaned_data["slot"], by=request.user, now=now
            )
        except (BookingError, AppointmentBusy) as exc:
            form.add_error("slot", str(exc))
            status = 409
        else:
            messages.success(request, "Your appointment has moved. We have e-mailed you the new time.")
            return _see_other(reverse("appointments:detail", args=[appointment.pk]))
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "appointments/reschedule.html",
        {
            "appointment": appointment,
            "form": form,
            "slot_days": slot_days,
            "closes_at": money.deadline_words(
                money.reschedule_closes_at(appointment=appointment, payment=payment), appointment.doctor.timezone
            ),
        },
        status=status,
    )


@role_required(Role.DOCTOR)
@require_POST
def doctor_cancel(request, pk: int):
    """The visit's own doctor cancels it: the patient is refunded in full and told why."""
    appointment = selectors.appointment_for_user(user=request.user, pk=pk)
    form = CancelVisitForm(request.POST)
    if not form.is_valid():
        return _doctor_detail(request, appointment.pk, cancel_form=form, status=400)
    try:
        quote = payments.appointment_cancel(
            appointment_id=appointment.pk, by=request.user, note=form.cleaned_data["note"]
        )
    except (BookingError, AppointmentBusy) as exc:
        messages.error(request, str(exc))
    else:
        refunded = f" {quote.amount_words} is being refunded to the patient." if quote.amount else ""
        messages.success(request, f"Visit canceled; the patient has been told why.{refunded}")
    return _see_other(reverse("appointments:detail", args=[appointment.pk]))


# -- the doctor's appointment page and its actions ---------------------------------------------

_DONE = {
    DoctorAction.START: "Visit started. Write your note below while the visit is in progress.",
    DoctorAction.COMPLETE: "Visit completed. Your note is signed; corrections from now on are addenda.",
    DoctorAction.NO_SHOW: "Marked as a no-show.",
}


def _doctor_detail(
    request, pk: int, *, note_form=None, addendum_form=None, cancel_form=None, status: int = 200
) -> HttpResponse:
    """The appointment page for its own doctor (anyone else's appointment is a 404); a form that
    failed to validate is shown again with what was typed."""
    visit = selectors.doctor_visit(
        user=request.user, pk=pk, payment_status_shown=functools.partial(payment_status_seen_by, user=request.user)
    )
    services.visit_record_doctor_read(
        doctor=request.user,
        appointment=visit.appointment,
        note=visit.note,
        addenda=len(visit.addenda),
        ip=request_ip(request),
    )
    if visit.can_write_note and note_form is None:
        note_form = VisitNoteForm(initial={"text": visit.note.text if visit.note else ""})
    if visit.can_add_addendum and addendum_form is None:
        addendum_form = AddendumForm()
    return render(
        request,
        "appointments/detail_doctor.html",
        {
            "visit": visit,
            "appointment": visit.appointment,
            "note_form": note_form if visit.can_write_note else None,
            "addendum_form": addendum_form if visit.can_add_addendum else None,
            # A confirmed visit's doctor may cancel it, the patient refunded in full.
            "cancel_form": (cancel_form or CancelVisitForm())
            if visit.appointment.status == AppointmentStatus.CONFIRMED
            else None,
            "prescriptions": prescriptions_for_appointment(appointment=visit.appointment, user=request.user),
        },
        status=status,
    )


def _back(request, pk: int, anchor: str = "") -> HttpResponse:
    return redirect(safe_next_url(request) or reverse("appointments:detail", args=[pk]) + anchor)


@role_required(Role.DOCTOR)
@require_POST
def visit_action(request, pk: int, action: str):
    """Start, complete or no-show, by the appointment's own doctor. "Sign and complete" on the
    note form sends the note's last words too: they are saved and signed with the completion."""
    if action not in DoctorAction.values:
        raise Http404("No such action.")
    action = DoctorAction(action)
    appointment = selectors.appointment_for_user(user=request.user, pk=pk)
    note_text = None
    if action == DoctorAction.COMPLETE and "text" in request.POST:
        form = VisitNoteForm(request.POST)
        if not form.is_valid():
            return _doctor_detail(request, appointment.pk, note_form=form, status=400)
        note_text = form.cleaned_data["text"]
    try:
        if action == DoctorAction.COMPLETE:
            services.appointment_complete(
                appointment_id=appointment.pk, doctor=request.user, note_text=note_text, ip=request_ip(request)
            )
        elif action == DoctorAction.START:
            services.appointment_start(appointment_id=appointment.pk, doctor=request.user)
        else:
            services.appointment_mark_no_show(appointment_id=appointment.pk, doctor=request.user)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment.") from None
    except AppointmentTransitionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _DONE[action])
    return _back(request, appointment.pk)


def _note_write(request, pk: int, *, form_class, form_name: str, write, done: str) -> HttpResponse:
    """A POST of the doctor's note form or addendum form: a form error shows the page again with
    what was typed; the service's refusal, or what it did, comes back as a message."""
    appointment = selectors.appointment_for_user(user=request.user, pk=pk)
    form = form_class(request.POST)
    if not form.is_valid():
        return _doctor_detail(request, appointment.pk, status=400, **{form_name: form})
    try:
        text = form.cleaned_data["text"]
        write(appointment_id=appointment.pk, doctor=request.user, text=text, ip=request_ip(request))
    except Appointment.DoesNotExist:
        raise Http404("No such appointment.") from None
    except VisitNoteRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return _back(request, appointment.pk, "#visit-note")


@role_required(Role.DOCTOR)
@require_POST
def visit_note_save(request, pk: int):
    return _note_write(
        request,
        pk,
        form_class=VisitNoteForm,
        form_name="note_form",
        write=services.visit_note_save_draft,
        done="Draft note saved.",
    )


@role_required(Role.DOCTOR)
@require_POST
def visit_note_addendum(request, pk: int):
    return _note_write(
        request,
        pk,
        form_class=AddendumForm,
        form_name="addendum_form",
        write=services.visit_note_add_addendum,
        done="Addendum signed and added to the note.",
    )


# -- the staff's money actions on the appointment page (payments' money panel) ------------------


@role_required(Role.STAFF)
@require_POST
def staff_refund(request, pk: int):
    """Billing staff refund part or all of the visit's payment; a form error shows the page again
    with what was typed, the service's refusal comes back as a message."""
    appointment = selectors.appointment_for_user(user=request.user, pk=pk)
    payment = getattr(appointment, "payment", None)
    if payment is None:
        raise Http404("This appointment has no payment.")
    form = RefundForm(request.POST, currency=payment.currency, refundable=money.refundable_amount(payment))
    if not form.is_valid():
        return _detail_page(request, appointment.pk, refund_form=form, status=400)
    try:
        refund = payments.payment_refund(
            payment_id=payment.pk, amount=form.cleaned_data["amount"], note=form.cleaned_data["note"], by=request.user
        )
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, refund_requested_message(refund))
    return _back(request, appointment.pk, "#money")


@role_required(Role.STAFF)
@require_POST
def staff_cancel(request, pk: int):
    """Staff cancel a confirmed visit for the hospital and refund it in full, telling the patient why."""
    appointment = selectors.appointment_for_user(user=request.user, pk=pk)
    form = StaffCancelForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, appointment.pk, cancel_form=form, status=400)
    try:
        quote = appointment_cancel(appointment_id=appointment.pk, by=request.user, note=form.cleaned_data["note"])
    except BookingError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, canceled_message(appointment.pk, quote))
    return _back(request, appointment.pk, "#money")
