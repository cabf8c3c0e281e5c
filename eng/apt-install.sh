#!/usr/bin/env bash
# Installs Debian packages for the project's scripts, with no service started by the install.
#
#   eng/apt-install.sh NAME PACKAGE…   NAME prefixes the messages (e.g. bench, security); nothing to do without packages
#
# As root it runs apt-get itself, otherwise through sudo. While it installs, a policy-rc.d that says no keeps a
# package from starting its service (nginx would take port 80, postgresql its own cluster); an existing policy-rc.d
# is left as it is.
set -uo pipefail

name=${1:?usage: eng/apt-install.sh NAME PACKAGE…}
shift
[ $# -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "$name: need root (or sudo) to install: $*" >&2; exit 1; }
  sudo=sudo
fi
echo "$name: apt-get install $*" >&2
guard=/usr/sbin/policy-rc.d placed=0
if [ ! -e "$guard" ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee "$guard" >/dev/null && $sudo chmod +x "$guard" && placed=1
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
  && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 "$@" >/dev/null
rc=$?
[ "$placed" = 1 ] && $sudo rm -f "$guard"
exit $rc
