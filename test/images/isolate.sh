#!/usr/bin/env bash
# isolate.sh COMMAND [ARG...] — runs COMMAND (as root) in a private mount namespace in which
# /var/lib and /run are overlays of themselves: COMMAND sees the machine's files there, and
# whatever it writes there goes to a scratch directory removed when it exits. skopeo and podman
# write outside every root they are given — containers/image's blob-info cache is
# /var/lib/containers/cache for root whatever the storage root, and netavark's run directory
# /run/containers/networks — and the tests must leave the machine as they found it.
# Mounts made by COMMAND (podman's overlay driver) end with the namespace. Exits with COMMAND's
# status; SIGTERM/SIGINT/SIGHUP are passed on to it.
#
# COMMAND gets TS_ISOLATED=1; with it already set (a caller that made these overlays itself,
# as the pull benchmark does once for all its pulls), COMMAND is simply executed.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: isolate.sh COMMAND [ARG...]" >&2; exit 2; }
[ -z "${TS_ISOLATED:-}" ] || exec "$@"
export TS_ISOLATED=1

scratch=$(mktemp -d "${TMPDIR:-/tmp}/tsisolate.XXXXXX")
child=""
trap 'rm -rf "$scratch"' EXIT
trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true' TERM INT HUP

# The upper directories live on a tmpfs mounted in the namespace only (an overlay's upper
# cannot be on overlayfs, as /tmp is in a container), so nothing of them reaches the host.
# shellcheck disable=SC2016 # expanded by the inner shell
unshare --mount --propagation private sh -c '
  s=$1; shift
  mount -t tmpfs -o mode=0700 tsisolate "$s" &&
    mkdir "$s/var-upper" "$s/var-work" "$s/run-upper" "$s/run-work" &&
    mount -t overlay tsisolate -o "lowerdir=/var/lib,upperdir=$s/var-upper,workdir=$s/var-work" /var/lib &&
    mount -t overlay tsisolate -o "lowerdir=/run,upperdir=$s/run-upper,workdir=$s/run-work" /run || exit 125
  exec "$@"' isolate "$scratch" "$@" &
child=$!
status=0
wait "$child" || status=$?
# A signal interrupted wait: wait for COMMAND itself.
while kill -0 "$child" 2>/dev/null; do wait "$child" || status=$?; done
exit "$status"
