# rootless.sh — sourced by checks.sh inside the VM: limits for an unprivileged user in a
# delegated subtree. Defines rootless_checks, which uses checks.sh's ok/not_ok/capture and
# its env.sh values (ROOTFS, FIFTY_MIB, ALLOCATE_200MB, FORK_20).
#
# The delegation is made as systemd makes user@UID.service's: a root-owned slice with
# memory and pids enabled for its children, a service cgroup under it owned by the user
# (the directory, cgroup.procs, cgroup.threads and cgroup.subtree_control) with the same
# controllers enabled, and the user's shell in a leaf below. The CLI, run by that user,
# puts its containers' cgroups in the topmost cgroup the user owns above its own.

# rootless_checks UID: runs the checks as the user UID (no passwd entry needed: without
# subordinate ids, the user alone is mapped to root).
rootless_checks() {
  local uid=$1 slice=/sys/fs/cgroup/tsrl-user.slice
  local service=$slice/user@$1.service
  local shell=$service/shell home
  home=$(mktemp -d /tmp/cgroup-v2-rootless.XXXXXX)
  chown "$uid:$uid" "$home"
  mkdir -p "$shell"
  echo "+memory +pids" >"$slice/cgroup.subtree_control"
  chown "$uid:$uid" "$service" "$service/cgroup.procs" "$service/cgroup.threads" "$service/cgroup.subtree_control"
  echo "+memory +pids" >"$service/cgroup.subtree_control"
  chown -R "$uid:$uid" "$shell"

  # as_user CMD...: CMD as the user, from a shell process root moved into the delegated leaf
  # (moving needs write access to the common ancestor's cgroup.procs, which is root's).
  as_user() {
    capture sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$shell" \
      setpriv --reuid="$uid" --regid="$uid" --clear-groups \
      env -i HOME="$home" TMPDIR="$home" PATH=/usr/local/bin:/usr/bin:/bin "$@"
  }
  rootless_cli() { as_user node bin/run.js run --rm --rootfs "$ROOTFS" "$@"; }
  # What the user's containers may leave: cgroups under the delegation, state, runtimes.
  rootless_left() {
    { find "$service" -mindepth 1 -maxdepth 1 -name 'tscontainer-*'
      ls -A "/tmp/tscontainer-$uid" 2>/dev/null | sed "s|^|/tmp/tscontainer-$uid/|"
      ls -A "$home" | sed 's/^/bundle /'
      pgrep -u "$uid" -af . ; } | sed 's/^/left: /'
  }
  rootless_expect() {
    local description=$1 condition=$2 left
    left=$(rootless_left)
    if eval "$condition" && [ -z "$left" ]; then ok "$description"
    else not_ok "$description" "expected: $condition" "exit: $code" "stdout: ${out:0:300}" \
      "stderr: ${err:0:300}" "${left:-left: nothing}"; fi
  }

  rootless_cli --memory 50M -- sh -c 'cat /sys/fs/cgroup/memory.max; cat /proc/self/uid_map'
  rootless_expect "rootless (uid $uid, delegated subtree): --memory 50M reads $FIFTY_MIB in memory.max, in a user namespace" \
    '[ $code = 0 ] && [ "$(head -n 1 <<<"$out")" = "$FIFTY_MIB" ] && [ "$(tail -n 1 <<<"$out" | tr -s " " | sed "s/^ //")" = "0 $uid 1" ]'
  rootless_cli --memory 50M -- sh -c "$ALLOCATE_200MB"
  rootless_expect "rootless: allocating 200MB under --memory 50M exits 137" '[ $code = 137 ]'
  rootless_cli --pids-limit 10 -- sh -c "cat /sys/fs/cgroup/pids.max; $FORK_20"
  rootless_expect "rootless: --pids-limit 10 reads 10 in pids.max, and fork fails before 20 processes start" \
    '[ $code != 0 ] && [ "$(head -n 1 <<<"$out")" = 10 ] && [[ $err == *"$fork_refused"* ]]'

  rmdir "$shell" "$service" "$slice" 2>/dev/null
  rm -rf "$home" "/tmp/tscontainer-$uid"
}
