#!/usr/bin/env bash
# test/dist/run.sh — the distribution tier: builds the release artifacts of both platform
# packages, checks them, packs the root package and the host's platform package, installs them
# into a fresh directory with no registry, and uses them there as a user would (as root):
#
#   1. builds    npm/build.sh for x86_64 and aarch64 (cached in target/ and target/dist/)
#   2. artifacts ELF machine, static and stripped runtime, the addon's glibc floor
#   3. install   npm pack + `npm ci --offline` of the tarballs in a temp dir, then
#                `npx tscontainer run --rm -- echo ok`, `import { run } from 'tscontainer'`,
#                and the loader's one-sentence failures
#   4. arm64     under qemu-aarch64 (x86_64 hosts): the runtime's --version and features, and
#                the addon's libraries resolving with the aarch64 dynamic loader
#   5. actionlint every workflow, with shellcheck on their run: blocks
#   6. sizes     each platform package as installed
#
# DIST_PREBUILT=1 skips the builds and checks the artifacts already in npm/*/. DIST_TARBALLS=DIR
# skips the builds and the packing too: it checks, installs and uses the tarballs in DIR (the
# root package and both platform packages, as `node npm/pack-root.mjs --with-platforms DIR`
# packs them: the GitHub packages workflow packs once, tests those tarballs on every runner,
# and the release publishes the same files). Prints TAP; the LAST line is
# `N passed, N failed`. Needs (Debian 12): file binutils qemu-user shellcheck
# gcc-aarch64-linux-gnu libc6-dev-arm64-cross libseccomp-dev:arm64 rustc-web cargo-web
# libstd-rust-web-dev:arm64 (with `dpkg --add-architecture arm64`), Go for actionlint, and the
# npm registry once for napi-rs's cross toolchains (npm/cross-toolchain.sh; cached).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
export PATH=$PATH:/usr/local/go/bin
started=$SECONDS

# The same version actionlint is pinned to in the workflows' documentation (README.md).
actionlint_version=v1.7.12
# Installed-size budget for one platform package: it must stay a quick download.
size_budget=$((25 * 1024 * 1024))

# shellcheck source=test/lib/tap.sh
. test/lib/tap.sh
# A failure shows the end of its evidence (build logs, npm's output).
tap_detail_lines=40
note() { echo "# $*"; }

work=$(mktemp -d /tmp/tscontainer-dist.XXXXXX)
trap 'rm -rf "$work"' EXIT

host_arch=$(uname -m)
declare -A triple=([x64]=x86_64-unknown-linux-gnu [arm64]=aarch64-unknown-linux-gnu)
declare -A machine=([x64]=x86-64 [arm64]='ARM aarch64')
case $host_arch in
  x86_64) host=x64 other=arm64 ;;
  aarch64) host=arm64 other=x64 ;;
  *) unavailable "no tscontainer package for $host_arch" ;;
esac

# A Rust toolchain that has TARGET's standard library: the default one, or Debian's rustc-web
# (libstd-rust-web-dev:ARCH), linked into rustup under a name of its own. Prints the
# RUSTUP_TOOLCHAIN value (empty for the default).
toolchain_for() {
  if [ -d "$(rustc --print sysroot)/lib/rustlib/$1/lib" ]; then return 0; fi
  if [ -d "/usr/lib/rustlib/$1/lib" ] && [ -x /usr/bin/cargo ] && command -v rustup >/dev/null; then
    rustup toolchain link tscontainer-rustc-web /usr >&2 && echo tscontainer-rustc-web && return 0
  fi
  return 1
}

