#!/usr/bin/env bash
# Makes sure redis-server (and redis-cli, which the benchmark compares against) are installed.
# Installs them with apt-get when that is possible; otherwise stops with a message saying how.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
  exit 0
fi

echo "slotshift: redis-server/redis-cli not found; trying to install them with apt-get" >&2
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO="sudo -n"
    else
      echo "slotshift: apt-get needs root; run: sudo apt-get install -y redis-server redis-tools" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq redis-server redis-tools >/dev/null
  # The package starts a system redis on port 6379; slotshift's harness never uses it, so stop it
  # to free the port and the memory (ignored where there is no service manager).
  $SUDO service redis-server stop >/dev/null 2>&1 || true
fi

if ! command -v redis-server >/dev/null 2>&1; then
  cat >&2 <<'MSG'
slotshift: redis-server (7.0 or later) is required and could not be installed automatically.
Install it and run again:
  Debian/Ubuntu:  sudo apt-get install redis-server redis-tools
  Fedora/RHEL:    sudo dnf install redis
  macOS:          brew install redis
Or point REDIS_SERVER at a redis-server binary.
MSG
  exit 1
fi
