#!/usr/bin/env bash
# Builds the ffprobe Lambda layer binaries (ffprobe from pinned Debian sources, minimal, static;
# confine, the wrapper the function runs it through) for one architecture, caches them outside the
# repository, and installs them as a layer tree.
#
#   build.sh build <arm64|x86_64> <out-dir>   -> <out-dir>/bin/{ffprobe,confine} + <out-dir>/share/doc/ffprobe/
#   build.sh key <arm64|x86_64>               -> prints the cache key
#   build.sh update-pins                      -> re-pins to what Debian serves now (see pins.env)
#
# Environment: FFPROBE_CACHE_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/media-probe/ffprobe),
# FFPROBE_JOBS (make -j, default: number of CPUs), FFPROBE_DEBIAN_MIRROR,
# FFPROBE_DEBIAN_SECURITY_MIRROR (default deb.debian.org).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache_root=${FFPROBE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/media-probe/ffprobe}
mirror=${FFPROBE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${FFPROBE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# FFmpeg's source comes from trixie (+ trixie-security), the release with FFmpeg 7.1. The static
# libraries linked into it come from bookworm (+ bookworm-security), the release of the toolchain
# that builds and links everything (gcc 12, glibc 2.36): trixie's libssl.a calls glibc 2.38's
# __isoc23_strtol and needs libzstd, so it cannot be linked against bookworm's static glibc.
ffmpeg_suite=trixie
library_suite=bookworm
# Static libraries linked into ffprobe; both architectures are pinned together.
sysroot_packages=(libssl-dev zlib1g-dev)

log() { printf 'ffprobe-layer: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Maps the accepted spellings to: layer arch, Debian arch, GNU triplet, FFmpeg --arch.
set_arch() {
  case "$1" in
    arm64 | aarch64) arch=arm64 deb_arch=arm64 triplet=aarch64-linux-gnu ff_arch=aarch64 ;;
    x86_64 | amd64) arch=x86_64 deb_arch=amd64 triplet=x86_64-linux-gnu ff_arch=x86_64 ;;
    *) die "unknown architecture '$1' (expected arm64 or x86_64)" ;;
  esac
}

host_deb_arch() {
  case "$(uname -m)" in
    aarch64 | arm64) echo arm64 ;;
    x86_64 | amd64) echo amd64 ;;
    *) die "unsupported build machine architecture $(uname -m)" ;;
  esac
}

