#!/usr/bin/env bash
# The benchmarks of AgentHub: what the hub costs, measured beside a direct call and beside nginx in one run.
#
#   eng/bench.sh [--quick] [--out FILE] [--json FILE]
#
# Installs what is missing (Debian's wrk, nginx-light, postgresql), publishes the hub as a user would (Release,
# ReadyToRun, into artifacts/bench/hub) and builds the bench projects, then on loopback: starts the
# upstream agent (bench/AgentHub.BenchAgent), nginx in front of it and the hub with every check on; warms each path
# up until it has settled (direct and nginx until their throughput stops rising, the hub until its JIT stops
# recompiling); measures throughput (wrk, 64 connections) with the CPU time a call costs the process under test (and
# the hub's allocations and GC pauses per call), latency at a fixed 1,000 requests/s and time to first SSE event on each path;
# registers 10,000 agents and measures memory under load and cold start; then durable audit appends on SQLite and
# on a durable PostgreSQL, and the micro benchmarks (bench/AgentHub.Benchmarks). Servers run on CPU 0 and load
# generators on CPU 1. Everything it started is stopped on the way out.
#
# Writes BENCHMARKS.md (or FILE) with the date, machine, commit, parameters and every figure as median (min–max)
# of the rounds, and prints as its last line:
#   bench: hub/nginx=… signed/nginx=… p99_added_ms=… ttfe_added_ms=… audit_rps=… policy_ns=… rss_mb=…
# Figures are reported, never asserted: a benchmark does not fail on a slow machine. Exit 1 only when a measurement
# could not be made (a server did not start, a path answered errors).
#
# Options:
#   --quick       one short round of everything (under two minutes after the build), 1,000 agents; written to
#                 artifacts/bench/BENCHMARKS-quick.md unless --out is given, so the published figures stay
#   --out FILE    where the report goes
#   --json FILE   also write every raw figure as JSON
#   --parts LIST  comma-separated subset of paths,audit,micro (for working on one part)
#   --rounds N    rounds of each measurement (default 3; --quick 1)
# Environment: AGENTHUB_BENCH_HUB_DLL=path/to/agenthub.dll measures another build of the hub (before/after a change);
# AGENTHUB_BENCH_TRACE=1 prints the traceback when a measurement fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0;;
esac

install_missing() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v taskset >/dev/null || missing+=(util-linux)
  eng/apt-install.sh bench "${missing[@]}"
}

install_missing
command -v node >/dev/null || { echo "bench.sh: Node.js is needed (load scripts in bench/load)" >&2; exit 1; }

echo "bench: publishing the hub and building the bench projects (Release)" >&2
if [ -z "${AGENTHUB_BENCH_HUB_DLL:-}" ]; then
  if ! out=$(dotnet publish src/AgentHub -c Release -o artifacts/bench/hub -nologo -v quiet -clp:ErrorsOnly 2>&1); then
    printf '%s\n' "$out" >&2
    echo "bench.sh: publishing src/AgentHub failed" >&2
    exit 1
  fi
fi
for project in bench/AgentHub.Benchmarks bench/AgentHub.BenchAgent; do
  if ! out=$(dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly 2>&1); then
    printf '%s\n' "$out" >&2
    echo "bench.sh: the Release build of $project failed" >&2
    exit 1
  fi
done

exec python3 eng/bench.py "$@"
