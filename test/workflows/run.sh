#!/usr/bin/env bash
# test/workflows/run.sh [DIR] — the workflows tier: reads the GitHub workflows in DIR
# (.github/workflows) as YAML and checks them against what GitHub's runners provide
# (test/workflows/check.ts; the runner facts and their sources are in facts.ts), then runs the
# release scripts those workflows rely on: npm/check-versions.mjs, and npm/publish.mjs against a
# stand-in npm that plays the registry (nothing is sent anywhere). Prints TAP and, as its last
# line, `N passed, N failed`. Needs Node and the devDependencies (npm ci).
#
#   bash test/workflows/run.sh                       # this checkout's workflows
#   git archive main .github/workflows | tar -x -C /tmp/old && bash test/workflows/run.sh /tmp/old/.github/workflows
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
# shellcheck source=test/lib/tap.sh
. "$repo/test/lib/tap.sh"
dir=${1:-$repo/.github/workflows}

if ! [ -f node_modules/js-yaml/package.json ] || ! [ -f node_modules/tsx/package.json ]; then
  skipped "workflows tier: the devDependencies are not installed (npm ci)"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- the workflows --------------------------------------------------------------------------
if node --import tsx test/workflows/check.ts "$dir" >"$work/check" 2>"$work/check.err"; then
  while IFS=$'\t' read -r -a fields; do
    status=${fields[0]} name=${fields[1]}
    if [ "$status" = ok ]; then ok "$name"; else not_ok "$name" "${fields[@]:2}"; fi
  done <"$work/check"
else
  not_ok "test/workflows/check.ts reads the workflows in $dir" "$(cat "$work/check.err")"
fi

# --- the release scripts --------------------------------------------------------------------
version=$(node -p 'require("./package.json").version')
# A copy of what the scripts read (their modules and every package.json), to change freely.
tree() {
  rm -rf "$work/tree" && mkdir -p "$work/tree/npm"
  cp package.json "$work/tree/" && cp npm/*.mjs "$work/tree/npm/"
  for d in npm/*/; do mkdir -p "$work/tree/$d" && cp "$d/package.json" "$work/tree/$d"; done
}

check "npm/check-versions.mjs accepts v$version, the version of every package.json here" \
  node npm/check-versions.mjs "v$version"
tree
node -e 'const f=process.argv[1], m=JSON.parse(require("fs").readFileSync(f)); m.version="9.9.9"; require("fs").writeFileSync(f, JSON.stringify(m))' \
  "$work/tree/npm/linux-arm64-gnu/package.json"
if out=$(node "$work/tree/npm/check-versions.mjs" "v$version" 2>&1 >/dev/null); then
  not_ok "npm/check-versions.mjs refuses a tag that one platform package.json does not match" "exited 0"
elif [[ $out == *"npm/linux-arm64-gnu/package.json"*9.9.9* ]]; then
  ok "npm/check-versions.mjs refuses a tag that one platform package.json does not match, naming it: $out"
else
  not_ok "npm/check-versions.mjs refuses a tag that one platform package.json does not match, naming it" "$out"
fi

# A stand-in npm: `view NAME@V dist.integrity` answers from $REGISTRY/NAME (E404 without it),
# `publish` and `--version` are logged and answered.
mkdir -p "$work/bin"
cat >"$work/bin/npm" <<'EOF'
#!/usr/bin/env bash
case $1 in
  --version) echo "${NPM_VERSION:-11.6.0}" ;;
  view)
    name=${2%@*}
    if [ -f "$REGISTRY/$name" ]; then printf '"%s"\n' "$(cat "$REGISTRY/$name")"
    else echo '{"error":{"code":"E404","summary":"Not Found"}}'; exit 1; fi ;;
  publish) echo "$*" >>"$PUBLISHED" ;;
  *) echo "stand-in npm: $*" >&2; exit 2 ;;
