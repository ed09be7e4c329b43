import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.access import get_for_user_or_404, role_required
from accounts.models import Role
from appointments.locks import AppointmentBusy
from appointments.portal import selectors
from appointments.portal.forms import AppointmentListForm, TimeOffVisitsForm
from appointments.services import BookingError
from appointments.views import page_number
from hospital import selectors as schedule_selectors
from hospital import services as schedule
from hospital.forms import TimeOffAddForm, WorkingHoursAddForm
from hospital.models import Doctor, TimeOff, WorkingHours
from payments import selectors as money
from payments.services import TimeOffResolution, VisitsInTimeOff, time_off_add_over_visits

APPOINTMENTS_PER_PAGE = 20


def _doctor(request) -> Doctor:
    doctor = selectors.doctor_for(request.user)
    if doctor is None:  # an account given the doctor role before staff made its profile
        raise Http404("This account has no doctor profile yet.")
    return doctor


def _day_label(day: dt.date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


@role_required(Role.DOCTOR)
@require_GET
def day(request, day: dt.date | None = None):
    """The doctor's home: today on their own calendar, or another day from the week view."""
    doctor, now = _doctor(request), timezone.now()
    agenda = selectors.doctor_day(doctor=doctor, day=day or selectors.today_for(doctor, now=now), now=now)
    before, after = agenda.day - dt.timedelta(days=1), agenda.day + dt.timedelta(days=1)
    return render(
        request,
        "portal/day.html",
        {
            "portal_tab": "day" if agenda.is_today else "",
            "agenda": agenda,
            "previous": (reverse("portal:day_on", kwargs={"day": before}), _day_label(before)),
            "next": (reverse("portal:day_on", kwargs={"day": after}), _day_label(after)),
            "week_url": reverse("portal:week_of", kwargs={"day": agenda.day}),
            "back_here": request.get_full_path(),
        },
    )


@role_required(Role.DOCTOR)
@require_GET
def week(request, day: dt.date | None = None):
    """Seven days from Monday, on the doctor's calendar: the week of `day`, or this week."""
    doctor, now = _doctor(request), timezone.now()
    today = selectors.today_for(doctor, now=now)
    monday = selectors.monday_of(day or today)
    shown = selectors.doctor_week(doctor=doctor, monday=monday, now=now)
    return render(
        request,
        "portal/week.html",
        {
            "portal_tab": "week" if monday == selectors.monday_of(today) else "",
            "week": shown,
            "previous_url": reverse("portal:week_of", kwargs={"day": monday - dt.timedelta(days=7)}),
            "next_url": reverse("portal:week_of", kwargs={"day": monday + dt.timedelta(days=7)}),
            "this_week_url": reverse("portal:week") if monday != selectors.monday_of(today) else "",
        },
    )


@role_required(Role.DOCTOR)
@require_GET
def appointments(request):
    doctor, now = _doctor(request), timezone.now()
    form = AppointmentListForm(request.GET)
    form.is_valid()  # errors are shown beside their fields; the valid filters still apply
    filters = form.filters
    when = filters.get("when", "upcoming")
    sort = filters.get("sort") or selectors.default_sort(when=when)
    listed = selectors.doctor_appointments(
        doctor=doctor,
        when=when,
        paid=form.paid,
        from_day=filters.get("from_day"),
        to_day=filters.get("to_day"),
        patient=filters.get("patient", ""),
        now=now,
    )
    shown = selectors.visit_page(
        selectors.with_status(listed, status=filters.get("status", ""), sort=sort, when=when),
        doctor=doctor,
        number=page_number(request.GET.get("page")),
        per_page=APPOINTMENTS_PER_PAGE,
        now=now,
    )
    paginator = Paginator((), APPOINTMENTS_PER_PAGE)
    paginator.count = shown.count  # counted with the page's rows, in the same query
    query = QueryDict(mutable=True)  # links keep the filters in use, not what was typed
    query.update({name: str(value) for name, value in filters.items()})
    tab_query = query.copy()  # tabs switch `when` and keep the other filters
    tab_query.pop("when", None)
    count_query = query.copy()  # the counts per status filter by theirs, the rest kept
    count_query.pop("status", None)
    return render(
        request,
        "portal/appointments.html",
        {
            "portal_tab": "appointments",
            "form": form,
            "page": Page(shown.rows, shown.number, paginator),
            "counts": selectors.status_counts(listed, when=when),
            "when": when,
            "sort": sort,
            "status": filters.get("status", ""),
            "payment": filters.get("payment", ""),
            "filter_query": query.urlencode(),
            "tab_query": tab_query.urlencode(),
            "count_query": count_query.urlencode(),
            "is_filtered": bool(set(filters) - {"when", "sort"}),
            "zone": doctor.timezone,
            "back_here": request.get_full_path(),
        },
    )


# --- working hours and time off --------------------------------------------------------------


def _schedule_page(request, doctor: Doctor, *, hours_form=None, time_off_form=None, visits=None, visits_form=None):
    """`visits`: the confirmed visits in the time off just asked for, with `visits_form` to choose
    what happens to them."""
    now = timezone.now()
    return render(
        request,
        "portal/schedule.html",
        {
            "portal_tab": "schedule",
            "doctor": doctor,
            "schedule": schedule_selectors.doctor_schedule(doctor=doctor, now=now),
            "hours_form": hours_form or WorkingHoursAddForm(),
            "time_off_form": time_off_form or TimeOffAddForm(doctor=doctor, now=now),
            "visits_in_time_off": visits or [],
            "visits_form": visits_form,
        },
    )


@role_required(Role.DOCTOR)
@require_GET
def schedule_page(request):
    return _schedule_page(request, _doctor(request))


@role_required(Role.DOCTOR)
@require_POST
def hours_add(request):
    doctor = _doctor(request)
    form = WorkingHoursAddForm(request.POST)
    if form.is_valid():
        try:
            hours = schedule.working_hours_add(doctor=doctor, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Working hours added: {hours}. Their free times are open for booking.")
            return redirect("portal:schedule")
    return _schedule_page(request, doctor, hours_form=form)


@role_required(Role.DOCTOR)
@require_POST
def hours_remove(request, pk: int):
    hours = get_for_user_or_404(WorkingHours.objects.select_related("doctor"), user=request.user, pk=pk)
    schedule.working_hours_remove(hours=hours)
    messages.success(request, f"Working hours removed: {hours}. Booked visits in them stay booked.")
    return redirect("portal:schedule")


@role_required(Role.DOCTOR)
@require_POST
def time_off_add(request):
    """Time off; over confirmed visits the page asks, in the same form, whether to cancel and
    refund them or to move them, and the second post does it in one step."""
    doctor, now = _doctor(request), timezone.now()
    form = TimeOffAddForm(request.POST, doctor=doctor, now=now)
    asked = any(name.startswith(f"{TimeOffVisitsForm.prefix}-") for name in request.POST)
    visits_form = TimeOffVisitsForm(request.POST if asked else None)
    if not form.is_valid():
        return _schedule_page(request, doctor, time_off_form=form)
    span = {"starts_at": form.cleaned_data["starts_at"], "ends_at": form.cleaned_data["ends_at"]}
    if asked and not visits_form.is_valid():
        visits = money.visits_in_time_off(doctor=doctor, now=now, **span)
        if visits:  # the choice is incomplete: ask again, beside the visits
            return _schedule_page(request, doctor, time_off_form=form, visits=visits, visits_form=visits_form)
    choice = visits_form.cleaned_data if asked and visits_form.is_valid() else {}
    try:
        time_off = time_off_add_over_visits(
            doctor=doctor,
            reason=form.cleaned_data["reason"],
            resolution=choice.get("resolution", ""),
            note=choice.get("note", ""),
            now=now,
            **span,
        )
    except VisitsInTimeOff as error:
        return _schedule_page(request, doctor, time_off_form=form, visits=error.visits, visits_form=visits_form)
    except ValidationError as error:
        form.add_error(None, error)
    except (BookingError, AppointmentBusy) as error:
        form.add_error(None, str(error))
    else:
        done = {
            TimeOffResolution.CANCEL: " Its visits are canceled and their patients refunded in full.",
            TimeOffResolution.MOVE: " Its visits have moved to your next free times; the patients are e-mailed.",
        }.get(choice.get("resolution"), " Patients can no longer book it.")
        messages.success(request, f"Time off added: {time_off.local_span}.{done}")
        return redirect("portal:schedule")
    return _schedule_page(request, doctor, time_off_form=form)


@role_required(Role.DOCTOR)
@require_POST
def time_off_remove(request, pk: int):
    time_off = get_for_user_or_404(TimeOff.objects.select_related("doctor"), user=request.user, pk=pk)
    schedule.time_off_remove(time_off=time_off)
    messages.success(
        request, f"Time off removed: {time_off.local_span}. Your working hours in it are open for booking again."
    )
    return redirect("portal:schedule")
