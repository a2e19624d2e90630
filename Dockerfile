# The service image: python slim base, non-root user, the same `nlp-service` entry point.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NLP_SERVICE_DATA_DIR=/app/data \
    NLP_SERVICE_MODELS_DIR=/app/models \
    NLP_SERVICE_CACHE_DIR=/home/app/.cache/nlp_service \
    NLP_SERVICE_VAR_DIR=/home/app/var

RUN useradd --create-home --uid 10001 app
WORKDIR /app

COPY pyproject.toml README.md ./
COPY nlp_service ./nlp_service
COPY data ./data
COPY models ./models
RUN pip install . && python -c "import nlp_service"

USER app
# Warm jieba's prefix-dictionary cache so the first request is fast.
RUN nlp-service analyze "主播晚上好 几号链接" > /dev/null

EXPOSE 8000
ENTRYPOINT ["nlp-service"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
