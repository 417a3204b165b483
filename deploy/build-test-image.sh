#!/usr/bin/env bash
# Builds the small local image Hostwright's tests and quick start use, with no registry:
# Debian's busybox-static in a rootfs, imported with `docker import`. Safe to re-run.
set -euo pipefail

IMAGE="${1:-hw/busybox:test}"
BUSYBOX="$(command -v busybox || true)"
if [[ -z "$BUSYBOX" ]] || ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
  BUSYBOX=/bin/busybox
fi
if [[ ! -x "$BUSYBOX" ]]; then
  echo "busybox-static is not installed: run 'apt-get install -y busybox-static'" >&2
  exit 1
fi

if docker image inspect "$IMAGE" >/dev/null 2>&1 && [[ "${FORCE:-0}" != 1 ]]; then
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
chmod 1777 "$rootfs/tmp"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/bin' \
  --change 'WORKDIR /www' \
  --change 'CMD ["sh"]' \
  - "$IMAGE" >/dev/null
echo "built $IMAGE"
