import datetime as dt
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from hospital import page_cache, selectors
from hospital.forms import DirectoryFilterForm
from hospital.models import Doctor, Slot, booking_cutoff_words

DOCTORS_PER_PAGE = 12
DIRECTORY_PARAMETERS = {"q", "specialty", "page"}

# The public parts of these pages come from hospital.page_cache and are rendered without the
# request: nothing of the signed-in user can reach an entry that other visitors are shown.


def _specialties(request) -> list[selectors.SpecialtyCard]:
    return page_cache.cached(request, "specialties", build=lambda now: selectors.specialties_with_doctors())


def _specialty_options(request, specialties, chosen: str) -> str:
    """The <option>s of a specialty menu with `chosen` selected (a slug, or "" for all)."""
    context = {"specialties": specialties, "chosen": chosen}
    return page_cache.cached(
        request,
        "specialty-options",
        chosen,
        build=lambda now: render_to_string("hospital/includes/specialty_options.html", context),
    )


@require_GET
def home(request):
    specialties = _specialties(request)
    grid = page_cache.cached(
        request,
        "specialty-grid",
        build=lambda now: render_to_string("hospital/includes/specialty_grid.html", {"specialties": specialties}),
    )
    options = _specialty_options(request, specialties, "")
    return render(request, "hospital/home.html", {"specialty_grid": grid, "specialty_options": options})


@dataclass(frozen=True)
class _Directory:
    html: str
    doctor_ids: list[int]
    next_free: dt.datetime | None  # the soonest free time among the cards
    # Only a valid search of the directory's own parameters is kept: odd query strings would
    # only crowd out real ones, and an entry found in the cache needs no form checked again.
    keep: bool


@require_GET
def doctor_list(request):
    def build(now) -> _Directory:
        specialties = _specialties(request)
        form = DirectoryFilterForm(request.GET or None, specialties=specialties)
        filters = form.cleaned_data if form.is_valid() else {}
        doctors = selectors.doctor_directory(
            search=filters.get("q", ""), specialty=filters.get("specialty", ""), now=now
        )
        page = Paginator(doctors, DOCTORS_PER_PAGE).get_page(request.GET.get("page"))
        shown = list(page.object_list)
        page.object_list = selectors.doctor_cards(shown)
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "form": form,
            "specialty_options": _specialty_options(request, specialties, filters.get("specialty", "")),
            "is_filtered": bool(request.GET),
            "page": page,
            "filter_query": query.urlencode(),
        }
        return _Directory(
            html=render_to_string("hospital/includes/directory.html", context),
            doctor_ids=[row["pk"] for row in shown],
            next_free=min((row["next_free_slot_at"] for row in shown if row["next_free_slot_at"]), default=None),
            keep=(not form.is_bound or form.is_valid()) and set(request.GET) <= DIRECTORY_PARAMETERS,
        )

    def changes_at(directory: _Directory, now):
        if not directory.keep:
            return now
        slots = Slot.objects.filter(doctor__in=directory.doctor_ids)
        return page_cache.free_times_change_at(now=now, slots=slots, earliest_shown=directory.next_free)

    # Everything the page shows besides the data is in the query string: the filters as typed too.
    key = sorted(request.GET.lists())
    directory = page_cache.cached(request, "directory", key, build=build, changes_at=changes_at)
    return render(request, "hospital/doctor_list.html", {"directory": directory.html})


@dataclass(frozen=True)
class _DoctorPage:
    title: str
    body: str
    is_listed: bool
    first_free: dt.datetime | None


@require_GET
def doctor_detail(request, pk: int):
    # Patients and visitors (who are asked to log in) get booking links; other roles plain times.
    can_book = not request.user.is_authenticated or request.user.is_patient

    def build(now) -> _DoctorPage | None:
        doctor = Doctor.objects.select_related("user", "specialty").filter(pk=pk).first()
        if doctor is None:
            return None
        slot_days = selectors.doctor_free_slots_by_day(doctor=doctor, now=now)
        context = {
            "doctor": doctor,
            "initials": selectors.initials(doctor),
            "rating": selectors.rating_summary(review_count=doctor.review_count, rating_sum=doctor.rating_sum),
            "slot_days": slot_days,
            "can_book": can_book,
            "booking_cutoff": booking_cutoff_words(),
        }
        return _DoctorPage(
            title=doctor.display_name,
            body=render_to_string("hospital/includes/doctor_page.html", context),
            is_listed=doctor.is_active,
            first_free=slot_days[0].slots[0].starts_at if slot_days else None,
        )

    def changes_at(page: _DoctorPage | None, now):
        if page is None:
            return now  # not kept: a doctor may be added under this id
        return page_cache.free_times_change_at(
            now=now,
            slots=Slot.objects.filter(doctor_id=pk),
            earliest_shown=page.first_free,
            window_ends_at=now + dt.timedelta(days=selectors.FREE_TIMES_DAYS),
        )

    page = page_cache.cached(request, "doctor-page", pk, can_book, build=build, changes_at=changes_at)
    # The entry is shared: who may see an unlisted doctor is decided here, per request, as
    # Doctor.objects.visible_to does (staff only).
    if page is None or not (page.is_listed or request.user.is_staff):
        raise Http404("No doctor with this id.")
    return render(request, "hospital/doctor_detail.html", {"page": page})
