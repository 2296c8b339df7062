#!/bin/sh
# The main job on the embedded default (the lab): vacuum the databases (the Sunday job), back up
# the engine, change its database, restore the backup, every check green.
# Run from the project folder after `make venv` (make demo does both).
set -eu
ops=.venv/bin/opsrunner
$ops lab up
$ops run workflows/vacuum.yml
$ops run examples/marker.yml -e note=in-the-backup
# the archive must not exist yet (engine-backup refuses to overwrite): a fresh name per run
stamp=$(date +%Y%m%d%H%M%S)
backup=/var/lib/ovirt-engine-backup/opsrunner-demo-$stamp.backup
$ops run workflows/backup.yml -e backup_file=$backup
$ops run examples/marker.yml -e note=after-the-backup
$ops run workflows/restore.yml -e backup_file=$backup --yes -e restore_marker=in-the-backup
echo "main job ok: vacuumed, backed up, changed, restored ($backup); the lab stays up (opsrunner lab down)"
