# shellcheck shell=bash
# Sourced by npm/build-runtime.sh and npm/build-native.sh. seccomp_static GCC: exports what
# makes libseccomp-sys link libseccomp.a (from libseccomp-dev for GCC's target) instead of
# libseccomp.so. Every cargo build in one target directory must see the same values: a change
# reruns libseccomp-sys's build script and rebuilds every crate above it.
seccomp_static() {
  local archive
  archive=$(readlink -f "$("$1" -print-file-name=libseccomp.a)")
  if ! [ -f "$archive" ]; then
    echo "npm/seccomp.sh: $1 finds no libseccomp.a: install libseccomp-dev for its target" >&2
    return 1
  fi
  export LIBSECCOMP_LINK_TYPE=static LIBSECCOMP_LIB_PATH=${archive%/*}
}
