# syntax=docker/dockerfile:1
# One image holding both entry points of metaferry:
#   metaferry-operator run        the operator (the default command; the Helm chart sets it explicitly)
#   metaferry-runtime run FILE     a connector runtime (connector pods set this command)
#
# Build:  docker build -t ghcr.io/metaferry/metaferry:0.1.0 --build-arg VERSION=0.1.0 .
# The builder stage makes the wheel; the final stage installs only that wheel (and its dependencies,
# all of which publish binary wheels), so no compiler reaches the runtime image.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "build==1.2.2.post1"
COPY pyproject.toml README.md ./
COPY runtime/ runtime/
COPY operator/ operator/
RUN python -m build --wheel --outdir /dist .

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="metaferry" \
      org.opencontainers.image.description="Open-metadata integration connectors as Kubernetes resources: operator and connector runtime" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/metaferry/metaferry" \
      org.opencontainers.image.url="https://github.com/metaferry/metaferry" \
      org.opencontainers.image.vendor="metaferry"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY --from=builder /dist/ /tmp/dist/
# The wheel alone (no source tree), then a numeric non-root user: Pod Security "restricted" and
# runAsNonRoot can verify a numeric UID without reading /etc/passwd.
RUN pip install --no-cache-dir /tmp/dist/*.whl \
 && rm -rf /tmp/dist \
 && groupadd --system --gid 10001 metaferry \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin metaferry \
 && mkdir -p /var/lib/metaferry \
 && chown 10001:10001 /var/lib/metaferry
USER 10001:10001
EXPOSE 8080 8081 9090
ENTRYPOINT ["metaferry-operator"]
CMD ["run"]
