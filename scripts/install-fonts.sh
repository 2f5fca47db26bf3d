#!/usr/bin/env bash
# Handwriting-style fonts from Debian for benchmarks/own_photos.py's non-MNIST set (as root).
set -euo pipefail
packages=(fonts-dkg-handwriting fonts-breip fonts-bwht fonts-femkeklaver fonts-humor-sans
          fonts-kristi fonts-rufscript fonts-comic-neue fonts-dancingscript fonts-kaushanscript)
if [ "$(id -u)" != 0 ]; then
    echo "install-fonts: run as root to install: ${packages[*]}" >&2
    exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}"