# --- 1. builds ------------------------------------------------------------------------------
version=$(node -p 'require("./package.json").version')
# The directory each platform package's files are checked in: npm/linux-ARCH-gnu, or the
# package as its given tarball holds it.
declare -A pkgdir=([x64]=npm/linux-x64-gnu [arm64]=npm/linux-arm64-gnu)
given=${DIST_TARBALLS:+$(cd "$DIST_TARBALLS" && pwd)}
for arch in x64 arm64; do
  t=${triple[$arch]}
  if [ -n "$given" ]; then
    note "DIST_TARBALLS: checking $given/tscontainer-linux-$arch-gnu-$version.tgz, not npm/linux-$arch-gnu"
    # (A tarball that is not there leaves the directory empty: the next checks fail.)
    mkdir -p "$work/given-$arch"
    tar -xzf "$given/tscontainer-linux-$arch-gnu-$version.tgz" -C "$work/given-$arch"
    pkgdir[$arch]=$work/given-$arch/package
    continue
  fi
  if [ "${DIST_PREBUILT:-}" = 1 ]; then
    note "DIST_PREBUILT=1: checking npm/linux-$arch-gnu as it is"
    continue
  fi
  start=$SECONDS
  if ! tc=$(toolchain_for "$t"); then
    not_ok "build $t: no Rust standard library for it (rustup target add $t, or apt-get install rustc-web cargo-web libstd-rust-web-dev:$arch)"
    continue
  fi
  if RUSTUP_TOOLCHAIN=${tc:-${RUSTUP_TOOLCHAIN:-}} bash npm/build.sh "$t" >"$work/build-$arch.log" 2>&1; then
    ok "npm/build.sh $t ($((SECONDS - start))s${tc:+, toolchain $tc})"
  else
    not_ok "npm/build.sh $t" "$(tail -n 30 "$work/build-$arch.log")"
  fi
done

# --- 2. the artifacts -----------------------------------------------------------------------
# glibc_floor FILE: the newest GLIBC_ symbol version FILE needs (readelf reads either arch).
glibc_floor() { readelf -W --dyn-syms "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1; }
# at_most A B: version A <= version B.
at_most() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }

