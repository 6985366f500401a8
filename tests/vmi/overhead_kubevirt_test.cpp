// KubeVirt's overhead formula, release by release. Every expected figure is
// worked out by hand from GetMemoryOverhead in that release's source
// (v1.6.0/v1.7.0: pkg/virt-controller/services/renderresources.go and
// template.go; v1.8.0/v1.9.0/main: pkg/hypervisor/kvm/hypervisorbackend.go),
// never taken from the launcher's output.
//
// Shared arithmetic (Mi = 1048576 bytes):
//   processes: virt-launcher-monitor 25 + virt-launcher 100 + virtlogd 25 +
//              virtqemud 40 + qemu 30 = 220Mi in v1.6..v1.9; qemu 50 on
//              main: 240Mi.
//   per vCPU 8Mi, IOThread 8Mi, video 32Mi (autoattachGraphicsDevice unset).
//   page tables: ceil(request / 1000) x 1000 / 512, integer division; the
//              request is the defaulted one in v1.6, the VMI's own
//              requests.memory (else 0) from v1.7.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "vmi/memory_plan.hpp"
#include "vmi/validate.hpp"

using namespace vmi;

namespace {

const std::string head =
    "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\nmetadata:\n  name: t\nspec:\n";

constexpr std::uint64_t Mi = 1048576;

VmiSpec spec_of(const std::string& spec_body) { return load_vmi(head + spec_body); }

Bytes overhead(const VmiSpec& spec, OverheadModel model, double ratio = 1.0, unsigned overcommit = 100) {
    PlanOptions o{model, Accel::kvm, overcommit, false};
    o.overhead_ratio = ratio;
    const MemoryPlan p = plan_memory(spec, o);
    Bytes sum;
    for (const auto& t : p.overhead_terms) sum += t.bytes;
    CHECK(sum == p.overhead);
    return p.overhead;
}

using Expected = std::map<OverheadModel, std::uint64_t>;

void check_all(const VmiSpec& spec, const Expected& expected, double ratio = 1.0, unsigned overcommit = 100) {
    REQUIRE(expected.size() == 5);
    for (const auto& [model, bytes] : expected) {
        INFO(to_string(model));
        CHECK(overhead(spec, model, ratio, overcommit) == Bytes{bytes});
    }
}

using M = OverheadModel;

}  // namespace

TEST_CASE("memory.guest only: page tables only in v1.6, whose mutator wrote the request") {
    // v1.6: request = guest = 1Gi: ceil(1073741824 / 1000) = 1073742;
    //       1073742000 / 512 = 2097152 (2Mi). 2 + 220 + 8 + 8 + 32 = 270Mi.
    // v1.7..v1.9: no requests.memory: 0 + 220 + 8 + 8 + 32 = 268Mi.
    // main: 0 + 240 + 8 + 8 + 32 = 288Mi.
    check_all(spec_of("  domain:\n    memory:\n      guest: 1Gi\n"),
              {{M::kubevirt_v1_6, 270 * Mi},
               {M::kubevirt_v1_7, 268 * Mi},
               {M::kubevirt_v1_8, 268 * Mi},
               {M::kubevirt_v1_9, 268 * Mi},
               {M::kubevirt, 288 * Mi}});
}

TEST_CASE("requests.memory only, 2 cores: every release counts the page tables") {
    // ceil(4294967296 / 1000) = 4294968; 4294968000 / 512 = 8388609 (8Mi + 1).
    // releases: 8Mi+1 + 220 + 2 x 8 + 8 + 32 = 284Mi + 1; main: 304Mi + 1.
    check_all(spec_of("  domain:\n    cpu:\n      cores: 2\n    resources:\n      requests:\n        memory: 4Gi\n"),
              {{M::kubevirt_v1_6, 284 * Mi + 1},
               {M::kubevirt_v1_7, 284 * Mi + 1},
               {M::kubevirt_v1_8, 284 * Mi + 1},
               {M::kubevirt_v1_9, 284 * Mi + 1},
               {M::kubevirt, 304 * Mi + 1}});
}

