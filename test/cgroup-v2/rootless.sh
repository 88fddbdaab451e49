# shellcheck shell=bash disable=SC2154
# rootless.sh — sourced by checks.sh inside the VM: limits for an unprivileged user in a
# delegated subtree. Defines rootless_checks, which uses checks.sh's expect_clean/capture and
# its env.sh values (ROOTFS, FIFTY_MIB, ALLOCATE_200MB, FORK_20).
#
# The delegation is made as systemd makes user@UID.service's: a root-owned slice with
# memory and pids enabled for its children, a service cgroup under it owned by the user
# (the directory, cgroup.procs, cgroup.threads and cgroup.subtree_control) with the same
# controllers enabled, and the user's shell in a leaf below. The CLI, run by that user,
# puts its containers' cgroups in the topmost cgroup the user owns above its own.

# rootless_checks UID: runs the checks as the user UID, made here (the VM's /etc is a RAM
# overlay) as tsrl-v2 without subordinate ids: the user alone is mapped to root.
rootless_checks() {
  local uid=$1 slice=/sys/fs/cgroup/tsrl-user.slice
  # Node asks for the user's passwd entry (os.userInfo), so the user must exist.
  id -u tsrl-v2 >/dev/null 2>&1 || useradd --no-create-home --uid "$uid" --user-group tsrl-v2
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
  # The VM runs its command chrooted into its root (a directory of the initramfs), and the
  # kernel refuses a chrooted process a new user namespace. So the shell starts from the
  # VM's real root (PID 1's) in a private mount namespace, moves that directory onto `/` and
  # enters it, as switch_root does on a real host: the same tree, no longer a chroot.
  local vm_root bb
  vm_root=$(for d in /proc/1/root/*/; do [ -d "$d/run/v2vm" ] && echo "${d#/proc/1/root}"; done | head -n 1)
  bb=${vm_root%/}/bin/busybox
  printf '%s\n' 'cd "$1" && echo $$ >"$2/cgroup.procs" && shift 2 && exec "$@"' >"$home/.enter.sh"
  as_user() {
    capture nsenter -t 1 -m -r -- "$bb" unshare -m --propagation private "$bb" sh -c \
      'cd "$0" && "$1" mount --move . / && shift && exec ./bin/busybox chroot . /bin/sh "$@"' \
      "$vm_root" "$bb" "$home/.enter.sh" "$PWD" "$shell" \
      setpriv --reuid="$uid" --regid="$uid" --clear-groups \
      env -i HOME="$home" TMPDIR="$home" PATH=/usr/local/bin:/usr/bin:/bin "$@"
  }
  rootless_cli() { as_user node bin/run.cjs run --rm --rootfs "$ROOTFS" "$@"; }
  # What the user's containers may leave: cgroups under the delegation, state, runtimes.
  # shellcheck disable=SC2317 # called through expect_clean
  rootless_left() {
    { find "$service" -mindepth 1 -maxdepth 1 -name 'tscontainer-*'
      ls -A "/tmp/tscontainer-$uid" 2>/dev/null | sed "s|^|/tmp/tscontainer-$uid/|"
      # TMPDIR stays empty; bundles go to the data directory, which keeps none afterwards.
      find "$home" -mindepth 1 -maxdepth 1 ! -name .cache ! -name .enter.sh ! -name .local | sed 's/^/temporary /'
      find "$home/.local/share/tscontainer" -mindepth 2 -maxdepth 2 2>/dev/null | sed 's/^/bundle /'
      pgrep -u "$uid" -af . ; }
  }
  rootless_expect() { expect_clean "$1" "$2" rootless_left; }

  rootless_cli --memory 50M -- sh -c 'cat /sys/fs/cgroup/memory.max; cat /proc/self/uid_map'
  rootless_expect "rootless (uid $uid, delegated subtree): --memory 50M reads $FIFTY_MIB in memory.max, in a user namespace" \
    '[ $code = 0 ] && [ "$(head -n 1 <<<"$out")" = "$FIFTY_MIB" ] && [ "$(sed -n 2p <<<"$out" | tr -s " " | sed "s/^ //")" = "0 $uid 1" ]'
  rootless_cli --memory 50M -- sh -c "$ALLOCATE_200MB"
  rootless_expect "rootless: allocating 200MB under --memory 50M exits 137" '[ $code = 137 ]'
  rootless_cli --pids-limit 10 -- sh -c "cat /sys/fs/cgroup/pids.max; $FORK_20"
  rootless_expect "rootless: --pids-limit 10 reads 10 in pids.max, and fork fails before 20 processes start" \
    '[ $code != 0 ] && [ "$(head -n 1 <<<"$out")" = 10 ] && [[ $err == *"$fork_refused"* ]]'

  rmdir "$shell" "$service" "$slice" 2>/dev/null
  rm -rf "$home" "/tmp/tscontainer-$uid"
}
