# shellcheck shell=bash disable=SC2034,SC2154 # sourced by build.sh: it sets repo, images_dir, cache and host_arch, and reads needs
# archives — image archives of busybox (the busybox recipe's images, same layers), in OUT/:
#   busybox.docker-archive.tar   `skopeo copy ... docker-archive:`: busybox:latest as
#                                localhost/tsfixture/busybox:latest (docker save's format:
#                                manifest.json, the config, uncompressed layer tars)
#   busybox.oci-archive.tar      `skopeo copy ... oci-archive:`: busybox:latest, its
#                                org.opencontainers.image.ref.name localhost/tsfixture/busybox:latest
#   podman-save.docker-archive.tar
#                                `podman save -m --format docker-archive`: two images,
#                                localhost/tsfixture/busybox:latest and
#                                localhost/tsfixture/busybox:configured (a multi-image archive)
#   podman-save.oci-archive.tar  `podman save --format oci-archive` of .../busybox:configured
#   podman-save.oci-dir/         `podman save --format oci-dir` of .../busybox:configured (an
#                                OCI image layout directory; podman 4.3 cannot load it back
#                                from a path with a dot-directory such as test/.work)
# Every manifest is the busybox recipe's, byte for byte, except in the docker-archives (whose
# layers are uncompressed tars, as docker save writes them).
# podman runs with a private store in a directory of its own in /tmp (lib/podman.sh).
needs=(busybox)
inputs() {
  contents_of "$images_dir/lib/podman.sh" "$images_dir/isolate.sh"
  skopeo --version
  podman --version
}

build() {
  local out=$1 s=$2 layout=$cache/busybox/oci name=localhost/tsfixture/busybox
  # shellcheck source=test/images/lib/podman.sh
  . "$images_dir/lib/podman.sh"
  skopeo_isolated copy -q "oci:$layout:latest" "docker-archive:$out/busybox.docker-archive.tar:$name:latest"
  skopeo_isolated copy -q "oci:$layout:latest" "oci-archive:$out/busybox.oci-archive.tar:$name:latest"
  skopeo_isolated copy -q "oci:$layout:configured" "docker-archive:$s/configured.tar:$name:configured"
  (
    # podman wants a short run root path: its directory is in /tmp, removed when this ends.
    trap 'exit 130' INT TERM HUP
    p=$(mktemp -d /tmp/tspodman.XXXXXX)
    trap 'rm -rf "$p"' EXIT
    podman_private "$p"
    "$p/podman" load -q -i "$out/busybox.docker-archive.tar" >/dev/null
    "$p/podman" load -q -i "$s/configured.tar" >/dev/null
    "$p/podman" save -q -m --format docker-archive -o "$out/podman-save.docker-archive.tar" "$name:latest" "$name:configured"
    "$p/podman" save -q --format oci-archive -o "$out/podman-save.oci-archive.tar" "$name:configured"
    "$p/podman" save -q --format oci-dir -o "$out/podman-save.oci-dir" "$name:configured"
  )
}
