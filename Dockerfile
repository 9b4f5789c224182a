# syntax=docker/dockerfile:1
# Build: docker build -t stackprep .
# Run:   docker run -e STACKPREP_TELEGRAM_TOKEN=... -v stackprep-data:/data stackprep

FROM python:3.12-slim-bookworm AS build
# uv from PyPI, the same version that wrote uv.lock
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# Dependencies first: this layer is reused until pyproject.toml or uv.lock change.
# The question bank goes into the wheel as package data, so the runtime stage needs only the venv.
COPY pyproject.toml uv.lock ./
RUN uv sync --locked --no-dev --no-install-project
COPY README.md ./
COPY bot ./bot
COPY questions ./questions
RUN uv sync --locked --no-dev --no-editable

FROM python:3.12-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 stackprep \
    && useradd --system --uid 10001 --gid stackprep --home-dir /app --shell /usr/sbin/nologin stackprep \
    && mkdir /data && chown stackprep:stackprep /data
WORKDIR /app
COPY --from=build --chown=stackprep:stackprep /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    STACKPREP_DATABASE=/data/stackprep.db \
    STACKPREP_OPS_LISTEN=0.0.0.0:9108
VOLUME ["/data"]
# /healthz and /metrics (no authentication: publish the port only to your scraper)
EXPOSE 9108
USER 10001:10001
# Tokens come from the environment at run time (STACKPREP_DISCORD_TOKEN,
# STACKPREP_TELEGRAM_TOKEN); nothing secret is baked into the image.
# Healthy when the database answers and every enabled platform is connected (/healthz).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["stackprep", "health"]
ENTRYPOINT ["stackprep"]
CMD ["run"]
