#!/bin/sh
# First start of the compose PostgreSQL: one role and one database per service (DESIGN.md §2),
# each role owning only its own database. Passwords: <SERVICE>_DB_PASSWORD (var/compose.env).
# JIASAO_DB_PREFIX (default none) prefixes role and database names; tests use it.
set -eu
prefix=${JIASAO_DB_PREFIX:-}
for service in ${JIASAO_SERVICES:-registry training credit rating matching}; do
    password=$(printenv "$(echo "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD")
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        -v role="$prefix$service" -v password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
