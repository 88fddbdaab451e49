# shellcheck shell=bash disable=SC2034,SC2154 # sourced by build.sh: it sets repo, images_dir, cache and host_arch, and reads needs
# busybox — OUT/oci, an OCI layout of linux/<host arch> images of busybox_tree (lib/tree.sh:
# test/fixtures/build-rootfs.sh's tree — static busybox from Debian's busybox-static with a
# relative link per applet, users root, nobody, tester (1000), group staff (50) with tester
# in it — plus /usr/local/bin/entrypoint, /srv/app owned by 1000:1000 and /etc/os-release
# with ID=tscontainer-busybox). Its tags:
#   latest        one gzip layer; config configs/busybox.json: Cmd ["sh"], Env PATH, nothing else
#   configured    the same layer (same digest); config configs/busybox-configured.json: User
#                 tester, WorkingDir /srv/app, Entrypoint /usr/local/bin/entrypoint, Cmd that
#                 prints "ran tester 1000 50 /srv/app hello from the image", Env (GREETING,
#                 SPACED, EMPTY), ExposedPorts 8080/tcp 5353/udp, Labels, StopSignal SIGUSR1
#   zstd          the same tree as one zstd layer (application/vnd.oci.image.layer.v1.tar+zstd); latest's config
#   uncompressed  the same tree as one uncompressed layer (...layer.v1.tar); latest's config
# Every mtime and `created` is 2024-01-01T00:00:00Z: the digests do not change between builds.
inputs() {
  contents_of /bin/busybox "$repo/test/fixtures/build-rootfs.sh" "$images_dir"/configs/busybox*.json
  echo "$host_arch"
}

build() {
  local out=$1 scratch=$2 platform
  platform=$(platform_of "$host_arch")
  busybox_tree "$scratch/rootfs"
  tar_layer "$scratch/rootfs" "$scratch/busybox.tar"
  oci image "$out/oci" --tag latest --platform "$platform" --config "$images_dir/configs/busybox.json" \
    --layer "$scratch/busybox.tar:gzip" >/dev/null
  oci image "$out/oci" --tag configured --platform "$platform" --config "$images_dir/configs/busybox-configured.json" \
    --layer "$scratch/busybox.tar:gzip" >/dev/null
  oci image "$out/oci" --tag zstd --platform "$platform" --config "$images_dir/configs/busybox.json" \
    --layer "$scratch/busybox.tar:zstd" >/dev/null
  oci image "$out/oci" --tag uncompressed --platform "$platform" --config "$images_dir/configs/busybox.json" \
    --layer "$scratch/busybox.tar:none" >/dev/null
}
