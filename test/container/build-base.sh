#!/usr/bin/env bash
# Test-only base images for the container test, made without any image registry:
#   $TAG           Debian 12 minbase (debootstrap) + this machine's Node.js 20 binary (the runtime stage)
#   $TAG-build     the same + npm and this machine's CA bundle (egress may go through a TLS proxy);
#                  the build stage only. Nothing is compiled there (koffi and esbuild ship prebuilt
#                  binaries), so it needs no compiler and no Node headers.
# Users never need this: the Containerfile's default base is node:20-bookworm-slim.
# Usage: DOCKER_HOST=unix:///path/docker.sock build-base.sh TAG
# The debootstrap tree is cached as a tarball in $NFTKNOCK_CONTAINER_CACHE (default /var/tmp/nftknock-container).
set -euo pipefail
tag=${1:?usage: build-base.sh TAG}
docker=${DOCKER:-docker}
cache=${NFTKNOCK_CONTAINER_CACHE:-/var/tmp/nftknock-container}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$cache"

node_bin=$(readlink -f "$(command -v node)")
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "build-base: need Node.js >= 20 on this machine, found $("$node_bin" --version)" >&2; exit 1; }
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")

rootfs_tar=$cache/bookworm-minbase.tar
if [ ! -s "$rootfs_tar" ]; then
  tmp=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "build-base: debootstrap --variant=minbase bookworm (once; cached in $rootfs_tar)"
  debootstrap --variant=minbase bookworm "$tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
  tar -C "$tmp" -cf "$rootfs_tar.part" . && mv "$rootfs_tar.part" "$rootfs_tar"
  rm -rf "$tmp"
  trap - EXIT
fi

# Re-importing makes new layers and defeats the build cache: skip when both bases carry this node.
label="nftknock.node=$("$node_bin" --version)"
if [ "$("$docker" image inspect -f '{{index .Config.Labels "nftknock.node"}}' "$tag" "$tag-build" 2>/dev/null | sort -u)" = "${label#*=}" ]; then
  echo "build-base: $tag and $tag-build are up to date (Node ${label#*=})"
  exit 0
fi

work=$(mktemp -d "$cache/layer.XXXXXX")
trap 'rm -rf "$work"' EXIT
path='ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
# `docker import` refuses a tarball with duplicate paths, so each image is a fresh tree, imported as one layer.
tar -C "$work" -xf "$rootfs_tar"
cp "$node_bin" "$work/usr/local/bin/node"
tar -C "$work" -cf - . | "$docker" import -c "$path" -c "LABEL $label" - "$tag" >/dev/null
mkdir -p "$work/usr/local/lib/node_modules" "$work/etc/ssl/certs"
cp -a "$npm_dir" "$work/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/usr/local/bin/npm"
cp /etc/ssl/certs/ca-certificates.crt "$work/etc/ssl/certs/host-ca-bundle.crt"
tar -C "$work" -cf - . | "$docker" import -c "$path" -c "LABEL $label" -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-bundle.crt' - "$tag-build" >/dev/null
echo "build-base: $tag (runtime) and $tag-build (build stage) with Node $("$node_bin" --version)"
