"""WSGI entry point for gunicorn. Joins the database that `manage.py serve` (or DATABASE_URL) provides."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from whitenoise import WhiteNoise

from clockweb.bootstrap import prepare_database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clockweb.settings")

# A web worker never owns the embedded server: gunicorn recycles workers, and the
# database must outlive each of them.
prepare_database(own="never")
application = get_wsgi_application()
if settings.SERVE_MEDIA:
    # Media files appear while the app runs (new snippets), so look them up per request.
    # WhiteNoise answers Range requests, which video players need for seeking.
    application = WhiteNoise(application, autorefresh=True)
    application.add_files(str(settings.MEDIA_ROOT), prefix=settings.MEDIA_URL)