declare -A floor
for arch in x64 arm64; do
  dir=${pkgdir[$arch]} runtime=${pkgdir[$arch]}/tscontainer-runtime addon=${pkgdir[$arch]}/tscontainer.linux-$arch-gnu.node
  if ! [ -f "$runtime" ] || ! [ -f "$addon" ]; then
    not_ok "$dir holds tscontainer-runtime and the addon"
    continue
  fi
  desc=$(file -b "$runtime")
  if [[ $desc == *"${machine[$arch]}"* && $desc == *static* && $desc == *", stripped"* && -x $runtime ]]; then
    ok "$arch runtime: ${machine[$arch]}, static, stripped, executable"
  else
    not_ok "$arch runtime: ${machine[$arch]}, static, stripped, executable" "$desc"
  fi
  desc=$(file -b "$addon")
  floor[$arch]=$(glibc_floor "$addon")
  if [[ $desc == *"${machine[$arch]}"* && $desc == *"shared object"* && $desc == *", stripped"* ]] &&
    at_most "${floor[$arch]}" 2.31; then
    ok "$arch addon: ${machine[$arch]} shared object, stripped, needs glibc ${floor[$arch]} (<= 2.31)"
  else
    not_ok "$arch addon: ${machine[$arch]} shared object, stripped, needs glibc <= 2.31" "$desc; needs glibc ${floor[$arch]}"
  fi
  # libseccomp belongs to the runtime alone: the addon must not need it at load time.
  needed=$(readelf -W -d "$addon" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
  if [[ $needed != *seccomp* ]] && ! readelf -W --dyn-syms "$addon" | grep -q ' UND seccomp_'; then
    ok "$arch addon needs only $needed"
  else
    not_ok "$arch addon does not need libseccomp" "NEEDED: $needed"
  fi
  # Nor contain any of it (NOTICE names libseccomp for the runtime only): libseccomp's syscall
  # table holds names no other code of ours spells, which the static runtime must have.
  table='^(_llseek|_newselect|_sysctl|kexec_file_load)$'
  in_addon=$(strings -a "$addon" | grep -cE "$table" || true)
  in_runtime=$(strings -a "$runtime" | grep -cE "$table" || true)
  if [ "$in_addon" = 0 ] && [ "$in_runtime" -gt 0 ]; then
    ok "$arch addon contains none of libseccomp's syscall table (the runtime has $in_runtime of its names)"
  else
    not_ok "$arch addon contains none of libseccomp's syscall table" "addon: $in_addon names, runtime: $in_runtime"
  fi
done

# --- 3. pack, install with no registry, use ---------------------------------------------------
packs=$work/packs
mkdir -p "$packs"
if [ -n "$given" ]; then
  cp "$given"/*.tgz "$packs/" 2>"$work/pack.log"
  what="the given tarballs"
else
  node npm/pack-root.mjs --with-platforms "$packs" >"$work/pack.log" 2>&1 || cat "$work/pack.log"
  what="npm pack"
fi
root_tgz=$packs/tscontainer-$version.tgz
host_tgz=$packs/tscontainer-linux-$host-gnu-$version.tgz
other_tgz=$packs/tscontainer-linux-$other-gnu-$version.tgz
if [ -f "$root_tgz" ] && [ -f "$host_tgz" ] && [ -f "$other_tgz" ]; then
  ok "$what: $(basename "$root_tgz"), $(basename "$host_tgz"), $(basename "$other_tgz")"
else
  not_ok "$what: the root and both platform packages" "$(ls "$packs"; cat "$work/pack.log")"
fi

listing=$(tar -tvzf "$host_tgz" 2>&1)
if grep -q '^-rwxr-xr-x .* package/tscontainer-runtime$' <<<"$listing" &&
  grep -q "package/tscontainer.linux-$host-gnu.node$" <<<"$listing" && grep -q 'package/NOTICE$' <<<"$listing"; then
  ok "linux-$host-gnu tarball: the addon, the runtime with its exec bit, NOTICE"
else
  not_ok "linux-$host-gnu tarball: the addon, the runtime with its exec bit, NOTICE" "$listing"
fi
# shellcheck disable=SC2016 # JavaScript, not shell
optional=$(tar -xOzf "$root_tgz" package/package.json 2>&1 | node -e '
  const m = JSON.parse(require("fs").readFileSync(0, "utf8"));
  console.log(Object.entries(m.optionalDependencies ?? {}).map(([k, v]) => `${k}@${v}`).sort().join(" "), m.scripts ? "(has scripts)" : "");')
if [ "$optional" = "tscontainer-linux-arm64-gnu@$version tscontainer-linux-x64-gnu@$version " ]; then
  ok "the root package lists both platform packages as optionalDependencies, and no scripts"
else
  not_ok "the root package lists both platform packages as optionalDependencies, and no scripts" "$optional"
fi

app=$work/app
mkdir -p "$app"
cp "$root_tgz" "$host_tgz" "$other_tgz" "$app/"
node test/dist/install-project.mjs "$app" "$app/$(basename "$root_tgz")" "$app/$(basename "$host_tgz")" "$app/$(basename "$other_tgz")"
# --offline: npm may not reach any registry; the third-party packages come from npm's cache.
if out=$(cd "$app" && npm ci --offline --no-audit --no-fund 2>&1); then
  ok "npm ci --offline of the tarballs in a fresh directory"
else
  not_ok "npm ci --offline of the tarballs in a fresh directory" "$out"
fi
installed=$app/node_modules/tscontainer-linux-$host-gnu
if [ -d "$app/node_modules/tscontainer-linux-$other-gnu" ]; then
  not_ok "npm skipped tscontainer-linux-$other-gnu (cpu $other)"
else
  ok "npm skipped tscontainer-linux-$other-gnu (cpu $other)"
fi

out=$(cd "$app" && npx --offline tscontainer run --rm --name "dist-cli-$$" -- echo ok 2>&1)
if [ "$out" = ok ]; then ok "npx tscontainer run --rm -- echo ok"; else not_ok "npx tscontainer run --rm -- echo ok" "$out"; fi

cat >"$app/check.mjs" <<'EOF'
import { createRequire } from 'node:module';
import { run } from 'tscontainer';

// The addon and the runtime must be the platform package's, not a checkout's.
const addon = createRequire(import.meta.resolve('tscontainer'))('../native/index.cjs');
const runtime = addon.runtimePath();
const c = run({ command: ['sh', '-c', 'echo ok from $$'], stdio: 'pipe', remove: true, name: `dist-api-${process.pid}` });
let output = '';
c.stdout.on('data', (chunk) => (output += chunk));
const result = await c;
console.log(JSON.stringify({ runtime, output, exitCode: result.exitCode }));
EOF
out=$(cd "$app" && node check.mjs 2>&1)
expected="{\"runtime\":\"$installed/tscontainer-runtime\",\"output\":\"ok from 1\\n\",\"exitCode\":0}"
if [ "$out" = "$expected" ]; then
  ok "import { run } from 'tscontainer': runs a container with the platform package's runtime"
else
  not_ok "import { run } from 'tscontainer': runs a container with the platform package's runtime" "got: $out
expected: $expected"
fi

# The loader's failures: one sentence, the CLI's exit status 125, no stack trace.
one_sentence() { # DESCRIPTION EXPECTED-TEXT ENV... -- COMMAND...
  local what=$1 expect=$2 env=() out status
  shift 2
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  out=$(cd "$app" && env "${env[@]}" "$@" 2>&1)
  status=$?
  if [ "$status" -eq 125 ] && [ "$(wc -l <<<"$out")" -eq 1 ] && [[ $out == *"$expect"* ]]; then
    ok "$what: $out"
  else
    not_ok "$what" "status $status: $out"
  fi
}
echo 'Object.defineProperty(process, "platform", { value: "darwin" });' >"$work/darwin.cjs"
one_sentence "an unsupported platform is one sentence" "runs on Linux with glibc on x64 or arm64, not on darwin" \
  -- node --require "$work/darwin.cjs" node_modules/.bin/tscontainer run --rm -- true
one_sentence "TSCONTAINER_ADDON_PATH that does not load is one sentence" "TSCONTAINER_ADDON_PATH is set to /nonexistent.node" \
  TSCONTAINER_ADDON_PATH=/nonexistent.node -- node_modules/.bin/tscontainer run --rm -- true
mv "$installed" "$work/moved"
one_sentence "a missing platform package is one sentence" "the platform package tscontainer-linux-$host-gnu is not installed" \
  -- node_modules/.bin/tscontainer run --rm -- true
mv "$work/moved" "$installed"
# The override loads an addon from anywhere, here a copy of the installed one, and the runtime
# beside it.
mkdir -p "$work/local"
cp -p "$installed/tscontainer.linux-$host-gnu.node" "$installed/tscontainer-runtime" "$work/local/"
out=$(cd "$app" && TSCONTAINER_ADDON_PATH=$work/local/tscontainer.linux-$host-gnu.node node -e \
  'console.log(require("./node_modules/tscontainer/native/index.cjs").runtimePath())' 2>&1)
if [ "$out" = "$work/local/tscontainer-runtime" ]; then
  ok "TSCONTAINER_ADDON_PATH loads an addon from elsewhere, with the runtime beside it"
else
  not_ok "TSCONTAINER_ADDON_PATH loads an addon from elsewhere, with the runtime beside it" "$out"
fi

# --- 4. the other architecture's artifacts --------------------------------------------------
if [ "$other" = arm64 ]; then
  runtime=${pkgdir[arm64]}/tscontainer-runtime addon=${pkgdir[arm64]}/tscontainer.linux-arm64-gnu.node
  if ! command -v qemu-aarch64 >/dev/null; then
    not_ok "qemu-aarch64 is installed (apt-get install qemu-user)"
  else
    # The runtime is static: no -L sysroot, no dynamic loader.
    out=$(qemu-aarch64 "$runtime" --version 2>&1)
    if [[ $out == *"tscontainer-runtime"*"$version"* ]]; then ok "qemu-aarch64 tscontainer-runtime --version: ${out%%$'\n'*}"
    else not_ok "qemu-aarch64 tscontainer-runtime --version" "$out"; fi
    out=$(qemu-aarch64 "$runtime" features 2>&1)
    # The libseccomp version comes from the library linked into the executable.
    # shellcheck disable=SC2016 # JavaScript, not shell
    if summary=$(node -e '
      const f = JSON.parse(process.argv[1]);
      const seccomp = f.annotations?.["io.github.seccomp.libseccomp.version"];
      if (!f.ociVersionMax || !f.linux || !seccomp) process.exit(1);
      console.log(`OCI ${f.ociVersionMax}, libseccomp ${seccomp}`);' "$out" 2>/dev/null); then
      ok "qemu-aarch64 tscontainer-runtime features: $summary"
    else
      not_ok "qemu-aarch64 tscontainer-runtime features" "$out"
    fi
    # The addon cannot run without an arm64 Node, but its libraries must resolve for the
    # aarch64 dynamic loader, as they would when Node loads it.
    sysroot=/usr/aarch64-linux-gnu
    if [ -x "$sysroot/lib/ld-linux-aarch64.so.1" ]; then
      if out=$(qemu-aarch64 -L "$sysroot" -E "LD_LIBRARY_PATH=$sysroot/lib" "$sysroot/lib/ld-linux-aarch64.so.1" --list "$addon" 2>&1) &&
        [[ $out == *libc.so.6* && $out != *"not found"* ]]; then
        ok "qemu-aarch64 ld.so --list: the arm64 addon's libraries resolve"
      else
        not_ok "qemu-aarch64 ld.so --list: the arm64 addon's libraries resolve" "$out"
      fi
    else
      not_ok "the aarch64 dynamic loader is installed (libc6-arm64-cross)"
    fi
  fi
else
  note "on $host_arch the $other artifacts get only the ELF checks above"
fi

# --- 5. actionlint --------------------------------------------------------------------------
actionlint=$repo/target/dist/bin/actionlint
if ! [ -x "$actionlint" ] || [ "$("$actionlint" -version 2>/dev/null | head -n 1)" != "$actionlint_version" ]; then
  GOTOOLCHAIN=local GOBIN=$repo/target/dist/bin go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version" >"$work/go.log" 2>&1 ||
    cat "$work/go.log"
fi
if ! [ -x "$actionlint" ]; then
  not_ok "actionlint $actionlint_version builds (Go at /usr/local/go/bin, the Go module proxy)" "$(cat "$work/go.log" 2>/dev/null)"
elif ! command -v shellcheck >/dev/null; then
  not_ok "shellcheck is installed, for actionlint to check the run: blocks (apt-get install shellcheck)"
else
  check "actionlint $actionlint_version (with shellcheck): $(cd .github/workflows && echo *.yml)" \
    "$actionlint" -shellcheck "$(command -v shellcheck)" -no-color
fi

# --- 6. sizes -------------------------------------------------------------------------------
human() { numfmt --to=iec-i --suffix=B --format=%.1f "$1"; }
for arch in x64 arm64; do
  tgz=$packs/tscontainer-linux-$arch-gnu-$version.tgz
  mkdir -p "$work/size-$arch"
  if ! tar -xzf "$tgz" -C "$work/size-$arch" package/tscontainer-runtime "package/tscontainer.linux-$arch-gnu.node" 2>/dev/null ||
    ! tar -xzf "$tgz" -C "$work/size-$arch"; then
    not_ok "linux-$arch-gnu's tarball holds both binaries, to measure"
    continue
  fi
  bytes=$(du -sb "$work/size-$arch/package" | cut -f1)
  each=$(cd "$work/size-$arch/package" && stat -c '%n %s' tscontainer-runtime "tscontainer.linux-$arch-gnu.node" |
    while read -r f s; do printf '%s %s, ' "$f" "$(human "$s")"; done)
  what="linux-$arch-gnu installs in $(human "$bytes") (${each%, }; download $(human "$(stat -c %s "$tgz")"))"
  if [ "$bytes" -le "$size_budget" ]; then ok "$what"; else not_ok "$what: over $(human "$size_budget")"; fi
done
for arch in x64 arm64; do note "glibc floor: linux-$arch-gnu addon ${floor[$arch]:-?}; runtime static (none)"; done

note "took $((SECONDS - started))s"
finish
