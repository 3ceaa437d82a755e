"""WSGI entry point for gunicorn. Joins the database that `manage.py serve` (or DATABASE_URL) provides."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from clockweb.bootstrap import prepare_database
from clockweb.media import with_media

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clockweb.settings")

# A web worker never owns the embedded server: gunicorn recycles workers, and the
# database must outlive each of them.
prepare_database(own="never")
application = get_wsgi_application()
if settings.SERVE_MEDIA:
    application = with_media(application, settings.MEDIA_ROOT, settings.MEDIA_URL)
