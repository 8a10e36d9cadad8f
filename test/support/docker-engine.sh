#!/usr/bin/env bash
# docker-engine.sh — a private Docker engine for the image test (test/image), started like the Ceph
# harness (ceph-rgw.sh): Debian's docker.io, installed with apt-get when missing, run as root.
#
#   docker-engine.sh start USER_PID   # registers USER_PID as a user; reuses an engine that answers,
#                                     # else clears what a dead one left and starts a fresh one;
#                                     # prints its DOCKER_HOST (exit 3 and the reason: cannot start)
#   docker-engine.sh stop USER_PID    # unregisters USER_PID; the last live user stops the engine and
#                                     # removes everything it left (data-root, exec-root, mounts)
#   docker-engine.sh status
#
# Private on purpose: its socket is $DOCKER_TEST_DIR/docker.sock, never /var/run/docker.sock (the S3
# harness would find that one and try to pull MinIO), with its own data-root, exec-root, pidfile and
# an empty daemon.json. It leaves the host's network exactly as it was: no bridge, no iptables rules,
# no forwarding or masquerading; builds and containers use `--network host` (loopback only).
# Users are pids in $DOCKER_TEST_DIR/users: a killed run's pid is dead, so the next run reuses its
# engine if it answers (and stops it when done) or restarts it if not. Everything under one lock.
#
# Env (defaults): DOCKER_TEST_DIR=/run/stowage-test-docker  DOCKER_TEST_DATA=/var/lib/stowage-test-docker
#   DOCKER_INSTALL=1 (apt-get docker.io, docker-compose and debootstrap if missing)
set -Eeuo pipefail

RUN_DIR=${DOCKER_TEST_DIR:-/run/stowage-test-docker}
DATA_DIR=${DOCKER_TEST_DATA:-/var/lib/stowage-test-docker}
DOCKER_INSTALL=${DOCKER_INSTALL:-1}
SOCK="$RUN_DIR/docker.sock"
PIDFILE="$RUN_DIR/dockerd.pid"
EXEC_ROOT="$RUN_DIR/exec"
USERS="$RUN_DIR/users"
LOG="$RUN_DIR/dockerd.log"
# containers' cgroups go under this parent, so a dead engine's containers can be found and killed
CGROUP=stowage-test-docker
APT_LOG=/tmp/stowage-docker-apt.log

log() { echo "[docker-engine] $(date +%T.%3N) $*" >&2; }
trap 'log "failed at line $LINENO"' ERR
docker_() { timeout 10 /usr/bin/docker -H "unix://$SOCK" "$@"; }
answers() { [ -S "$SOCK" ] && docker_ version --format '{{.Server.Version}}' >/dev/null 2>&1; }
is_alive() { [ -r "/proc/$1/stat" ] && ! awk '{ exit ($3 == "Z") ? 0 : 1 }' "/proc/$1/stat"; }

