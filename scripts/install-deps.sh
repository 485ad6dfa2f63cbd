#!/usr/bin/env bash
# Installs what malloc4j's build, tests and replay need on a Debian machine:
# Maven, and the native allocators replay compares against. Skips what is present.
set -euo pipefail
need=()
command -v mvn >/dev/null 2>&1 || need+=(maven)
for pkg in libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "malloc4j: please install: ${need[*]} (needs root)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
