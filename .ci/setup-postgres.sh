#!/usr/bin/env bash
# Starts the machine's PostgreSQL 15 cluster and creates the test role and database.
# Idempotent; prints the connection string the tests read from ORCH_TEST_DATABASE_URL.
set -euo pipefail
ver=15
if ! pg_lsclusters -h 2>/dev/null | grep -q "^$ver main"; then
  echo "PostgreSQL $ver cluster 'main' not found; install postgresql-$ver" >&2
  exit 1
fi
if ! pg_lsclusters -h | grep -q "^$ver main .* online"; then
  pg_ctlcluster --skip-systemctl-redirect $ver main start
fi
for i in $(seq 1 30); do
  su postgres -c "psql -Atqc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -v ON_ERROR_STOP=1 -q" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'orch') THEN
    CREATE ROLE orch LOGIN PASSWORD 'orch' CREATEDB;
  END IF;
END $$;
SQL
if ! su postgres -c "psql -Atqc \"select 1 from pg_database where datname='orch_test'\"" | grep -q 1; then
  su postgres -c "createdb -O orch orch_test"
fi
# More connections than the default 100: tests run several hosts, each with its own pool.
cur=$(su postgres -c "psql -Atqc 'show max_connections'")
if [ "$cur" -lt 300 ]; then
  su postgres -c "psql -qc 'alter system set max_connections = 300'"
  pg_ctlcluster --skip-systemctl-redirect $ver main restart
fi
echo "postgres://orch:orch@127.0.0.1:5432/orch_test"
