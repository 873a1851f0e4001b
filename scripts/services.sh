#!/usr/bin/env bash
# Test services for the rating app: PostgreSQL (Debian's package, started on loopback with a throw-away role) and
# Debian's Chromium for the browser test. Needs root and Debian's registry; without them it says so and the
# PostgreSQL / browser tests skip. Each call creates a database of its own (clinqa_test_<time>_<pid>_<random>), so two
# checkouts or two CI runs on one machine never share one, and prints the export lines for CLINQA_TEST_PG_URL and
# CLINQA_TEST_PG_DB on success. `services.sh --drop NAME` drops such a database (scripts/test.sh does at exit).
set -uo pipefail
if [ "${1:-}" = "--drop" ]; then
  [[ "${2:-}" =~ ^clinqa_test_[a-z0-9_]+$ ]] || { echo "services: --drop takes a clinqa_test_... database" >&2; exit 2; }
  su postgres -c "dropdb --if-exists --force $2" >/dev/null 2>&1 || echo "services: could not drop $2" >&2
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  need=""
  [ -x /usr/bin/chromium ] || need="$need chromium"
  ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need="$need postgresql"
  if [ -n "$need" ]; then
    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need) >/tmp/clinqa-apt.log 2>&1 \
      || echo "services: apt-get install$need failed (see /tmp/clinqa-apt.log)" >&2
  fi
fi
if command -v pg_lsclusters >/dev/null; then
  ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
  pg_lsclusters -h | grep -q "^$ver main" || pg_createcluster "$ver" main >/dev/null 2>&1
  pg_ctlcluster "$ver" main start >/dev/null 2>&1 || true
  for i in $(seq 1 30); do su postgres -c "psql -qAt -c 'select 1'" >/dev/null 2>&1 && break; sleep 0.5; done
  su postgres -c "psql -qAt -c \"select 1 from pg_roles where rolname='clinqa'\"" | grep -q 1 || \
    su postgres -c "psql -q -c \"create role clinqa login superuser password 'clinqa'\""
  db=clinqa_test_$(date +%s)_$$_$RANDOM
  if su postgres -c "createdb -O clinqa $db"; then
    echo "export CLINQA_TEST_PG_URL=postgresql+psycopg://clinqa:clinqa@127.0.0.1:5432/$db CLINQA_TEST_PG_DB=$db"
  else
    echo "services: could not create database $db; the PostgreSQL tests will skip" >&2
  fi
else
  echo "services: no PostgreSQL; its tests will skip" >&2
fi
