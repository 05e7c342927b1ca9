# Stand-in for the stack's service images (nginx, postgres, redis, the SMTP catcher), for the
# deploy test on machines that cannot pull images: Debian's own packages in one image, each
# container runs one of them (deploy/test/run.py gives the command). Only for tests.
ARG BASE=newsroom-standin/python:3.11-slim
FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        nginx-light postgresql-15 redis-server python3-aiosmtpd \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
