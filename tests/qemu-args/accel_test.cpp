// Accelerator choice: KVM only where /dev/kvm opens AND the CPU advertises
// vmx or svm; TCG otherwise; --accel kvm|tcg forces. The host is injected.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include "qemu-args/accel.hpp"
#include "test_support.hpp"

using namespace qemu_args;

namespace {

// Two processors, as /proc/cpuinfo lists them.
std::string cpuinfo(const std::string& flags) {
    std::string one = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Some CPU\nflags\t\t: " + flags +
                      "\nbugs\t\t: spectre_v1\n\n";
    return one + one;
}

const std::string plain = "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge sse sse2 ht syscall nx lm";

HostProbe host(const std::string& flags, bool kvm_opens) { return {cpuinfo(flags), kvm_opens, kvm_opens ? "" : "No such file or directory"}; }

}  // namespace

TEST_CASE("the CPU flags: vmx or svm as whole words on a flags line") {
    CHECK(cpu_has_virtualization(cpuinfo(plain + " vmx")));
    CHECK(cpu_has_virtualization(cpuinfo("svm " + plain)));
    CHECK(cpu_has_virtualization(cpuinfo(plain + " svm nopl")));
    CHECK_FALSE(cpu_has_virtualization(cpuinfo(plain)));
    // Words that merely contain the letters, or the letters elsewhere.
    CHECK_FALSE(cpu_has_virtualization(cpuinfo(plain + " vmxe svmlock avx512_vmx")));
    CHECK_FALSE(cpu_has_virtualization("model name\t: vmx svm\nbugs\t: vmx\n"));
    // vmx_flags (newer kernels list VMX features on their own line) is not the flags line.
    CHECK_FALSE(cpu_has_virtualization(cpuinfo(plain) + "vmx flags\t: vnmi preemption_timer\n"));
    CHECK_FALSE(cpu_has_virtualization(""));
}

TEST_CASE("auto picks KVM only when /dev/kvm opens and the CPU has vmx or svm") {
    CHECK(choose_accel(AccelRequest::auto_, host(plain + " vmx", true)).accel == vmi::Accel::kvm);
    CHECK(choose_accel(AccelRequest::auto_, host(plain + " svm", true)).accel == vmi::Accel::kvm);

    // These machines: /dev/kvm opens, KVM initialises, yet no vmx/svm: guests hang.
    const AccelChoice nested = choose_accel(AccelRequest::auto_, host(plain, true));
    CHECK(nested.accel == vmi::Accel::tcg);
    CHECK_THAT(nested.reason, Catch::Contains("neither vmx nor svm"));

    const AccelChoice no_kvm = choose_accel(AccelRequest::auto_, host(plain + " vmx", false));
    CHECK(no_kvm.accel == vmi::Accel::tcg);
    CHECK_THAT(no_kvm.reason, Catch::Contains("/dev/kvm cannot be opened") && Catch::Contains("No such file"));
}

TEST_CASE("--accel kvm and --accel tcg force the choice whatever the host") {
    for (bool opens : {false, true}) {
        for (const std::string& flags : {plain, plain + " vmx"}) {
            CHECK(choose_accel(AccelRequest::kvm, host(flags, opens)).accel == vmi::Accel::kvm);
            CHECK(choose_accel(AccelRequest::tcg, host(flags, opens)).accel == vmi::Accel::tcg);
        }
    }
    CHECK(parse_accel_request("auto") == AccelRequest::auto_);
    CHECK(parse_accel_request("kvm") == AccelRequest::kvm);
    CHECK(parse_accel_request("tcg") == AccelRequest::tcg);
    CHECK_THROWS_AS(parse_accel_request("hvf"), std::invalid_argument);
}

TEST_CASE("probe_host reads the injected cpuinfo file and tries to open the injected kvm device") {
    qemu_test::TempDir dir;
    qemu_test::write(dir.path() / "cpuinfo", cpuinfo(plain + " svm"));
    qemu_test::write(dir.path() / "kvm", "");

    const HostProbe opens = probe_host(dir.str("cpuinfo"), dir.str("kvm"));
    CHECK(opens.kvm_opens);
    CHECK(opens.cpuinfo == cpuinfo(plain + " svm"));
    CHECK(choose_accel(AccelRequest::auto_, opens).accel == vmi::Accel::kvm);

    const HostProbe missing = probe_host(dir.str("cpuinfo"), dir.str("no-kvm"));
    CHECK_FALSE(missing.kvm_opens);
    CHECK_THAT(missing.kvm_error, Catch::Contains("No such file"));
    CHECK(choose_accel(AccelRequest::auto_, missing).accel == vmi::Accel::tcg);

    if (::geteuid() != 0) {  // root opens anything
        ::chmod(dir.str("kvm").c_str(), 0);
        CHECK_FALSE(probe_host(dir.str("cpuinfo"), dir.str("kvm")).kvm_opens);
    }
}
