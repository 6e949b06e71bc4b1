#!/usr/bin/env bash
# Make sure PostgreSQL, Redis and RabbitMQ answer on 127.0.0.1, starting each one that is
# installed but stopped. Prints what it did; exits non-zero if one stays down.
set -u

answers() { # host port
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

wait_for() { # name port seconds
  for _ in $(seq 1 "$3"); do
    answers 127.0.0.1 "$2" && return 0
    sleep 1
  done
  echo "ensure-services: $1 does not answer on 127.0.0.1:$2" >&2
  return 1
}

status=0

if ! answers 127.0.0.1 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "ensure-services: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  wait_for PostgreSQL 5432 30 || status=1
fi

if ! answers 127.0.0.1 6379; then
  if command -v redis-server >/dev/null; then
    echo "ensure-services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      >/dev/null || true
  fi
  wait_for Redis 6379 15 || status=1
fi

if ! answers 127.0.0.1 5672; then
  if command -v rabbitmq-server >/dev/null; then
    echo "ensure-services: starting RabbitMQ"
    rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  wait_for RabbitMQ 5672 60 || status=1
fi

# oathtool (Debian's OATH toolkit) computes TOTP codes for the MFA tests independently of
# apprun's own implementation. Install it when missing (as root, as CI runs).
if ! command -v oathtool >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-services: installing oathtool"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q oathtool >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q oathtool >/dev/null 2>&1; } ||
      true
  fi
  command -v oathtool >/dev/null ||
    echo "ensure-services: oathtool is missing (apt-get install oathtool); MFA tests need it" >&2
fi

exit $status
