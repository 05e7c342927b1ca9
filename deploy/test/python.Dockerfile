# Stand-in for python:3.11-slim, for the deploy test on machines that cannot pull images
# (deploy/test/run.py builds it FROM a `debootstrap --variant=minbase bookworm` import).
# Debian bookworm's python3 is 3.11, like the real image's; `python` is on the PATH as there.
# Only for tests: production builds use the real python:3.11-slim.
ARG BASE=newsroom-standin/debian:bookworm
FROM ${BASE}
# The CA certificates the host trusts beyond Debian's (a TLS-inspecting egress proxy, say):
# without them pip inside the build reaches no index. pip uses certifi unless told otherwise.
COPY extra-ca/ /usr/local/share/ca-certificates/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        ca-certificates python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/python3 /usr/local/bin/python
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    LANG=C.UTF-8
CMD ["python3"]
