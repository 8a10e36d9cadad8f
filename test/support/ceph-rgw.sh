#!/usr/bin/env bash
# ceph-rgw.sh — throwaway single-node Ceph (mon + 1 OSD + radosgw) serving S3 on loopback, for the
# integration tests (test/support/s3-server.ts runs it when no other S3 server is configured).
# Debian 12 packages, Ceph 16.2 "pacific". No systemd, no cephx; run as root (installs packages).
#
#   ceph-rgw.sh start    # idempotent: exits 0 at once if RGW already answers with our keys;
#                        # otherwise kills leftovers from $CEPH_DIR, wipes it, builds a fresh cluster
#   ceph-rgw.sh stop     # kills the daemons recorded in $CEPH_DIR/run/*.pid
#   ceph-rgw.sh status
#
# Env (defaults):
#   CEPH_DIR=/tmp/stowage-ceph   RGW_PORT=7480   MON_PORT_V2=3300   MON_PORT_V1=6789
#   S3_ACCESS_KEY=AKIASTOWAGETEST00001   S3_SECRET_KEY=stowagetestsecretstowagetestsecret000001
#   OSD_BACKEND=memstore|bluestore (memstore: data in RAM, fastest start; bluestore: sparse file
#   $CEPH_DIR/osd.0.block)   OSD_SIZE_GB=8   CEPH_INSTALL=1 (apt-get the packages if missing)
#
# The daemons detach and write only to $CEPH_DIR/log, so nothing that spawned this script waits on
# them. start/stop hold a lock ($CEPH_DIR.lock) so concurrent test runs do not build two clusters.
set -Eeuo pipefail

CEPH_DIR=${CEPH_DIR:-/tmp/stowage-ceph}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT_V2=${MON_PORT_V2:-3300}
MON_PORT_V1=${MON_PORT_V1:-6789}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-AKIASTOWAGETEST00001}
S3_SECRET_KEY=${S3_SECRET_KEY:-stowagetestsecretstowagetestsecret000001}
OSD_BACKEND=${OSD_BACKEND:-memstore}
OSD_SIZE_GB=${OSD_SIZE_GB:-8}
CEPH_INSTALL=${CEPH_INSTALL:-1}
CONF="$CEPH_DIR/ceph.conf"

