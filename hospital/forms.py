from django import forms

from hospital.models import Specialty


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(
        label="Doctor's name",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "e.g. Okafor"}),
    )
    specialty = forms.ModelChoiceField(
        queryset=Specialty.objects.filter(doctors__is_active=True).distinct(),
        required=False,
        to_field_name="slug",
        empty_label="All specialties",
    )
