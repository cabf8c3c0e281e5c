#!/usr/bin/env bash
# The one test command of AgentHub; CI runs it through .ci/run.
#
#   eng/test.sh [--filter EXPR] [--no-format]
#
# Installs what is missing (Debian's postgresql, prometheus and iproute2, npm packages of tests/*/), starts a throwaway
# PostgreSQL server, checks formatting, builds, runs every .NET test project and every node suite under tests/, the
# benchmark harness once in its quick mode (eng/bench.sh --quick: it must run, its figures are not asserted), then
# the log canary check, stops what it started and prints as its very last line: `N passed, N failed[, N skipped]`.
# Exit status: 0 only when nothing failed.
#
# What the tests get in their environment:
#   AGENTHUB_TEST_POSTGRES  Npgsql connection string of the throwaway server (superuser `agenthub`, trust auth,
#                           database `postgres`; tests create their own databases). When already set, it is used
#                           as given and no server is started.
#   AGENTHUB_TEST_LOG_DIR   a fresh, empty dir. Tests write their captured log output there as *.log files and every
#                           secret they mint, one per line, to *.secrets files (subdirs allowed; unique file names
#                           per test class or process, append-only). After all suites the log canary check fails
#                           if any secret shows up in any *.log (raw, base64/base64url, percent-encoded), and also
#                           when no *.secrets file was written at all.
#   CI                      passed through unchanged.
#
# Options:
#   --filter EXPR   passed to `dotnet test --filter` (developers). Node suites and the benchmarks are not run
#                   then, projects where nothing matches are not failures, and the canary check is skipped if no
#                   secrets were recorded.
#   --no-format     skip `dotnet format --verify-no-changes`.
# Environment knobs:
#   AGENTHUB_TEST_KEEP=1            keep the temp dir (logs, secrets, TRX files) and print where it is
#   AGENTHUB_TEST_HANG_TIMEOUT=10m  a .NET test running longer than this is killed and its project fails
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd -P)
ENG="$ROOT/eng"

PASSED=0 FAILED=0 SKIPPED=0
SUMMARY=()
TMP_ROOT="" PG_DIR="" DOTNET_USED=0 CLEANED=0

usage() { sed -n '2,/^set -euo/p' "$ENG/test.sh" | sed '$d' | sed 's/^# \{0,1\}//'; }
step() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# record NAME PASSED FAILED SKIPPED [NOTE]
record() {
  local line
  PASSED=$((PASSED + $2)) FAILED=$((FAILED + $3)) SKIPPED=$((SKIPPED + $4))
  line="$2 passed, $3 failed"
  [ "$4" -gt 0 ] && line+=", $4 skipped"
  [ -n "${5:-}" ] && line+="  ($5)"
  SUMMARY+=("$(printf '%-32s %s' "$1" "$line")")
  printf -- '--- %s: %s\n' "$1" "$line"
}
check_ok() { SUMMARY+=("$(printf '%-32s ok' "$1")"); printf -- '--- %s: ok\n' "$1"; }
check_failed() { record "$1" 0 1 0 "${2:-failed}"; }

# Stop PostgreSQL and the compiler servers our build started, remove the temp dirs. Silent. Runs explicitly before
# the totals line, and from the EXIT trap on every other way out (a no-op when it already ran).
cleanup() {
  [ "$CLEANED" = 1 ] && return 0
  CLEANED=1
  if [ -n "$PG_DIR" ]; then "$ENG/postgres.sh" stop "$PG_DIR" >/dev/null 2>&1 || true; fi
  if [ "$DOTNET_USED" = 1 ]; then dotnet build-server shutdown --vbcscompiler --razor >/dev/null 2>&1 || true; fi
  if [ -n "$TMP_ROOT" ] && [ "${AGENTHUB_TEST_KEEP:-0}" != 1 ]; then rm -rf "$TMP_ROOT" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

finish() {
  cleanup
  step "Summary"
  local s
  for s in "${SUMMARY[@]}"; do note "$s"; done
  if [ -n "$TMP_ROOT" ] && [ "${AGENTHUB_TEST_KEEP:-0}" = 1 ]; then note "kept: $TMP_ROOT"; fi
  if [ "$SKIPPED" -gt 0 ]; then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  else
    echo "$PASSED passed, $FAILED failed"
  fi
  [ "$FAILED" -eq 0 ] && exit 0 || exit 1
}

FILTER="" HAVE_FILTER=0 DO_FORMAT=1
while [ $# -gt 0 ]; do
  case "$1" in
    --filter)
      if [ $# -lt 2 ]; then echo "test.sh: --filter needs an expression" >&2; check_failed arguments; finish; fi
      FILTER=$2 HAVE_FILTER=1; shift 2;;
    --filter=*) FILTER=${1#--filter=} HAVE_FILTER=1; shift;;
    --no-format) DO_FORMAT=0; shift;;
    -h|--help) usage; exit 0;;
    *) echo "test.sh: unknown argument: $1 (see --help)" >&2; check_failed arguments; finish;;
  esac