TEST_CASE("limits.memory only: v1.6 defaulted the request to the limit, later releases count no page tables") {
    // v1.6: request = 2Gi: ceil(2147483648 / 1000) = 2147484; 2147484000 / 512
    //       = 4194304 (4Mi). 4 + 220 + 8 + 8 + 32 = 272Mi. No CPU limit: not
    //       guaranteed QoS.
    // v1.7..v1.9: 268Mi; main: 288Mi.
    check_all(spec_of("  domain:\n    resources:\n      limits:\n        memory: 2Gi\n"),
              {{M::kubevirt_v1_6, 272 * Mi},
               {M::kubevirt_v1_7, 268 * Mi},
               {M::kubevirt_v1_8, 268 * Mi},
               {M::kubevirt_v1_9, 268 * Mi},
               {M::kubevirt, 288 * Mi}});
}

TEST_CASE("memory and CPU limits: guaranteed QoS adds 100Mi, vCPUs come from the CPU limit") {
    // 2 vCPUs (cpu limit "2"), requests default to limits: WantsToHaveQOSGuaranteed.
    // v1.6: 2Mi (1Gi) + 220 + 16 + 8 + 32 + 100 = 378Mi.
    // v1.7..v1.9: 0 + 220 + 16 + 8 + 32 + 100 = 376Mi; main: 396Mi.
    check_all(spec_of("  domain:\n    resources:\n      limits:\n        memory: 1Gi\n        cpu: \"2\"\n"),
              {{M::kubevirt_v1_6, 378 * Mi},
               {M::kubevirt_v1_7, 376 * Mi},
               {M::kubevirt_v1_8, 376 * Mi},
               {M::kubevirt_v1_9, 376 * Mi},
               {M::kubevirt, 396 * Mi}});
}

TEST_CASE("dedicated CPUs add 100Mi") {
    // requests.memory 2Gi: 4Mi of page tables in every release.
    // releases: 4 + 220 + 2 x 8 + 8 + 32 + 100 = 380Mi; main: 400Mi.
    check_all(spec_of("  domain:\n    cpu:\n      cores: 2\n      dedicatedCpuPlacement: true\n"
                      "    resources:\n      requests:\n        memory: 2Gi\n      limits:\n        memory: 2Gi\n"),
              {{M::kubevirt_v1_6, 380 * Mi},
               {M::kubevirt_v1_7, 380 * Mi},
               {M::kubevirt_v1_8, 380 * Mi},
               {M::kubevirt_v1_9, 380 * Mi},
               {M::kubevirt, 400 * Mi}});
}

TEST_CASE("exec probes: 10Mi each and 100Mi once; other probes add nothing") {
    const std::string guest = "  domain:\n    memory:\n      guest: 1Gi\n";
    const std::string exec_liveness = "  livenessProbe:\n    exec:\n      command: [\"true\"]\n";
    const std::string exec_readiness = "  readinessProbe:\n    exec:\n      command: [\"true\"]\n";
    const std::string http_readiness = "  readinessProbe:\n    httpGet:\n      port: 80\n";
    // One exec probe: +110Mi on the guest-only figures (270 / 268 / 288).
    check_all(spec_of(guest + exec_liveness + http_readiness),
              {{M::kubevirt_v1_6, 380 * Mi},
               {M::kubevirt_v1_7, 378 * Mi},
               {M::kubevirt_v1_8, 378 * Mi},
               {M::kubevirt_v1_9, 378 * Mi},
               {M::kubevirt, 398 * Mi}});
    // Two: +120Mi.
    check_all(spec_of(guest + exec_liveness + exec_readiness),
              {{M::kubevirt_v1_6, 390 * Mi},
               {M::kubevirt_v1_7, 388 * Mi},
               {M::kubevirt_v1_8, 388 * Mi},
               {M::kubevirt_v1_9, 388 * Mi},
               {M::kubevirt, 408 * Mi}});
    // An httpGet probe alone: the guest-only figures.
    CHECK(overhead(spec_of(guest + http_readiness), M::kubevirt_v1_9) == Bytes{268 * Mi});
    // The probe is still reported as not acted on.
    CHECK_FALSE(spec_of(guest + exec_liveness).warnings.empty());
}

