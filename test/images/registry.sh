#!/usr/bin/env bash
# registry.sh — a private image registry for tests: Debian's docker-registry (distribution
# 2.8) on a free 127.0.0.1 port, with its own config, storage, certificates and password file
# in one directory that goes when it stops.
#
#   registry.sh serve [--tls] [--auth] [--dir DIR]
#       Starts a registry and prints its variables, one KEY=VALUE a line, then `READY`. Runs
#       until its stdin ends (the process that started it exited, however it died) or it gets
#       SIGTERM, SIGINT or SIGHUP; then stops the registry and removes DIR. For programs that
#       hold a pipe to it (test/helpers/registry.ts).
#   registry.sh start [--tls] [--auth] [--owner PID] [--dir DIR]
#       The same in the background: prints the variables once it answers, and returns. It stops
#       on `registry.sh stop DIR`, or when PID is gone — checked every second. PID defaults to
#       the caller ($PPID): inside $(...) that is the substitution's subshell, so pass --owner
#       $$ there. For shell tiers (test/images/fixtures.sh's registry_start).
#   registry.sh stop DIR
#       Stops the registry of DIR and waits until DIR is removed.
#
# --tls   HTTPS with a certificate for 127.0.0.1 and localhost (subjectAltName), signed by a CA
#         made for this registry alone (ECDSA P-256, valid one day)
# --auth  htpasswd (bcrypt) Basic authentication: user `tsuser`, a random password
#
# Variables: REGISTRY_DIR, REGISTRY_HOST (127.0.0.1:PORT), REGISTRY_PORT, REGISTRY_URL
# (http[s]://HOST), REGISTRY_TLS (0/1), REGISTRY_CA (the CA certificate, or empty),
# REGISTRY_CERT_DIR (a directory holding only ca.crt, for podman/skopeo --cert-dir; or empty),
# REGISTRY_USER and REGISTRY_PASSWORD (or empty), REGISTRY_AUTH_JSON (a containers auth.json
# with the credentials for HOST, `{"auths":{}}` without --auth), REGISTRY_STORAGE (its storage
# directory), REGISTRY_LOG, REGISTRY_PID.
#
# DIR defaults to a new $TMPDIR/tsregistry.XXXXXX. The registry runs under
# `setpriv --pdeathsig KILL`: if this script is killed outright, the registry dies with it.
# Needs docker-registry, openssl (--tls), htpasswd from apache2-utils (--auth) and curl.
set -euo pipefail

die() { echo "registry.sh: $*" >&2; exit 1; }

usage() { die "usage: registry.sh serve|start [--tls] [--auth] [--dir DIR] [--owner PID] | stop DIR"; }

tls=0 auth=0 dir="" owner=""
parse() {
  while [ $# -gt 0 ]; do
    case $1 in
      --tls) tls=1 ;;
      --auth) auth=1 ;;
      --dir) dir=${2:?--dir needs a directory}; shift ;;
      --owner) owner=${2:?--owner needs a pid}; shift ;;
      *) usage ;;
    esac
    shift
  done
}

require() { command -v "$1" >/dev/null || die "$1 is not installed (apt-get install $2)"; }

# make_certs: a CA and a server certificate for 127.0.0.1 and localhost, in $dir/tls.
make_certs() {
  local t=$dir/tls
  mkdir -p "$t" "$dir/certs"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj '/CN=tscontainer test CA' -keyout "$t/ca.key" -out "$t/ca.crt" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj '/CN=127.0.0.1' -keyout "$t/server.key" -out "$t/server.csr" 2>/dev/null
  printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'extendedKeyUsage=serverAuth' \
    'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' >"$t/ext.cnf"
  openssl x509 -req -in "$t/server.csr" -CA "$t/ca.crt" -CAkey "$t/ca.key" -CAcreateserial -days 1 \
    -extfile "$t/ext.cnf" -out "$t/server.crt" 2>/dev/null
  cp "$t/ca.crt" "$dir/certs/ca.crt"
}

write_config() {
  local secret
  secret=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  {
    echo 'version: 0.1'
    echo 'log: {level: info, formatter: text}'
    echo 'storage:'
    echo "  filesystem: {rootdirectory: \"$dir/storage\"}"
    echo '  delete: {enabled: true}'
    echo '  maintenance: {uploadpurging: {enabled: false}}'
    echo 'http:'
    # Port 0: the kernel picks a free port, which the registry logs (no race with other tests).
    echo '  addr: 127.0.0.1:0'
    echo "  secret: $secret"
    if [ "$tls" = 1 ]; then
      echo "  tls: {certificate: \"$dir/tls/server.crt\", key: \"$dir/tls/server.key\"}"
    fi
    echo 'health: {storagedriver: {enabled: false}}'
    # Foreign (non-distributable) layers name URLs; the tests serve those themselves.
    echo 'validation: {manifests: {urls: {allow: ["^https?://"]}}}'
    if [ "$auth" = 1 ]; then
      echo "auth: {htpasswd: {realm: tscontainer-test, path: \"$dir/htpasswd\"}}"
    fi
  } >"$dir/config.yml"
}

# wait_listening: the port from the registry's `listening on 127.0.0.1:PORT` line.
wait_listening() {
  local port
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/registry.log" | head -n 1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    kill -0 "$registry_pid" 2>/dev/null || break
    sleep 0.05
  done
  return 1
}