# Everything that determines the binary's bytes; the toolchain is Debian bookworm's and
# is recorded in BUILDINFO rather than keyed, so a cache restored in CI is not invalidated
# by a gcc point release.
cache_key() {
  {
    echo "arch=$arch"
    for f in pins.env SHA256SUMS configure.options build.sh confine.c; do
      echo "== $f"
      cat "$here/$f"
    done
    for f in "$here"/patches/*.patch; do
      echo "== patches/$(basename "$f")"
      cat "$f"
    done
  } | sha256sum | cut -c1-16
}

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo > /dev/null; then
    sudo "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# Installs only what is missing, so a prepared machine never touches apt.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get > /dev/null || die "missing build tools (${missing[*]}); build on Debian bookworm (see docs/ffprobe-layer.md)"
  log "installing build dependencies: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
}

ensure_build_deps() {
  local pkgs=(make xz-utils dpkg-dev patch binutils debian-archive-keyring)
  if [ "$deb_arch" = "$(host_deb_arch)" ]; then
    pkgs+=(gcc libc6-dev)
    cross_prefix=
  else
    pkgs+=("gcc-$triplet" "libc6-dev-$deb_arch-cross")
    cross_prefix=$triplet-
  fi
  # FFmpeg's x86 SIMD code is NASM syntax; the aarch64 code is GNU as.
  [ "$arch" = x86_64 ] && pkgs+=(nasm)
  if [ -r /etc/os-release ] && ! grep -q '^VERSION_CODENAME=bookworm' /etc/os-release; then
    log "warning: not Debian bookworm; the pinned toolchain assumptions may not hold"
  fi
  ensure_packages "${pkgs[@]}"
}

# A private apt configuration (own sources, lists and cache under the cache directory):
# deb-src, the other release and the foreign architecture are needed only here, so the
# machine's apt setup is never modified. Sources come only from the FFmpeg release and binary
# packages only from the libraries' release, so a candidate version is always the right release's.
# One directory per pair of releases: builds of other pins may share the cache meanwhile.
# apt verifies the archive's signatures; SHA256SUMS then pins the bytes.
apt_private() {
  local dir=$cache_root/apt/$ffmpeg_suite+$library_suite
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  cat > "$dir/sources.list" << EOF
deb-src [signed-by=$keyring] $mirror $ffmpeg_suite main
deb-src [signed-by=$keyring] $security_mirror $ffmpeg_suite-security main
deb [signed-by=$keyring] $mirror $library_suite main
deb [signed-by=$keyring] $security_mirror $library_suite-security main
EOF
  local opts=(
    -o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
    -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 -o Acquire::Languages=none
  )
  [ "$(id -u)" = 0 ] && opts+=(-o APT::Sandbox::User=root)
  "$1" "${opts[@]}" "${@:2}"
}

# Downloads (once) and verifies every pinned input into $downloads.
fetch_inputs() {
  downloads=$cache_root/downloads
  mkdir -p "$downloads"
  exec 8> "$cache_root/.downloads.lock"
  flock 8
  if ! (cd "$downloads" && sha256sum --quiet -c "$here/SHA256SUMS" > /dev/null 2>&1); then
    log "downloading the pinned inputs from Debian $ffmpeg_suite and $library_suite"
    # shellcheck source=pins.env
    . "$here/pins.env"
    local debs=() p a
    for p in "${sysroot_packages[@]}"; do
      for a in amd64 arm64; do debs+=("$p:$a=$(pin_version "$p")"); done
    done
    apt_private apt-get update -qq
    (cd "$downloads" && apt_private apt-get source -qq --download-only "ffmpeg=$FFMPEG_VERSION" > /dev/null) ||
      die "ffmpeg $FFMPEG_VERSION is no longer in Debian $ffmpeg_suite; run 'make -C layers/ffprobe update-pins' (see docs/ffprobe-layer.md)"
    (cd "$downloads" && apt_private apt-get download -qq "${debs[@]}" > /dev/null) ||
      die "a pinned package (${debs[*]}) is no longer in Debian $library_suite; run 'make -C layers/ffprobe update-pins'"
    (cd "$downloads" && sha256sum --quiet -c "$here/SHA256SUMS") || die "downloaded inputs do not match SHA256SUMS"
  fi
  exec 8>&-
}

# The downloads directory may still hold files of earlier pins: pick by SHA256SUMS.
pinned_file() {
  awk '{print $2}' "$here/SHA256SUMS" | grep -E "$1" | head -1
}

pin_version() {
  case "$1" in
    libssl-dev) echo "$OPENSSL_VERSION" ;;
    zlib1g-dev) echo "$ZLIB_VERSION" ;;
  esac
}

# Unpacks the Debian source (with Debian's patches), applies ours, and extracts the static
# libraries' packages into .sysroot inside the tree: configure and make then use relative
# paths only, so no build-machine path ends up in the binary's embedded configuration.
prepare_tree() {
  local dsc
  rm -rf "$work"
  mkdir -p "$work"
  dsc=$(pinned_file '^ffmpeg_.*\.dsc$')
  log "unpacking $dsc"
  dpkg-source --no-copy -x "$downloads/$dsc" "$work/ffmpeg" > "$work/dpkg-source.log" 2>&1 ||
    { cat "$work/dpkg-source.log" >&2; die "dpkg-source failed"; }
  local p
  for p in "$here"/patches/*.patch; do
    patch -s -p1 -d "$work/ffmpeg" < "$p" || die "patch $(basename "$p") does not apply"
  done
  for p in "${sysroot_packages[@]}"; do
    dpkg-deb -x "$downloads/$(pinned_file "^${p}_.*_$deb_arch\\.deb$")" "$work/ffmpeg/.sysroot"
  done
}

configure_and_make() {
  local opts=() line
  while read -r line; do
    line=${line%%#*}
    line=${line%"${line##*[![:space:]]}"}
    [ -n "$line" ] && opts+=("$line")
  done < "$here/configure.options"
  local sys=.sysroot
  opts+=(
    # pkg-config would find the build machine's own (possibly other-arch) .pc files; the
    # fallback probes in configure link -lssl -lcrypto / -lz from the flags below.
    --pkg-config=false
    --extra-cflags="-I$sys/usr/include -I$sys/usr/include/$triplet -fstack-protector-strong -D_FORTIFY_SOURCE=2"
    # static-pie keeps ASLR for a fully static binary parsing untrusted input.
    --extra-ldflags="-L$sys/usr/lib/$triplet -static-pie -Wl,-z,relro,-z,now"
    --enable-pic
  )
  if [ -n "$cross_prefix" ]; then
    opts+=(--enable-cross-compile --cross-prefix="$cross_prefix" --arch="$ff_arch" --target-os=linux)
  fi
  log "configuring for $arch (log: $work/configure.log)"
  (cd "$work/ffmpeg" && ./configure "${opts[@]}") > "$work/configure.log" 2>&1 ||
    { tail -30 "$work/configure.log" >&2; tail -30 "$work/ffmpeg/ffbuild/config.log" >&2 || true; die "configure failed"; }
  log "compiling with make -j${FFPROBE_JOBS:-$(nproc)} (log: $work/make.log)"
  make -C "$work/ffmpeg" -j"${FFPROBE_JOBS:-$(nproc)}" ffprobe > "$work/make.log" 2>&1 ||
    { grep -E 'error|Error' "$work/make.log" | tail -30 >&2; die "make failed"; }
  cp "$work/ffmpeg/ffprobe" "$work/ffprobe"
  "${cross_prefix}strip" --strip-all "$work/ffprobe"
}

# confine.c, the wrapper the probe function runs ffprobe through: static and hardened like ffprobe,
# with the same (cross) compiler. -Werror holds with the pinned toolchain (Debian bookworm's gcc 12).
compile_confine() {
  log "compiling confine for $arch"
  "${cross_prefix}gcc" -std=c11 -O2 -Wall -Wextra -Werror -fstack-protector-strong -D_FORTIFY_SOURCE=2 \
    -static-pie -Wl,-z,relro,-z,now -o "$work/confine" "$here/confine.c" > "$work/confine.log" 2>&1 ||
    { cat "$work/confine.log" >&2; die "compiling confine failed"; }
  "${cross_prefix}strip" --strip-all "$work/confine"
}

# Refuses to cache a binary that is not what Lambda can run from an empty /opt. A native build
# must also run the given arguments.
check_binary() {
  local bin=$1 machine
  shift
  machine=$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
  case "$arch:$machine" in
    arm64:AArch64 | x86_64:*X86-64*) ;;
    *) die "$bin is built for '$machine', not $arch" ;;
  esac
  readelf -l "$bin" | grep -q 'INTERP' && die "$bin needs a dynamic loader"
  readelf -d "$bin" | grep -q '(NEEDED)' && die "$bin needs shared libraries"
  if [ "$deb_arch" = "$(host_deb_arch)" ]; then
    "$bin" "$@" > /dev/null || die "$bin does not run"
  fi
}

write_docs() {
  local doc=$1 p
  mkdir -p "$doc/patches"
  cp "$work/ffmpeg/COPYING.LGPLv3" "$work/ffmpeg/COPYING.LGPLv2.1" "$doc/"
  cp "$work/ffmpeg/LICENSE.md" "$doc/FFmpeg-LICENSE.md"
  cp "$work/ffmpeg/debian/copyright" "$doc/FFmpeg-debian-copyright"
  for p in "${sysroot_packages[@]}"; do
    cp "$work/ffmpeg/.sysroot/usr/share/doc/$p/copyright" "$doc/$p-copyright"
  done
  # Debian's OpenSSL copyright file only names the licence; Apache-2.0 asks for its full text.
  cp /usr/share/common-licenses/Apache-2.0 "$doc/Apache-2.0"
  cp "$here"/patches/*.patch "$doc/patches/"
  cp "$here/confine.c" "$doc/confine.c"
  {
    echo "ffprobe for AWS Lambda ($arch), built by layers/ffprobe/build.sh"
    echo "cache key: $key"
    # shellcheck source=pins.env
    . "$here/pins.env"
    echo "FFmpeg: Debian $ffmpeg_suite source package ffmpeg $FFMPEG_VERSION"
    echo "OpenSSL (static): Debian $library_suite libssl-dev $OPENSSL_VERSION"
    echo "zlib (static): Debian $library_suite zlib1g-dev $ZLIB_VERSION"
    echo "compiler: $("${cross_prefix}gcc" --version | head -1)"
    echo "patches: $(cd "$here/patches" && ls)"
    echo "confine: built from confine.c (in this directory) with the same compiler"
    echo "licence: FFmpeg under LGPL v3 or later (--enable-version3), OpenSSL under Apache-2.0, zlib under the zlib licence"
    echo "input checksums (sha256):"
    sed 's/^/  /' "$here/SHA256SUMS"
    echo "configuration: $("$work/ffprobe" -hide_banner -buildconf 2> /dev/null | tr -s ' \n' ' ' || true)"
  } > "$doc/BUILDINFO"
}

install_layer() {
  local from=$1 out=$2
  rm -rf "$out/bin/ffprobe" "$out/bin/confine" "$out/share/doc/ffprobe"
  mkdir -p "$out/bin" "$out/share/doc"
  cp "$from/ffprobe" "$from/confine" "$out/bin/"
  chmod 0755 "$out/bin/ffprobe" "$out/bin/confine"
  cp -r "$from/doc" "$out/share/doc/ffprobe"
}

cmd_build() {
  set_arch "$1"
  local out=$2
  key=$(cache_key)
  local cached=$cache_root/$key/$arch
  mkdir -p "$cache_root"
  exec 9> "$cache_root/.build-$key-$arch.lock"
  flock 9
  if [ -x "$cached/ffprobe" ] && [ -x "$cached/confine" ]; then
    log "cache hit: $cached/ffprobe"
  else
    local started=$SECONDS
    work=$cache_root/work/$key-$arch
    ensure_build_deps
    fetch_inputs
    prepare_tree
    configure_and_make
    compile_confine
    check_binary "$work/ffprobe" -hide_banner -version
    check_binary "$work/confine" --status
    local staging=$cache_root/$key/.$arch.tmp
    rm -rf "$staging"
    mkdir -p "$staging"
    cp "$work/ffprobe" "$work/confine" "$staging/"
    write_docs "$staging/doc"
    mv "$staging" "$cached"
    rm -rf "$work"
    log "built $arch in $((SECONDS - started)) s: $cached/ffprobe"
  fi
  install_layer "$cached" "$out"
  log "installed $out/bin/ffprobe ($(du -k "$out/bin/ffprobe" | cut -f1) KiB) and $out/bin/confine"
}

# Points the pins at the versions Debian currently serves (FFmpeg: the newest source in
# trixie or trixie-security; the libraries: bookworm's candidates, bookworm-security's
# included) and records their checksums; the next build then downloads and verifies
# exactly those.
cmd_update_pins() {
  ensure_packages dpkg-dev debian-archive-keyring
  apt_private apt-get update -qq
  local ffmpeg openssl zlib
  ffmpeg=$(apt_private apt-cache showsrc ffmpeg | sed -n 's/^Version: //p' | sort -V | tail -1)
  openssl=$(apt_private apt-cache policy libssl-dev | sed -n 's/^ *Candidate: //p')
  zlib=$(apt_private apt-cache policy zlib1g-dev | sed -n 's/^ *Candidate: //p')
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && apt_private apt-get source -qq --download-only "ffmpeg=$ffmpeg" > /dev/null &&
    apt_private apt-get download -qq "libssl-dev:amd64=$openssl" "libssl-dev:arm64=$openssl" \
      "zlib1g-dev:amd64=$zlib" "zlib1g-dev:arm64=$zlib" > /dev/null)
  cat > "$here/pins.env" << EOF
# Pinned Debian inputs of the ffprobe layer: FFmpeg's source package from $ffmpeg_suite (+ security),
# the static libraries from $library_suite (+ security), the release of the toolchain (build.sh says why).
# Change only with 'make -C layers/ffprobe update-pins', which also rewrites SHA256SUMS.
FFMPEG_VERSION=$ffmpeg
OPENSSL_VERSION=$openssl
ZLIB_VERSION=$zlib
EOF
  (cd "$tmp" && sha256sum -- *.dsc *.tar.* *.deb) > "$here/SHA256SUMS"
  rm -rf "$tmp"
  log "pinned ffmpeg $ffmpeg, libssl-dev $openssl, zlib1g-dev $zlib"
}

case "${1:-}" in
  build) [ $# -eq 3 ] || die "usage: $0 build <arm64|x86_64> <out-dir>"; cmd_build "$2" "$3" ;;
  key) [ $# -eq 2 ] || die "usage: $0 key <arm64|x86_64>"; set_arch "$2"; cache_key ;;
  update-pins) cmd_update_pins ;;
  *) die "usage: $0 build <arch> <out-dir> | key <arch> | update-pins" ;;
esac
