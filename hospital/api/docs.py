"""The API's documentation pages, from our own static files and with no inline script: Swagger
UI's set-up script is served as a file of its own (the split view), and ReDoc's page is ours,
without the web fonts and the inline start-up of drf-spectacular's template."""

from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

SCHEMA_URL_NAME = "api:schema"

schema = SpectacularAPIView.as_view(permission_classes=[AllowAny])
# Our page (drf-spectacular's, with the document's language named for screen readers).
swagger = SpectacularSwaggerSplitView.as_view(
    url_name=SCHEMA_URL_NAME, template_name="api/swagger.html", permission_classes=[AllowAny]
)
redoc = SpectacularRedocView.as_view(
    url_name=SCHEMA_URL_NAME, template_name="api/redoc.html", permission_classes=[AllowAny]
)
