#!/usr/bin/env bash
# run.sh — the rootless tier. Run as root: it creates two unprivileged users idempotently,
# tsrl-sub (with a subordinate id range in /etc/subuid and /etc/subgid) and tsrl-plain
# (without), and runs every check AS those users through setpriv: the CLI (`node
# bin/run.cjs`), the API's run(), the detached lifecycle, tscontainer-runtime itself (an
# overlay root included), user-mode networking (pasta, slirp4netns) and isolation between
# users and from root. Prints TAP,
# `# pass N` / `# fail N` / `# skip N`, and as its LAST line `N passed, N failed`; exits
# non-zero when anything failed. Without root or the tools it needs it prints
# `# SKIPPED: reason` (under CI, a missing tool is a failure).
#
# Needs: setpriv (util-linux), newuidmap/newgidmap (uidmap), busybox-static (the fixture
# rootfs), script (bsdutils) for the terminal check, setfattr (attr) for the overlay root's
# opaque directory, and for networking passt and/or slirp4netns. The repository must be
# readable by other users (it is read in place).
# Variables set here are read by the conditions check() evaluates.
# shellcheck disable=SC2034
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
runtime=${TSCONTAINER_RUNTIME_PATH:-$repo/native/tscontainer-runtime}
cli_js=$repo/bin/run.cjs
# shellcheck source=test/lib/tap.sh
. "$repo/test/lib/tap.sh"
tap_tier_name="rootless tier"

[ "$(id -u)" = 0 ] || skipped "the rootless tier must be started as root (it creates its users)"
for tool in setpriv newuidmap newgidmap useradd script node setfattr; do
  command -v "$tool" >/dev/null || skipped "$tool is not installed (apt-get install util-linux uidmap passwd bsdutils attr)"
done
[ -x "$runtime" ] || skipped "the runtime $runtime is not built (npm run build)"
[ -f "$repo/dist/index.js" ] || skipped "the TypeScript build is missing (npm run build)"
bash "$repo/test/fixtures/build-rootfs.sh" >/dev/null || skipped "cannot build the fixture rootfs (apt-get install busybox-static)"

# --- users ----------------------------------------------------------------------------------
# ensure_user NAME: creates NAME once; its uid/gid in ${NAME}_uid-style variables via lookups.
ensure_user() {
  id -u "$1" >/dev/null 2>&1 ||
    useradd --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$1"
}
# The next free subordinate id after every range already granted (at least 200000).
next_subordinate_start() {
  cat /etc/subuid /etc/subgid 2>/dev/null | awk -F: '$3 > 0 { end = $2 + $3; if (end > max) max = end }
    END { print (max > 200000 ? max : 200000) }'
}
ensure_user tsrl-sub && ensure_user tsrl-plain || skipped "cannot create the test users"
touch /etc/subuid /etc/subgid
# useradd may grant ranges on its own (SUB_UID_COUNT): the plain user must have none.
sed -i '/^tsrl-plain:/d' /etc/subuid /etc/subgid
if ! grep -q '^tsrl-sub:' /etc/subuid || ! grep -q '^tsrl-sub:' /etc/subgid; then
  sed -i '/^tsrl-sub:/d' /etc/subuid /etc/subgid
  start=$(next_subordinate_start)
  usermod --add-subuids "$start-$((start + 65535))" --add-subgids "$start-$((start + 65535))" tsrl-sub ||
    skipped "cannot grant tsrl-sub subordinate ids"
fi
sub_uid=$(id -u tsrl-sub) sub_gid=$(id -g tsrl-sub)
plain_uid=$(id -u tsrl-plain)
sub_range_start=$(awk -F: '$1 == "tsrl-sub" { print $2; exit }' /etc/subuid)
sub_range_count=$(awk -F: '$1 == "tsrl-sub" { print $3; exit }' /etc/subuid)

# --- per-user work directories ----------------------------------------------------------------
work=$(mktemp -d /tmp/tscontainer-rootless.XXXXXX)
chmod 755 "$work"
host_pids=()
cleanup() {
  for pid in "${host_pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  [ -n "${root_ctr:-}" ] && "$runtime" --root /run/tscontainer delete --force "$root_ctr" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

# setup_user USER: $work/USER (HOME, TMPDIR, a rootfs the user owns, a directory to bind).
setup_user() {
  local user=$1 dir=$work/$1
  mkdir -p "$dir/tmp" "$dir/data/shared"
  cp -a "$repo/test/.work/rootfs" "$dir/rootfs"
  mkdir -p "$dir/rootfs/www" && echo "served from the container" >"$dir/rootfs/www/index.html"
  echo "from the host" >"$dir/data/hello"
  chown -R "$user:$user" "$dir"
  chmod 700 "$dir"
  # Writable by the container's other users (subordinate ids), for --user checks.
  chmod 1777 "$dir/data/shared"
}
setup_user tsrl-sub
setup_user tsrl-plain
# tsrl-sub gets an XDG_RUNTIME_DIR (state under it); tsrl-plain does not (a private /tmp dir).
install -d -m 700 -o tsrl-sub -g tsrl-sub "$work/tsrl-sub/xdg"
state_root_of() {
  case $1 in
    tsrl-sub) echo "$work/tsrl-sub/xdg/tscontainer" ;;
    tsrl-plain) echo "/tmp/tscontainer-$plain_uid" ;;
  esac
}

# as USER CMD...: runs CMD as USER, from its work directory, with a clean environment.
as() {
  local user=$1 dir=$work/$1; shift
  local env=(HOME="$dir" TMPDIR="$dir/tmp" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8
    TSCONTAINER_RUNTIME_PATH="$runtime")
  [ "$user" = tsrl-sub ] && env+=(XDG_RUNTIME_DIR="$dir/xdg")
  (cd "$dir" && setpriv --reuid="$user" --regid="$user" --init-groups env -i "${env[@]}" "$@")
}
scratch=$work/scratch
mkdir -p "$scratch"
# capture CMD...: exit status in $code, output in $out and $err.
capture() {
  "$@" >"$scratch/out" 2>"$scratch/err" </dev/null
  code=$?
  out=$(cat "$scratch/out")
  err=$(cat "$scratch/err")
}
cli() { local user=$1; shift; capture as "$user" node "$cli_js" "$@"; }
rt() { local user=$1; shift; capture as "$user" "$runtime" "$@"; }

# check DESCRIPTION CONDITION: ok when CONDITION (bash) holds, else the evidence.
check() {
  if eval "$2"; then ok "$1"
  else not_ok "$1" "expected: $2" "exit: $code" "stdout: ${out:0:400}" "stderr: ${err:0:400}"; fi
}

echo "# users: tsrl-sub $sub_uid (subordinate ids $sub_range_start+$sub_range_count), tsrl-plain $plain_uid (none)"

# --- the CLI over the host's root, as each user -------------------------------------------
for user in tsrl-sub tsrl-plain; do
  cli $user run --rm -- sh -c 'echo $$'
  check "$user: CLI: the command is PID 1" '[ $code = 0 ] && [ "$out" = 1 ]'
  cli $user run --rm --hostname rl-box -- hostname
  check "$user: CLI: --hostname sets the container's hostname" '[ $code = 0 ] && [ "$out" = rl-box ]'
  outside=$(as $user sh -c 'for n in pid net mnt uts ipc user cgroup; do readlink /proc/self/ns/$n; done')
  cli $user run --rm -- sh -c 'for n in pid net mnt uts ipc user cgroup; do readlink /proc/self/ns/$n; done'
  shared=$(comm -12 <(sort <<<"$outside") <(sort <<<"$out"))
  check "$user: CLI: pid, net, mnt, uts, ipc, user and cgroup namespaces are its own" \
    '[ $code = 0 ] && [ $(wc -l <<<"$out") = 7 ] && [ -z "$shared" ]'
  cli $user run --rm -- id -u
  check "$user: CLI: the user is root inside" '[ $code = 0 ] && [ "$out" = 0 ]'
done

cli tsrl-sub run --rm -- cat /proc/self/uid_map /proc/self/gid_map
expected_map="0 $sub_uid 1|1 $sub_range_start $sub_range_count|0 $sub_gid 1|1 $sub_range_start $sub_range_count"
map=$(awk '{ printf "%s%s %s %s", (NR > 1 ? "|" : ""), $1, $2, $3 }' <<<"$out")
check "tsrl-sub: CLI: uid_map and gid_map map root to the user and 1.. to its subordinate range" \
  '[ $code = 0 ] && [ "$map" = "$expected_map" ]'
