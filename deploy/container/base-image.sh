#!/bin/sh
# Builds the base image from Debian's packages, for hosts that reach Debian's mirrors but no image
# registry: Debian bookworm (minbase) with python3, python3-venv and ca-certificates, imported into
# podman's local storage. The Containerfile takes it as BASE_IMAGE instead of python:3.11-slim-bookworm.
#
#   deploy/container/base-image.sh [IMAGE]    (default localhost/referral-service-base:bookworm)
set -eu
image="${1:-localhost/referral-service-base:bookworm}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
tarball="$(mktemp --suffix=.tar)"
trap 'rm -f "$tarball"' EXIT
# Documentation, manual pages and apt's downloaded lists are of no use in the image.
mmdebstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$tarball" "deb $mirror bookworm main" "deb $mirror-security bookworm-security main" \
    "deb $mirror bookworm-updates main"
podman import --change 'CMD ["/bin/bash"]' "$tarball" "$image"