done

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# no MSBuild worker nodes or MSBuild server outliving the run
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0

# ---------------------------------------------------------------------------------------------------------------
step "Prerequisites"
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "test.sh: need root (or sudo) to install: $*" >&2; return 1; }
    sudo="sudo -n"
  fi
  note "apt-get install $*"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 "$@" >/dev/null
}

prereqs() {
  local missing=() lock dir
  command -v dotnet >/dev/null || { echo "test.sh: the .NET SDK (dotnet) is not installed" >&2; return 1; }
  command -v python3 >/dev/null || missing+=(python3)
  command -v ss >/dev/null || missing+=(iproute2)   # Web/KestrelLimitsTests reads a listening socket's backlog with ss
  if [ -z "${AGENTHUB_TEST_POSTGRES:-}" ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    missing+=(postgresql)
  fi
  # promtool (check metrics/rules, test rules) and a Prometheus server for the Observability tests
  if [ ! -x /usr/bin/promtool ] || [ ! -x /usr/bin/prometheus ]; then
    missing+=(prometheus)
  fi
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}" || return 1; fi
  for lock in tests/*/package-lock.json; do
    [ -f "$lock" ] || continue
    dir=$(dirname "$lock")
    # npm ci writes node_modules/.package-lock.json; reinstall when it is missing or older than the lockfile
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$lock" -nt "$dir/node_modules/.package-lock.json" ]; then
      command -v npm >/dev/null || { echo "test.sh: npm is needed for $dir" >&2; return 1; }
      note "npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund) || return 1
    fi
  done
  note "dotnet $(dotnet --version), $(python3 --version 2>&1)$(command -v node >/dev/null && echo ", node $(node --version)")"
}
if ! prereqs; then check_failed prerequisites; finish; fi

TMP_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/agenthub-test.XXXXXX")
export AGENTHUB_TEST_LOG_DIR="$TMP_ROOT/logs"
mkdir -p "$AGENTHUB_TEST_LOG_DIR" "$TMP_ROOT/trx" "$TMP_ROOT/node"

# ---------------------------------------------------------------------------------------------------------------
step "PostgreSQL"
if [ -n "${AGENTHUB_TEST_POSTGRES:-}" ]; then
  note "using AGENTHUB_TEST_POSTGRES from the environment; no server started"
else
  PG_DIR=$(mktemp -d /tmp/agenthub-pg.XXXXXX)
  if pg_env=$("$ENG/postgres.sh" start "$PG_DIR"); then
    eval "$pg_env"
    export AGENTHUB_TEST_POSTGRES
    unset AGENTHUB_TEST_PGDIR
  else
    check_failed postgres "the throwaway server did not start"
    finish
  fi
fi
note "AGENTHUB_TEST_LOG_DIR=$AGENTHUB_TEST_LOG_DIR"

# ---------------------------------------------------------------------------------------------------------------
SLN=""
if [ -f AgentHub.slnx ]; then
  SLN=AgentHub.slnx
else
  for f in *.slnx *.sln; do [ -f "$f" ] && { SLN=$f; break; }; done
fi
if [ -z "$SLN" ]; then
  echo "test.sh: no solution file (AgentHub.slnx) in $ROOT" >&2
  check_failed build "no solution file"
  finish
fi
DOTNET_USED=1

step "Restore ($SLN)"
if ! dotnet restore "$SLN" -v:quiet -nologo; then
  check_failed build "restore failed"
  finish
fi

if [ "$DO_FORMAT" = 1 ]; then
  step "Format (dotnet format --verify-no-changes)"
  if dotnet format "$SLN" --verify-no-changes --no-restore; then
    check_ok format
  else
    note "run 'dotnet format $SLN' to fix"
    check_failed format "files are not formatted"
  fi
fi

step "Build (Release)"
if dotnet build "$SLN" -c Release --no-restore -nologo -clp:NoSummary -v:minimal; then
  check_ok build
else
  check_failed build "build failed"
  finish
fi

# ---------------------------------------------------------------------------------------------------------------
# .NET test projects of the solution: those whose IsTestProject is true (Microsoft.NET.Test.Sdk sets it)
mapfile -t PROJECTS < <(dotnet sln "$SLN" list 2>/dev/null | tr '\\' '/' | grep -E '\.(cs|fs|vb)proj$' || true)
TEST_PROJECTS=()
for p in "${PROJECTS[@]}"; do
  p="$(dirname "$SLN")/$p"
  if [ "$(dotnet msbuild "$p" -getProperty:IsTestProject -p:Configuration=Release -nologo 2>/dev/null | tr -d '[:space:]')" = true ]; then
    TEST_PROJECTS+=("$p")
  fi
done
if [ ${#TEST_PROJECTS[@]} -eq 0 ]; then
  step ".NET tests"
  note "no test project in $SLN"
  check_failed ".NET tests" "no test project found"
fi

HANG=${AGENTHUB_TEST_HANG_TIMEOUT:-10m}
DOTNET_RAN=0
for p in "${TEST_PROJECTS[@]}"; do
  name=$(basename "$p"); name=${name%.*}
  step ".NET tests: $name"
  trx="$TMP_ROOT/trx/$name.trx"
  args=(test "$p" -c Release --no-build --nologo
        --logger "trx;LogFileName=$trx" --results-directory "$TMP_ROOT/trx/$name"
        --blame-hang-timeout "$HANG" --blame-hang-dump-type none)
  [ "$HAVE_FILTER" = 1 ] && args+=(--filter "$FILTER")
  rc=0
  dotnet "${args[@]}" || rc=$?
  if [ ! -f "$trx" ]; then
    check_failed "$name" "runner exited $rc without a TRX file"
    continue
  fi
  if ! counts=$(python3 "$ENG/totals.py" trx "$trx"); then
    check_failed "$name" "unreadable TRX file"
    continue
  fi
  read -r tp tf ts aborted <<<"$counts"
  why=""
  if [ "$aborted" = 1 ] || { [ "$rc" != 0 ] && [ "$tf" = 0 ]; }; then
    tf=$((tf + 1)) why="test run aborted or runner failed (exit $rc)"
  elif [ $((tp + tf)) -eq 0 ]; then
    if [ "$HAVE_FILTER" = 1 ]; then
      why="nothing matched the filter"
    else
      tf=1 why="ran 0 tests"
    fi
  fi
  DOTNET_RAN=$((DOTNET_RAN + tp + tf))
  record "$name" "$tp" "$tf" "$ts" "$why"
done
if [ "$HAVE_FILTER" = 1 ] && [ ${#TEST_PROJECTS[@]} -gt 0 ] && [ "$DOTNET_RAN" -eq 0 ]; then
  check_failed "--filter" "no .NET test matched: $FILTER"
fi

# ---------------------------------------------------------------------------------------------------------------
for pkg in tests/*/package.json; do
  [ -f "$pkg" ] || continue
  dir=$(dirname "$pkg")
  python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("scripts",{}).get("test") else 1)' "$pkg" \
    || continue
  name="$(basename "$dir") (node)"
  step "Node tests: $dir"
  if [ "$HAVE_FILTER" = 1 ]; then
    note "skipped: --filter selects .NET tests only"
    continue
  fi
  out="$TMP_ROOT/node/$(basename "$dir").out"
  rc=0
  (cd "$dir" && npm test 2>&1) | tee "$out" || rc=${PIPESTATUS[0]}
  counts=$(python3 "$ENG/totals.py" tap "$out") || counts="0 0 0 0"
  read -r tp tf ts found <<<"$counts"
  why=""
  if [ "$found" != 1 ]; then
    tf=$((tf + 1)) why="no node --test summary in the output (exit $rc)"
  elif [ "$rc" != 0 ] && [ "$tf" = 0 ]; then
    tf=$((tf + 1)) why="npm test exited $rc"
  elif [ $((tp + tf)) -eq 0 ]; then
    tf=1 why="ran 0 tests"
  fi
  record "$name" "$tp" "$tf" "$ts" "$why"
