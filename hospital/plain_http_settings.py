"""The production settings (DEBUG off) for a server on loopback that nothing fronts: no TLS proxy
and no `collectstatic` run. The benchmark's servers and the app servers the deploy tests start
use it; a real deployment never does (it has both)."""

from hospital.settings import *  # noqa: F403

# Plain HTTP on 127.0.0.1 and no proxy sending X-Forwarded-Proto: no redirect to HTTPS, and no
# Secure cookies (a client on plain HTTP would never send them back).
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Static files from the finders, unhashed: the manifest storage needs `collectstatic` (about 45 s)
# first, and a page rendered with {% static %} would fail without its manifest.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
