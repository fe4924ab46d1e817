# Aura Orchestra: one image for web (gunicorn), the Celery worker and Celery beat. See docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# collectstatic imports the production settings, which demand a SECRET_KEY: a dummy one lives only in
# this RUN line's environment and never in an image layer's ENV. The scratch SQLite dir goes too.
RUN SECRET_KEY=collectstatic-build-only-not-a-secret-but-fifty-characters-long AURA_ENV=production ALLOWED_HOSTS=localhost \
        AURA_DATA_DIR=/tmp/aura-build python manage.py collectstatic --noinput \
    && rm -rf /tmp/aura-build

RUN useradd --create-home --uid 10001 --user-group aura \
    && mkdir -p /app/.data \
    && chown aura:aura /app/.data
USER aura

ENV AURA_ENV=production
EXPOSE 8000

CMD ["gunicorn", "aura_project.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
