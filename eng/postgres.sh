#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests: loopback only, trust authentication, data in a temp dir.
#
#   eng/postgres.sh start [DIR]   start a server with its data, socket and log under DIR (created with mktemp
#                                 when not given); prints shell lines to eval on stdout:
#                                   export AGENTHUB_TEST_POSTGRES='Host=127.0.0.1;Port=…;Username=agenthub;Database=postgres'
#                                   export AGENTHUB_TEST_PGDIR='DIR'
#   eng/postgres.sh stop [DIR]    stop that server and remove DIR (default: $AGENTHUB_TEST_PGDIR); quiet, idempotent
#
# Typical use by hand:  eval "$(eng/postgres.sh start)"; …; eng/postgres.sh stop
# PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (DIR is chowned to it).
# -A trust and fsync=off are for a loopback test server only; never for a deployment.
# AGENTHUB_PG_DURABLE=1 keeps PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes), for
# benchmarks of durable writes.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] || die "no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)"
  echo "$d"
}

# run a shell command line as the server's owner: `postgres` when we are root, else ourselves
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/sh -c "$1"
  else
    sh -c "$1"
  fi
}

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

start() {
  local dir=${1:-} pgbin port ok=0 speed='-c fsync=off -c synchronous_commit=off -c full_page_writes=off'
  [ "${AGENTHUB_PG_DURABLE:-0}" = 1 ] && speed=''
  pgbin=$(pg_bin)
  command -v python3 >/dev/null || die "python3 is needed to pick a free port"
  if [ -z "$dir" ]; then
    dir=$(mktemp -d "${AGENTHUB_PG_TMP:-/tmp}/agenthub-pg.XXXXXX")
  else
    mkdir -p "$dir"
  fi
  dir=$(cd "$dir" && pwd -P)
  # the path goes into `sh -c` command lines and pg_ctl -o; keep it plain
  case "$dir" in *[!A-Za-z0-9._/-]*) die "unsupported characters in data dir path: $dir";; esac
  # a unix socket path must fit in 107 bytes
  [ ${#dir} -le 80 ] || die "data dir path too long for the server's socket: $dir (set AGENTHUB_PG_TMP)"
  [ ! -e "$dir/pg" ] || die "$dir/pg already exists"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (apt-get install postgresql)"
    chown postgres "$dir"
    chmod 700 "$dir"
  fi

  as_owner "cd $dir && $pgbin/initdb -D $dir/pg -A trust -U agenthub -E UTF8 --locale=C.UTF-8 >$dir/initdb.log 2>&1" \
    || { cat "$dir/initdb.log" >&2 2>/dev/null || true; die "initdb failed"; }

  # the port is free when picked but could be taken before the server binds it: retry on another one
  for _ in 1 2 3 4 5; do
    port=$(free_port)
    if as_owner "cd $dir && $pgbin/pg_ctl -D $dir/pg -l $dir/log -w -t 60 \
        -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 $speed' \
        start >/dev/null 2>&1"; then
      ok=1
      break
    fi
    grep -qiE 'could not bind|address already in use' "$dir/log" 2>/dev/null || break
    echo "postgres.sh: port $port was taken, trying another" >&2
  done
  if [ "$ok" != 1 ]; then
    tail -n 20 "$dir/log" >&2 2>/dev/null || true
    die "the server did not start (data dir kept: $dir; remove it with: $0 stop $dir)"
  fi
  echo "postgres.sh: PostgreSQL $("$pgbin/postgres" -V | awk '{print $3}') on 127.0.0.1:$port, data in $dir" >&2
  printf "export AGENTHUB_TEST_POSTGRES='Host=127.0.0.1;Port=%s;Username=agenthub;Database=postgres'\n" "$port"
  printf "export AGENTHUB_TEST_PGDIR='%s'\n" "$dir"
}

stop() {
  local dir=${1:-${AGENTHUB_TEST_PGDIR:-}} pgbin pid
  [ -n "$dir" ] || die "stop: which dir? (give it, or set AGENTHUB_TEST_PGDIR)"
  [ -d "$dir" ] || return 0
  case "$dir" in *[!A-Za-z0-9._/-]*) die "unsupported characters in data dir path: $dir";; esac
  if [ -f "$dir/pg/postmaster.pid" ]; then
    pgbin=$(pg_bin)
    as_owner "cd $dir && $pgbin/pg_ctl -D $dir/pg -m fast -w -t 30 stop >/dev/null 2>&1" \
      || as_owner "cd $dir && $pgbin/pg_ctl -D $dir/pg -m immediate -w -t 30 stop >/dev/null 2>&1" \
      || true
    # last resort: the postmaster this dir belongs to (first line of its pid file), and only that process
    if [ -f "$dir/pg/postmaster.pid" ]; then
      pid=$(head -n 1 "$dir/pg/postmaster.pid" 2>/dev/null || true)
      case "$pid" in
        ''|*[!0-9]*) ;;
        *) [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ] && kill -9 "$pid" 2>/dev/null || true;;
      esac
    fi
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@";;
  stop) shift; stop "$@";;
  *) echo "usage: $0 start [DIR] | stop [DIR]" >&2; exit 2;;
esac