esac
EOF
chmod +x "$work/bin/npm"
integrity() { node -e 'console.log("sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$1"; }

# tarballs VERSION: $work/packs holds the root and platform packages at VERSION, as pack-root.mjs
# would name them (package/package.json is all the script reads).
tarballs() {
  rm -rf "$work/packs" && mkdir -p "$work/packs"
  node -e '
    const fs = require("fs"), path = require("path");
    const [tree, out, v] = process.argv.slice(1);
    const platforms = fs.readdirSync(path.join(tree, "npm"), { withFileTypes: true }).filter((e) => e.isDirectory())
      .map((e) => JSON.parse(fs.readFileSync(path.join(tree, "npm", e.name, "package.json"))).name);
    const root = JSON.parse(fs.readFileSync(path.join(tree, "package.json")));
    const write = (m) => { fs.mkdirSync(path.join(out, m.name, "package"), { recursive: true });
      fs.writeFileSync(path.join(out, m.name, "package", "package.json"), JSON.stringify(m)); };
    for (const name of platforms) write({ name, version: v });
    write({ name: root.name, version: v, optionalDependencies: Object.fromEntries(platforms.map((p) => [p, v])) });' \
    "$work/tree" "$work/staged" "$1"
  for d in "$work/staged"/*/; do
    tar -czf "$work/packs/$(basename "$d")-$1.tgz" -C "$d" package
  done
  rm -rf "$work/staged"
}

# publish [FLAG]: npm/publish.mjs on $work/packs for v$version, with the stand-in npm.
publish() {
  : >"$work/published"
  env PATH="$work/bin:$PATH" REGISTRY="$work/registry" PUBLISHED="$work/published" \
    node "$work/tree/npm/publish.mjs" "$work/packs" "v$version" "$@" >"$work/publish.out" 2>&1
}
tree
tarballs "$version"
mapfile -t platforms < <(cd "$work/tree/npm" && for d in */; do node -p "require('./${d}package.json').name"; done)
first=${platforms[0]}
root_name=$(node -p 'require("./package.json").name')
expected_order="${platforms[*]:1} $root_name"

# 1. One platform package is on the registry with this very tarball (a partial release).
rm -rf "$work/registry" && mkdir -p "$work/registry"
integrity "$work/packs/$first-$version.tgz" >"$work/registry/$first"
publish --dry-run
order=$(awk '{print $2}' "$work/published" | xargs -rn1 basename | sed "s/-$version\.tgz\$//" | paste -sd' ')
if [ "$order" = "$expected_order" ] && grep -q "skip $first@$version" "$work/publish.out"; then
  ok "npm/publish.mjs skips $first@$version, already published with the same tarball, and publishes the rest, the root package last: $order"
else
  not_ok "npm/publish.mjs skips a version published with the same tarball and publishes the rest, the root package last" "published: $order" "$(cat "$work/publish.out")"
fi
# 2. One is there with another tarball: nothing may be published.
echo "sha512-c29tZXRoaW5nIGVsc2U=" >"$work/registry/$first"
if publish --dry-run; then
  not_ok "npm/publish.mjs publishes nothing when a version is on the registry with another tarball" "exited 0" "$(cat "$work/publish.out")"
elif [ -s "$work/published" ]; then
  not_ok "npm/publish.mjs publishes nothing when a version is on the registry with another tarball" "published: $(cat "$work/published")"
else
  ok "npm/publish.mjs publishes nothing when a version is on the registry with another tarball: $(tail -n 1 "$work/publish.out")"
fi
# 3. A tarball at another version than the tag.
rm -rf "$work/registry" && mkdir -p "$work/registry"
tarballs 9.9.9
for f in "$work/packs"/*; do mv "$f" "${f/-9.9.9.tgz/-$version.tgz}"; done
if ! publish --dry-run && ! [ -s "$work/published" ] && grep -q "9.9.9" "$work/publish.out"; then
  ok "npm/publish.mjs publishes nothing when a tarball's version is not the tag's: $(tail -n 1 "$work/publish.out")"
else
  not_ok "npm/publish.mjs publishes nothing when a tarball's version is not the tag's" "$(cat "$work/publish.out")"
fi
# 4. Trusted publishing needs npm >= 11.5.1: a real publish with an older npm stops first.
tarballs "$version"
if ! NPM_VERSION=10.9.2 publish && ! [ -s "$work/published" ] && grep -q "11.5.1" "$work/publish.out"; then
  ok "npm/publish.mjs refuses npm 10.9.2 (trusted publishing needs 11.5.1): $(tail -n 1 "$work/publish.out")"
else
  not_ok "npm/publish.mjs refuses an npm older than 11.5.1" "$(cat "$work/publish.out")"
fi

finish