cli tsrl-plain run --rm -- cat /proc/self/uid_map
map=$(awk '{ print $1, $2, $3 }' <<<"$out")
check "tsrl-plain: CLI: without subordinate ids, uid_map maps root to the user alone" \
  '[ $code = 0 ] && [ "$map" = "0 $plain_uid 1" ]'

for spec in "0:exit 0" "7:exit 7"; do
  want=${spec%%:*} script=${spec#*:}
  cli tsrl-sub run --rm -- sh -c "$script"
  check "tsrl-sub: CLI: \`sh -c '$script'\` exits $want" '[ $code = $want ]'
done
# 128+S: the container's PID 1 killed from outside (from inside, PID 1 ignores signals).
killed=tsrl-killed-$$
as tsrl-sub node "$cli_js" run --rm --name "$killed" --rootfs "$work/tsrl-sub/rootfs" -- sleep 1000 \
  >/dev/null 2>&1 </dev/null &
foreground=$!
for _ in $(seq 1 100); do
  cli tsrl-sub ps
  grep -q "^$killed .*Up" <<<"$out" && break
  sleep 0.1
done
cli tsrl-sub kill -s KILL "$killed"
wait "$foreground"
code=$?
check "tsrl-sub: CLI: a container killed by SIGKILL exits 137" '[ $code = 137 ]'
cli tsrl-sub run --rm -- /etc/hostname
check "tsrl-sub: CLI: a command that is not executable exits 126" '[ $code = 126 ]'
cli tsrl-sub run --rm -- no-such-command-rl
check "tsrl-sub: CLI: a command that does not exist exits 127" '[ $code = 127 ]'

capture sh -c "echo through stdin | setpriv --reuid=tsrl-sub --regid=tsrl-sub --init-groups env -i \
  HOME=$work/tsrl-sub TMPDIR=$work/tsrl-sub/tmp XDG_RUNTIME_DIR=$work/tsrl-sub/xdg PATH=/usr/bin:/bin \
  node $cli_js run --rm -i -- cat"
check "tsrl-sub: CLI: -i passes stdin to the container" '[ $code = 0 ] && [ "$out" = "through stdin" ]'
capture as tsrl-sub script -qec "node $cli_js run --rm -t -- sh -c 'test -t 0 && test -t 1 && echo terminal'" /dev/null
check "tsrl-sub: CLI: -t gives the container a terminal" '[ $code = 0 ] && [[ $out == *terminal* ]]'

# --- files and mounts -----------------------------------------------------------------------
for user in tsrl-sub tsrl-plain; do
  dir=$work/$user
  cli $user run --rm -v "$dir/data:/mnt" -- sh -c 'cat /mnt/hello && echo written >/mnt/new'
  owner=$(stat -c %u "$dir/data/new" 2>/dev/null)
  uid_var=${user#tsrl-}_uid
  check "$user: CLI: -v binds a host directory; files root writes there belong to the user" \
    '[ $code = 0 ] && [ "$out" = "from the host" ] && [ "$owner" = "${!uid_var}" ]'
  cli $user run --rm --rootfs "$dir/rootfs" -- sh -c 'echo $$ && touch /made-inside'
  check "$user: CLI: --rootfs DIR owned by the user: PID 1, and root writes it" \
    '[ $code = 0 ] && [ "$out" = 1 ] && [ "$(stat -c %u "$dir/rootfs/made-inside" 2>/dev/null)" = "${!uid_var}" ]'
done

echo "owned by root" >"$work/root-file"
chmod 644 "$work/root-file"
cli tsrl-sub run --rm -v "$work/root-file:/target" -- sh -c 'echo changed >>/target'
check "tsrl-sub: CLI: root inside cannot write a host file the user does not own" \
  '[ $code != 0 ] && [ "$(cat "$work/root-file")" = "owned by root" ]'
cli tsrl-sub run --rm -- sh -c 'echo x >/etc/rl-probe'
check "tsrl-sub: CLI: the host's root stays read-only" '[ $code != 0 ] && [ ! -e /etc/rl-probe ]'

cli tsrl-sub run --rm -u 1000 -v "$work/tsrl-sub/data/shared:/mnt" -- sh -c 'id -u; touch /mnt/by-1000'
check "tsrl-sub: CLI: --user 1000 runs as 1000, which is subordinate id $((sub_range_start + 999)) on the host" \
  '[ $code = 0 ] && [ "$out" = 1000 ] && [ "$(stat -c %u "$work/tsrl-sub/data/shared/by-1000" 2>/dev/null)" = $((sub_range_start + 999)) ]'
rm -f "$work/tsrl-sub/data/shared/by-1000"
cli tsrl-plain run --rm -u 1000 -- id -u
check "tsrl-plain: CLI: --user 1000 without subordinate ids fails with one sentence, exit 125" \
  '[ $code = 125 ] && [ $(wc -l <<<"$err") = 1 ] && [[ $err == *"only root exists in your containers"* ]]'

# --- limits without a delegated cgroup --------------------------------------------------------
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && [ -w "/sys/fs/cgroup$(sed -n 's/^0:://p' /proc/self/cgroup)" ]; then
  skip "tsrl-sub: CLI: a limit without a delegated cgroup fails" "this host's cgroups are writable (test/cgroup-v2 covers delegation)"
else
  for limit in "--memory 50M" "--pids-limit 20"; do
    # shellcheck disable=SC2086
    cli tsrl-sub run --rm $limit -- true
    check "tsrl-sub: CLI: $limit without a delegated cgroup fails with one sentence, exit 125" \
      '[ $code = 125 ] && [ $(wc -l <<<"$err") = 1 ] && [[ $err == *"may not create cgroups"* ]]'
  done
  cli tsrl-sub run --rm -- true
  check "tsrl-sub: CLI: without limits a run needs no cgroup" '[ $code = 0 ]'
fi

# --- the API ----------------------------------------------------------------------------------
capture as tsrl-sub node "$repo/test/rootless/api.mjs" "$repo" "$work/tsrl-sub/rootfs"
check "tsrl-sub: API: run() pipes stdin and stdout, PID 1, root inside, exit code 3" \
  '[ $code = 0 ] && [ "$out" = "{\"exitCode\":3,\"signal\":null,\"oomKilled\":false,\"stdout\":\"pid=1 uid=0\\nfrom node\\n\"}" ]'

# --- the detached lifecycle -------------------------------------------------------------------
id=tsrl-detached-$$
cli tsrl-sub run -d --name "$id" --rootfs "$work/tsrl-sub/rootfs" -- sleep 1000
check "tsrl-sub: CLI: run -d prints the id" '[ $code = 0 ] && [ "$out" = "$id" ]'
state_root=$(state_root_of tsrl-sub)
check "tsrl-sub: the state lives in \$XDG_RUNTIME_DIR/tscontainer, mode 0700, owned by the user" \
  '[ -d "$state_root/$id" ] && [ "$(stat -c %a:%u "$state_root")" = "700:$sub_uid" ]'
cli tsrl-sub ps
check "tsrl-sub: CLI: ps lists it as Up" '[ $code = 0 ] && grep -q "^$id .*Up" <<<"$out"'
cli tsrl-sub exec "$id" sh -c 'echo exec as $(id -u) in $(hostname)'
check "tsrl-sub: CLI: exec runs in it" '[ $code = 0 ] && [ "$out" = "exec as 0 in $id" ]'
cli tsrl-sub exec "$id" sh -c 'exit 4'
check "tsrl-sub: CLI: exec relays the exit code" '[ $code = 4 ]'
cli tsrl-sub stop -t 2 "$id"
check "tsrl-sub: CLI: stop stops it" '[ $code = 0 ] && [ "$out" = "$id" ]'
cli tsrl-sub ps -a
check "tsrl-sub: CLI: ps -a shows it exited" '[ $code = 0 ] && grep -q "^$id .*Exited" <<<"$out"'
cli tsrl-sub rm "$id"
check "tsrl-sub: CLI: rm deletes it" '[ $code = 0 ] && [ "$out" = "$id" ] && [ ! -e "$state_root/$id" ]'

# --- the runtime itself -----------------------------------------------------------------------
bundle=$work/tsrl-plain/bundle
install -d -o tsrl-plain -g tsrl-plain "$bundle"
capture as tsrl-plain sh -c "cd $bundle && $runtime spec --rootless"
rootfs_json=$work/tsrl-plain/rootfs
node -e '
  const fs = require("fs"); const [file, rootfs] = process.argv.slice(1);
  const c = JSON.parse(fs.readFileSync(file, "utf8"));
  c.root = { path: rootfs, readonly: false };
  c.process.terminal = false;
  c.process.args = ["sh", "-c", "echo $$ $(hostname) $(id -u); exit 5"];
  fs.writeFileSync(file, JSON.stringify(c));' "$bundle/config.json" "$rootfs_json" 2>/dev/null
rt tsrl-plain run --bundle "$bundle" tsrl-runtime-$$
check "tsrl-plain: runtime: spec --rootless, then run: PID 1, its hostname, root inside, exit 5" \
  '[ $code = 5 ] && [ "$out" = "1 tscontainer 0" ] && [ ! -e "$(state_root_of tsrl-plain)/tsrl-runtime-$$" ]'
check "tsrl-plain: the state root without XDG_RUNTIME_DIR is /tmp/tscontainer-UID, mode 0700" \
  '[ "$(stat -c %a:%u "$(state_root_of tsrl-plain)" 2>/dev/null)" = "700:$plain_uid" ]'

# --- the configs people start from -------------------------------------------------------------
# The unmodified `runc spec --rootless` and `crun spec --rootless` (root.path, the command and
# the terminal changed), run by the runtime as tsrl-plain; runc runs the same bundle as the
# same user, and the process must get what runc gives it. crun writes no id mappings (crun
# maps the caller to root itself; runc refuses such a config): the runtime maps container
# root to the user, so runc runs it with that mapping written in.
probe="grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; id; ulimit -n; hostname; cat /proc/self/uid_map /proc/self/gid_map"
runc_bin=$(command -v runc || true)
plain_gid=$(id -g tsrl-plain)
for tool in runc crun; do
  tool_bin=$(command -v "$tool" || true)
  if [ -z "$tool_bin" ] || [ -z "$runc_bin" ]; then
    skip "tsrl-plain: the unmodified \`$tool spec --rootless\`" "$tool or runc is not installed (apt-get install $tool runc)"
    continue
  fi
  ref=$work/tsrl-plain/ref-$tool
  install -d -o tsrl-plain -g tsrl-plain "$ref"
  capture as tsrl-plain sh -c "cd $ref && $tool_bin spec --rootless"
  node -e '
    const fs = require("fs"); const [file, rootfs, probe] = process.argv.slice(1);
    const c = JSON.parse(fs.readFileSync(file, "utf8"));
    c.root.path = rootfs;
    c.process.terminal = false;
    c.process.args = ["sh", "-c", probe];
    fs.writeFileSync(file, JSON.stringify(c, null, 2));' "$ref/config.json" "$rootfs_json" "$probe"
  rt tsrl-plain --log "$ref/log.json" --log-format json run --bundle "$ref" "tsrl-ref-$tool-$$"
  ours_code=$code ours=$out ours_err=$err
  if [ "$tool" = crun ]; then
    # What the runtime filled in, written into a copy for runc.
    install -d -o tsrl-plain -g tsrl-plain "$ref/runc-bundle"
    node -e '
      const fs = require("fs"); const [from, to, uid, gid] = process.argv.slice(1);
      const c = JSON.parse(fs.readFileSync(from, "utf8"));
      c.linux.uidMappings = [{ containerID: 0, hostID: Number(uid), size: 1 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: Number(gid), size: 1 }];
      fs.writeFileSync(to, JSON.stringify(c));' "$ref/config.json" "$ref/runc-bundle/config.json" "$plain_uid" "$plain_gid"
    chown tsrl-plain "$ref/runc-bundle/config.json"
    runc_bundle=$ref/runc-bundle
  else
    runc_bundle=$ref
  fi
  capture as tsrl-plain "$runc_bin" --root "$work/tsrl-plain/runc-state" run --bundle "$runc_bundle" "tsrl-ref-runc-$tool-$$"
  code=$ours_code out=$ours err=$ours_err theirs=$out
  check "tsrl-plain: the unmodified \`$tool spec --rootless\` runs (exit 0), root inside mapped to the user" \
    '[ $code = 0 ] && grep -q "^uid=0(root)" <<<"$out" && grep -Eq "^ +0 +$plain_uid +1$" <<<"$out"'
  check "tsrl-plain: \`$tool spec --rootless\`: capabilities, no_new_privs, seccomp, ids, rlimit and hostname as under runc" \
    '[ -n "$theirs" ] && [ "$out" = "$theirs" ]'
  check "tsrl-plain: \`$tool spec --rootless\`: the ambient capabilities it cannot have are a warning in the log" \
    'grep -q "\"level\":\"warning\".*cannot raise ambient capabilities" "$ref/log.json"'
done

# --- an overlay root, mounted by the runtime inside the user's namespaces ---------------------
# overlay_bundle USER SCRIPT: as USER, layers under $work/USER/ovl — a top layer with a whiteout
# (/etc/group, a 0:0 character device), an opaque /home (user.overlay.opaque, as the image
# library marks it for ordinary users), a replaced /etc/passwd and an added file, above the
# user's copy of the fixture — a fresh upper and work directory, an empty root.path, and a
# `spec --rootless` bundle whose first mount is the overlay, running SCRIPT.
overlay_bundle() {
  local user=$1 script=$2 o=$work/$1/ovl
  rm -rf "$o"
  capture as "$user" sh -c "mkdir -p $o/top/etc $o/top/home/newcomer $o/upper $o/work $o/rootfs $o/bundle &&
    mknod $o/top/etc/group c 0 0 && setfattr -n user.overlay.opaque -v y $o/top/home &&
    printf 'root:x:0:0:root:/root:/bin/sh\nlayer:x:2000:2000::/:/bin/sh\n' >$o/top/etc/passwd &&
    echo 'from the top layer' >$o/top/layer-marker && cd $o/bundle && $runtime spec --rootless"
  [ "$code" = 0 ] || return 1
  node -e '
    const fs = require("fs"); const [file, o, lower, script] = process.argv.slice(1);
    const c = JSON.parse(fs.readFileSync(file, "utf8"));
    c.root = { path: `${o}/rootfs`, readonly: false };
    c.process.terminal = false;
    c.process.args = ["sh", "-c", script];
    c.mounts.unshift({ destination: "/", type: "overlay", source: "overlay",
      options: [`lowerdir=${o}/top:${lower}`, `upperdir=${o}/upper`, `workdir=${o}/work`] });
    fs.writeFileSync(file, JSON.stringify(c));' "$o/bundle/config.json" "$o" "$work/$user/rootfs" "$script"
}
# tree DIR: every entry with what would show a change (type, mode, owner, size, mtime, device).
tree() { (cd "$1" && find . -printf '%p %y %m %u %s %T@ %D\n' | sort); }
root_fs_type="sed -n 's|^[0-9]* [0-9]* [^ ]* [^ ]* / .* - \\([^ ]*\\) .*|\\1|p' /proc/self/mountinfo"
show_union="echo \"root: \$($root_fs_type)\"; grep -q userxattr /proc/self/mountinfo && echo userxattr
  echo \"group: \$(test -e /etc/group && echo present || echo gone)\"; echo \"home: \$(ls /home)\"
  echo \"users: \$(cut -d: -f1 /etc/passwd | tr '\\n' ' ')\"; cat /layer-marker"
union_seen=$'root: overlay\nuserxattr\ngroup: gone\nhome: newcomer\nusers: root layer \nfrom the top layer'
for user in tsrl-sub tsrl-plain; do
  o=$work/$user/ovl uid_var=${user#tsrl-}_uid
  if ! overlay_bundle $user "$show_union; echo written >/new-file; rm /bin/vi"; then
    not_ok "$user: runtime: an overlay root" "could not make the layers and bundle" "stderr: ${err:0:400}"
    continue
  fi
  top_before=$(tree "$o/top") lower_before=$(tree "$work/$user/rootfs")
  rt $user run --bundle "$o/bundle" "tsrl-overlay-$$"
  check "$user: runtime: an overlay root shows the union of its layers (whiteout, opaque directory, replaced file), with userxattr" \
    '[ $code = 0 ] && [ "$out" = "$union_seen" ]'
  check "$user: runtime: writes land in the upper directory, owned by the user (a removed file: a whiteout)" \
    '[ "$(stat -c %u "$o/upper/new-file" 2>/dev/null)" = "${!uid_var}" ] &&
     [ "$(stat -c "%F %t:%T %u" "$o/upper/bin/vi" 2>/dev/null)" = "character special file 0:0 ${!uid_var}" ]'
  check "$user: runtime: the layers and root.path are unchanged, and no overlay is in the host mount table" \
    '[ "$(tree "$o/top")" = "$top_before" ] && [ "$(tree "$work/$user/rootfs")" = "$lower_before" ] &&
     [ -z "$(ls -A "$o/rootfs")" ] && ! grep -qF "$o" /proc/self/mountinfo'
done
# While a container runs: its overlay is its root and exec's, and not the host's.
o=$work/tsrl-sub/ovl
if overlay_bundle tsrl-sub 'echo from-init >/by-init; exec sleep 1000'; then
  id=tsrl-overlay-detached-$$
  rt tsrl-sub create --bundle "$o/bundle" "$id" && rt tsrl-sub start "$id"
  for _ in $(seq 1 100); do [ -e "$o/upper/by-init" ] && break; sleep 0.1; done
  on_host=$(grep -F "$o" /proc/self/mountinfo)
  rt tsrl-sub exec "$id" sh -c "$show_union; cat /by-init"
  exec_seen=$union_seen$'\nfrom-init'
  check "tsrl-sub: runtime: a running overlay-rooted container: exec sees the union, the host mount table has no overlay" \
    '[ $code = 0 ] && [ "$out" = "$exec_seen" ] && [ -z "$on_host" ]'
  rt tsrl-sub kill "$id" KILL
  for _ in $(seq 1 100); do rt tsrl-sub state "$id"; [[ $out == *'"stopped"'* ]] && break; sleep 0.1; done
  rt tsrl-sub delete "$id"
  check "tsrl-sub: runtime: after delete nothing of it is left, and no overlay" \
    '[ $code = 0 ] && [ ! -e "$(state_root_of tsrl-sub)/$id" ] && ! grep -qF "$o" /proc/self/mountinfo'
else
  not_ok "tsrl-sub: runtime: a running overlay-rooted container" "could not make the layers and bundle" "stderr: ${err:0:400}"
fi

# --- the root overlay through fuse-overlayfs -----------------------------------------------------
# This kernel allows overlayfs in a user namespace, so the fallback is asked for: the annotation
# io.tscontainer.overlay.mount-program here, TSCONTAINER_OVERLAY_MOUNT_PROGRAM for images below.
# The init mounts FUSE in the container's mount namespace; fuse-overlayfs serves it from the
# container's user namespace alone and must exit, by itself, when that mount namespace goes.
fuse_program=$(command -v fuse-overlayfs)
# fuse_daemons DIR: the fuse-overlayfs processes serving layers under DIR.
fuse_daemons() { pgrep -f "^$fuse_program -o lowerdir=.*$1" | tr '\n' ' ' | sed 's/ $//'; }
# daemons_left USER DIR: waits up to 5 s for the fuse-overlayfs processes of DIR to end, and for
# USER to have none at all, not even one that has ended but is not reaped yet (an orphan, whose
# reaping is PID 1's, a second or so here); prints those left.
daemons_left() {
  local i
  for i in $(seq 1 50); do
    [ -z "$(fuse_daemons "$2")" ] && [ -z "$(pgrep -u "$1" -x fuse-overlayfs)" ] && return
    sleep 0.1
  done
  fuse_daemons "$2"; pgrep -u "$1" -ax fuse-overlayfs
}
# request_fuse CONFIG [HOOK_SECONDS]: asks for fuse-overlayfs (and a createRuntime hook that sleeps).
request_fuse() {
  node -e '
    const fs = require("fs"); const [file, sleep, program] = process.argv.slice(1);
    const c = JSON.parse(fs.readFileSync(file, "utf8"));
    c.annotations = { ...c.annotations, "io.tscontainer.overlay.mount-program": program };
    if (sleep) c.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", sleep] }] };
    fs.writeFileSync(file, JSON.stringify(c));' "$@" "$fuse_program"
}
ns_of() { readlink "/proc/$1/ns/$2" 2>/dev/null; }
state_pid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' <<<"$out" | head -n 1; }
if [ -z "$fuse_program" ] && [ -z "${CI:-}" ]; then
  skip "the root overlay through fuse-overlayfs" "fuse-overlayfs is not installed (see .ci/run)"
else
  fuse_union_seen=$'root: fuse.fuse-overlayfs\ngroup: gone\nhome: newcomer\nusers: root layer \nfrom the top layer'
  for user in tsrl-sub tsrl-plain; do
    o=$work/$user/ovl uid_var=${user#tsrl-}_uid
    if ! overlay_bundle $user "$show_union; echo written >/new-file; rm /bin/vi"; then
      not_ok "$user: runtime: a root overlay through fuse-overlayfs" "could not make the layers and bundle" "stderr: ${err:0:400}"
      continue
    fi
    request_fuse "$o/bundle/config.json" ""
    top_before=$(tree "$o/top") lower_before=$(tree "$work/$user/rootfs")
    rt $user run --bundle "$o/bundle" "tsrl-fuse-$$"
    check "$user: runtime: with fuse-overlayfs asked for, the root is FUSE and shows the union of its layers (whiteout, opaque directory, replaced file)" \
      '[ $code = 0 ] && [ "$out" = "$fuse_union_seen" ]'
    check "$user: runtime: through FUSE, writes land in the upper directory, owned by the user (a removed file: a whiteout)" \
      '[ "$(stat -c %u "$o/upper/new-file" 2>/dev/null)" = "${!uid_var}" ] &&
       { [ "$(stat -c "%F %t:%T" "$o/upper/bin/vi" 2>/dev/null)" = "character special file 0:0" ] || [ -e "$o/upper/bin/.wh.vi" ]; }'
    left=$(daemons_left "$user" "$o")
    check "$user: runtime: through FUSE, the layers and root.path are unchanged, no mount is on the host, no fuse-overlayfs is left" \
      '[ "$(tree "$o/top")" = "$top_before" ] && [ "$(tree "$work/$user/rootfs")" = "$lower_before" ] &&
       [ -z "$(ls -A "$o/rootfs")" ] && ! grep -qF "$o" /proc/self/mountinfo && [ -z "$left" ]'
  done

  # A running container: where the daemon lives, and that it ends with the container however
  # that ends (its processes killed, delete -f, the runtime killed in the middle of create).
  o=$work/tsrl-sub/ovl
  if overlay_bundle tsrl-sub 'echo from-init >/by-init; exec sleep 1000'; then
    request_fuse "$o/bundle/config.json" ""
    id=tsrl-fuse-detached-$$
    rt tsrl-sub create --bundle "$o/bundle" "$id" && rt tsrl-sub start "$id"
    for _ in $(seq 1 100); do [ -e "$o/upper/by-init" ] && break; sleep 0.1; done
    daemon=$(fuse_daemons "$o") on_host=$(grep -F "$o" /proc/self/mountinfo)
    rt tsrl-sub state "$id"
    init=$(state_pid)
    daemon_fds=$(for f in /proc/"$daemon"/fd/*; do readlink "$f"; done 2>/dev/null | sort -u | tr '\n' ' ')
    rt tsrl-sub exec "$id" sh -c 'cat /by-init; ps -o comm'
    check "tsrl-sub: runtime: fuse-overlayfs serves a running container from its user namespace alone (not its mount or pid namespace, unseen inside, nothing on the host mount table)" \
      '[ $code = 0 ] && [ -n "$daemon" ] && [ -n "$init" ] && [[ $out == from-init* ]] && [[ $out != *fuse-overlayfs* ]] &&
       [ "$(ns_of "$daemon" user)" = "$(ns_of "$init" user)" ] && [ "$(ns_of "$daemon" mnt)" != "$(ns_of "$init" mnt)" ] &&
       [ "$(ns_of "$daemon" pid)" != "$(ns_of "$init" pid)" ] && [[ $daemon_fds == */dev/fuse* ]] && [[ $daemon_fds != *mnt:* ]] &&
       [ -z "$on_host" ]'
    kill -KILL "$init"
    left=$(daemons_left tsrl-sub "$o")
    rt tsrl-sub delete "$id"
    check "tsrl-sub: runtime: kill -9 of the container's process ends fuse-overlayfs; delete leaves nothing" \
      '[ $code = 0 ] && [ -n "$daemon" ] && [ -z "$left" ] && [ ! -e "$(state_root_of tsrl-sub)/$id" ] && ! grep -qF "$o" /proc/self/mountinfo'

    rt tsrl-sub create --bundle "$o/bundle" "$id" && rt tsrl-sub start "$id"
    daemon=$(fuse_daemons "$o")
    rt tsrl-sub delete --force "$id"
    left=$(daemons_left tsrl-sub "$o")
    check "tsrl-sub: runtime: delete --force of a running container ends fuse-overlayfs, nothing left" \
      '[ $code = 0 ] && [ -n "$daemon" ] && [ -z "$left" ] && [ ! -e "$(state_root_of tsrl-sub)/$id" ] && ! grep -qF "$o" /proc/self/mountinfo'

    # The runtime killed while the init waits for its createRuntime hook, with FUSE mounted
    # and served: the init, the mount and the daemon all go.
    request_fuse "$o/bundle/config.json" 7
    as tsrl-sub "$runtime" create --bundle "$o/bundle" "$id" >/dev/null 2>&1 </dev/null &
    creating=$!
    for _ in $(seq 1 100); do [ -n "$(fuse_daemons "$o")" ] && break; sleep 0.1; done
    daemon=$(fuse_daemons "$o")
    kill -KILL "$(pgrep -u tsrl-sub -o -f "create --bundle $o/bundle")" 2>/dev/null
    wait "$creating" 2>/dev/null
    left=$(daemons_left tsrl-sub "$o")
    hook=$(pgrep -u tsrl-sub -fx "sleep 7")
    [ -n "$hook" ] && kill $hook
    rt tsrl-sub delete --force "$id"
    check "tsrl-sub: runtime: the runtime killed during create (FUSE mounted and served) leaves no fuse-overlayfs and no mount" \
      '[ -n "$daemon" ] && [ -z "$left" ] && ! grep -qF "$o" /proc/self/mountinfo && [ ! -e "$(state_root_of tsrl-sub)/$id" ]'
  else
    not_ok "tsrl-sub: runtime: a running container through fuse-overlayfs" "could not make the layers and bundle" "stderr: ${err:0:400}"
  fi

  # A program that is not there: refused in one sentence, nothing made.
  o=$work/tsrl-plain/ovl
  if overlay_bundle tsrl-plain true; then
    node -e '
      const fs = require("fs"); const file = process.argv[1];
      const c = JSON.parse(fs.readFileSync(file, "utf8"));
      c.annotations = { "io.tscontainer.overlay.mount-program": "/nonexistent/fuse-overlayfs" };
      fs.writeFileSync(file, JSON.stringify(c));' "$o/bundle/config.json"
    rt tsrl-plain run --bundle "$o/bundle" "tsrl-fuse-missing-$$"
    check "tsrl-plain: runtime: a mount program that does not exist is refused in one sentence, nothing left" \
      '[ $code != 0 ] && [[ $err == *"invalid config: annotations[io.tscontainer.overlay.mount-program]: \`/nonexistent/fuse-overlayfs\` does not exist"* ]] &&
       [ ! -e "$(state_root_of tsrl-plain)/tsrl-fuse-missing-$$" ]'
  fi
fi

# --- networking -------------------------------------------------------------------------------
cli tsrl-sub run --rm --rootfs "$work/tsrl-sub/rootfs" -- sh -c 'ip -o link show | cut -d: -f2; ip -o link show lo'
check "tsrl-sub: CLI: --net none (the default) has only lo, and it is up" \
  '[ $code = 0 ] && [ "$(head -n 1 <<<"$out" | tr -d " ")" = lo ] && [ $(wc -l <<<"$out") = 2 ] && [[ $(tail -n 1 <<<"$out") == *UP* ]]'
cli tsrl-sub run --rm --net host -- readlink /proc/self/ns/net
host_net=$(as tsrl-sub readlink /proc/self/ns/net)
check "tsrl-sub: CLI: --net host shares the host's network namespace" '[ $code = 0 ] && [ "$out" = "$host_net" ]'

host_ip=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
port_base=$((20000 + $$ % 20000))
mkdir -p "$work/www" && echo "served from the host" >"$work/www/hello" && chmod -R a+rX "$work/www"
busybox httpd -f -p "$host_ip:$((port_base + 9))" -h "$work/www" &
host_pids+=($!)

# fetch USER URL: the URL's body, fetched by USER on the host, retried while the server starts.
fetch() {
  local i
  for i in $(seq 1 100); do
    capture as "$1" busybox wget -qO- "$2"
    [ "$code" = 0 ] && return 0
    sleep 0.1
  done
  return 1
}
# helper_processes USER: the network helpers USER runs.
helper_processes() { pgrep -u "$1" -ax pasta; pgrep -u "$1" -ax slirp4netns; }

for helper in pasta slirp4netns; do
  if ! command -v "$helper" >/dev/null; then
    skip "tsrl-sub: --net $helper" "$helper is not installed (apt-get install ${helper/pasta/passt})"
    continue
  fi
  [ "$helper" = pasta ] && port=$((port_base + 1)) || port=$((port_base + 2))
  id=tsrl-$helper-$$
  cli tsrl-sub run -d --rm --name "$id" --net "$helper" -p "$port:80" -p "$((port + 100)):81" \
    --rootfs "$work/tsrl-sub/rootfs" -- sh -c 'httpd -p 81 -h /www; exec httpd -f -p 80 -h /www'
  started=$code
  fetch tsrl-sub "http://127.0.0.1:$port/index.html"
  check "tsrl-sub: --net $helper -p $port:80: the container's httpd answers on the host" \
    '[ $started = 0 ] && [ $code = 0 ] && [ "$out" = "served from the container" ]'
  fetch tsrl-sub "http://127.0.0.1:$((port + 100))/index.html"
  check "tsrl-sub: --net $helper: -p is repeatable" '[ $code = 0 ] && [ "$out" = "served from the container" ]'
  cli tsrl-sub exec "$id" wget -qO- "http://$host_ip:$((port_base + 9))/hello"
  check "tsrl-sub: --net $helper: the container reaches the host's address $host_ip" \
    '[ $code = 0 ] && [ "$out" = "served from the host" ]'
  cli tsrl-sub stop -t 1 "$id"
  helpers=$(helper_processes tsrl-sub)
  cli tsrl-sub ps -a
  check "tsrl-sub: --net $helper: after stop (--rm), neither the container nor $helper remains" \
    '[ -z "$helpers" ] && ! grep -q "$id" <<<"$out" && [ ! -e "$state_root/$id" ]'
done
if command -v pasta >/dev/null; then
  capture as tsrl-plain node "$cli_js" run --rm --net pasta --rootfs "$work/tsrl-plain/rootfs" -- \
    wget -qO- "http://$host_ip:$((port_base + 9))/hello"
  helpers=$(helper_processes tsrl-plain)
  check "tsrl-plain: run --rm --net pasta (no subordinate ids) reaches the host; pasta is gone after" \
    '[ $code = 0 ] && [ "$out" = "served from the host" ] && [ -z "$helpers" ]'
fi
capture as tsrl-sub env PATH=/nonexistent "$(command -v node)" "$cli_js" run --rm -p 8080:80 -- true
check "tsrl-sub: -p without pasta or slirp4netns installed says what to install, exit 125" \
  '[ $code = 125 ] && [[ $err == *"apt-get install passt (or slirp4netns)"* ]]'

# --- isolation --------------------------------------------------------------------------------
plain_ctr=tsrl-plain-ctr-$$
cli tsrl-plain run -d --name "$plain_ctr" --rootfs "$work/tsrl-plain/rootfs" -- sleep 1000
plain_root=$(state_root_of tsrl-plain)
cli tsrl-sub ps -a
check "tsrl-sub does not see tsrl-plain's containers" '[ $code = 0 ] && ! grep -q "$plain_ctr" <<<"$out"'
rt tsrl-sub --root "$plain_root" list
check "tsrl-sub cannot list tsrl-plain's state root (0700)" '[ $code != 0 ]'
rt tsrl-sub --root "$plain_root" kill "$plain_ctr" KILL
check "tsrl-sub cannot kill tsrl-plain's container" '[ $code != 0 ]'
rt tsrl-sub --root "$plain_root" delete --force "$plain_ctr"
check "tsrl-sub cannot delete tsrl-plain's container" '[ $code != 0 ]'
plain_pid=$(pgrep -u tsrl-plain -x sleep | head -n 1)
capture as tsrl-sub kill -KILL "${plain_pid:-0}"
check "tsrl-sub cannot signal tsrl-plain's container process" '[ $code != 0 ] && [ -n "$plain_pid" ]'
cli tsrl-plain ps
check "tsrl-plain's container still runs" '[ $code = 0 ] && grep -q "^$plain_ctr .*Up" <<<"$out"'
cli tsrl-plain rm -f "$plain_ctr"
check "tsrl-plain removes its own container" '[ $code = 0 ] && [ ! -e "$plain_root/$plain_ctr" ]'

root_ctr=tsrl-root-$$
capture node "$cli_js" run -d --name "$root_ctr" --pids-limit 50 --rootfs "$repo/test/.work/rootfs" -- sleep 1000
check "root runs a container in /run/tscontainer" '[ $code = 0 ] && [ -e /run/tscontainer/$root_ctr ]'
rt tsrl-sub --root /run/tscontainer delete --force "$root_ctr"
check "tsrl-sub: tscontainer-runtime --root /run/tscontainer delete ROOTS_CTR fails" '[ $code != 0 ]'
rt tsrl-sub --root /run/tscontainer kill "$root_ctr" KILL
check "tsrl-sub: killing root's container through the runtime fails" '[ $code != 0 ]'
root_cgroup=$(find /sys/fs/cgroup -maxdepth 3 -type d -name "tscontainer-$root_ctr" -exec test -e {}/pids.max \; -print |
  head -n 1)
capture as tsrl-sub sh -c "echo 1000 >$root_cgroup/pids.max || echo 1000 >$root_cgroup/cgroup.procs"
check "tsrl-sub cannot write root's container cgroup" \
  '[ -n "$root_cgroup" ] && [ $code != 0 ] && [ "$(cat "$root_cgroup/pids.max" 2>/dev/null)" = 50 ]'
capture as tsrl-sub mkdir "$(dirname "${root_cgroup:-/sys/fs/cgroup/x}")/tsrl-probe-$$"
check "tsrl-sub cannot create cgroups beside root's" '[ $code != 0 ]'
capture node "$cli_js" ps
check "root's container is untouched" '[ $code = 0 ] && grep -q "^$root_ctr .*Up" <<<"$out"'
capture node "$cli_js" rm -f "$root_ctr"
check "root removes its container" '[ $code = 0 ] && [ ! -e /run/tscontainer/$root_ctr ]'
root_ctr=

# --- rootless podman with tscontainer-runtime ---------------------------------------------------
if command -v podman >/dev/null; then
  pod=$work/tsrl-sub/podman
  mkdir -p "$pod"
  printf '[containers]\ndefault_ulimits = []\nnetns = "none"\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
    >"$pod/containers.conf"
  printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' "$pod/graph" "$pod/run" >"$pod/storage.conf"
  tar -C "$repo/test/.work/rootfs" -cf "$pod/image.tar" .
  chown -R tsrl-sub:tsrl-sub "$pod"
  podman_as() {
    capture as tsrl-sub env CONTAINERS_CONF="$pod/containers.conf" CONTAINERS_STORAGE_CONF="$pod/storage.conf" \
      podman "$@"
  }
  podman_as import -q "$pod/image.tar" localhost/tsrl-busybox
  podman_as --runtime "$runtime" run --rm localhost/tsrl-busybox sh -c 'echo $$; id -u; exit 3'
  check "tsrl-sub: rootless podman --runtime tscontainer-runtime run --rm: PID 1, root inside, exit 3" \
    '[ $code = 3 ] && [ "$out" = "$(printf "1\n0")" ]'
  podman_as --runtime "$runtime" ps -aq
  check "tsrl-sub: rootless podman keeps no container" '[ $code = 0 ] && [ -z "$out" ]'
  # Podman's rootless pause process holds its user namespace; ending it is the test's job.
  pause=$(cat "$work/tsrl-sub/xdg/libpod/tmp/pause.pid" 2>/dev/null)
  [ -n "$pause" ] && kill "$pause" 2>/dev/null
  for _ in $(seq 1 50); do pgrep -u tsrl-sub >/dev/null || break; sleep 0.1; done
  rm -rf "$pod" "$work/tsrl-sub/xdg/libpod" "$work/tsrl-sub/xdg/containers" "$work/tsrl-sub/.local/share/containers" \
    "$work/tsrl-sub/.config"
else
  skip "tsrl-sub: rootless podman with tscontainer-runtime" "podman is not installed"
fi

# --- images ---------------------------------------------------------------------------------------
# tsrl-sub pulls, removes and prunes through `tscontainer-runtime storage`, inside a user
# namespace that maps its subordinate ids (imageHost() says so); tsrl-plain through the
# addon. Both from a plain registry on 127.0.0.1, each into a store of its own.
images_missing=
for tool in docker-registry skopeo; do command -v "$tool" >/dev/null || images_missing+="$tool "; done
if [ -n "$images_missing" ] && [ -z "${CI:-}" ]; then
  skip "images as tsrl-sub and tsrl-plain" "${images_missing}not installed (see .ci/run)"
else
  # shellcheck source=test/images/fixtures.sh
  . "$repo/test/images/fixtures.sh"
  trap 'fixtures_cleanup; cleanup' EXIT
  registry_ok=0
  registry_start >/dev/null && image_push busybox "$REGISTRY_HOST/tests/busybox:latest" &&
    image_push layers "$REGISTRY_HOST/tests/layers:latest" && registry_ok=1
  busybox_ref=$REGISTRY_HOST/tests/busybox:latest layers_ref=$REGISTRY_HOST/tests/layers:latest
  code=$registry_ok out="" err=""
  check "images: a registry with busybox and layers on 127.0.0.1" '[ $registry_ok = 1 ]'

  # json EXPR: EXPR (JavaScript, over v, the last line of $out parsed) printed.
  json() { node -e 'const lines = require("fs").readFileSync(0, "utf8").trim().split("\n");
    const v = JSON.parse(lines[lines.length - 1]); console.log(String(eval(process.argv[1])))' "$1" <<<"$out" 2>/dev/null; }
  storage() { local user=$1; shift; capture as "$user" "$runtime" storage "$@"; }
  addon() { local user=$1; shift; capture as "$user" node "$repo/test/rootless/images.mjs" "$repo" "$@"; }
  # layer_file STORE PATH: PATH in the store's unpacked layers (the first found).
  layer_file() { find "$1/layers" -mindepth 3 -maxdepth 3 -path "*/diff/${2%%/*}" -print0 2>/dev/null |
    while IFS= read -r -d '' top; do [ -e "${top%/*}/$2" ] && { echo "${top%/*}/$2"; break; }; done; }

  sub_store=$work/tsrl-sub/store
  addon tsrl-sub host
  check "tsrl-sub: imageHost() is the runtime, files as the image says (mapped)" \
    '[ $code = 0 ] && [ "$(json "v.host + \" \" + v.ownership")" = "runtime as-in-tar" ]'
  storage tsrl-sub --storage-root "$sub_store" pull --tls-verify=false "$busybox_ref"
  check "tsrl-sub: runtime storage pull busybox: progress lines, then the image" \
    '[ $code = 0 ] && [ "$(head -n 1 <<<"$out" | cut -c1-12)" = "{\"progress\":" ] && [ "$(json "v.result.image.repoTags[0]")" = "$busybox_ref" ]'
  storage tsrl-sub --storage-root "$sub_store" pull --tls-verify=false "$layers_ref"
  owned=$(layer_file "$sub_store" data/owned) private=$(layer_file "$sub_store" data/private-dir)
  root_file=$(layer_file "$sub_store" data/setuid)
  check "tsrl-sub: layers unpacked in its namespace: 1000:50 in the image is $((sub_range_start + 999)):$((sub_range_start + 49)), 0 is tsrl-sub" \
    '[ $code = 0 ] && [ "$(stat -c %u:%g "$owned")" = "$((sub_range_start + 999)):$((sub_range_start + 49))" ] &&
     [ "$(stat -c %u:%g "$private")" = "$((sub_range_start + 999)):$((sub_range_start + 999))" ] &&
     [ "$(stat -c %u:%g:%a "$root_file")" = "$sub_uid:$sub_gid:4755" ]'
  addon tsrl-sub images "$sub_store"
  check "tsrl-sub: the addon lists the store the runtime filled" '[ $code = 0 ] && [ "$(json "v.length")" = 2 ]'
  addon tsrl-sub pull "$busybox_ref" "$sub_store"
  check "tsrl-sub: the addon refuses to pull for it (wrong-host)" \
    '[ $code = 1 ] && [ "$(json "v.error.code")" = wrong-host ]'

  # run IMAGE as tsrl-sub: the overlay of layers owned by its subordinate ids, mounted by the
  # runtime in the container's namespaces; the writable layer, with files of those ids after
  # a copy-up, removed through the runtime's storage host.
  cli tsrl-sub run --rm -q --storage-root "$sub_store" "$busybox_ref" \
    sh -c 'echo x >/srv/app/new && id -u && stat -c %u:%g /srv/app /srv/app/new && grep ^ID= /etc/os-release'
  check "tsrl-sub: run --rm IMAGE: root inside, the image's owners mapped, writes in its own layer, nothing left" \
    '[ $code = 0 ] && [ "$out" = "$(printf "0\n1000:1000\n0:0\nID=tscontainer-busybox")" ] && [ -z "$(ls -A "$sub_store/containers")" ]'
  cli tsrl-sub run --name tsrl-img-kept -q -u tester --storage-root "$sub_store" "$busybox_ref" \
    sh -c 'id -un; echo kept >/srv/app/kept'
  kept_upper=$sub_store/containers/tsrl-img-kept/upper/srv/app/kept
  kept_owner=$(stat -c %u "$kept_upper" 2>/dev/null)
  cli tsrl-sub rm tsrl-img-kept
  check "tsrl-sub: run -u tester IMAGE keeps its layer (tester's file is $((sub_range_start + 999)) on the host) until rm removes it" \
    '[ $code = 0 ] && [ "$kept_owner" = "$((sub_range_start + 999))" ] && [ -z "$(ls -A "$sub_store/containers")" ]'

  # The image faces ask for fuse-overlayfs with TSCONTAINER_OVERLAY_MOUNT_PROGRAM.
  fuse_env=(env TSCONTAINER_OVERLAY_MOUNT_PROGRAM="$fuse_program")
  if [ -n "$fuse_program" ]; then
    capture as tsrl-sub "${fuse_env[@]}" node "$cli_js" run --name tsrl-img-fuse -q --storage-root "$sub_store" "$busybox_ref" \
      sh -c "$root_fs_type; echo x >/srv/app/new && id -u && stat -c %u:%g /srv/app /srv/app/new"
    fuse_upper=$sub_store/containers/tsrl-img-fuse/upper/srv/app/new
    upper_owner=$(stat -c %u "$fuse_upper" 2>/dev/null) in_layer=$(layer_file "$sub_store" srv/app/new)
    left=$(daemons_left tsrl-sub "$sub_store")
    check "tsrl-sub: run IMAGE with TSCONTAINER_OVERLAY_MOUNT_PROGRAM: a FUSE root, the image's owners mapped, the write in its upper directory and not in a layer, no fuse-overlayfs left" \
      '[ $code = 0 ] && [ "$out" = "$(printf "fuse.fuse-overlayfs\n0\n1000:1000\n0:0")" ] && [ "$upper_owner" = "$sub_uid" ] &&
       [ -z "$in_layer" ] && [ -z "$left" ]'
    cli tsrl-sub rm tsrl-img-fuse
    capture as tsrl-sub "${fuse_env[@]}" node "$cli_js" run --rm -q --storage-root "$sub_store" "$busybox_ref" sh -c "$root_fs_type"
    left=$(daemons_left tsrl-sub "$sub_store")
    check "tsrl-sub: run --rm IMAGE through fuse-overlayfs: nothing left (container, process, mount)" \
      '[ $code = 0 ] && [ "$out" = fuse.fuse-overlayfs ] && [ -z "$(ls -A "$sub_store/containers")" ] && [ -z "$left" ] &&
       ! grep -qF "$sub_store" /proc/self/mountinfo'
    capture as tsrl-sub "${fuse_env[@]}" node "$cli_js" run -d --name tsrl-img-fuse-d -q --storage-root "$sub_store" "$busybox_ref" sleep 1000
    for _ in $(seq 1 50); do [ -n "$(fuse_daemons "$sub_store")" ] && break; sleep 0.1; done
    daemon=$(fuse_daemons "$sub_store")
    cli tsrl-sub rm -f tsrl-img-fuse-d
    left=$(daemons_left tsrl-sub "$sub_store")
    check "tsrl-sub: rm -f of a detached IMAGE container through fuse-overlayfs ends the daemon, nothing left" \
      '[ $code = 0 ] && [ -n "$daemon" ] && [ -z "$left" ] && [ -z "$(ls -A "$sub_store/containers")" ] && ! grep -qF "$sub_store" /proc/self/mountinfo'
  fi

  # SIGKILL in the middle of a pull, inside the namespace: nothing half-stored is used later.
  killed_store=$work/tsrl-sub/store-killed
  if faulty_proxy_start "$REGISTRY_URL" --fault 'slow=100000@GET /v2/.*/blobs/'; then
    as tsrl-sub "$runtime" storage --storage-root "$killed_store" pull --tls-verify=false "$PROXY_HOST/tests/layers:latest" \
      >"$scratch/killed" 2>&1 </dev/null &
    pulling=$!
    for _ in $(seq 1 200); do grep -q '"phase":"downloading","done":[1-9]' "$scratch/killed" && break; sleep 0.05; done
    kill -KILL "$(pgrep -u tsrl-sub -f "storage --storage-root $killed_store" | head -n 1)" 2>/dev/null
    wait "$pulling" 2>/dev/null
    left_processes=$(pgrep -u tsrl-sub -a . || true)
    half_layers=$(find "$killed_store/tmp" -mindepth 1 -maxdepth 1 -name 'layer-*' 2>/dev/null | wc -l)
    code=0 out=$(tail -c 300 "$scratch/killed") err=""
    whole=$(for d in "$killed_store"/layers/*; do [ -e "$d" ] && [ ! -f "$d/layer.json" ] && echo "$d"; done)
    check "tsrl-sub: a pull killed by SIGKILL in its namespace left no process, no image, only whole layers ($half_layers half-unpacked in tmp/)" \
      'grep -q "\"downloading\"" "$scratch/killed" && [ -z "$left_processes" ] && [ ! -s "$killed_store/images.json" ] &&
       [ -z "$whole" ] && [ "$half_layers" -ge 1 ]'
    # What a kill leaves when the half layer has a directory of a subordinate id with files in
    # it (the user cannot remove them outside its namespace), made here so it is certain.
    # Its parents are the user's own, as the runtime makes them (root-owned ones would be
    # nobody's in the namespace, and could never be removed there).
    leftover=$killed_store/tmp/layer-killed/diff/home/tester
    as tsrl-sub mkdir -p "${leftover%/*}" && mkdir "$leftover" && echo x >"$leftover/file"
    chown -R "$((sub_range_start + 999)):$((sub_range_start + 999))" "$leftover"
    addon tsrl-sub images "$killed_store"
    check "tsrl-sub: the addon still opens that store; the temporaries of its subordinate ids wait for the namespace" \
      '[ $code = 0 ] && [ "$out" = "[]" ] && [ -e "$leftover/file" ]'
    storage tsrl-sub --storage-root "$killed_store" pull --tls-verify=false "$layers_ref"
    # tree DIR: every entry's path, owner, mode and size.
    tree() { (cd "$1" && find . -printf '%P %U:%G %m %s %l\n' | sort); }
    differs=$(for d in "$killed_store"/layers/*/diff; do
      diff -q <(tree "$d") <(tree "$sub_store/layers/$(basename "$(dirname "$d")")/diff") >/dev/null || echo "$d"; done)
    check "tsrl-sub: the next pull in its namespace completes, removes the temporaries, and its layers equal a clean pull's" \
      '[ $code = 0 ] && [ -z "$(ls -A "$killed_store/tmp")" ] && [ "$(json "v.result.upToDate")" = false ] &&
       [ "$(ls "$killed_store/layers" | wc -l)" = 4 ] && [ -z "$differs" ]'
    storage tsrl-sub --storage-root "$killed_store" prune --all
    faulty_proxy_stop
  else
    not_ok "tsrl-sub: a pull killed by SIGKILL in its namespace" "the faulty proxy did not start"
  fi

  storage tsrl-sub --storage-root "$sub_store" remove-image no-such-image
  check "tsrl-sub: runtime storage errors are one JSON line with the code, exit 1" \
    '[ $code = 1 ] && [ "$out" = "{\"error\":{\"code\":\"image-not-known\",\"message\":\"image no-such-image is not in the store\"}}" ]'
  storage tsrl-sub --storage-root "$sub_store" remove-image "$layers_ref"
  removed=$(json 'v.result.deleted')
  storage tsrl-sub --storage-root "$sub_store" prune --all
  sub_owned=$(find "$sub_store" "$killed_store" ! -uid "$sub_uid" 2>/dev/null | head -n 3)
  check "tsrl-sub: remove-image and prune --all in its namespace remove every file of its subordinate ids" \
    '[ $code = 0 ] && [[ $removed == sha256:* ]] && [ -z "$(ls -A "$sub_store/layers")" ] && [ -z "$sub_owned" ]'

  # The typed API and the CLI choose the host themselves: for tsrl-sub, the runtime.
  api_store=$work/tsrl-sub/store-api load_store=$work/tsrl-sub/store-load archive=$work/tsrl-sub/layers.tar
  capture as tsrl-sub node --input-type=module -e '
    const api = await import(process.argv[1] + "/dist/index.js");
    const [ref, storageRoot, archive, other] = process.argv.slice(2);
    const phases = new Set();
    const pulled = await api.pull(ref, { tlsVerify: false, storageRoot, onProgress: (e) => phases.add(e.phase) });
    await api.saveImage([ref], archive, { storageRoot });
    const loaded = await api.loadImage(archive, { storageRoot: other });
    const unknown = await api.removeImage("no-such-image", { storageRoot }).catch((e) => e);
    console.log(JSON.stringify({ host: api.imageHost().host, phases: [...phases].sort(), tags: pulled.image.repoTags,
      loaded, id: pulled.image.id, unknown: [unknown.name, unknown.code] }));' "$repo" "$layers_ref" "$api_store" "$archive" "$load_store"
  owned=$(layer_file "$api_store" data/owned) loaded_owned=$(layer_file "$load_store" data/owned)
  check "tsrl-sub: API pull, saveImage and loadImage through the runtime: progress, the image, owners mapped" \
    '[ $code = 0 ] && [ "$(json "v.host + \" \" + v.phases.join(\",\")")" = "runtime done,downloading,extracting,waiting" ] &&
     [ "$(json "v.loaded[0].names[0] === v.tags[0] && v.loaded[0].id === v.id")" = true ] &&
     [ "$(json "v.unknown.join(\" \")")" = "ImageNotKnownError ERR_TSC_IMAGE_NOT_KNOWN" ] &&
     [ "$(stat -c %u:%g "$owned")" = "$((sub_range_start + 999)):$((sub_range_start + 49))" ] &&
     [ "$(stat -c %u:%g "$loaded_owned")" = "$((sub_range_start + 999)):$((sub_range_start + 49))" ]'
  # A container's layer: made by the addon, written in by the container (as a subordinate id,
  # here by root), removed by the runtime in the namespace.
  capture as tsrl-sub node --input-type=module -e '
    const api = await import(process.argv[1] + "/dist/api/images.js");
    const layers = await api.createContainerLayers("tsrl-images-c1", process.argv[2], { storageRoot: process.argv[3] });
    console.log(JSON.stringify(layers));' "$repo" "$layers_ref" "$load_store"
  upper=$(json 'v.upper')
  [ -d "$upper" ] && mkdir "$upper/home" && echo x >"$upper/home/file" &&
    chown -R "$((sub_range_start + 999)):$((sub_range_start + 999))" "$upper/home"
  capture as tsrl-sub node --input-type=module -e '
    const api = await import(process.argv[1] + "/dist/api/images.js");
    await api.removeContainerLayers("tsrl-images-c1", { storageRoot: process.argv[2] });
    console.log(JSON.stringify({ removed: true }));' "$repo" "$load_store"
  check "tsrl-sub: API: a container layer with files of its subordinate ids is removed through the runtime" \
    '[ $code = 0 ] && [ -n "$upper" ] && [ ! -e "$upper" ] && [ -z "$(ls -A "$load_store/containers")" ]'
  cli tsrl-sub rmi --storage-root "$load_store" "$layers_ref"
  capture as tsrl-sub sh -c 'node "$1" load -q --storage-root "$2" <"$3"' sh "$cli_js" "$load_store" "$archive"
  check "tsrl-sub: CLI load from standard input through the runtime" \
    '[ $code = 0 ] && [ "$out" = "Loaded image: $layers_ref" ] && [ -n "$(layer_file "$load_store" data/owned)" ]'
  cli tsrl-sub image prune -a -f --storage-root "$load_store"
  cli tsrl-sub rmi --storage-root "$api_store" "$layers_ref"
  sub_owned=$(find "$api_store" "$load_store" ! -uid "$sub_uid" 2>/dev/null | head -n 3)
  check "tsrl-sub: CLI rmi and image prune -a through the runtime leave no file of its subordinate ids" \
    '[ $code = 0 ] && [ -z "$sub_owned" ] && [ -z "$(ls -A "$api_store/layers")" ] && [ -z "$(ls -A "$load_store/layers")" ]'

  plain_store=$work/tsrl-plain/store
  addon tsrl-plain host
  check "tsrl-plain: imageHost() is the addon, every file the user's" \
    '[ $code = 0 ] && [ "$(json "v.host + \" \" + v.ownership")" = "addon caller" ]'
  addon tsrl-plain pull "$layers_ref" "$plain_store"
  owned=$(layer_file "$plain_store" data/owned)
  others=$(find "$plain_store" ! -uid "$plain_uid" 2>/dev/null | head -n 3)
  check "tsrl-plain: the addon pulls layers; data/owned (1000:50 in the image) and every other file belong to tsrl-plain" \
    '[ $code = 0 ] && [ "$(stat -c %u "$owned")" = "$plain_uid" ] && [ -z "$others" ]'
  addon tsrl-plain remove "$layers_ref" "$plain_store"
  check "tsrl-plain: the addon removes it, layers and all" \
    '[ $code = 0 ] && [[ $(json "v.deleted") == sha256:* ]] && [ -z "$(ls -A "$plain_store/layers")" ]'
  cli tsrl-plain pull -q --tls-verify=false --storage-root "$plain_store" "$busybox_ref"
  id=$out
  cli tsrl-plain images --storage-root "$plain_store" --format '{{.ID}} {{.Repository}}:{{.Tag}}'
  check "tsrl-plain: CLI pull and images through the addon" '[ $code = 0 ] && [ "$out" = "${id:0:12} $busybox_ref" ]'
  cli tsrl-plain run --rm -q --storage-root "$plain_store" "$busybox_ref" \
    sh -c 'echo x >/etc/new && id -u && stat -c %u /etc/new && grep ^ID= /etc/os-release'
  check "tsrl-plain: run --rm IMAGE without subordinate ids: root inside, writes in its own layer, nothing left" \
    '[ $code = 0 ] && [ "$out" = "$(printf "0\n0\nID=tscontainer-busybox")" ] && [ -z "$(ls -A "$plain_store/containers")" ]'

  if [ -n "$fuse_program" ]; then
    capture as tsrl-plain "${fuse_env[@]}" node "$cli_js" run --rm -q --storage-root "$plain_store" "$busybox_ref" \
      sh -c "$root_fs_type; echo x >/etc/new && id -u && stat -c %u /etc/new /bin/busybox"
    left=$(daemons_left tsrl-plain "$plain_store")
    check "tsrl-plain: run --rm IMAGE through fuse-overlayfs without subordinate ids: root inside, every file root's, nothing left" \
      '[ $code = 0 ] && [ "$out" = "$(printf "fuse.fuse-overlayfs\n0\n0\n0")" ] && [ -z "$(ls -A "$plain_store/containers")" ] &&
       [ -z "$left" ] && ! grep -qF "$plain_store" /proc/self/mountinfo'
  fi
  rm -rf "$sub_store" "$killed_store" "$plain_store" "$api_store" "$load_store" "$archive"
fi

# --- nothing left behind ----------------------------------------------------------------------
for user in tsrl-sub tsrl-plain; do
  root=$(state_root_of $user)
  left=$( { ls -A "$root" 2>/dev/null | sed "s|^|state $root/|"
    ls -A "$work/$user/tmp" | sed 's/^/tmpdir /'
    for d in containers exec; do
      ls -A "$work/$user/.local/share/tscontainer/$d" 2>/dev/null | sed "s|^|bundle $d/|"
    done
    pgrep -u "$user" -a . | sed 's/^/process /'
    grep -F "$work/$user" /proc/self/mountinfo | sed 's/^/mount /'
    find /sys/fs/cgroup -maxdepth 4 -type d -name 'tscontainer-tsrl-*' 2>/dev/null | sed 's/^/cgroup /'; } )
  if [ -z "$left" ]; then ok "$user: nothing left: state entries, bundles, processes, mounts, cgroups"
  else not_ok "$user: nothing left: state entries, bundles, processes, mounts, cgroups" "${left//$'\n'/; }"; fi
done
rm -rf "/tmp/tscontainer-$plain_uid"
finish
