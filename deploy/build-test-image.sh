#!/usr/bin/env bash
# Builds the small local image Hostwright's tests and quick start use, with no registry:
# Debian's busybox-static in a rootfs, imported with `docker import`. Safe to re-run.
set -euo pipefail

IMAGE="${1:-hw/busybox:test}"
# Raised whenever the image's content changes, so an older build on the machine is replaced.
IMAGE_VERSION=2
BUSYBOX="$(command -v busybox || true)"
if [[ -z "$BUSYBOX" ]] || ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
  BUSYBOX=/bin/busybox
fi
if [[ ! -x "$BUSYBOX" ]]; then
  echo "busybox-static is not installed: run 'apt-get install -y busybox-static'" >&2
  exit 1
fi

present="$(docker image inspect --format '{{ index .Config.Labels "io.hostwright.test-image" }}' "$IMAGE" 2>/dev/null || true)"
if [[ "$present" == "$IMAGE_VERSION" && "${FORCE:-0}" != 1 ]]; then
  echo "image $IMAGE already present"
  exit 0
fi

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{bin,etc,tmp,www,proc,sys,dev}
cp "$BUSYBOX" "$rootfs/bin/busybox"
for applet in $("$rootfs/bin/busybox" --list); do
  [[ "$applet" == busybox ]] || ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$rootfs/etc/group"
echo 'hello from hostwright' > "$rootfs/www/index.html"
# A static glibc busybox resolves names (wget http://api:8080/) through glibc's NSS modules, which
# it loads at run time: without them every lookup crashes. Copy them, with the libc they need.
libdir=/lib/x86_64-linux-gnu
mkdir -p "$rootfs$libdir" "$rootfs/lib64"
for lib in libc.so.6 libnss_dns.so.2 libnss_files.so.2 libresolv.so.2 ld-linux-x86-64.so.2; do
  [[ -e "$libdir/$lib" ]] && cp -L "$libdir/$lib" "$rootfs$libdir/$lib"
done
ln -sf "$libdir/ld-linux-x86-64.so.2" "$rootfs/lib64/ld-linux-x86-64.so.2"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
chmod 1777 "$rootfs/tmp"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/bin' \
  --change 'WORKDIR /www' \
  --change 'CMD ["sh"]' \
  --change "LABEL io.hostwright.test-image=$IMAGE_VERSION" \
  - "$IMAGE" >/dev/null
echo "built $IMAGE"