# wait_answering URL: /v2/ answers (200, or 401 with authentication), within 10 s.
wait_answering() {
  local code args=(-s -o /dev/null -w '%{http_code}' --max-time 2)
  [ "$tls" = 1 ] && args+=(--cacert "$dir/tls/ca.crt")
  for _ in $(seq 100); do
    code=$(curl "${args[@]}" "$1/v2/" || true)
    [ "$code" = 200 ] || [ "$code" = 401 ] && return 0
    sleep 0.1
  done
  return 1
}

registry_pid=""
stop_registry() {
  if [ -n "$registry_pid" ] && kill -0 "$registry_pid" 2>/dev/null; then
    kill -TERM "$registry_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$registry_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  [ -z "$dir" ] || rm -rf "$dir"
}

# serve: start, print the variables and READY, wait for the end of stdin, the owner's exit
# or a signal, stop.
serve() {
  require docker-registry docker-registry
  require curl curl
  [ "$tls" = 0 ] || require openssl openssl
  [ "$auth" = 0 ] || require htpasswd apache2-utils
  if [ -z "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/tsregistry.XXXXXX"); else mkdir -p "$dir"; fi
  dir=$(cd "$dir" && pwd)
  trap stop_registry EXIT
  trap 'exit 0' TERM INT HUP
  # The process that started it may be gone, and its pipes with it: cleaning up must not die writing.
  trap '' PIPE
  echo $$ >"$dir/serve.pid"
  mkdir -p "$dir/storage"
  [ "$tls" = 0 ] || make_certs
  local user="" password=""
  if [ "$auth" = 1 ]; then
    user=tsuser
    password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
    htpasswd -Bbc "$dir/htpasswd" "$user" "$password" 2>/dev/null
  fi
  write_config
  setpriv --pdeathsig KILL docker-registry serve "$dir/config.yml" >"$dir/registry.log" 2>&1 &
  registry_pid=$!
  local port scheme=http host url
  port=$(wait_listening) || die "the registry did not start: $(tail -n 5 "$dir/registry.log")"
  [ "$tls" = 1 ] && scheme=https
  host=127.0.0.1:$port url=$scheme://127.0.0.1:$port
  wait_answering "$url" || die "the registry at $url does not answer /v2/: $(tail -n 5 "$dir/registry.log")"
  if [ "$auth" = 1 ]; then
    printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$host" "$(printf '%s:%s' "$user" "$password" | base64 -w0)" >"$dir/auth.json"
  else
    echo '{"auths":{}}' >"$dir/auth.json"
  fi
  local ca="" certdir=""
  [ "$tls" = 0 ] || { ca=$dir/tls/ca.crt; certdir=$dir/certs; }
  {
    echo "REGISTRY_DIR=$dir"
    echo "REGISTRY_HOST=$host"
    echo "REGISTRY_PORT=$port"
    echo "REGISTRY_URL=$url"
    echo "REGISTRY_TLS=$tls"
    echo "REGISTRY_CA=$ca"
    echo "REGISTRY_CERT_DIR=$certdir"
    echo "REGISTRY_USER=$user"
    echo "REGISTRY_PASSWORD=$password"
    echo "REGISTRY_AUTH_JSON=$dir/auth.json"
    echo "REGISTRY_STORAGE=$dir/storage"
    echo "REGISTRY_LOG=$dir/registry.log"
    echo "REGISTRY_PID=$registry_pid"
  } >"$dir/env"
  cat "$dir/env"
  echo READY
  # Until stdin ends (or, with --owner, the owner exits) or a signal comes; the registry
  # exiting on its own ends it too. read -t times out with a status above 128; with --owner
  # it reads a fifo nobody writes, a one-second tick without a sleep process.
  local status input=0
  if [ -n "$owner" ]; then
    mkfifo "$dir/tick"
    exec {input}<>"$dir/tick"
  fi
  while kill -0 "$registry_pid" 2>/dev/null; do
    [ -z "$owner" ] || kill -0 "$owner" 2>/dev/null || break
    status=0
    read -r -t 1 -u "$input" _ || status=$?
    [ "$status" -eq 0 ] || [ "$status" -gt 128 ] || break
  done
}

start() {
  [ -n "$owner" ] || owner=$PPID
  if [ -z "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/tsregistry.XXXXXX"); fi
  local args=(serve --dir "$dir" --owner "$owner") pid
  [ "$tls" = 0 ] || args+=(--tls)
  [ "$auth" = 0 ] || args+=(--auth)
  # serve's output goes beside DIR: it removes DIR when it fails.
  out=$dir.serve
  trap 'rm -f "$out"' EXIT
  # Its own session, stdio detached: nothing of the caller's (a terminal, a $(...) pipe) is held.
  setsid bash "${BASH_SOURCE[0]}" "${args[@]}" </dev/null >"$out" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    if grep -qx READY "$out" 2>/dev/null; then
      sed '/^READY$/d' "$out"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { cat "$out" >&2; exit 1; }
    sleep 0.05
  done
  kill -TERM "$pid" 2>/dev/null || true
  die "the registry did not start within 15 s"
}

stop() {
  local d=${1:?usage: registry.sh stop DIR} pid
  [ -d "$d" ] || return 0
  pid=$(cat "$d/serve.pid" 2>/dev/null || true)
  [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do [ -d "$d" ] || return 0; sleep 0.1; done
  die "the registry of $d did not stop within 10 s"
}

command=${1:-}
[ $# -gt 0 ] && shift
case $command in
  serve) parse "$@"; serve ;;
  start) parse "$@"; start ;;
  stop) stop "$@" ;;
  *) usage ;;
esac
