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
from appointments.portal import selectors
from appointments.portal.forms import AppointmentListForm
from appointments.views import page_number
from hospital import selectors as schedule_selectors
from hospital import services as schedule
from hospital.forms import TimeOffAddForm, WorkingHoursAddForm
from hospital.models import Doctor, TimeOff, WorkingHours

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


def _schedule_page(request, doctor: Doctor, *, hours_form=None, time_off_form=None):
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
    doctor = _doctor(request)
    form = TimeOffAddForm(request.POST, doctor=doctor, now=timezone.now())
    if form.is_valid():
        data = form.cleaned_data
        try:
            time_off = schedule.time_off_add(
                doctor=doctor, starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Time off added: {time_off.local_span}. Patients can no longer book it.")
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
