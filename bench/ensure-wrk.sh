#!/usr/bin/env bash
# Make sure wrk (Debian's package) is installed: install it when missing, as root, as CI runs.
set -u
command -v wrk >/dev/null && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-wrk: installing wrk"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q wrk >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; } || true
fi
command -v wrk >/dev/null && exit 0
echo "ensure-wrk: wrk is missing; install it (apt-get install wrk) and run again" >&2
exit 1
