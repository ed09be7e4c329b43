import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hospital.settings")

application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (configured by the line above)

# Production must never serve without a key (sessions and CSRF depend on it): Django raises
# ImproperlyConfigured when an empty SECRET_KEY is read, so read it now, at start-up.
settings.SECRET_KEY  # noqa: B018
