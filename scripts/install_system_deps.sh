#!/usr/bin/env bash
# Install the Debian packages the project needs, once. Groups:
#   r        R and Seurat (the Seurat competitor; users of conda get them from envs/seurat.yaml)
#   browser  Chromium and ChromeDriver (the report's browser test)
#   slurm    a single-node SLURM and munge (the cluster test)
# Packages already installed are skipped, so a second call does nothing. Without root
# or apt-get, it prints what is missing and carries on: the tests that need it skip.
set -euo pipefail

declare -A GROUPS_PKGS=(
  [r]="r-base-core r-cran-seurat"
  [browser]="chromium chromium-driver"
  [slurm]="slurmctld slurmd slurm-client munge"
)

missing=()
for group in "$@"; do
  pkgs=${GROUPS_PKGS[$group]:?unknown group $group (r, browser, slurm)}
  for pkg in $pkgs; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_system_deps: missing Debian packages: ${missing[*]}" >&2
  echo "install_system_deps: install them as root (apt-get install ${missing[*]}); tests needing them skip" >&2
  exit 0
fi
echo "install_system_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
