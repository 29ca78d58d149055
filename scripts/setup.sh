#!/usr/bin/env bash
# Installs everything the tests and the local run need, from the project's own files:
# Debian packages that are missing (root or sudo), npm packages from the lockfile, the pinned
# Python tools (.venv), DynamoDB Local (Maven Central, pinned) and this machine's ffprobe build.
# Idempotent: a prepared machine only checks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# ffmpeg generates test media; mediainfo is the second opinion the media summary is compared with
# (tests/integration/media-corpus.test.ts); qemu-user-static runs the arm64 layer in tests; maven
# fetches DynamoDB Local and event-ruler.
packages=(ffmpeg mediainfo qemu-user-static maven openjdk-17-jre-headless strace)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "setup: installing ${missing[*]}" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
tools/venv.sh
make -s -C layers/ffprobe host
