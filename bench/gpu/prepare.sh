#!/usr/bin/env bash
# Builds bench/gpu/bundle.tar.xz on a machine with this checkout installed (npm ci done): everything the
# GPU machine lacks — a Node binary, the engine bundled into one file (bench/gpu/gpu-bench.ts + src/),
# onnxruntime-node with its WebGPU provider, and the Vulkan loader (libvulkan1's libvulkan.so.1) —
# xz-compressed to fit the 64 MiB a device run may carry. Run: bench/gpu/prepare.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
stage=bench/gpu/.stage
rm -rf "$stage" && mkdir -p "$stage/minivl-gpu/lib/bench" "$stage/minivl-gpu/node/bin" "$stage/minivl-gpu/vulkan" "$stage/minivl-gpu/lib/node_modules"
root="$stage/minivl-gpu"

# The engine: one ESM file. sharp is never loaded (synthetic inputs), onnxruntime-node is carried as is
# (native binding). The bundle sits two folders below package.json, as src/runtime/*.ts does.
npx esbuild bench/gpu/gpu-bench.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --external:sharp --outfile="$root/lib/bench/gpu-bench.mjs" \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" --log-level=warning
node -e "const p=require('./package.json'); process.stdout.write(JSON.stringify({name:p.name,version:p.version,type:'module'}))" > "$root/lib/package.json"
cp "$root/lib/package.json" "$root/package.json"
cp -r node_modules/onnxruntime-node node_modules/onnxruntime-common "$root/lib/node_modules/"
# Only the Linux x64 binaries are needed there.
find "$root/lib/node_modules/onnxruntime-node/bin" -mindepth 3 -maxdepth 3 -type d ! -path '*/linux/x64' -exec rm -rf {} + 2>/dev/null || true

cp "$(command -v node)" "$root/node/bin/node"
# The Vulkan loader: Debian's libvulkan1 (.deb kept for the record, the library unpacked beside it).
if (cd "$root/vulkan" && apt-get download libvulkan1 >/dev/null 2>&1); then
  dpkg-deb -x "$root"/vulkan/libvulkan1_*.deb "$stage/deb" && cp -L "$stage"/deb/usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$root/vulkan/"
else
  cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$root/vulkan/"
fi
rm -rf "$stage/deb"

tar -C "$stage" -cf - minivl-gpu | xz -T0 -9 > bench/gpu/bundle.tar.xz
rm -rf "$stage"
size=$(stat -c %s bench/gpu/bundle.tar.xz)
echo "bench/gpu/bundle.tar.xz: $((size / 1048576)) MiB" >&2
[ "$size" -le $((64 * 1048576)) ] || { echo "bench/gpu/prepare.sh: the bundle exceeds 64 MiB" >&2; exit 1; }
