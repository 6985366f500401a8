#!/bin/sh
# Runs one container of a pod the way a container runtime would, without
# Kubernetes: in new mount, PID and cgroup namespaces (the command is PID 1),
# with the pod's volumes bound at their mount paths, and for the compute
# container inside a memory cgroup sized as kubelet would size it, with
# /sys/fs/cgroup a tmpfs holding the memory hierarchy read-only (as in an
# unprivileged pod) or writable (a privileged pod).
#
#   simulated-pod.sh [--cgroup DIR] [--cgroup-access ro|rw] [--oom-score-adj N]
#                    [--root DIR] [--mount SRC:DST[:ro]]... -- COMMAND [ARG]...
#
# --cgroup DIR: the container's memory cgroup (made and sized by the caller);
#   this shell joins it before the namespaces are made, as runc does.
# --root DIR: the container image's root (chroot); default / (the host is the
#   launcher's image). With /, /etc, /run and /dev get a private writable
#   overlay so mount points can be made without touching the host.
# Root only. Exits with the command's status.
set -eu

cgroup= access=ro score= root=/ mounts=${SIMULATED_POD_MOUNTS:-} inside=
while [ $# -gt 0 ]; do
  case "$1" in
    --inside) inside=1; shift ;;
    --cgroup) cgroup=$2; shift 2 ;;
    --cgroup-access) access=$2; shift 2 ;;
    --oom-score-adj) score=$2; shift 2 ;;
    --root) root=$2; shift 2 ;;
    --mount) mounts="$mounts
$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "simulated-pod: unknown option $1" >&2; exit 2 ;;
  esac
done

if [ -z "$inside" ]; then
  # kubelet gives each container an oom_score_adj by QoS class.
  if [ -n "$score" ]; then echo "$score" > /proc/self/oom_score_adj; fi
  # The mounts travel in the environment: paths stay whole words.
  export SIMULATED_POD_MOUNTS="$mounts"
  set -- --inside --cgroup-access "$access" --root "$root" ${cgroup:+--cgroup "$cgroup"} -- "$@"
  spawn() { exec unshare --mount --pid --cgroup --fork --kill-child --mount-proc --propagation private "$0" "$@"; }
  if [ -z "$cgroup" ]; then spawn "$@"; fi
  # The new cgroup namespace is rooted where unshare is when it makes it:
  # join the container's cgroup first, then, as a runtime's shim would,
  # leave it again once PID 1 exists, so only the container's own
  # processes stay inside.
  outside=/sys/fs/cgroup/memory$(sed -n 's/^[0-9]*:memory://p' /proc/self/cgroup)
  echo $$ > "$cgroup/cgroup.procs"
  (spawn "$@") &
  shim=$!
  until [ -n "$(cat "/proc/$shim/task/$shim/children" 2>/dev/null)" ]; do
    kill -0 "$shim" 2>/dev/null || break
    sleep 0.01
  done
  echo "$shim" > "$outside/cgroup.procs" 2>/dev/null || true
  echo $$ > "$outside/cgroup.procs"
  status=0
  wait "$shim" || status=$?
  exit "$status"
fi

# From here on: PID 1 of the new namespaces.
unset SIMULATED_POD_MOUNTS
if [ "$root" = / ]; then
  # /mnt holds the overlays' writable layers, in this mount namespace only.
  mount -t tmpfs tmpfs /mnt
  for d in etc run dev; do
    mkdir -p "/mnt/upper/$d" "/mnt/work/$d"
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=/mnt/upper/$d,workdir=/mnt/work/$d" "/$d"
  done
fi

bind() {  # SRC:DST[:ro]
  src=${1%%:*}; rest=${1#*:}; dst=${rest%%:*}; mode=${rest#"$dst"}
  target="${root%/}$dst"
  if [ -d "$src" ]; then
    mkdir -p "$target"
  else
    mkdir -p "$(dirname "$target")"
    [ -e "$target" ] || : > "$target"
  fi
  mount --bind "$src" "$target"
  if [ "$mode" = ":ro" ]; then mount -o remount,bind,ro "$target"; fi
}

# Volumes; /tmp last, since binding over it hides what is below.
printf '%s\n' "$mounts" | while IFS= read -r m; do
  case "$m" in ""|*:/tmp|*:/tmp:ro) ;; *) bind "$m" ;; esac
done
printf '%s\n' "$mounts" | while IFS= read -r m; do
  case "$m" in *:/tmp|*:/tmp:ro) bind "$m" ;; esac
done

if [ -n "$cgroup" ]; then
  mount -t tmpfs -o mode=755 cgroup "${root%/}/sys/fs/cgroup"
  mkdir "${root%/}/sys/fs/cgroup/memory"
  if [ "$access" = ro ]; then opts=memory,ro; else opts=memory; fi
  mount -t cgroup -o "$opts" memory "${root%/}/sys/fs/cgroup/memory"
fi

if [ "$root" = / ]; then exec "$@"; fi
exec chroot "$root" "$@"
