#!/usr/bin/env bash
# The security and robustness suite of AgentHub: bad input, attacks, crashes and full disks, against Release builds
# on loopback (on SQLite and on PostgreSQL where a check applies).
#
#   eng/security.sh [--only NAME[,NAME…]] [--db sqlite,postgres] [--keep] [--list]
#
# Installs what is missing (Debian's postgresql, slowhttptest, sqlmap, wapiti, testssl.sh; the npm packages of
# eng/security/node), builds Release, then runs every check module in eng/security/checks/ in order. Each prints
# table rows (module, check, what was tried, result, ok) as it goes; the table also goes to
# artifacts/security/SECURITY-RUN.md with the date and commit. The last line is exactly:
#   security: N checks, N failed
# Exit status 0 only when nothing failed; then the work dir is removed, else its path is printed (every log is in it).
#
# Options:
#   --only LIST   run only the check modules whose names contain one of these words (e.g. --only malformed,ssrf)
#   --db LIST     databases for the checks that run on both (default sqlite,postgres)
#   --keep        keep the work dir even when everything passed
#   --list        list the check modules and exit
# Environment: AGENTHUB_SECURITY_HUB_DLL=path/to/agenthub.dll checks another build of the hub;
# AGENTHUB_SECURITY_TRACE=1 prints the traceback of a check that could not run.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0;;
esac

install_missing() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v slowhttptest >/dev/null || missing+=(slowhttptest)
  command -v sqlmap >/dev/null || missing+=(sqlmap)
  command -v wapiti >/dev/null || missing+=(wapiti)
  command -v testssl >/dev/null || missing+=(testssl.sh)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  eng/apt-install.sh security "${missing[@]}"
}

fail_setup() { echo "security.sh: $*" >&2; echo "security: 0 checks, 1 failed"; exit 1; }

install_missing || fail_setup "installing the tools failed"
command -v node >/dev/null || fail_setup "Node.js is needed (eng/security/node)"
node_dir=eng/security/node
if [ -f "$node_dir/package-lock.json" ] && { [ ! -f "$node_dir/node_modules/.package-lock.json" ] \
    || [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; }; then
  (cd "$node_dir" && npm ci --no-audit --no-fund --silent) >&2 || fail_setup "npm ci in $node_dir failed"
fi

echo "security: building Release" >&2
for project in src/AgentHub bench/AgentHub.BenchAgent; do
  if ! out=$(dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly 2>&1); then
    printf '%s\n' "$out" >&2
    fail_setup "the Release build of $project failed"
  fi
done

exec python3 eng/security/run.py "$@"
