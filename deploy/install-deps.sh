#!/usr/bin/env bash
# Install the system packages staffcall needs, with apt-get, when they are missing.
# Usage: deploy/install-deps.sh demo|test|hub
# Without root (and without sudo) it only says what is missing: everything still
# works without mosquitto (the demo falls back to an embedded broker), but the
# tests need the real parts.
set -euo pipefail
what=${1:-demo}
pkgs=()
need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || pkgs+=("$2"); }
python3 -c 'import venv, ensurepip' 2>/dev/null || pkgs+=(python3-venv)
need mosquitto mosquitto
# The printed QR signs use DejaVu (Swedish letters and more); without it they fall back to Helvetica.
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || pkgs+=(fonts-dejavu-core)
case "$what" in
  test)
    need mosquitto_pub mosquitto-clients
    need Xvfb xvfb
    need xauth xauth
    need chromium chromium
    need chromedriver chromium-driver
    # the deploy tests: check the systemd units, find the kiosk's window, press keys like a keypad
    need systemd-analyze systemd
    need xwininfo x11-utils
    # the fault suite moves the hub's wall clock (not its monotonic clock) across a restart
    need faketime faketime
    # voice announcements ([announce]): the tests render each one with the real engine and check it with sox
    need espeak-ng espeak-ng
    need sox sox
    ldconfig -p 2>/dev/null | grep -q libXtst.so.6 || pkgs+=(libxtst6)
    # the board's accessibility tests run axe-core (from npm, into tests/axe/, never committed)
    need npm npm
    # the chain tests run a three-node NATS cluster (JetStream, MQTT) from Debian's package
    need nats-server nats-server
    ;;
  hub) need mosquitto_pub mosquitto-clients ;;
esac
# axe-core for the board's accessibility tests: an npm package into tests/axe/ (git ignores its node_modules).
axe() {
  [ "$what" = test ] || return 0
  [ -e "$(dirname "$0")/../tests/axe/node_modules/axe-core/axe.min.js" ] && return 0
  npm install --no-save --no-package-lock --prefix "$(dirname "$0")/../tests/axe" axe-core@4 >/dev/null
}
[ ${#pkgs[@]} -eq 0 ] && { axe; exit 0; }
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
  echo "staffcall: missing system packages: ${pkgs[*]}" >&2
  echo "staffcall: install them with: sudo apt-get install -y ${pkgs[*]}" >&2
  [ "$what" = demo ] && exit 0 || exit 1
fi
echo "staffcall: installing ${pkgs[*]} with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
# The distribution's mosquitto service is not ours: tests and the demo start private brokers.
axe
