import datetime as dt

from django.core.paginator import Paginator
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from accounts.access import get_for_user_or_404
from hospital import page_cache, selectors
from hospital.forms import DirectoryFilterForm
from hospital.models import Doctor, Slot, booking_cutoff_words

DOCTORS_PER_PAGE = 12

# The public parts of these pages come from hospital.page_cache and are rendered without the
# request: nothing of the signed-in user can reach an entry other visitors are shown.


def _specialties() -> list[selectors.SpecialtyCard]:
    return page_cache.cached("specialties", build=lambda now: selectors.specialties_with_doctors())


@require_GET
def home(request):
    return render(request, "hospital/home.html", {"specialties": _specialties()})


@require_GET
def doctor_list(request):
    specialties = _specialties()
    form = DirectoryFilterForm(request.GET or None, specialties=specialties)
    filters = form.cleaned_data if form.is_valid() else {}
    query = request.GET.copy()
    query.pop("page", None)
    filter_query = query.urlencode()

    def build(now):
        doctors = selectors.doctor_directory(
            search=filters.get("q", ""), specialty=filters.get("specialty", ""), now=now
        )
        page = Paginator(doctors, DOCTORS_PER_PAGE).get_page(request.GET.get("page"))
        shown = list(page.object_list)
        page.object_list = selectors.doctor_cards(shown)
        html = render_to_string("hospital/includes/doctor_results.html", {"page": page, "filter_query": filter_query})
        next_free = min((doctor.next_free_slot_at for doctor in shown if doctor.next_free_slot_at), default=None)
        return html, [doctor.pk for doctor in shown], next_free

    def changes_at(built, now):
        _, doctor_ids, next_free = built
        slots = Slot.objects.filter(doctor__in=doctor_ids)
        return page_cache.free_times_change_at(now=now, slots=slots, earliest_shown=next_free)

    # Everything the results depend on besides the data is in the query string.
    results, *_ = page_cache.cached("directory", sorted(request.GET.lists()), build=build, changes_at=changes_at)
    context = {"form": form, "specialties": specialties, "chosen_specialty": form["specialty"].value() or ""}
    return render(request, "hospital/doctor_list.html", context | {"results": results})


@require_GET
def doctor_detail(request, pk: int):
    doctor = get_for_user_or_404(Doctor.objects.select_related("user", "specialty"), user=request.user, pk=pk)
    # Patients and visitors (who are asked to log in) get booking links; other roles plain times.
    can_book = not request.user.is_authenticated or request.user.is_patient

    def build(now):
        slot_days = selectors.doctor_free_slots_by_day(doctor=doctor, now=now)
        context = {
            "doctor": doctor,
            "slot_days": slot_days,
            "can_book": can_book,
            "booking_cutoff": booking_cutoff_words(),
        }
        first = slot_days[0].slots[0].starts_at if slot_days else None
        return render_to_string("hospital/includes/free_times.html", context), first

    def changes_at(built, now):
        return page_cache.free_times_change_at(
            now=now,
            slots=Slot.objects.filter(doctor=doctor),
            earliest_shown=built[1],
            window_ends_at=now + dt.timedelta(days=selectors.FREE_TIMES_DAYS),
        )

    free_times, _ = page_cache.cached("free-times", doctor.pk, can_book, build=build, changes_at=changes_at)
    context = {"doctor": doctor, "initials": selectors.initials(doctor), "free_times": free_times}
    return render(request, "hospital/doctor_detail.html", context)