install_pkgs() {
  local need=()
  [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] || need+=(docker.io)
  command -v docker-compose >/dev/null || need+=(docker-compose)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [ ${#need[@]} -gt 0 ] || return 0
  [ "$DOCKER_INSTALL" = 1 ] || { log "missing: ${need[*]} (DOCKER_INSTALL=0)"; return 1; }
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Where an init system runs, docker.io's postinst would start the system dockerd on
  # /var/run/docker.sock; policy-rc.d (Debian's mechanism for this) forbids it while we install.
  local policy=/usr/sbin/policy-rc.d placed=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && placed=1; fi
  local apt=(apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "${need[@]}") ok=0
  if "${apt[@]}" </dev/null >"$APT_LOG" 2>&1; then ok=1; else
    log "install failed; apt-get update and retry"
    apt-get -q -o DPkg::Lock::Timeout=300 update </dev/null >>"$APT_LOG" 2>&1 || true
    "${apt[@]}" </dev/null >>"$APT_LOG" 2>&1 && ok=1
  fi
  [ $placed = 0 ] || rm -f "$policy"
  [ $ok = 1 ] || { tail -n 20 "$APT_LOG" >&2; return 1; }
}

# Live registered users, dead ones dropped.
live_users() {
  local f n=0
  for f in "$USERS"/*; do
    [ -e "$f" ] || continue
    if is_alive "$(basename "$f")"; then n=$((n + 1)); else rm -f "$f"; fi
  done
  echo $n
}

# Kills dockerd (and the containerd and shims it ran under our exec-root), then removes its state.
teardown() {
  local pid p
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  if [ -n "$pid" ] && is_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$SOCK"; then
    # dockerd stops its containers (SIGTERM, then SIGKILL after 10 s) before it exits
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do is_alive "$pid" || break; sleep 0.1; done
    if is_alive "$pid"; then log "dockerd $pid did not stop in 15 s: SIGKILL"; kill -9 "$pid" 2>/dev/null || true; fi
  fi
  # what a dead engine left running: containerd and shims (their command lines name our exec-root)
  # and container processes (in our cgroup parent)
  for p in $(grep -l -F -- "$EXEC_ROOT/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 || true) \
           $(cat /sys/fs/cgroup/*/"$CGROUP"/*/cgroup.procs /sys/fs/cgroup/"$CGROUP"/*/cgroup.procs 2>/dev/null || true); do
    [ "$p" = $$ ] || [ "$p" = $BASHPID ] || kill -9 "$p" 2>/dev/null || true
  done
  # mounts under our directories, deepest first
  awk '{ print $2 }' /proc/self/mounts | grep -E "^($EXEC_ROOT|$DATA_DIR)(/|$)" | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done || true
  rm -rf "$DATA_DIR" "$EXEC_ROOT" "$SOCK" "$PIDFILE" "$RUN_DIR/daemon.json"
}

start() {
  local user=$1
  mkdir -p "$USERS"
  if answers; then
    touch "$USERS/$user"
    log "reusing the engine on $SOCK ($(live_users) users)"
    echo "unix://$SOCK"
    return 0
  fi
  install_pkgs || { echo "cannot install docker.io (needs root and apt; log in $APT_LOG)"; return 3; }
  teardown
  mkdir -p "$RUN_DIR" "$DATA_DIR" "$EXEC_ROOT" "$USERS"
  echo '{}' >"$RUN_DIR/daemon.json"
  log "dockerd on $SOCK"
  local t0; t0=$(date +%s%N)
  /usr/sbin/dockerd --host "unix://$SOCK" --config-file "$RUN_DIR/daemon.json" \
    --data-root "$DATA_DIR" --exec-root "$EXEC_ROOT" --pidfile "$PIDFILE" \
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --cgroup-parent="$CGROUP" \
    </dev/null >"$LOG" 2>&1 9>&- &
  local pid=$!
  for _ in $(seq 1 300); do
    answers && break
    is_alive "$pid" || break
    sleep 0.1
  done
  if ! answers; then
    echo "dockerd did not start: $(tail -n 3 "$LOG" | tr '\n' ' ')"
    teardown
    return 3
  fi
  touch "$USERS/$user"
  log "ready in $(( ($(date +%s%N) - t0) / 1000000 )) ms (docker $(docker_ version --format '{{.Server.Version}}'))"
  echo "unix://$SOCK"
}

stop() {
  local user=$1
  rm -f "$USERS/$user"
  local n; n=$(live_users)
  if [ "$n" -gt 0 ]; then log "left running for $n other users"; return 0; fi
  teardown
  rm -f "$LOG"
  rmdir "$USERS" "$RUN_DIR" 2>/dev/null || true
  log "stopped and removed"
}

cmd=${1:-}
# exit 3, with the reason on stdout: no engine can be started here (the image tests skip with it)
[ "$(id -u)" = 0 ] || { echo "the private dockerd needs root (running as uid $(id -u))"; exit 3; }
mkdir -p "$RUN_DIR"
exec 9>"$RUN_DIR.lock"
flock -w 600 9 || { log "$RUN_DIR.lock stayed busy"; exit 1; }
case "$cmd" in
  start) start "${2:?user pid}" ;;
  stop) stop "${2:?user pid}" ;;
  status) if answers; then echo "engine on $SOCK, $(live_users) users"; else echo "no engine"; exit 1; fi ;;
  *) echo "usage: $0 start|stop USER_PID | status" >&2; exit 2 ;;
esac
