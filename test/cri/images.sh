#!/usr/bin/env bash
# images.sh LAYOUT — builds, as one OCI image layout, the stand-ins for the images critest
# pulls from the internet (grep cri-tools' pkg/validate and pkg/framework for the references),
# each a static busybox tree (Debian's busybox-static) plus what its tests look for:
#
#   ref in LAYOUT        served as (see run.sh)                         what the tests need
#   busybox              registry.k8s.io/e2e-test-images/busybox:1.29-2 sh, top, sleep, pgrep, ipcs ...
#   pause                registry.k8s.io/pause:3.6 (the sandbox image)  exits on SIGTERM, reaps
#   nginx                .../e2e-test-images/nginx:1.14-2               port 80; pid 1's command line
#                                                                       "nginx: master process ...",
#                                                                       /var/run/nginx.pid, pidof nginx
#   httpd                .../e2e-test-images/httpd:2.4.39-4             port 80, "httpd" in its log
#   nonewprivs           .../e2e-test-images/nonewprivs:1.3             a set-uid root program that
#                                                                       prints its effective uid
#   hostnet-nginx        gcr.io/k8s-staging-cri-tools/hostnet-nginx-ARCH  port 12003
#   test-image-*         gcr.io/k8s-staging-cri-tools/test-image-...    distinct digests (one file
#                                                                       each), users, groups
#
# The programs are test/cri/standins/*.c, compiled statically with cc. Written to a temporary
# layout beside LAYOUT and renamed into place, so a failed build leaves nothing half-made.
# test-image-digest (pulled by a digest of the real image) cannot be reproduced: not built.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=$1
busybox=${BUSYBOX:-/bin/busybox}
file -L "$busybox" | grep -q 'statically linked' ||
  { echo "images.sh: $busybox is not a static busybox (apt-get install busybox-static)" >&2; exit 1; }

tmp=$(mktemp -d "$dest.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
layout=$tmp/layout

# --- the programs -------------------------------------------------------------------------
for prog in pause webserver nnp; do
  cc -static -O2 -Wall -Wextra -Werror -o "$tmp/$prog" "$here/standins/$prog.c"
done

# --- the base tree: busybox, its applets, users ---------------------------------------------
tree=$tmp/tree
mkdir -p "$tree"/{bin,etc,proc,sys,dev,tmp,root,var/run,usr/local/bin,home}
chmod 1777 "$tree/tmp"
cp "$busybox" "$tree/bin/busybox"
# Hard links, as in the busybox image: masking /bin/ls (a test does) must not mask busybox.
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln "$tree/bin/busybox" "$tree/bin/$applet"
done
# Two applets the tests run that Debian's busybox lacks.
cat >"$tree/bin/pgrep" <<'EOF'
#!/bin/sh
# pgrep PATTERN: the pids of the processes whose name matches PATTERN (an extended regex).
found=1
for dir in /proc/[0-9]*; do
  name=$(cat "$dir/comm" 2>/dev/null) || continue
  if echo "$name" | grep -qE -- "$1"; then echo "${dir#/proc/}"; found=0; fi
done
exit $found
EOF
cat >"$tree/bin/ipcs" <<'EOF'
#!/bin/sh
# ipcs [-m]: the System V shared memory segments of this IPC namespace, with their ids.
cat /proc/sysvipc/shm
EOF
chmod 755 "$tree/bin/pgrep" "$tree/bin/ipcs"
ln -s bin "$tree/sbin"
mkdir -p "$tree/usr"
ln -s ../bin "$tree/usr/bin"
ln -s ../bin "$tree/usr/sbin"
# As in the busybox image the real ones derive from: www-data is uid 33.
cat >"$tree/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$tree/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
EOF

path_env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
umoci init --layout "$layout"
umoci new --image "$layout:busybox"
umoci insert --image "$layout:busybox" "$tree" /
umoci config --image "$layout:busybox" --config.env "$path_env" --config.cmd sh

# derive NEW [umoci config options...]: a copy of the busybox image with other settings.
derive() {
  local new=$1
  shift
  umoci config --image "$layout:busybox" --tag "$new" "$@"
}
# add REF SOURCE TARGET: SOURCE (a file or directory) at TARGET in image REF, as a layer.
add() { umoci insert --image "$layout:$1" "$2" "$3"; }

# --- the sandbox ------------------------------------------------------------------------------
derive pause --config.cmd /pause
add pause "$tmp/pause" /pause

# --- the web servers --------------------------------------------------------------------------
www=$tmp/www
mkdir -p "$www"
echo '<html><body>Welcome to the stand-in web server.</body></html>' >"$www/index.html"
derive nginx --config.env WEB_NAME=nginx --config.env WEB_PORT=80 --config.env WEB_ROOT=/usr/share/nginx/html \
  --config.exposedports 80/tcp --config.cmd nginx --config.cmd -g --config.cmd 'daemon off;'
add nginx "$tmp/webserver" /usr/sbin/nginx
add nginx "$www" /usr/share/nginx/html
derive hostnet-nginx --config.env WEB_NAME=nginx --config.env WEB_PORT=12003 \
  --config.env WEB_ROOT=/usr/share/nginx/html --config.cmd nginx --config.cmd -g --config.cmd 'daemon off;'
add hostnet-nginx "$tmp/webserver" /usr/sbin/nginx
add hostnet-nginx "$www" /usr/share/nginx/html
derive httpd --config.env WEB_NAME=httpd --config.env WEB_PORT=80 --config.env WEB_ROOT=/usr/local/apache2/htdocs \
  --config.exposedports 80/tcp --config.cmd httpd-foreground
add httpd "$tmp/webserver" /usr/local/bin/httpd-foreground
add httpd "$www" /usr/local/apache2/htdocs

# --- no_new_privs -----------------------------------------------------------------------------
chmod 4755 "$tmp/nnp"
derive nonewprivs --config.entrypoint /usr/local/bin/nnp --clear config.cmd
add nonewprivs "$tmp/nnp" /usr/local/bin/nnp

# --- the image manager's test images: one file each, so each has its own digest ---------------
marker() {
  local ref=$1 name=$2
  derive "$ref"
  echo "$name" >"$tmp/$name"
  add "$ref" "$tmp/$name" "/$name"
}
for n in 1 2 3 latest; do marker "test-image-$n" "test-image-$n"; done
marker test-image-tags same-image
marker test-image-tag-test test
marker test-image-tag-all all

# --- users and groups -------------------------------------------------------------------------
derive test-image-user-uid --config.user 1002
derive test-image-user-username --config.user www-data
derive test-image-user-uid-group --config.user 1003:1004
derive test-image-user-username-group --config.user www-data:1004
# default-user (uid 1000) belongs to group-defined-in-image (gid 50000) in the image.
etc=$tmp/predefined-etc
mkdir -p "$etc"
cp "$tree/etc/passwd" "$tree/etc/group" "$etc/"
echo 'default-user:x:1000:1000::/home/default-user:/bin/sh' >>"$etc/passwd"
printf 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n' >>"$etc/group"
derive test-image-predefined-group --config.user 1000
add test-image-predefined-group "$etc/passwd" /etc/passwd
add test-image-predefined-group "$etc/group" /etc/group

umoci gc --layout "$layout"
rm -rf "$dest"
mv -T "$layout" "$dest"
