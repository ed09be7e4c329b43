from django.conf import settings


def site(request):
    return {"hospital_name": settings.HOSPITAL_NAME}