done

# ---------------------------------------------------------------------------------------------------------------
# The benchmark harness, once, in its quick mode: it must run end to end; its figures are reported, never asserted.
step "Benchmarks: eng/bench.sh --quick"
if [ "$HAVE_FILTER" = 1 ]; then
  note "skipped: --filter selects .NET tests only"
else
  mkdir -p "$TMP_ROOT/bench"
  rc=0
  "$ENG/bench.sh" --quick --out "$TMP_ROOT/bench/BENCHMARKS.md" 2>&1 | tee "$TMP_ROOT/bench/out.txt" || rc=${PIPESTATUS[0]}
  if [ "$rc" = 0 ] && tail -n 1 "$TMP_ROOT/bench/out.txt" | grep -q '^bench: hub/nginx=' && [ -s "$TMP_ROOT/bench/BENCHMARKS.md" ]; then
    record "bench (quick)" 1 0 0
  else
    record "bench (quick)" 0 1 0 "eng/bench.sh --quick exited $rc or printed no summary line"
  fi
fi

# ---------------------------------------------------------------------------------------------------------------
step "Log canary: no minted secret in any captured log"
if [ "$HAVE_FILTER" = 1 ] && [ -z "$(find "$AGENTHUB_TEST_LOG_DIR" -name '*.secrets' -print -quit)" ]; then
  note "no secrets recorded by the filtered tests: check skipped"
  record "log canary" 0 0 1 "no secrets recorded with --filter"
else
  rc=0
  canary_out=$(python3 "$ENG/totals.py" canary "$AGENTHUB_TEST_LOG_DIR") || rc=$?
  printf '%s\n' "$canary_out" | sed 's/^/    /'
  if [ "$rc" = 0 ]; then record "log canary" 1 0 0; else record "log canary" 0 1 0; fi
fi
finish
