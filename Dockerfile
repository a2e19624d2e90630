# The service image: the serving install only (no scikit-learn, snownlp, pyarrow, plotly or
# Dask: those are the [train], [batch], [report] and [dask] extras), built in a first stage so
# the final image holds the virtualenv, not pip's build leftovers. The word lists, rules and
# models ship inside the wheel (setup.py), so the final stage copies no data.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
# gcc compiles nlp_service/core/_speedups.c (the compiled segmenter and scoring loops); only
# this stage has it, the final image gets the built module inside the virtualenv
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
RUN python -m venv /venv
WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in README.md constraints.txt ./
COPY nlp_service ./nlp_service
COPY data ./data
COPY models ./models
# EXTRAS="[batch,report]" adds archive scoring and reports to the image
ARG EXTRAS=""
# constraints.txt: the dependency versions the test suite passed with
RUN /venv/bin/pip install -c constraints.txt ".${EXTRAS}" && /venv/bin/python -c "import nlp_service.core._speedups"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/venv/bin:$PATH \
    NLP_SERVICE_CACHE_DIR=/home/app/.cache/nlp_service \
    NLP_SERVICE_VAR_DIR=/home/app/var

RUN useradd --create-home --uid 10001 app
WORKDIR /app
COPY --from=build /venv /venv

USER app
# Warm jieba's prefix-dictionary cache so the first request is fast.
RUN nlp-service analyze "主播晚上好 几号链接" > /dev/null
# The embedded Redis keeps its append-only file here (without REDIS_URL)
VOLUME ["/home/app/var"]

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["nlp-service"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