log() { echo "[ceph-rgw] $(date +%T.%3N) $*" >&2; }
ceph_() { timeout 60 ceph -c "$CONF" "$@"; }
fail() { log "FAILED: $*"; tail -n 20 "$CEPH_DIR"/log/*.log >&2 2>/dev/null || true; stop_all; exit 1; }
# daemons: no stdin, output to their log, lock fd closed: they never hold the caller's pipes or our lock
daemon() { local name=$1; shift; "$@" </dev/null >>"$CEPH_DIR/log/$name.out" 2>&1 9>&-; }
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:${RGW_PORT}/" || true; }

rgw_ok() {
  # anonymous GET / -> 200 (empty ListAllMyBuckets) means RGW is up; then check that our S3 user exists
  [ -f "$CONF" ] && command -v curl >/dev/null && [ "$(http_code)" = 200 ] || return 1
  timeout 10 radosgw-admin -c "$CONF" user info --uid=tester 2>/dev/null | grep -q "\"access_key\": \"$S3_ACCESS_KEY\""
}

is_alive() { [ -r "/proc/$1/stat" ] && ! awk '{ exit ($3 == "Z") ? 0 : 1 }' "/proc/$1/stat"; }

stop_all() {
  local pids=() p f
  for f in "$CEPH_DIR"/run/*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f" 2>/dev/null || true)
    # only kill if the pid really is a ceph daemon started with our conf
    if [ -n "$p" ] && [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' <"/proc/$p/cmdline" | grep -q -- "$CONF"; then
      pids+=("$p")
    fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    # the cluster is throwaway (start wipes it), so no clean shutdown: memstore would spend seconds
    # saving its RAM to disk on SIGTERM
    log "stopping ${pids[*]}"
    kill "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 1 10); do
      local alive=0
      for p in "${pids[@]}"; do is_alive "$p" && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    for p in "${pids[@]}"; do is_alive "$p" && kill -9 "$p" 2>/dev/null || true; done
  fi
  rm -f "$CEPH_DIR"/run/*.pid "$CEPH_DIR"/run/*.asok 2>/dev/null || true
}

install_pkgs() {
  local need=()
  command -v ceph-mon >/dev/null || need+=(ceph-mon)
  command -v ceph-osd >/dev/null || need+=(ceph-osd)
  command -v radosgw >/dev/null || need+=(radosgw)
  command -v ceph >/dev/null || need+=(ceph-common)
  command -v curl >/dev/null || need+=(curl)
  [ ${#need[@]} -gt 0 ] || return 0
  [ "$CEPH_INSTALL" = 1 ] || { log "missing: ${need[*]} (CEPH_INSTALL=0)"; exit 1; }
  log "apt-get install ${need[*]} (about 75 MB, 30 s)"
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -q -y -o DPkg::Lock::Timeout=300 install --no-install-recommends "${need[@]}")
  "${apt[@]}" </dev/null >"/tmp/stowage-ceph-apt.log" 2>&1 || {
    log "install failed; apt-get update and retry"
    apt-get -q -o DPkg::Lock::Timeout=300 update </dev/null >>"/tmp/stowage-ceph-apt.log" 2>&1 || true
    "${apt[@]}" </dev/null >>"/tmp/stowage-ceph-apt.log" 2>&1 || { tail -n 30 /tmp/stowage-ceph-apt.log >&2; exit 1; }
  }
}

write_conf() {
  local fsid=$1 bytes=$((OSD_SIZE_GB * 1024 * 1024 * 1024))
  cat >"$CONF" <<CONF
[global]
fsid = $fsid
mon initial members = a
mon host = [v2:127.0.0.1:${MON_PORT_V2},v1:127.0.0.1:${MON_PORT_V1}]
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $CEPH_DIR/run
pid file = $CEPH_DIR/run/\$name.pid
log file = $CEPH_DIR/log/\$name.log
mon cluster log file = $CEPH_DIR/log/cluster.log
mon data = $CEPH_DIR/\$name
osd data = $CEPH_DIR/\$name
admin socket = $CEPH_DIR/run/\$name.asok
osd objectstore = $OSD_BACKEND
memstore device bytes = $bytes
bluestore block create = true
bluestore block size = $bytes
bluestore block path = $CEPH_DIR/osd.0.block
bluestore fsck on mount = false
bdev enable discard = false
osd memory target = 939524096
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd crush initial weight = 1
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
# speed: propose map changes immediately (default waits up to 1 s between proposals)
paxos propose interval = 0.05
paxos min wait = 0.01
# deleted objects' tails and aborted parts go to garbage collection, by default after 2 h: with
# data in RAM (memstore) and a cluster reused across runs, collect them within a minute instead
# (global, so that radosgw-admin's deletions follow it too)
rgw gc obj min wait = 30
rgw gc processor period = 60
rgw gc processor max time = 60

[client.rgw.a]
# radosgw defaults to 'secure' mode towards the mon, which auth=none cannot provide
ms mon client mode = crc secure
# tcp_nodelay: without it RGW's answers that carry a body (ListParts, listings, errors) often wait
# ≈ 40 ms for a delayed ACK (Nagle), a stall no hosted S3 adds; a tus PATCH, which reads its state with
# such requests, paid it on every chunk (bench/README, "Resumable uploads (tus)").
rgw frontends = beast endpoint=127.0.0.1:${RGW_PORT} tcp_nodelay=1
rgw data = $CEPH_DIR/rgw.a
rgw thread pool size = 128
rgw dynamic resharding = false
# tests upload objects of ~100 MiB (5 GiB is the default single-PUT cap; set it explicitly)
rgw max put size = 5368709120
CONF
}

start() {
  if rgw_ok; then log "already running on :$RGW_PORT"; return 0; fi
  install_pkgs
  local t0; t0=$(date +%s%N)
  trap 'fail "command failed at line $LINENO"' ERR
  stop_all
  case "$CEPH_DIR" in /tmp/?*|/var/tmp/?*|/run/?*|"$HOME"/?*) ;; *) log "refusing to wipe CEPH_DIR=$CEPH_DIR"; exit 1;; esac
  case "$(http_code)" in 000) ;; *) fail "port $RGW_PORT is taken by something that is not this cluster";; esac
  rm -rf "$CEPH_DIR"
  mkdir -p "$CEPH_DIR"/{mon.a,osd.0,rgw.a,run,log}
  local fsid; fsid=$(cat /proc/sys/kernel/random/uuid)
  write_conf "$fsid"

  log "mon"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:${MON_PORT_V2},v1:127.0.0.1:${MON_PORT_V1}]" "$CEPH_DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$CEPH_DIR/monmap"
  daemon mon.a ceph-mon -c "$CONF" -i a
  for _ in $(seq 1 100); do ceph_ --connect-timeout 2 mon stat >/dev/null 2>&1 && break; sleep 0.2; done

  log "osd ($OSD_BACKEND, ${OSD_SIZE_GB}G)"
  local osd_uuid; osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  ceph_ osd new "$osd_uuid" >/dev/null
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" </dev/null >"$CEPH_DIR/log/osd-mkfs.log" 2>&1 || fail "osd mkfs"
  daemon osd.0 ceph-osd -c "$CONF" -i 0
  for _ in $(seq 1 150); do ceph_ osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.2; done

  # pre-create the RGW pools, in parallel (RGW would otherwise create them one by one, lazily)
  log "pools"
  local pool pids=()
  for pool in .rgw.root default.rgw.control default.rgw.meta default.rgw.log \
              default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
    { ceph_ osd pool create "$pool" 8 8 replicated --autoscale-mode=off &&
      ceph_ osd pool application enable "$pool" rgw; } >/dev/null 2>&1 &
    pids+=($!)
  done
  for pool in "${pids[@]}"; do wait "$pool" || fail "pool creation"; done

  log "radosgw"
  daemon rgw.a radosgw -c "$CONF" -n client.rgw.a
  for _ in $(seq 1 300); do [ "$(http_code)" = 200 ] && break; sleep 0.1; done
  # --max-buckets=0: no per-user bucket cap (default 1000), since every test makes its own bucket
  timeout 30 radosgw-admin -c "$CONF" user create --uid=tester --display-name=tester --max-buckets=0 \
    --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >/dev/null
  rgw_ok || fail "RGW did not come up; see $CEPH_DIR/log"
  log "ready on http://127.0.0.1:$RGW_PORT in $(( ($(date +%s%N) - t0) / 1000000 )) ms (access key $S3_ACCESS_KEY)"
}

cmd=${1:-start}
case "$cmd" in start|stop) mkdir -p "$(dirname "$CEPH_DIR")"; exec 9>"$CEPH_DIR.lock"; flock -w 900 9 || { log "$CEPH_DIR.lock stayed busy"; exit 1; } ;; esac
case "$cmd" in
  start) start ;;
  stop) stop_all; log "stopped" ;;
  status) if rgw_ok; then ceph_ -s; echo "RGW OK on :$RGW_PORT"; else echo "RGW not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
