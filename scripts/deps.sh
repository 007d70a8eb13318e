#!/bin/sh
# Install the Debian packages of scripts/debian-packages (or of the list
# named as the argument) that are missing.
set -eu
here=$(dirname "$0")
list=${1:-$here/debian-packages}
missing=
for p in $(grep -v '^#' "$list"); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# Packages that ship a service (nginx) must not start it: the tests start
# their own, on 127.0.0.1 and a free port.
rcd=/usr/sbin/policy-rc.d
if [ ! -e $rcd ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee $rcd >/dev/null
	$sudo chmod 755 $rcd
	trap '$sudo rm -f $rcd' EXIT
fi
$sudo apt-get update -q
# shellcheck disable=SC2086
$sudo apt-get install -y -q --no-install-recommends $missing
