# shellcheck shell=bash
# subreaper.sh — sourced by a tier's script before it does anything else:
#   become_subreaper MARKER "$0" "$@"
# Runs the script again, once, with bash as a child subreaper: prctl(PR_SET_CHILD_SUBREAPER,
# 1), made by perl, survives the execve of bash. What the managers' daemons and shims leave
# behind when they double-fork then becomes the script's child rather than init's, so the
# tier can tell it apart, wait for it, and check that nothing of a test remains. MARKER
# names the environment variable that says the script already runs so. Without perl, or on
# an architecture whose prctl number is not known here, the script goes on as it is.
become_subreaper() {
  local marker=$1 script=$2 nr_prctl
  shift 2
  [ -z "${!marker:-}" ] || return 0
  case $(uname -m) in
    x86_64) nr_prctl=157 ;;
    aarch64) nr_prctl=167 ;;
    *) return 0 ;;
  esac
  command -v perl >/dev/null || return 0
  export "$marker=1"
  # PR_SET_CHILD_SUBREAPER is 36.
  exec perl -e 'syscall('"$nr_prctl"', 36, 1, 0, 0, 0) == 0 or die "prctl: $!\n";
    exec @ARGV or die "exec: $!\n"' bash "$script" "$@"
}
