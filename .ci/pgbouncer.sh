#!/usr/bin/env bash
# Start Debian's PgBouncer with deploy/pgbouncer.ini (transaction pooling, 127.0.0.1:6432 in front of
# 127.0.0.1:5432), for the tests. `.ci/pgbouncer.sh stop` stops it. Exits 1 when it cannot start.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR="${PGBOUNCER_RUN_DIR:-/tmp/loyalty-pgbouncer}"
PORT=6432

if [ "${1:-start}" = "stop" ]; then
  [ -f "$RUN_DIR/pgbouncer.pid" ] && kill "$(cat "$RUN_DIR/pgbouncer.pid")" 2>/dev/null || true
  exit 0
fi
if pg_isready -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  echo "PgBouncer: already answering on 127.0.0.1:$PORT"; exit 0
fi
PGBOUNCER="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
if [ ! -x "$PGBOUNCER" ] && command -v apt-get >/dev/null; then
  SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
  { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer; } \
    >/dev/null 2>&1 || true
fi
[ -x "$PGBOUNCER" ] || { echo "PgBouncer is not installed and could not be installed."; exit 1; }

mkdir -p "$RUN_DIR"
cp deploy/pgbouncer.ini "$RUN_DIR/pgbouncer.ini"
cat >> "$RUN_DIR/pgbouncer.ini" <<CONF
auth_file = $RUN_DIR/userlist.txt
pidfile = $RUN_DIR/pgbouncer.pid
logfile = $RUN_DIR/pgbouncer.log
CONF
echo '"postgres" ""' > "$RUN_DIR/userlist.txt"
AS_USER=()
if [ "$(id -u)" -eq 0 ]; then  # PgBouncer refuses to run as root
  chown -R postgres "$RUN_DIR"
  AS_USER=(-u postgres)
fi
"$PGBOUNCER" -d "${AS_USER[@]}" "$RUN_DIR/pgbouncer.ini"
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$PORT" && { echo "PgBouncer: transaction pooling on 127.0.0.1:$PORT"; exit 0; }
  sleep 0.2
done
echo "PgBouncer did not start: $(tail -5 "$RUN_DIR/pgbouncer.log" 2>/dev/null)"; exit 1
