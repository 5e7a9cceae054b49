#!/usr/bin/env bash
# Installs the Debian 12 packages IGPG Studio needs to build, test and run, skipping
# those already present. The one list of packages: the README's commands and .ci/run
# all come through here.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config dpkg-dev file
  # libraries (LibTorch 1.13 CPU, Qt 6, QCustomPlot, SQLite, nlohmann/json, zlib)
  libtorch-dev qt6-base-dev libqcustomplot-dev libsqlite3-dev nlohmann-json3-dev zlib1g-dev
  # LibTorch's BLAS: Debian's reference libblas is ~10x slower than OpenBLAS for matmuls,
  # and the OpenMP build shares LibTorch's threads (cmake/IgpgBlas.cmake says why)
  libopenblas0-openmp
  # real data: Fashion-MNIST and scikit-learn's 8x8 digits
  dataset-fashion-mnist python3-sklearn
  # offscreen plots and screenshots under Xvfb
  xvfb xauth fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#packages[@]} Debian packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
