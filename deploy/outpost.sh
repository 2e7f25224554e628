#!/bin/sh
# `outpost ...` by hand on a machine set up with deploy/outpost.service: the release in
# /opt/outpost/current, run as the bot's user with the service's settings. Install it as
#
#   sudo install -m 755 deploy/outpost.sh /usr/local/bin/outpost
#
# then e.g. `sudo outpost migrate`, `sudo outpost offices`,
# `sudo outpost backup --out /var/backups/outpost/before-upgrade.dump`. Give files as
# absolute paths: the command runs in the bot's home, /var/lib/outpost, where no
# stray .env can add settings the service does not have.
set -eu
if [ "$(id -u)" != 0 ]; then
    echo "outpost: run it with sudo: the settings in /etc/outpost/outpost.env are root's" >&2
    exit 2
fi
set -a
. /etc/outpost/outpost.env
set +a
cd /var/lib/outpost
exec runuser -u outpost -- /opt/outpost/current/.venv/bin/outpost "$@"
