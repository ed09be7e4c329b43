"""The REST API's shared parts: authentication, errors, pagination, throttles and the schema.

Each app's own endpoints live in its `api` module (serializers and views that call the same
services and selectors as its pages); `hospital/api/urls.py` gathers them under /api/v1/.
"""