TEST_CASE("hugepages: the same formula, page tables from the explicit request") {
    // requests.memory 3Gi: ceil(3221225472 / 1000) = 3221226; 3221226000 / 512
    // = 6291457 (6Mi + 1). releases: 6Mi+1 + 268Mi = 274Mi + 1; main: 294Mi + 1.
    check_all(spec_of("  domain:\n    memory:\n      guest: 2Gi\n      hugepages:\n        pageSize: 2Mi\n"
                      "    resources:\n      requests:\n        memory: 3Gi\n"),
              {{M::kubevirt_v1_6, 274 * Mi + 1},
               {M::kubevirt_v1_7, 274 * Mi + 1},
               {M::kubevirt_v1_8, 274 * Mi + 1},
               {M::kubevirt_v1_9, 274 * Mi + 1},
               {M::kubevirt, 294 * Mi + 1}});
}

TEST_CASE("no graphics device: no 32Mi of video RAM") {
    // v1.6: 2Mi + 220 + 8 + 8 = 238Mi; v1.7..v1.9: 236Mi; main: 256Mi.
    check_all(spec_of("  domain:\n    memory:\n      guest: 1Gi\n    devices:\n      autoattachGraphicsDevice: false\n"),
              {{M::kubevirt_v1_6, 238 * Mi},
               {M::kubevirt_v1_7, 236 * Mi},
               {M::kubevirt_v1_8, 236 * Mi},
               {M::kubevirt_v1_9, 236 * Mi},
               {M::kubevirt, 256 * Mi}});
}

TEST_CASE("memoryOvercommit scales v1.6's defaulted request, and so its page tables") {
    // guest 3Gi at 150%: request = 3221225472 x 100 / 150 = 2147483648 (2Gi):
    // 4Mi of page tables in v1.6: 4 + 268 = 272Mi. Later releases: 268 / 288Mi.
    check_all(spec_of("  domain:\n    memory:\n      guest: 3Gi\n"),
              {{M::kubevirt_v1_6, 272 * Mi},
               {M::kubevirt_v1_7, 268 * Mi},
               {M::kubevirt_v1_8, 268 * Mi},
               {M::kubevirt_v1_9, 268 * Mi},
               {M::kubevirt, 288 * Mi}},
              1.0, 150);
}

TEST_CASE("devices the launcher refuses still have KubeVirt's figures") {
    // These fields are refused while parsing (the launcher cannot attach the
    // devices); the spec is built in code. Base: guest 1Gi = 268Mi in
    // v1.7..v1.9, 270Mi in v1.6, 288Mi on main.
    const VmiSpec base = spec_of("  domain:\n    memory:\n      guest: 1Gi\n");
    SECTION("TPM: swtpm's 53Mi in every release") {
        VmiSpec s = base;
        s.overhead_inputs.tpm = true;
        check_all(s, {{M::kubevirt_v1_6, 323 * Mi},
                      {M::kubevirt_v1_7, 321 * Mi},
                      {M::kubevirt_v1_8, 321 * Mi},
                      {M::kubevirt_v1_9, 321 * Mi},
                      {M::kubevirt, 341 * Mi}});
    }
    SECTION("VFIO (a GPU, host device or SR-IOV interface): 1Gi") {
        VmiSpec s = base;
        s.overhead_inputs.vfio = true;
        check_all(s, {{M::kubevirt_v1_6, 1294 * Mi},
                      {M::kubevirt_v1_7, 1292 * Mi},
                      {M::kubevirt_v1_8, 1292 * Mi},
                      {M::kubevirt_v1_9, 1292 * Mi},
                      {M::kubevirt, 1312 * Mi}});
    }
    SECTION("a downwardMetrics volume: 1Mi") {
        VmiSpec s = base;
        s.overhead_inputs.downward_metrics_volume = true;
        check_all(s, {{M::kubevirt_v1_6, 271 * Mi},
                      {M::kubevirt_v1_7, 269 * Mi},
                      {M::kubevirt_v1_8, 269 * Mi},
                      {M::kubevirt_v1_9, 269 * Mi},
                      {M::kubevirt, 289 * Mi}});
    }
    SECTION("SEV: 256Mi; SEV-SNP counts from v1.7 (IsSEVSNPVMI), not in v1.6 (IsSEVVMI is sev only)") {
        VmiSpec sev = base;
        sev.overhead_inputs.sev = true;
        check_all(sev, {{M::kubevirt_v1_6, 526 * Mi},
                        {M::kubevirt_v1_7, 524 * Mi},
                        {M::kubevirt_v1_8, 524 * Mi},
                        {M::kubevirt_v1_9, 524 * Mi},
                        {M::kubevirt, 544 * Mi}});
        VmiSpec snp = base;
        snp.overhead_inputs.sev_snp = true;
        check_all(snp, {{M::kubevirt_v1_6, 270 * Mi},
                        {M::kubevirt_v1_7, 524 * Mi},
                        {M::kubevirt_v1_8, 524 * Mi},
                        {M::kubevirt_v1_9, 524 * Mi},
                        {M::kubevirt, 544 * Mi}});
    }
    SECTION("memory.reservedOverhead.addedOverhead: added from v1.8 (RequiresMemoryOverheadReservation)") {
        VmiSpec s = base;
        s.overhead_inputs.reserved_overhead = QuantityField{*Quantity::try_parse("100Mi"), {}};
        check_all(s, {{M::kubevirt_v1_6, 270 * Mi},
                      {M::kubevirt_v1_7, 268 * Mi},
                      {M::kubevirt_v1_8, 368 * Mi},
                      {M::kubevirt_v1_9, 368 * Mi},
                      {M::kubevirt, 388 * Mi}});
    }
}

