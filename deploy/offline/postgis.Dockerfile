# Stand-in for the TimescaleDB + PostGIS image: Debian's PostgreSQL 15 and PostGIS 3
# on the offline Debian base, initialised on first start from the same variables
# (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA) and data folder as upstream.
ARG BASE
FROM ${BASE}
# No cluster at install time: the entry point makes one in PGDATA on first start.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo 'create_main_cluster = false' \
       > /etc/postgresql-common/createcluster.d/central.conf \
    && apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends \
       postgresql-15 postgresql-15-postgis-3 >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /home/postgres/pgdata /var/run/postgresql \
    && chown -R postgres:postgres /home/postgres /var/run/postgresql
COPY postgis-entrypoint.sh /usr/local/bin/postgis-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH \
    PGDATA=/home/postgres/pgdata/data
USER postgres
EXPOSE 5432
VOLUME /home/postgres/pgdata
# SIGINT is PostgreSQL's fast shutdown: sessions end, the server checkpoints, exits.
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgis-entrypoint.sh"]
CMD ["postgres"]
