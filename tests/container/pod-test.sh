#!/usr/bin/env bash
# One container test: the Pod `vmi-launcher pod` renders for a VMI, piped
# unchanged into `podman kube play`, run from the images
# tests/container/images.sh builds (the launcher's, and the test guest as a
# containerDisk), checked from the outside: podman, the host's cgroups, the
# launcher's JSON log and the guest's serial console.
#
#   pod-test.sh image|adopt|oom|nested|nested-oom|disk|grace|termination-log
#
# Exit 0 pass, 1 fail, 77 skipped (podman cannot run here; the reason is
# printed). The guest boots under the shared lock /tmp/vmil-itest.lock; the
# pod, its volumes and scratch files are removed whatever happens.
set -euo pipefail
# shellcheck source=tests/container/lib.sh
. "$(dirname "$0")/lib.sh"
case_name=${1:?usage: pod-test.sh image|adopt|oom|nested|nested-oom|disk|grace|termination-log}
launcher=${VMI_LAUNCHER:-$source_root/build/vmi-launcher}

if [ -z "${VMIL_ITEST_LOCKED:-}" ]; then
  reason=$(podman_missing)
  if [ -n "$reason" ]; then echo "skip: $reason"; exit 77; fi
  [ -x "$launcher" ] || { echo "FAIL: no launcher at $launcher (ninja -C build)"; exit 1; }
  "$container_dir/images.sh"
  # Anything that boots a VM runs alone on the machine.
  VMIL_ITEST_LOCKED=1 exec flock /tmp/vmil-itest.lock "$0" "$@"
fi

name=ctr-$case_name          # the VMI
pod=vmi-launcher-$name       # the Pod it renders
ctr=$pod-compute             # podman names a pod's container POD-CONTAINER
state=/var/run/vmi-launcher/state/default/$name  # the launcher's state directory in the pod
work=$(mktemp -d /var/tmp/vmil-container-test.XXXXXX)
follower=

ok() { echo "ok (${SECONDS} s): $*"; }
fail() { echo "FAIL: $*"; exit 1; }

