from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.access import get_for_user_or_404
from hospital import selectors
from hospital.forms import DirectoryFilterForm
from hospital.models import Doctor, booking_cutoff_words

DOCTORS_PER_PAGE = 12


@require_GET
def home(request):
    return render(request, "hospital/home.html", {"specialties": selectors.specialties_with_doctors()})


@require_GET
def doctor_list(request):
    specialties = selectors.specialties_with_doctors()
    form = DirectoryFilterForm(request.GET or None, specialties=specialties)
    filters = form.cleaned_data if form.is_valid() else {}
    doctors = selectors.doctor_directory(search=filters.get("q", ""), specialty=filters.get("specialty", ""))
    page = Paginator(doctors, DOCTORS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = selectors.doctor_cards(page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "hospital/doctor_list.html",
        {
            "form": form,
            "specialties": specialties,
            "chosen_specialty": form["specialty"].value() or "",
            "page": page,
            "filter_query": query.urlencode(),
        },
    )


@require_GET
def doctor_detail(request, pk: int):
    doctor = get_for_user_or_404(Doctor.objects.select_related("user", "specialty"), user=request.user, pk=pk)
    user = request.user
    return render(
        request,
        "hospital/doctor_detail.html",
        {
            "doctor": doctor,
            "initials": selectors.initials(doctor),
            "slot_days": selectors.doctor_free_slots_by_day(doctor=doctor),
            # Patients and visitors (who are asked to log in) get booking links; other roles plain times.
            "can_book": not user.is_authenticated or user.is_patient,
            "booking_cutoff": booking_cutoff_words(),
        },
    )
