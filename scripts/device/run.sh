#!/usr/bin/env bash
# The GPU-machine runner, one command from an unpacked bundle (no Node, no registry needed): bash run.sh
# It runs (1) the speed table on webgpu (reference CNN and ResNet-20) plus the PyTorch peer when python3 has torch,
# (2) one gpu-profile experiment on webgpu, and (3) writes everything as JSON (and logs) under $OUT.
# Environment:
#   OUT                         where results go (default ./out)
#   TRAINKIT_DEVICE_SMOKE=1     tiny settings (speed: reference CNN, 1 timed step; experiment at --profile smoke), for
#                               a software adapter such as SwiftShader
#   TRAINKIT_DEVICE_EXPERIMENT  the experiment to run (default baseline); TRAINKIT_DEVICE_PROFILE overrides the profile
#   TRAINKIT_DEVICE_DATA        a Fashion-MNIST folder (default: the embedded subset in the bundle)
#   TRAINKIT_TORCH_SCRIPT       the PyTorch speed script (default: the first torch/*.py in the bundle); it is called
#                               with --device cuda (cpu without a CUDA GPU) and TRAINKIT_TORCH_ARGS
#   TRAINKIT_DEVICE_FORCE_LOADER=1  use the bundled Vulkan loader even when the system has one (to test it)
#   VK_ICD_FILENAMES            the Vulkan driver; default the NVIDIA ICD at /usr/local/nvidia/share/vulkan/icd.d
set -uo pipefail
B="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$PWD/out}"
W="${TRAINKIT_DEVICE_WORK:-$B/.work}"
mkdir -p "$OUT" "$W"
say() { echo "[device] $*"; }

unxz_to() { # src dst: xz, or Python's lzma where xz is missing
  [ -s "$2" ] && return 0
  if command -v xz >/dev/null 2>&1; then xz -dc "$1" >"$2.tmp"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2.tmp"
  fi && mv "$2.tmp" "$2"
}
unxz_to "$B/node.xz" "$W/node" && chmod +x "$W/node" || { say "cannot unpack node"; exit 1; }
unxz_to "$B/node_modules/webgpu/dist/linux-x64/dawn.node.xz" "$B/node_modules/webgpu/dist/linux-x64/dawn.node" || { say "cannot unpack dawn.node"; exit 1; }
NODE="$W/node"
say "node $("$NODE" --version)"

# Vulkan loader: the system's, else the bundled .debs unpacked here (no root needed, nothing written to /).
if [ "${TRAINKIT_DEVICE_FORCE_LOADER:-0}" = 1 ] || ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1'; then
  mkdir -p "$W/vk"
  for f in "$B"/debs/*.deb; do
    dpkg-deb -x "$f" "$W/vk" 2>/dev/null || (cd "$W" && ar x "$f" && tar -xf data.tar.* -C "$W/vk" && rm -f data.tar.* control.tar.* debian-binary)
  done
  export LD_LIBRARY_PATH="$W/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  say "Vulkan loader from the bundle: $(ls "$W"/vk/usr/lib/x86_64-linux-gnu/libvulkan.so.1* 2>/dev/null | head -1)"
fi
NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ] && [ -f "$NV_ICD" ]; then export VK_ICD_FILENAMES="$NV_ICD" VK_DRIVER_FILES="$NV_ICD"; fi
say "Vulkan ICD: ${VK_ICD_FILENAMES:-${VK_DRIVER_FILES:-system default}}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

if [ "${TRAINKIT_DEVICE_SMOKE:-0}" = 1 ]; then MODELS=smallCnn STEPS=1 PROFILE="${TRAINKIT_DEVICE_PROFILE:-smoke}"
else MODELS=smallCnn,resnet20 STEPS=10 PROFILE="${TRAINKIT_DEVICE_PROFILE:-gpu}"; fi
EXP="${TRAINKIT_DEVICE_EXPERIMENT:-baseline}"
DATA="${TRAINKIT_DEVICE_DATA:-$B/data/fashion-mnist-subset}"
rm -rf "$W/speed" "$W/results" "$W/torch.json"

say "1/3 speed: $MODELS on webgpu, $STEPS timed step(s)"
"$NODE" "$B/bench.mjs" speed --backends webgpu --models "$MODELS" --steps "$STEPS" --out "$W/speed" >"$OUT/speed.log" 2>&1
echo "$?" >"$W/speed.rc"; tail -n 8 "$OUT/speed.log"

TORCH_SCRIPT="${TRAINKIT_TORCH_SCRIPT:-$(ls "$B"/torch/*.py 2>/dev/null | head -n 1)}"
if [ -z "$TORCH_SCRIPT" ]; then echo "skipped: the bundle has no PyTorch speed script" >"$W/torch.skip"
elif ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import torch' 2>/dev/null; then echo "skipped: python3 with torch is not installed" >"$W/torch.skip"
else
  DEV=cuda; python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' || DEV=cpu
  say "1/3 speed: PyTorch peer $(basename "$TORCH_SCRIPT") --device $DEV"
  # shellcheck disable=SC2086
  python3 "$TORCH_SCRIPT" --device "$DEV" ${TRAINKIT_TORCH_ARGS:-} >"$OUT/torch.log" 2>&1
  echo "$?" >"$W/torch.rc"; tail -n 8 "$OUT/torch.log"
fi

say "2/3 experiment: $EXP --profile $PROFILE --backend webgpu (data $DATA)"
"$NODE" "$B/bench.mjs" run "$EXP" --profile "$PROFILE" --backend webgpu --data "$DATA" --out "$W/results" >"$OUT/run.log" 2>&1
echo "$?" >"$W/run.rc"; tr '\r' '\n' <"$OUT/run.log" | grep -v '^\s*$' | grep -v ' ETA ' | tail -n 8

say "3/3 collect"
"$NODE" "$B/collect.mjs" "$W" "$OUT/device-run.json" "$EXP" "$PROFILE"