# The volumes podman 4.3 makes for the Pod and keeps after it (kube down
# too): each emptyDir is a named volume of its name, the ConfigMap one of
# the ConfigMap's name.
pod_volumes() {
  [ -f "$work/pod.yaml" ] || return 0
  awk '/^  volumes:/ { on = 1; next } on && /^  [^ ]/ { on = 0 }
       on && /^    - name:/ { gsub(/"/, "", $3); vol = $3 }
       on && /emptyDir:/ { print vol }
       on && /^        name:/ { gsub(/"/, "", $2); print $2 }' "$work/pod.yaml"
}

cleanup() {
  local status=$?
  set +e
  [ -z "$follower" ] || kill "$follower" 2>/dev/null || true
  if podman pod exists "$pod" 2>/dev/null; then
    if [ "$status" -ne 0 ]; then
      echo "--- the launcher's log (podman logs $ctr), last lines"
      podman logs "$ctr" 2>&1 | tail -30 || true
    fi
    local volumes
    volumes=$(pod_volumes)
    podman pod rm --force --time 0 "$pod" >/dev/null 2>&1 || true
    # shellcheck disable=SC2086 # one name per word
    [ -z "$volumes" ] || podman volume rm --force $volumes >/dev/null 2>&1 || true
  fi
  podman rm --force --time 0 "vmil-$name" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A pod of this name is a leftover of an earlier run of this test (killed
# before its cleanup ran): remove it, or kube play refuses to start.
if podman pod exists "$pod"; then
  echo "note: removing the pod $pod an earlier run left"
  podman pod rm --force --time 0 "$pod" >/dev/null
fi

# vmi NAME GUEST REQUEST KERNEL_ARGS [GRACE] [EXTRA]: writes $work/vmi.yaml.
vmi() {
  cat >"$work/vmi.yaml" <<YAML
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: $1
spec:
  terminationGracePeriodSeconds: ${5:-30}
  domain:
    memory:
      guest: $2
    resources:
      requests:
        memory: $3
    firmware:
      kernelBoot:
        kernelArgs: console=ttyS0 quiet panic=-1 $4
        container:
          image: $guest_image_ref
          kernelPath: /boot/vmlinuz
          initrdPath: /boot/initrd.img
    devices:
      autoattachGraphicsDevice: false
${6:-}
YAML
}

# play [RENDER OPTION]...: renders the Pod and gives it to podman unchanged;
# then follows the compute container's log into $work/log. From $work:
# podman 4.3 builds any image whose name is a directory (or, failing, a
# file) in the working directory, --build=false or not, and meson runs the
# tests in the build directory, which holds the file vmi-launcher.
play() {
  "$launcher" pod "$work/vmi.yaml" --image "$launcher_image" --accel tcg --with-configmap "$@" \
    2>"$work/render.err" | tee "$work/pod.yaml" | (cd "$work" && podman kube play - >"$work/play.out" 2>&1) ||
    { cat "$work/render.err" "$work/play.out"; fail "podman kube play of the rendered Pod"; }
  podman logs --follow "$ctr" >"$work/log" 2>&1 &
  follower=$!
}

# The value of an annotation of the rendered Pod.
annotation() { sed -n "s|^ *$1: \"\(.*\)\"$|\1|p" "$work/pod.yaml" | head -1; }

# event NAME [PYTHON EXPRESSION OF e]: the first log line of that event, or
# the expression's value; fails when the log has no such event.
event() {
  python3 - "$work/log" "$1" "${2:-e}" <<'PY'
import json, sys
for line in open(sys.argv[1], errors="replace"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if isinstance(e, dict) and e.get("event") == sys.argv[2]:
        v = eval(sys.argv[3])
        print(v if isinstance(v, str) else json.dumps(v))
        sys.exit(0)
sys.exit(1)
PY
}
has_event() { event "$1" >/dev/null; }

# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}
console() { podman exec "$ctr" cat "$state/console.log" 2>/dev/null | tr -d '\r'; }
console_has() { console | grep -qF -- "$1"; }
# Waits for the container to exit; prints its exit code.
exit_code() {
  wait_for "$1" sh -c "[ \"\$(podman inspect --format '{{.State.Status}}' $ctr)\" = exited ]" ||
    fail "$ctr still runs after $1 s"
  podman inspect --format '{{.State.ExitCode}}' "$ctr"
}
# The compute container's memory cgroup on the host.
container_cgroup() { echo "/sys/fs/cgroup/memory$(podman inspect --format '{{.State.CgroupPath}}' "$ctr")"; }
# Host PIDs of QEMU in a cgroup directory (not its children).
qemu_in() { local p; for p in $(cat "$1/cgroup.procs"); do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = qemu-system-x86 ] && echo "$p"; done; true; }

# Stops the pod with `podman pod stop` or the compute container with
# `podman stop` (SIGTERM, SIGKILL after 10 s), checks the launcher powered
# the guest off through ACPI and exited 0, then removes the pod with
# `podman kube down` and checks nothing is left: pod, containers, cgroups,
# the launcher's state. (podman 4.3's kube down alone stops with no grace
# at all: SIGTERM and SIGKILL at once.)
stop_down_and_check_clean() {  # 1: pod or container
  local cgroup volumes start code
  cgroup=$(container_cgroup)
  volumes=$(pod_volumes)
  start=$(now)
  if [ "$1" = pod ]; then podman pod stop "$pod" >/dev/null; else podman stop "$ctr" >/dev/null; fi
  echo "podman $1 stop took $(elapsed "$start") s"
  wait "$follower" 2>/dev/null || true
  follower=
  code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
  [ "$code" = 0 ] || fail "the container exited $code: $(tail -2 "$work/log")"
  [ "$(event vm_stopped 'e["outcome"]')" = guest_shutdown ] || fail "the guest did not shut down: $(event vm_stopped)"
  [ "$(event shutdown 'e["reason"]')" = guest-shutdown ] || fail "QEMU's SHUTDOWN reason: $(event shutdown)"
  has_event powerdown || fail "no powerdown (ACPI power button) in the log"
  ok "podman $1 stop: power button, guest shutdown, the container exits 0"
  podman kube down "$work/pod.yaml" >/dev/null || fail "podman kube down"
  ! podman pod exists "$pod" || fail "the pod is still there"
  [ -z "$(podman ps --all --quiet --filter "name=^$pod-")" ] || fail "containers are left: $(podman ps --all --filter "name=^$pod-")"
  [ ! -e "$cgroup" ] || fail "the container's cgroup $cgroup is left"
  [ ! -e "${cgroup%/*}" ] || fail "the pod's cgroup ${cgroup%/*} is left"
  # kube down in podman 4.3 keeps the emptyDirs (named volumes): the
  # launcher must have removed its state directory from them all the same.
  local v mp
  for v in $volumes; do
    podman volume exists "$v" || continue
    mp=$(podman volume inspect --format '{{.Mountpoint}}' "$v")
    [ -z "$(find "$mp" -mindepth 1 -path "*default/$name*" -print -quit)" ] || fail "volume $v holds state of $name"
    podman volume rm "$v" >/dev/null
  done
  ok "nothing left: pod, containers, cgroup $cgroup, state"
}

no_termination_log_warning() {
  ! has_event termination_log_failed || fail "termination_log_failed without a termination log file: $(event termination_log_failed)"
  has_event termination_log_absent || fail "no termination_log_absent"
  ok "no /dev/termination-log in podman: $(event termination_log_absent 'e["msg"]')"
}

case "$case_name" in
adopt)
  # The default Pod: uid 107, read-only root, no capabilities, no limit.
  vmi "$name" 256Mi 256Mi vmil.wait
  play
  pid=$(podman inspect --format '{{.State.Pid}}' "$ctr")
  grep -q '^Uid:[[:space:]]*107[[:space:]]' "/proc/$pid/status" || fail "not uid 107: $(grep ^Uid "/proc/$pid/status")"
  grep -q '^CapEff:[[:space:]]*0*$' "/proc/$pid/status" || fail "capabilities: $(grep ^CapEff "/proc/$pid/status")"
  [ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$ctr")" = true ] || fail "root file system writable"
  ok "the launcher runs as uid 107, no capabilities, read-only root file system"
  wait_for 120 console_has "VMIL: boot ok" || fail "no 'VMIL: boot ok' on the console: $(console | tail -5)"
  ok "the guest booted: VMIL: boot ok"
  [ "$(event cgroup_mode 'e["mode"]')" = adopt ] || fail "not adopt mode: $(event cgroup_mode)"
  ok "$(event cgroup_mode 'e["msg"]')"
  cgroup=$(container_cgroup)
  [ -n "$(qemu_in "$cgroup")" ] || fail "QEMU is not in the container's cgroup $cgroup"
  [ -z "$(find "$cgroup" -mindepth 1 -type d)" ] || fail "the launcher made cgroups in adopt mode"
  ok "QEMU runs in the container's own cgroup"
  stop_down_and_check_clean pod
  no_termination_log_warning
  ;;
oom | nested-oom)
  # 512Mi of guest on a 128Mi request, the container limited to the plan's
  # cgroup limit; the guest fills 400 MiB. Adopt: the container's own limit
  # is hit; nested: the VM's cgroup inside it, watched with an eventfd.
  vmi "$name" 512Mi 128Mi vmil.fill=400
  if [ "$case_name" = oom ]; then play --memory-limit cgroup; else play --memory-limit cgroup --cgroup-mode nested; fi
  limit=$(annotation vmi-launcher/cgroup-limit-bytes)
  [ "$(podman inspect --format '{{.HostConfig.Memory}}' "$ctr")" = "$limit" ] ||
    fail "the container's memory limit is not the plan's $limit"
  code=$(exit_code 240)
  wait "$follower" 2>/dev/null || true; follower=
  [ "$code" = 4 ] || fail "exit $code, not 4: $(event vm_stopped)"
  mode=$(event cgroup_mode 'e["mode"]')
  msg=$(event vm_stopped 'e["msg"]')
  [[ "$msg" == OOMKilled:* ]] || fail "the termination message: $msg"
  if [ "$case_name" = oom ]; then
    [ "$mode" = adopt ] || fail "not adopt mode: $(event cgroup_mode)"
    [ "$(event oom_killed 'e["limit_bytes"]')" = "$limit" ] || fail "oom_killed: $(event oom_killed)"
    ok "adopt: exit 4, the container's limit $limit was hit"
  else
    [ "$mode" = nested ] || fail "not nested mode: $(event cgroup_mode)"
    has_event oom_killed || fail "no oom_killed"
    ! has_event oom_watch_polling || fail "nested mode polled: $(event oom_watch_polling)"
    ok "nested: exit 4, the VM's cgroup limit $(event oom_killed 'e["limit_bytes"]') was hit, seen through an eventfd"
  fi
  ok "termination message: $msg"
  if [ "$case_name" = oom ]; then
    no_termination_log_warning
  else
    # Root in a privileged container may create /dev/termination-log.
    ! has_event termination_log_failed || fail "$(event termination_log_failed)"
  fi
  ;;
nested)
  vmi "$name" 256Mi 256Mi vmil.wait
  play --cgroup-mode nested --memory-limit cgroup
  [ "$(podman inspect --format '{{.HostConfig.Privileged}}' "$ctr")" = true ] || fail "not privileged"
  wait_for 120 console_has "VMIL: boot ok" || fail "no 'VMIL: boot ok' on the console: $(console | tail -5)"
  ok "the guest booted: VMIL: boot ok"
  [ "$(event cgroup_mode 'e["mode"]')" = nested ] || fail "not nested mode: $(event cgroup_mode)"
  ok "$(event cgroup_mode 'e["msg"]')"
  cgroup=$(container_cgroup)
  vm_limit=$(event memory_plan 'e["cgroup_limit_bytes"]')
  found=
  # The VM's cgroup is NAMESPACE/NAME below the container's.
  d=$cgroup/default/$name
  [ -n "$(qemu_in "$d")" ] && found=$d
  [ -n "$found" ] || fail "QEMU is not in $d, the VM's cgroup below the container's $cgroup"
  [ "$(cat "$d/memory.limit_in_bytes")" = "$vm_limit" ] || fail "QEMU's cgroup $d is not limited to $vm_limit"
  [ -z "$(qemu_in "$cgroup")" ] || fail "QEMU is in the container's cgroup itself"
  ok "QEMU runs in its own cgroup ${found#"$cgroup"/} inside the container's, limited to $vm_limit"
  stop_down_and_check_clean container
  ;;
disk)
  vmi "$name" 256Mi 256Mi vmil.wait 30 "      disks:
        - name: data
          disk:
            bus: virtio
  volumes:
    - name: data
      containerDisk:
        image: $guest_image_ref"
  play
  wait_for 120 console_has "VMIL: blockdev" || fail "the guest saw no disk: $(console | tail -5)"
  wait_for 30 console_has "VMIL: file hello end" || fail "no file on the disk: $(console | tail -5)"
  console | grep -qx "VMIL: blockdev /dev/vda label=ctrdisk" || fail "not the containerDisk: $(console | grep VMIL:)"
  console | grep -qx "hello from the containerDisk" || fail "the file on the disk: $(console | grep -A1 'file hello begin')"
  ok "the guest sees the containerDisk: $(console | grep 'VMIL: blockdev')"
  stop_down_and_check_clean container
  ;;
grace)
  # The guest ignores the power button; stopped as kubelet would, with the
  # Pod's grace period before SIGKILL.
  vmi "$name" 256Mi 256Mi "vmil.wait vmil.ignore-power" 5
  play
  pod_grace=$(sed -n 's/^  terminationGracePeriodSeconds: \([0-9]*\)$/\1/p' "$work/pod.yaml")
  [ -n "$pod_grace" ] || fail "no terminationGracePeriodSeconds in the Pod"
  wait_for 120 console_has "VMIL: boot ok" || fail "no 'VMIL: boot ok' on the console: $(console | tail -5)"
  start=$(now)
  podman stop --time "$pod_grace" "$ctr" >/dev/null
  took=$(elapsed "$start")
  wait "$follower" 2>/dev/null || true; follower=
  has_event vm_stopped || fail "the launcher did not finish (killed by podman?)"
  has_event grace_period_expired || fail "no grace_period_expired: $(tail -3 "$work/log")"
  awk -v t="$took" -v g="$pod_grace" 'BEGIN { exit !(t < g) }' || fail "took $took s, the grace period is $pod_grace s"
  ok "stopped in $took s (Pod grace period $pod_grace s): $(event grace_period_expired 'e["msg"]')"
  ok "$(event vm_stopped 'e["msg"]') (exit $(podman inspect --format '{{.State.ExitCode}}' "$ctr"))"
  ;;
termination-log)
  # Where a termination log exists (kubelet makes one), the message is
  # written to it; one that exists but cannot be written is a warning. The
  # launcher's image run directly, with the file bound where kubelet puts it.
  vmi "$name" 256Mi 256Mi ""
  guest=$("$source_root/tests/guest/build-guest.sh" | sed -n 's/^VMIL_GUEST_IMAGE=//p')
  run_with() {  # 1: the bind mount's options
    podman run --rm --name "vmil-$name" --user 107:107 --read-only --cap-drop all \
      --security-opt no-new-privileges --network none \
      -v "$work/vmi.yaml:/etc/vmi-launcher/vmi/vmi.yaml:ro" -v "$guest:/guest:ro" \
      -v "$work/termination-log:/dev/termination-log:$1" \
      "$launcher_image" run /etc/vmi-launcher/vmi/vmi.yaml --accel tcg --image "$guest_image_ref=/guest" \
      --state-root /tmp/state --log-format json --termination-log /dev/termination-log >"$work/log" 2>&1
  }
  : >"$work/termination-log"
  chmod 666 "$work/termination-log"
  run_with rw || fail "exit $?: $(tail -3 "$work/log")"
  grep -q '^Completed' "$work/termination-log" || fail "termination log: $(cat "$work/termination-log")"
  ! has_event termination_log_failed || fail "$(event termination_log_failed)"
  ok "with /dev/termination-log: $(cat "$work/termination-log")"
  : >"$work/termination-log"
  run_with ro || fail "exit $?: $(tail -3 "$work/log")"
  [ ! -s "$work/termination-log" ] || fail "a read-only termination log was written"
  has_event termination_log_failed || fail "no termination_log_failed for a read-only file"
  ok "with a read-only /dev/termination-log: $(event termination_log_failed 'e["msg"]')"
  ;;
image)
  # The launcher image runs what the Pod runs: the launcher with every
  # library resolved, QEMU, qemu-img, xorrisofs, and the static busybox.
  podman run --rm --network none --read-only "$launcher_image" --version >"$work/out" 2>&1 ||
    fail "vmi-launcher --version in the image: $(cat "$work/out")"
  ok "$(head -1 "$work/out")"
  podman run --rm --network none --read-only --entrypoint sh "$launcher_image" -c '
    set -e
    ! ldd /usr/local/bin/vmi-launcher | grep "not found"
    qemu-system-x86_64 --version | head -1
    qemu-img --version | head -1
    xorrisofs -version 2>&1 | head -1
    /bin/busybox true && ! ldd /bin/busybox >/dev/null 2>&1 && echo "static /bin/busybox"
    id -u' >"$work/out" 2>&1 || fail "in the image: $(cat "$work/out")"
  [ "$(tail -1 "$work/out")" = 107 ] || fail "the image does not run as uid 107"
  ok "$(head -4 "$work/out" | tr '\n' ';')"
  ;;
*) fail "unknown case $case_name" ;;
esac
echo "PASS: container-$case_name"