TEST_CASE("additionalGuestMemoryOverheadRatio multiplies the whole overhead, in whole kilo") {
    const VmiSpec s = spec_of("  domain:\n    memory:\n      guest: 1Gi\n");
    // main, guest only: 288Mi = 301989888 bytes; in kilo rounded up 301990.
    // 1.5: 301990 x 0.5 = 150995 kilo = 150995000 bytes more.
    CHECK(overhead(s, M::kubevirt, 1.5) == Bytes{301989888 + 150995000});
    // 2: 301990 kilo more.
    CHECK(overhead(s, M::kubevirt, 2.0) == Bytes{301989888 + 301990000});
    // v1.9 (268Mi = 281018368; 281019 kilo) at 1.25: 281019 x 0.25 = 70254.75,
    // truncated to 70254 kilo.
    CHECK(overhead(s, M::kubevirt_v1_9, 1.25) == Bytes{281018368 + 70254000});
    // 1.0 adds no term at all.
    const MemoryPlan p = plan_memory(s, {M::kubevirt, Accel::kvm, 100, false});
    for (const auto& t : p.overhead_terms) CHECK(t.name != "overhead_ratio");
    // The launcher's own model ignores the ratio.
    PlanOptions launcher{M::launcher, Accel::kvm, 100, false};
    const Bytes plain = plan_memory(s, launcher).overhead;
    launcher.overhead_ratio = 2.0;
    CHECK(plan_memory(s, launcher).overhead == plain);
}

TEST_CASE("--overhead-model names and --overhead-ratio text") {
    for (const auto m : overhead_models()) CHECK(parse_overhead_model(to_string(m)) == m);
    CHECK(parse_overhead_model("kubevirt-v1.8") == M::kubevirt_v1_8);
    CHECK(parse_overhead_model("kubevirt-v1.5") == std::nullopt);
    CHECK(parse_overhead_model("KubeVirt") == std::nullopt);
    CHECK(parse_overhead_ratio("1") == 1.0);
    CHECK(parse_overhead_ratio("1.0") == 1.0);
    CHECK(parse_overhead_ratio("1.25") == 1.25);
    CHECK(parse_overhead_ratio("10") == 10.0);
    CHECK(parse_overhead_ratio("1.000001") == 1.000001);
    for (const char* bad : {"", "0.9", "10.5", "11", "-1", "+1", "1e0", "1.", ".5", "inf", "nan", "1.0000001", "1,5",
                            "1.5 ", "0x2", "100"}) {
        INFO(bad);
        CHECK(parse_overhead_ratio(bad) == std::nullopt);
    }
}
