#!/usr/bin/env bash
# Make the hub's passwords: the database owner's, one per database duty role (see
# sql/006_roles.sql) and one per NATS user (each service is its own NATS user, see
# deploy/nats/central.conf).
#
#   deploy/secrets.sh env > .env     compose: the variables compose.yaml requires
#   deploy/secrets.sh podman         quadlets: the podman secrets the units use
#
# `podman` reads the passwords from the variables when they are set (so a site can
# reuse the ones in an .env: `set -a; . ./.env; deploy/secrets.sh podman`) and makes
# new random ones otherwise. Existing podman secrets are replaced; restart the
# units afterwards. A password is "p" and 48 hex digits: nothing to escape inside a
# URL, and a letter first, since nats-server parses a variable as a config value
# (a leading digit would make it a number).
set -euo pipefail

USERS=(archiver stream-provisioner adapter-wx adapter-fire adapter-quake adapter-space adapter-disaster dashboard)
# Database duty roles: the service, and its role name in the database.
declare -A ROLES=([archiver]=central_archiver [stream-provisioner]=central_provisioner [dashboard]=central_dashboard)

password() { printf 'p%s' "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"; }
variable() { local name=${1//-/_}; printf 'CENTRAL_NATS_%s_PASSWORD' "${name^^}"; }
# The .env variable of a duty role's password: CENTRAL_DB_ARCHIVER_PASSWORD, ...
role_variable() { local name=${ROLES[$1]#central_}; printf 'CENTRAL_DB_%s_PASSWORD' "${name^^}"; }

env_file() {
  echo "# Central's passwords, made by deploy/secrets.sh; keep this file private."
  echo "CENTRAL_DB_PASSWORD=$(password)"
  echo "CENTRAL_DASHBOARD_TOKEN=$(password)"
  for service in "${!ROLES[@]}"; do
    echo "$(role_variable "$service")=$(password)"
  done
  for user in "${USERS[@]}"; do
    echo "$(variable "$user")=$(password)"
  done
}

podman_secrets() {
  command -v podman >/dev/null || { echo "secrets.sh: podman not found" >&2; exit 1; }
  local db=${CENTRAL_DB_PASSWORD:-$(password)} name pw
  # The server's copy (db.container) and the clients' URL (migrate, archiver,
  # stream-provisioner).
  put central-db-password "$db"
  put central-database-url "postgresql://central:$db@db:5432/central"
  put central-dashboard-token "${CENTRAL_DASHBOARD_TOKEN:-$(password)}"
  for service in "${!ROLES[@]}"; do
    name=$(role_variable "$service")
    pw=${!name:-$(password)}
    # migrate's copy (it sets the role's password) and the service's URL.
    put "central-db-password-$service" "$pw"
    put "central-database-url-$service" "postgresql://${ROLES[$service]}:$pw@db:5432/central"
  done
  for user in "${USERS[@]}"; do
    name=$(variable "$user")
    pw=${!name:-$(password)}
    # The server's copy (nats.container) and the client's URL (<user>.container).
    put "central-nats-password-$user" "$pw"
    put "central-nats-url-$user" "nats://$user:$pw@nats:4222"
  done
}

put() {
  podman secret rm "$1" >/dev/null 2>&1 || true
  printf '%s' "$2" | podman secret create "$1" - >/dev/null
  echo "secrets.sh: podman secret $1" >&2
}

case "${1:-}" in
  env) env_file ;;
  podman) podman_secrets ;;
  *) echo "usage: deploy/secrets.sh env|podman" >&2; exit 2 ;;
esac
