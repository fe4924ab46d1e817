"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aura_project.settings")
django_application = get_wsgi_application()

from aura_project.middleware import ChunkedBodyWSGI  # noqa: E402 (needs the settings configured above)

application = ChunkedBodyWSGI(django_application)
