#!/usr/bin/env bash
# Boots the test guest under QEMU (TCG) and checks its console protocol:
# memory report, a cloud-init seed ISO on a virtio disk, memory fill, a C++
# program run with vmil.exec, the ACPI power button, a guest that ignores
# it, and a disk read into the page cache with vmil.cache. Exit 0: pass, 1: fail, 77: skipped (no qemu-system-x86_64).
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
guest_dir=${VMIL_GUEST_DIR:-}
boot_timeout=30

if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "skip: qemu-system-x86_64 not found (scripts/setup.sh installs it)" >&2
    exit 77
fi
for tool in xorrisofs python3; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool not found"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/guest-selftest.XXXXXX")
qemu_pid=
cleanup() {
    if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

build_args=() initrd_args=()
[ -z "$guest_dir" ] || { build_args=(--out "$guest_dir"); initrd_args=(--guest-dir "$guest_dir"); }
outputs=$("$here/build-guest.sh" "${build_args[@]}") || { echo "FAIL: build-guest.sh"; exit 1; }
kernel=$(sed -n 's/^VMIL_GUEST_KERNEL=//p' <<<"$outputs")
initrd=$(sed -n 's/^VMIL_GUEST_INITRD=//p' <<<"$outputs")

# start_guest NAME INITRD APPEND [QEMU ARGS...]: starts QEMU in the
# background; the console goes to $work/NAME.log, QMP to $work/NAME.qmp.
start_guest() {
    local name=$1 image=$2 append=$3
    shift 3
    : >"$work/$name.log"
    failures_before=$failures
    started=$(date +%s%N)
    timeout -k 5 "$boot_timeout" qemu-system-x86_64 \
        -machine q35 -accel tcg,tb-size=64 -m 256 \
        -nodefaults -no-user-config -display none -no-reboot \
        -kernel "$kernel" -initrd "$image" \
        -append "console=ttyS0 quiet panic=-1 $append" \
        -serial "file:$work/$name.log" \
        -qmp "unix:$work/$name.qmp,server=on,wait=off" \
        "$@" &
    qemu_pid=$!
}

# wait_guest NAME: waits for QEMU to exit; sets status and prints how long the
# guest ran.
wait_guest() {
    status=0
    wait "$qemu_pid" || status=$?
    qemu_pid=
    local ms=$((($(date +%s%N) - started) / 1000000))
    echo "     $1: QEMU exited with $status after $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
    # The serial line ends lines with CR LF.
    tr -d '\r' <"$work/$1.log" >"$work/$1.txt"
}

# wait_for_line NAME LINE: waits (bounded) until the console shows LINE.
wait_for_line() {
    local tries=0
    while [ "$tries" -lt $((boot_timeout * 10)) ]; do
        tries=$((tries + 1))
        tr -d '\r' <"$work/$1.log" | grep -qxF "$2" && return 0
        kill -0 "$qemu_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# qmp NAME COMMAND...: sends QMP commands (JSON objects) after the capability
# handshake and prints the replies.
qmp() {
    local socket=$work/$1.qmp
    shift
    python3 - "$socket" "$@" <<'EOF'
import json, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.settimeout(10)
sock.connect(sys.argv[1])
stream = sock.makefile("rw")
def reply():
    while True:
        line = stream.readline()
        if not line:
            raise SystemExit("QMP connection closed")
        message = json.loads(line)
        if "return" in message or "error" in message:
            return message
json.loads(stream.readline())  # greeting
for command in ['{"execute":"qmp_capabilities"}'] + sys.argv[2:]:
    stream.write(command + "\n")
    stream.flush()
    answer = reply()
    if "error" in answer:
        raise SystemExit("QMP %s: %s" % (command, answer["error"]))
EOF
}

# disk_caches NAME: the guest's "disk caches" balloon statistic in bytes,
# read over QMP (the balloon device must have id balloon0). The statistics
# arrive every second once polling is on, so it waits for a second report.
disk_caches() {
    python3 - "$work/$1.qmp" <<'EOF'
import json, socket, sys, time
sock = socket.socket(socket.AF_UNIX)
sock.settimeout(10)
sock.connect(sys.argv[1])
stream = sock.makefile("rw")
def call(execute, **arguments):
    stream.write(json.dumps({"execute": execute, "arguments": arguments}) + "\n")
    stream.flush()
    while True:
        message = json.loads(stream.readline())
        if "error" in message:
            raise SystemExit("QMP %s: %s" % (execute, message["error"]))
        if "return" in message:
            return message["return"]
json.loads(stream.readline())  # greeting
call("qmp_capabilities")
path = "/machine/peripheral/balloon0"
call("qom-set", path=path, property="guest-stats-polling-interval", value=1)
time.sleep(2.5)
print(call("qom-get", path=path, property="guest-stats")["stats"].get("stat-disk-caches", -1))
EOF
}

# has NAME LINE [WHAT]: passes when the console has exactly this line.
has() {
    if grep -qxF "$2" "$work/$1.txt"; then pass "$1: ${3:-$2}"; else fail "$1: ${3:-$2}"; fi
}
lacks() {
    if grep -qxF "$2" "$work/$1.txt"; then fail "$1: no '$2'"; else pass "$1: no '$2'"; fi
}
exited_with() {
    if [ "$status" -eq "$2" ]; then pass "$1: QEMU exit status $2"; else fail "$1: QEMU exit status $status, expected $2"; fi
}
show_console_on_failure() {
    if [ "$failures" -ne "$failures_before" ]; then echo "---- $1 console"; cat "$work/$1.txt"; echo "----"; fi
}

# 1. Memory report, seed ISO and fill, then power off by itself.
mkdir "$work/seed"
printf '#cloud-config\nhostname: vmil-selftest\n' >"$work/seed/user-data"
printf 'instance-id: selftest\nlocal-hostname: vmil-selftest\n' >"$work/seed/meta-data"
xorrisofs -quiet -output "$work/seed.iso" -volid cidata -joliet -rock "$work/seed" 2>/dev/null
start_guest basic "$initrd" "vmil.fill=64" \
    -drive "file=$work/seed.iso,if=virtio,format=raw,readonly=on"
wait_guest basic
exited_with basic 0
has basic "VMIL: boot ok"
memtotal=$(sed -n '/^VMIL: meminfo begin$/,/^VMIL: meminfo end$/s/^MemTotal: *\([0-9]*\) kB$/\1/p' "$work/basic.txt")
# The kernel keeps some of the RAM for itself: about 87% is left here.
if [ -n "$memtotal" ] && [ "$memtotal" -ge $((256 * 1024 * 8 / 10)) ] && [ "$memtotal" -le $((256 * 1024)) ]; then
    pass "basic: MemTotal $memtotal kB between the markers, plausible for -m 256"
else
    fail "basic: MemTotal '${memtotal}' kB between the markers, expected 80-100% of 256 MiB"
fi
has basic "VMIL: blockdev /dev/vda label=cidata"
if sed -n '/^VMIL: file user-data begin$/,/^VMIL: file user-data end$/p' "$work/basic.txt" |
    grep -qxF 'hostname: vmil-selftest'; then
    pass "basic: user-data contents between the markers"
else
    fail "basic: user-data contents between the markers"
fi
has basic "VMIL: fill progress 8"
has basic "VMIL: fill progress 56"
has basic "VMIL: fill done 64"
has basic "VMIL: poweroff"
show_console_on_failure basic

# 2. A C++ program added with make-initrd.sh, run with vmil.exec.
if command -v g++ >/dev/null; then
    cat >"$work/hello.cpp" <<'EOF'
#include <iostream>
#include <string>
int main() {
    std::string where = "guest";
    std::cout << "hello from the " << where << std::endl;
    return 7;
}
EOF
    g++ -O1 -o "$work/hello" "$work/hello.cpp"
    program=$work/hello guest_path=/opt/test/hello expected_output='hello from the guest' expected_status=7
else
    program=$(command -v true) guest_path=/opt/test/true expected_output='' expected_status=0
fi
"$here/make-initrd.sh" "${initrd_args[@]}" --out "$work/exec.img" \
    --add "$program=$guest_path" >/dev/null
start_guest exec "$work/exec.img" "vmil.exec=$guest_path"
wait_guest exec
exited_with exec 0
[ -z "$expected_output" ] || has exec "$expected_output" "program output on the console"
has exec "VMIL: exec status=$expected_status"
show_console_on_failure exec

# 3. The power button: system_powerdown ends a waiting guest.
start_guest power "$initrd" "vmil.wait"
if wait_for_line power "VMIL: waiting"; then
    qmp power '{"execute":"system_powerdown"}' || fail "power: QMP system_powerdown"
fi
wait_guest power
exited_with power 0
has power "VMIL: waiting"
has power "VMIL: power button"
has power "VMIL: poweroff"
show_console_on_failure power

# 4. vmil.ignore-power: the same request is ignored until QEMU is told to quit.
start_guest ignore "$initrd" "vmil.wait vmil.ignore-power"
if wait_for_line ignore "VMIL: waiting"; then
    qmp ignore '{"execute":"system_powerdown"}' || fail "ignore: QMP system_powerdown"
    sleep 2
    if kill -0 "$qemu_pid" 2>/dev/null; then
        pass "ignore: still running 2 s after system_powerdown"
    else
        fail "ignore: still running 2 s after system_powerdown"
    fi
    qmp ignore '{"execute":"quit"}' || true
fi
wait_guest ignore
exited_with ignore 0
has ignore "VMIL: waiting"
lacks ignore "VMIL: power button"
show_console_on_failure ignore

# 5. vmil.cache: 64 MiB of the first disk that is not the seed (a sparse
# file) read into the page cache and kept there while the guest waits.
truncate -s 96M "$work/empty.raw"
start_guest cache "$initrd" "vmil.cache=64 vmil.wait" \
    -drive "file=$work/seed.iso,if=virtio,format=raw,readonly=on" \
    -drive "file=$work/empty.raw,if=virtio,format=raw" \
    -device virtio-balloon-pci,id=balloon0
if wait_for_line cache "VMIL: cache done 64"; then
    caches=$(disk_caches cache) || caches=
    # The guest's own files (the unpacked initramfs) are about 10 MiB of it.
    if [ -n "$caches" ] && [ "$caches" -ge $((64 << 20)) ]; then
        pass "cache: the guest reports $((caches >> 20)) MiB of disk caches (at least 64)"
    else
        fail "cache: disk caches '${caches}' bytes, expected at least 64 MiB"
    fi
    qmp cache '{"execute":"quit"}' || true
fi
wait_guest cache
has cache "vmil: caching 64 MiB of /dev/vdb" "reads /dev/vdb, not the seed on /dev/vda"
has cache "VMIL: cache progress 8"
has cache "VMIL: cache progress 56"
has cache "VMIL: cache done 64"
lacks cache "VMIL: cache failed 0"
show_console_on_failure cache

# 6. vmil.cache without a disk to read fails with a message and goes on.
start_guest nocache "$initrd" "vmil.cache=8" \
    -drive "file=$work/seed.iso,if=virtio,format=raw,readonly=on"
wait_guest nocache
exited_with nocache 0
has nocache "VMIL: cache failed 0"
has nocache "VMIL: poweroff"
show_console_on_failure nocache

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
