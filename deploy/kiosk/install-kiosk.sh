#!/usr/bin/env bash
# Set up a Raspberry Pi (Bookworm, 64-bit) as a staffcall kiosk: run from a checkout, as root.
# Usage: sudo deploy/kiosk/install-kiosk.sh kiosk-1
set -euo pipefail
device=${1:?usage: install-kiosk.sh DEVICE-ID (from [[devices]] in staffcall.toml)}
here=$(cd "$(dirname "$0")" && pwd)
apt-get install -y -qq python3-venv libmtdev1 libgl1 libgles2 libegl1 >/dev/null
id staffcall >/dev/null 2>&1 || useradd --system --create-home --groups video,render,input staffcall
install -d -o staffcall /opt/staffcall /etc/staffcall/kivy
cp -r "$here/../.." /opt/staffcall/src
python3 -m venv /opt/staffcall/venv
/opt/staffcall/venv/bin/pip install -q "/opt/staffcall/src[kiosk]"
install -m 644 "$here/config.ini" /etc/staffcall/kivy/config.ini
chown -R staffcall /etc/staffcall/kivy
sed "s/--device kiosk-1/--device $device/" "$here/staffcall-kiosk.service" >/etc/systemd/system/staffcall-kiosk.service
# No screen blanking: the kernel console blanks after 10 minutes unless told not to.
cmdline=/boot/firmware/cmdline.txt
grep -q consoleblank=0 "$cmdline" || sed -i '1 s/$/ consoleblank=0/' "$cmdline"
systemctl daemon-reload
systemctl enable staffcall-kiosk.service
echo "staffcall: kiosk $device installed; put the store's config at /etc/staffcall/staffcall.toml and reboot"
