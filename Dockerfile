# clockweb's production image: web (gunicorn) and workers (qcluster) run from it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CLOCKWEB_VAR_DIR=/data/var \
    MEDIA_ROOT=/data/media

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg wordnet-base \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 clockweb

WORKDIR /app
COPY pyproject.toml README.md ./
COPY clockweb ./clockweb
COPY catalog ./catalog
COPY pipeline ./pipeline
RUN pip install .
COPY . .
# Static files are collected into the image; whitenoise serves them from there.
# WordNet for the offline concept search, in the image's models folder.
RUN SECRET_KEY=collectstatic-only CLOCKWEB_VAR_DIR=/app/var DATABASE_URL=postgresql://unused@localhost/unused \
    python manage.py collectstatic --noinput \
    && python -m pipeline.search.wordnet install --out /app/var/models/wordnet \
    && mkdir -p /data/var /data/media && chown -R clockweb:clockweb /data /app/var

USER clockweb
EXPOSE 8000
CMD ["gunicorn", "clockweb.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
