// The CUDA backend against the CPU backend, which is the reference: the same spec must give the
// same spikes, counts and traces. These tests are named "<...>/cuda" (label gpu) and skip
// themselves without a device.
//
// Why the results should agree to the bit: both backends call the same per-step function
// (neuron_step -> membrane_step -> the model's free_step), the same Philox streams and the same
// exp/log/sincos of spikesim/fast_math.hpp, which use only +, -, *, explicit fma, selects and bit
// casts, with IEEE sqrt. The host is built with -ffp-contract=off and the device with
// -fmad=false, so no a * b + c is fused unless the source says fma, on either side; the drive
// R_m (I + pulses) is computed in the same order; nothing uses --use_fast_math, and neither side
// flushes subnormals. inputs_traces_and_chunking_match_cpu checks that identity exactly.
//
// The statistical tests below still allow a few differing neurons, because identity rests on
// build flags that a user may change (a toolchain that contracts, -ffast-math, a different exp):
// then u differs in its last bit after some steps. The leak damps such differences and every
// reset erases them (u is set to V_reset exactly); they only matter when a threshold crossing is
// decided within that last bit: that spike moves by one step and the neuron's trajectory differs
// until later resets bring it back. A neuron with a changed spike count is such an event.
#include <cmath>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <spikesim/errors.hpp>

#include "cpu/connectivity.hpp"
#include "parity.hpp"
#include "population_state.hpp"
#include "test_support.hpp"

namespace spikesim {
// kernels/connectivity.cu: projection `projection` onto `targets` built on the device and copied
// back in the CPU backend's format; host_fallback_all builds every fixed_probability target by
// the host path that the device otherwise takes only for draws it cannot decide.
csr_projection cuda_build_projection(const experiment_spec& spec, uint32_t projection, int device,
                                     bool host_fallback_all,
                                     neuron_slice targets = {0, ~uint64_t{0}});
}  // namespace spikesim

namespace spikesim::testing {
namespace {

class cuda_backend : public backend_test {};

std::vector<uint32_t> spikes_per_neuron(const run_result& r, size_t p, uint64_t n) {
  std::vector<uint32_t> c(n, 0);
  for (uint64_t id : r.rec.populations[p].spike_ids) ++c.at(id);
  return c;
}

// The spike lists are sorted by (step, id), and the per-step counts agree with them.
void expect_well_formed(const run_result& r, const experiment_spec& spec) {
  for (size_t p = 0; p < r.rec.populations.size(); ++p) {
    const auto& d = r.rec.populations[p];
    ASSERT_EQ(d.counts.size(), spec.run.steps());
    ASSERT_EQ(d.spike_steps.size(), d.spike_ids.size());
    std::vector<uint32_t> counts(spec.run.steps(), 0);
    for (size_t k = 0; k < d.spike_steps.size(); ++k) {
      ++counts.at(d.spike_steps[k]);
      if (k > 0)
        ASSERT_TRUE(
            d.spike_steps[k - 1] < d.spike_steps[k] ||
            (d.spike_steps[k - 1] == d.spike_steps[k] && d.spike_ids[k - 1] < d.spike_ids[k]))
            << "population " << p << ": spike " << k << " out of order";
    }
    if (!spec.populations[p].record.spikes) continue;
    EXPECT_EQ(d.counts, counts) << "population " << p;
  }
}

struct parity {
  uint64_t neurons = 0;
  uint64_t differing = 0;  // neurons whose spike counts differ
  uint64_t cpu_spikes = 0, cuda_spikes = 0;
  double max_dv_same = 0.0;  // largest final |u_cpu - u_cuda| over neurons with equal trains
};

parity compare(const experiment_spec& spec, const run_result& cpu, const run_result& gpu) {
  parity r;
  const uint64_t n = spec.populations[0].size;
  r.neurons = n;
  const auto a = spikes_per_neuron(cpu, 0, n), b = spikes_per_neuron(gpu, 0, n);
  std::vector<std::vector<uint64_t>> ta(n), tb(n);
  for (size_t k = 0; k < cpu.rec.populations[0].spike_ids.size(); ++k)
    ta[cpu.rec.populations[0].spike_ids[k]].push_back(cpu.rec.populations[0].spike_steps[k]);
  for (size_t k = 0; k < gpu.rec.populations[0].spike_ids.size(); ++k)
    tb[gpu.rec.populations[0].spike_ids[k]].push_back(gpu.rec.populations[0].spike_steps[k]);
  for (uint64_t i = 0; i < n; ++i) {
    r.differing += a[i] != b[i];
    r.cpu_spikes += a[i];
    r.cuda_spikes += b[i];
    if (ta[i] == tb[i])
      r.max_dv_same = std::max(r.max_dv_same, std::fabs(cpu.final_v[0][i] - gpu.final_v[0][i]));
  }
  return r;
}

// The reference EIF (the defaults of eif_params) with white noise and a current ramp across the
// rheobase (7.25 nA), so that the population spans silent, noise-driven and regular firing.
std::string noisy_eif(const char* precision) {
  return std::string("[run]\ndt = 0.1\ntstop = 1000.0\nrandom_seed = 11\nprecision = \"") +
         precision +
         "\"\n[population.eif]\nsize = 10000\nmodel = \"eif\"\n"
         "input = { I = { from = 6.0, to = 9.0 }, sigma = 2.0 }\n";
}

TEST_P(cuda_backend, double_precision_matches_cpu) {
  const auto spec = spec_from(noisy_eif("double"));
  const auto cpu = run_on("cpu", spec);
  const auto gpu = run_on(backend_kind(), spec);
  expect_well_formed(gpu, spec);
  const parity p = compare(spec, cpu, gpu);
  ASSERT_GT(p.cpu_spikes, 10000u) << "the population should fire";
  // Expected: identical. Allowed: a crossing decided by the last bit (~1e-14 mV) in at most
  // 0.1% of the neurons.
  EXPECT_LE(p.differing, p.neurons / 1000) << p.differing << " neurons differ";
  EXPECT_NEAR(static_cast<double>(p.cuda_spikes), static_cast<double>(p.cpu_spikes),
              1e-3 * static_cast<double>(p.cpu_spikes));
  // Between resets the leak damps last-bit differences: ~1e-14 mV per step over 1/(1 - decay)
  // ~ 100 steps, even with the exponential's gain near V_T far below 1e-9 mV.
  EXPECT_LT(p.max_dv_same, 1e-9);
}

TEST_P(cuda_backend, single_precision_matches_cpu) {
  const auto spec = spec_from(noisy_eif("float"));
  const auto cpu = run_on("cpu", spec);
  const auto gpu = run_on(backend_kind(), spec);
  expect_well_formed(gpu, spec);
  const parity p = compare(spec, cpu, gpu);
  ASSERT_GT(p.cpu_spikes, 10000u);
  // Expected: identical. Allowed, should last-bit differences appear: in float the last bit of
  // u is ~4e-6 mV, 2^29 times coarser than in double, so crossings decided by it are no longer
  // negligible: a noisy trajectory that grazes V_T, where the exponential turns a small
  // difference into escape or return, can flip. Each such event changes one neuron's count by
  // about one spike, in either direction, so up to 1% of the counts may differ while the
  // population rate, where the flips largely cancel, stays within 0.5%.
  EXPECT_LE(p.differing, p.neurons / 100) << p.differing << " neurons differ";
  EXPECT_NEAR(static_cast<double>(p.cuda_spikes), static_cast<double>(p.cpu_spikes),
              5e-3 * static_cast<double>(p.cpu_spikes));
  // Last-bit differences of ~4e-6 mV, damped over ~100 steps: below 1e-3 mV.
  EXPECT_LT(p.max_dv_same, 1e-2);
}

TEST_P(cuda_backend, spike_buffer_overflow_loses_no_spike) {
  // Every neuron fires at every step: R_m I = 4e5 mV lifts u from V_reset past V_th in one step
  // and t_ref = 0. A chunk of 400 steps then holds 4096 * 400 = 1.6e6 spikes, more than the
  // initial device buffer of max(2^20, 4 x the spikes at 200 Hz) = 2^20 keys that
  // kernels/population_setup.cu allocates for it, so the first chunk overflows: the kernel counts
  // beyond the capacity, the backend grows the buffer and runs the chunk again from its start.
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 80.0\nchunk_steps = 400\n"
      "[population.lif]\nsize = 4096\nmodel = \"lif\"\n"
      "params = { t_ref = 0.0 }\ninput = { I = 100000.0 }\n");
  const uint64_t n = 4096, steps = spec.run.steps();
  ASSERT_EQ(steps, 800u);
  const auto gpu = run_on(backend_kind(), spec);
  const auto& d = gpu.rec.populations[0];
  ASSERT_EQ(d.spike_ids.size(), n * steps);
  EXPECT_EQ(gpu.summary.populations[0].spikes, n * steps);
  for (uint64_t s = 0; s < steps; ++s) ASSERT_EQ(d.counts[s], n) << "step " << s;
  for (uint64_t k = 0; k < n * steps; ++k) {
    ASSERT_EQ(d.spike_steps[k], k / n) << "spike " << k;
    ASSERT_EQ(d.spike_ids[k], k % n) << "spike " << k;
  }
  const auto cpu = run_on("cpu", spec);
  EXPECT_TRUE(same_population_output(spec.populations[0], cpu.rec.populations[0], d));
}

TEST_P(cuda_backend, inputs_traces_and_chunking_match_cpu) {
  // Everything the kernel handles, compared bit for bit (see the top of this file), in both
  // precisions: LIF with uniform and per-neuron pulses (one starting off the step grid) and
  // refractoriness; EIF with OU input, a uniform random start and refractoriness; white noise;
  // traces every 3 steps; a population without spike recording; and chunks of 7 steps, which
  // start inside the 4-step random blocks and between trace rows, with a speculative launch of
  // each next chunk and a shorter last one (2000 = 285 x 7 + 5 steps).
  const std::string toml =
      "[run]\ndt = 0.1\ntstop = 200.0\nrandom_seed = 5\nchunk_steps = 7\n"
      "[population.pulsed]\nsize = 300\nmodel = \"lif\"\nparams = { t_ref = 2.0 }\n"
      "input = { I = { from = 8.0, to = 14.0 }, pulses = [ "
      "{ start = 20.0, stop = 120.0, amplitude = 3.0 }, "
      "{ start = 50.05, stop = 150.0, amplitude = { from = -2.0, to = 4.0 } } ] }\n"
      "record = { traces = [0, 1, 150, 299], trace_every = 3 }\n"
      "[population.ou]\nsize = 2000\nmodel = \"eif\"\nparams = { t_ref = 1.0 }\n"
      "init = { V = { uniform = [-70.0, -50.0] } }\n"
      "input = { I = 7.0, sigma = 3.0, tau_noise = 4.0 }\n"
      "record = { traces = [7, 1999] }\n"
      "[population.white]\nsize = 1000\nmodel = \"lif\"\n"
      "input = { I = { from = 8.0, to = 11.0 }, sigma = 4.0 }\n"
      "[population.quiet]\nsize = 500\nmodel = \"lif\"\n"
      "input = { I = { from = 9.0, to = 12.0 } }\nrecord = { spikes = false }\n";
  for (const char* prec : {"double", "float"}) {
    SCOPED_TRACE(prec);
    const auto spec = spec_from(toml, {std::string("run.precision=\"") + prec + "\""});
    const auto cpu = run_on("cpu", spec);
    const auto gpu = run_on(backend_kind(), spec);
    expect_well_formed(gpu, spec);
    ASSERT_EQ(gpu.rec.populations.size(), 4u);
    for (size_t p = 0; p < 4; ++p) {
      if (spec.populations[p].name == "pulsed")
        EXPECT_EQ(gpu.rec.populations[p].trace_rows, (spec.run.steps() + 2) / 3);
      if (spec.populations[p].name == "quiet")
        EXPECT_TRUE(gpu.rec.populations[p].spike_ids.empty());
    }
    for (size_t p = 0; p < 4; ++p) {
      const auto& a = cpu.rec.populations[p];
      const auto& b = gpu.rec.populations[p];
      const std::string& name = spec.populations[p].name;
      EXPECT_GT(cpu.summary.populations[p].spikes, 100u) << name << ": should fire";
      EXPECT_EQ(cpu.summary.populations[p].spikes, gpu.summary.populations[p].spikes) << name;
      EXPECT_TRUE(same_population_output(spec.populations[p], a, b));
      EXPECT_TRUE(same_potentials(spec.populations[p], cpu.final_v[p], gpu.final_v[p]));
    }
  }
}

TEST_P(cuda_backend, too_big_for_the_device_is_memory_error) {
  // Two populations of 2^32 - 1 neurons (the largest size) in double with OU input and a
  // per-neuron pulse need
  // 2^33 x (2 x (8 + 4 + 8) + 8 + 8) bytes = 481 GB of state and inputs alone. The ramp keeps
  // the spec itself small; the check must come before the host state is built.
  const std::string pop =
      "size = 4294967295\nmodel = \"lif\"\n"
      "input = { I = 1.0, sigma = 1.0, tau_noise = 2.0, pulses = [ "
      "{ start = 1.0, stop = 2.0, amplitude = { from = 0.0, to = 1.0 } } ] }\n";
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 10.0\nprecision = \"double\"\n"
      "[population.a]\n" +
      pop + "[population.b]\n" + pop);
  try {
    make_cuda_backend(spec, 0);
    FAIL() << "expected memory_error";
  } catch (const memory_error& e) {
    EXPECT_EQ(e.kind(), error_kind::memory);
    const std::string what = e.what();
    EXPECT_NE(what.find("GiB"), std::string::npos) << what;
    EXPECT_NE(what.find("free"), std::string::npos) << what;
  }
}

TEST_P(cuda_backend, bad_device_ordinal_is_backend_error) {
  const auto spec = spec_from("[population.p]\nsize = 10\nmodel = \"lif\"\n");
  try {
    make_cuda_backend(spec, cuda_device_count());
    FAIL() << "expected backend_error";
  } catch (const backend_error& e) {
    EXPECT_EQ(e.kind(), error_kind::backend);
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
}

TEST_P(cuda_backend, names_its_device) {
  const auto b = make_cuda_backend(spec_from("[population.p]\nsize = 10\nmodel = \"lif\"\n"), 0);
  EXPECT_EQ(b->name(), "cuda");
  EXPECT_NE(b->device().find("SMs"), std::string::npos) << b->device();
  EXPECT_NE(b->device().find("sm_"), std::string::npos) << b->device();
  EXPECT_EQ(cuda_status().devices.size(), static_cast<size_t>(cuda_device_count()));
  EXPECT_TRUE(cuda_status().error.empty()) << cuda_status().error;
}

// ---- Networks: the CPU backend is the reference, bit for bit (docs/architecture.md, The CUDA
// network path). Synapses come from the same draws, integer ring sums do not depend on the
// order of delivery, and the kernel reads the rings with the CPU's operations in the CPU's order.

void expect_same_csr(const csr_projection& cpu, const csr_projection& gpu) {
  EXPECT_EQ(cpu.n_source, gpu.n_source);
  EXPECT_EQ(cpu.n_target, gpu.n_target);
  EXPECT_EQ(cpu.weight, gpu.weight);
  EXPECT_EQ(cpu.delay, gpu.delay);
  EXPECT_EQ(cpu.min_delay, gpu.min_delay);
  EXPECT_EQ(cpu.max_delay, gpu.max_delay);
  EXPECT_EQ(cpu.bytes(), gpu.bytes());
  EXPECT_EQ(cpu.row, gpu.row);
  // Element by element first, so that a failure names the first differing synapse.
  ASSERT_EQ(cpu.targets.size(), gpu.targets.size());
  for (size_t k = 0; k < cpu.targets.size(); ++k)
    ASSERT_EQ(cpu.targets[k], gpu.targets[k]) << "synapse " << k;
  EXPECT_EQ(cpu.weights, gpu.weights);
  EXPECT_EQ(cpu.delays, gpu.delays);
}

// Two populations and one projection (within `src` when target = "src"). Sizes in the text.
std::string projection_config(uint64_t n_src, uint64_t n_tgt, const std::string& projection) {
  std::ostringstream o;
  o << "[run]\ndt = 0.1\ntstop = 10.0\nrandom_seed = 3\n"
    << "[population.src]\nsize = " << n_src << "\nmodel = \"lif\"\n"
    << "[population.tgt]\nsize = " << n_tgt << "\nmodel = \"lif\"\n"
    << "[projection.p]\n"
    << projection;
  return o.str();
}

struct rule_case {
  uint64_t n_src, n_tgt;
  std::string projection;
};

const std::string varying = "weight = { normal = [0.1, 0.2] }\ndelay = { uniform = [0.5, 2.5] }\n";

// Every connection rule, with and without autapses and multapses, constant and drawn weights and
// delays.
std::vector<rule_case> rule_cases() {
  return {
      // multapses, no autapses: the pool skips the target
      {2000, 2000,
       "source = \"src\"\ntarget = \"src\"\nrule = \"fixed_indegree\"\nindegree = 100\n"
       "autapses = false\n" +
           varying},
      // Floyd: few collisions, then nearly every source (long chains of taken values), then all
      {2000, 2000,
       "source = \"src\"\ntarget = \"src\"\nrule = \"fixed_indegree\"\nindegree = 100\n"
       "autapses = false\nmultapses = false\n" +
           varying},
      {2000, 1000,
       "source = \"src\"\ntarget = \"tgt\"\nrule = \"fixed_indegree\"\nindegree = 1900\n"
       "multapses = false\nweight = 0.1\ndelay = { normal = [1.5, 0.3] }\n"},
      {2000, 500,
       "source = \"src\"\ntarget = \"tgt\"\nrule = \"fixed_indegree\"\nindegree = 2000\n"
       "multapses = false\nweight = { uniform = [-0.2, 0.1] }\ndelay = 1.0\n"},
      // Floyd with tables too large for shared memory (global-memory tables)
      {60000, 12,
       "source = \"src\"\ntarget = \"tgt\"\nrule = \"fixed_indegree\"\nindegree = 50000\n"
       "multapses = false\n" +
           varying},
      // more synapses than one regrouping batch (2^24): rows continue across batches
      {20000, 20000,
       "source = \"src\"\ntarget = \"tgt\"\nrule = \"fixed_indegree\"\nindegree = 1000\n" +
           varying},
      // fixed_total_number: the host's split, sources drawn on the device; normal delays redrawn
      {2000, 2000,
       "source = \"src\"\ntarget = \"src\"\nrule = \"fixed_total_number\"\nN = 150000\n"
       "autapses = false\nweight = { normal = [-0.1, 0.05] }\n"
       "delay = { normal = [1.5, 0.75], min = 0.05 }\n"},
      {2000, 2000,
       "source = \"src\"\ntarget = \"src\"\nrule = \"fixed_probability\"\np = 0.05\n"
       "autapses = false\n" +
           varying},
      {2000, 1000,
       "source = \"src\"\ntarget = \"tgt\"\nrule = \"fixed_probability\"\np = 0.9\n"
       "weight = 0.1\ndelay = 1.0\n"},
      {2000, 1000,
       "source = \"src\"\ntarget = \"tgt\"\nrule = \"fixed_probability\"\np = 0.0001\n"
       "weight = 0.1\ndelay = 1.0\n"},
      {2000, 1000,
       "source = \"src\"\ntarget = \"tgt\"\nrule = \"fixed_probability\"\np = 1.0\n"
       "weight = 0.1\ndelay = 1.0\n"},
      {1500, 1500,
       "source = \"src\"\ntarget = \"src\"\nrule = \"all_to_all\"\nautapses = false\n" + varying},
      {1000, 700,
       "source = \"src\"\ntarget = \"tgt\"\nrule = \"all_to_all\"\nweight = 0.1\n"
       "delay = 1.0\n"},
      {1000, 1000, "source = \"src\"\ntarget = \"tgt\"\nrule = \"one_to_one\"\n" + varying},
      {1000, 1000,
       "source = \"src\"\ntarget = \"src\"\nrule = \"one_to_one\"\nautapses = false\n"
       "weight = 0.1\ndelay = 1.0\n"},
  };
}

TEST_P(cuda_backend, connectivity_is_the_cpus_for_every_rule) {
  for (const auto& c : rule_cases()) {
    SCOPED_TRACE(c.projection);
    const auto spec = spec_from(projection_config(c.n_src, c.n_tgt, c.projection));
    const csr_projection cpu = build_projection(spec, spec.projections[0], 2);
    expect_same_csr(cpu, cuda_build_projection(spec, 0, 0, false));
  }
  // The host path of fixed_probability (taken for draws whose gap the device's log cannot
  // decide against glibc's), forced for every target, gives the same synapses.
  const auto spec = spec_from(projection_config(
      2000, 2000,
      "source = \"src\"\ntarget = \"src\"\nrule = \"fixed_probability\"\np = 0.05\n"
      "autapses = false\n" +
          varying));
  expect_same_csr(build_projection(spec, spec.projections[0], 1),
                  cuda_build_projection(spec, 0, 0, true));
}

TEST_P(cuda_backend, connectivity_onto_a_slice_of_targets_is_the_cpus) {
  // A rank's share of each projection: the synapses onto the middle third of the targets (the
  // draws keyed by the population-local target id, target ids relative to the slice), and onto
  // no target at all.
  for (const auto& c : rule_cases()) {
    SCOPED_TRACE(c.projection);
    const auto spec = spec_from(projection_config(c.n_src, c.n_tgt, c.projection));
    const uint64_t n = spec.populations[spec.projections[0].target].size;
    for (const neuron_slice sl : {neuron_slice{n / 3, 2 * n / 3 + 1}, neuron_slice{n, n}}) {
      SCOPED_TRACE(std::to_string(sl.lo) + " .. " + std::to_string(sl.hi));
      const csr_projection cpu = build_projection(spec, spec.projections[0], 2, sl);
      ASSERT_EQ(cpu.n_target, sl.size());
      expect_same_csr(cpu, cuda_build_projection(spec, 0, 0, false, sl));
    }
  }
  const auto spec = spec_from(projection_config(
      2000, 2000,
      "source = \"src\"\ntarget = \"src\"\nrule = \"fixed_probability\"\np = 0.05\n"
      "autapses = false\n" +
          varying));
  const neuron_slice sl{700, 1300};
  expect_same_csr(build_projection(spec, spec.projections[0], 1, sl),
                  cuda_build_projection(spec, 0, 0, true, sl));
}

// Spikes (step and id), per-step counts, traces, final potentials and the network figures.
void expect_same_run(const experiment_spec& spec, const run_result& cpu, const run_result& gpu) {
  expect_well_formed(gpu, spec);
  for (size_t p = 0; p < spec.populations.size(); ++p) {
    const std::string& name = spec.populations[p].name;
    const auto& a = cpu.rec.populations[p];
    const auto& b = gpu.rec.populations[p];
    EXPECT_GT(cpu.summary.populations[p].spikes, 100u) << name << ": should fire";
    EXPECT_EQ(cpu.summary.populations[p].spikes, gpu.summary.populations[p].spikes) << name;
    EXPECT_TRUE(same_population_output(spec.populations[p], a, b));
    EXPECT_TRUE(same_potentials(spec.populations[p], cpu.final_v[p], gpu.final_v[p]));
  }
  EXPECT_EQ(cpu.summary.synapses, gpu.summary.synapses);
  EXPECT_EQ(cpu.summary.synapse_bytes, gpu.summary.synapse_bytes);
  EXPECT_EQ(cpu.summary.synaptic_events, gpu.summary.synaptic_events);
}

// Brunel's model A (examples/brunel.toml) reduced to 2500 neurons with its in-degrees, weights and
// Poisson drive scaled as in tests/validation/test_network.cpp, written out here because the
// GPU tests run without the source tree.
std::string small_brunel(const char* precision) {
  const std::string neuron =
      "model = \"lif\"\n"
      "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }\n"
      "init = { V = { uniform = [0.0, 20.0] } }\n"
      "input = { poisson = { rate = 20.0, count = 200, weight = 0.5 } }\n";
  auto projection = [](const char* name, const char* src, const char* tgt, int k, double w,
                       bool self) {
    std::ostringstream o;
    o << "[projection." << name << "]\nsource = \"" << src << "\"\ntarget = \"" << tgt
      << "\"\nrule = \"fixed_indegree\"\nindegree = " << k << "\nweight = " << w
      << "\ndelay = 1.5\n"
      << (self ? "autapses = false\n" : "");
    return o.str();
  };
  return std::string("[run]\ndt = 0.1\ntstop = 200.0\nrandom_seed = 1\nprecision = \"") +
         precision + "\"\n[population.exc]\nsize = 2000\n" + neuron +
         "record = { traces = [0, 1] }\n[population.inh]\nsize = 500\n" + neuron +
         projection("ee", "exc", "exc", 200, 0.5, true) +
         projection("ei", "exc", "inh", 200, 0.5, false) +
         projection("ie", "inh", "exc", 50, -2.5, false) +
         projection("ii", "inh", "inh", 50, -2.5, true);
}

TEST_P(cuda_backend, brunel_network_matches_cpu) {
  for (const char* prec : {"double", "float"}) {
    SCOPED_TRACE(prec);
    const auto spec = spec_from(small_brunel(prec));
    const auto cpu = run_on("cpu", spec);
    const auto gpu = run_on(backend_kind(), spec);
    EXPECT_EQ(gpu.summary.backend, "cuda");
    EXPECT_EQ(cpu.summary.synapses, 2500u * 250u);
    EXPECT_GT(cpu.summary.synaptic_events, 0u);
    expect_same_run(spec, cpu, gpu);
  }
  // Chunks shorter than the delay: speculative launches of 4 steps, and a last short chunk.
  const auto spec = spec_from(small_brunel("double"), {"run.chunk_steps=4"});
  expect_same_run(spec, run_on("cpu", spec), run_on(backend_kind(), spec));
}

// Everything else the network path handles: exp synapses from two projections with normal and
// uniform weights and uniform and normal delays, delta synapses from Floyd's distinct sources,
// white and OU noise, an HH target, a source whose spikes are delivered but not recorded, Poisson
// drive by inversion (lambda = 2) and by the normal approximation (lambda = 100), through delta
// and through exp synapses (with and without exp projections onto the population), and chunks of
// 7 steps that start off the 4-step random blocks.
std::string mixed_network() {
  return "[run]\ndt = 0.1\ntstop = 150.0\nrandom_seed = 9\nchunk_steps = 7\n"
         "[population.a]\nsize = 1500\nmodel = \"lif\"\n"
         "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, "
         "t_ref = 2.0 }\n"
         "init = { V = { uniform = [0.0, 20.0] } }\n"
         "input = { I = 14.0, sigma = 3.0, poisson = { rate = 20.0, count = 1000, weight = 0.02 } "
         "}\nrecord = { spikes = false }\n"
         "[population.b]\nsize = 1000\nmodel = \"eif\"\n"
         "input = { I = 7.5, sigma = 2.0, tau_noise = 3.0, "
         "poisson = { rate = 1000.0, count = 1000, weight = 0.0001, synapse = \"exp\", "
         "tau_syn = 2.0 } }\n"
         "record = { traces = [0, 999], trace_every = 3 }\n"
         "[population.d]\nsize = 300\nmodel = \"lif\"\n"
         "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0 }\n"
         "input = { I = 16.0, poisson = { rate = 20.0, count = 1000, weight = 0.5, "
         "synapse = \"exp\", tau_syn = 0.5 } }\n"
         "record = { traces = [5] }\n"
         "[population.c]\nsize = 200\nmodel = \"hh\"\ninput = { I = 10.0, sigma = 1.0 }\n"
         "[projection.ab]\nsource = \"a\"\ntarget = \"b\"\nrule = \"fixed_indegree\"\n"
         "indegree = 100\nsynapse = \"exp\"\ntau_syn = 2.0\n"
         "weight = { normal = [0.05, 0.05] }\ndelay = { uniform = [1.0, 3.0] }\n"
         "[projection.bb]\nsource = \"b\"\ntarget = \"b\"\nrule = \"fixed_probability\"\n"
         "p = 0.05\nsynapse = \"exp\"\ntau_syn = 2.0\nautapses = false\n"
         "weight = { uniform = [-0.2, 0.0] }\ndelay = { normal = [2.0, 0.2] }\n"
         "[projection.ba]\nsource = \"b\"\ntarget = \"a\"\nrule = \"fixed_indegree\"\n"
         "indegree = 80\nmultapses = false\nweight = -0.1\ndelay = 1.2\n"
         "[projection.ac]\nsource = \"a\"\ntarget = \"c\"\nrule = \"all_to_all\"\n"
         "weight = 0.002\ndelay = 1.0\n"
         "[projection.cc]\nsource = \"c\"\ntarget = \"c\"\nrule = \"one_to_one\"\n"
         "weight = 0.5\ndelay = 4.0\n";
}

TEST_P(cuda_backend, exp_synapses_varying_weights_and_delays_match_cpu) {
  for (const char* prec : {"double", "float"}) {
    SCOPED_TRACE(prec);
    const auto spec = spec_from(mixed_network(), {std::string("run.precision=\"") + prec + "\""});
    ASSERT_EQ(chunk_steps_for(spec), 7u);
    const auto cpu = run_on("cpu", spec);
    const auto gpu = run_on(backend_kind(), spec);
    EXPECT_TRUE(gpu.rec.populations[0].spike_ids.empty()) << "a's spikes are not recorded";
    expect_same_run(spec, cpu, gpu);
  }
}

TEST_P(cuda_backend, fixed_probability_and_all_to_all_networks_match_cpu) {
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 150.0\nrandom_seed = 4\n"
      "[population.e]\nsize = 1200\nmodel = \"lif\"\n"
      "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }\n"
      "init = { V = { uniform = [0.0, 20.0] } }\n"
      "input = { poisson = { rate = 30.0, count = 100, weight = 0.4 } }\n"
      "[population.i]\nsize = 300\nmodel = \"lif\"\n"
      "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }\n"
      "input = { I = 21.0, sigma = 2.0 }\n"
      "[projection.ee]\nsource = \"e\"\ntarget = \"e\"\nrule = \"fixed_probability\"\n"
      "p = 0.1\nautapses = false\nweight = 0.1\ndelay = 1.5\n"
      "[projection.ei]\nsource = \"e\"\ntarget = \"i\"\nrule = \"all_to_all\"\n"
      "weight = 0.005\ndelay = 2.0\n"
      "[projection.ie]\nsource = \"i\"\ntarget = \"e\"\nrule = \"all_to_all\"\n"
      "weight = { uniform = [-0.05, -0.01] }\ndelay = { uniform = [1.5, 2.5] }\n");
  expect_same_run(spec, run_on("cpu", spec), run_on(backend_kind(), spec));
}

// Runs steps [first, first + steps) in chunks as simulate() does and returns each population's
// spikes, appended.
std::vector<population_chunk> advance_run(backend& b, const experiment_spec& spec, uint64_t first,
                                          uint64_t steps) {
  std::vector<population_chunk> all(spec.populations.size());
  const uint64_t chunk = chunk_steps_for(spec);
  chunk_output out;
  for (uint64_t done = 0; done < steps;) {
    const uint64_t n = std::min(chunk, steps - done);
    b.advance(first + done, n, out);
    for (size_t p = 0; p < all.size(); ++p) append(all[p], out.populations[p]);
    done += n;
  }
  return all;
}

void expect_same_state(const std::vector<state_array>& cpu, const std::vector<state_array>& gpu) {
  ASSERT_EQ(cpu.size(), gpu.size());
  for (size_t k = 0; k < cpu.size(); ++k) {
    SCOPED_TRACE(cpu[k].name);
    EXPECT_EQ(cpu[k].name, gpu[k].name);
    EXPECT_EQ(cpu[k].type, gpu[k].type);
    EXPECT_EQ(cpu[k].count, gpu[k].count);
    EXPECT_TRUE(cpu[k].bytes == gpu[k].bytes) << "values differ";
  }
}

// The spikes, counts and traces of steps [first, ...) of two runs (advance_run).
void expect_same_spikes(const experiment_spec& spec, uint64_t first,
                        const std::vector<population_chunk>& a,
                        const std::vector<population_chunk>& b) {
  EXPECT_TRUE(same_output(spec, a, b, {}, first));
}

TEST_P(cuda_backend, checkpoint_state_is_the_cpus_and_resumes_across_backends) {
  const auto spec = spec_from(mixed_network());
  const uint64_t chunk = chunk_steps_for(spec), n = 60 * chunk, rest = spec.run.steps() - n;
  ASSERT_GT(rest, 10 * chunk);
  auto cpu = make_cpu_backend(spec, 2);
  auto gpu = make_cuda_backend(spec, 0);
  advance_run(*cpu, spec, 0, n);
  advance_run(*gpu, spec, 0, n);
  // The CUDA backend has launched the next chunk speculatively by now; the state saved is still
  // the one after step n.
  const auto saved_cpu = cpu->save_state();
  const auto saved_gpu = gpu->save_state();
  std::map<std::string, std::string> names;
  for (const auto& a : saved_cpu) names[a.name] = a.type;
  for (const char* want :
       {"population/a/u", "population/a/ref", "population/a/ring_delta", "population/b/eta",
        "population/b/i_syn", "population/b/ring_exp", "population/c/m", "population/c/h",
        "population/c/n", "population/c/ring_delta", "network/synaptic_events"})
    EXPECT_EQ(names.count(want), 1u) << want;
  expect_same_state(saved_cpu, saved_gpu);

  // Both go on as if nothing happened (saving dropped nothing the speculative chunk needs).
  const auto cont_cpu = advance_run(*cpu, spec, n, rest);
  expect_same_spikes(spec, n, cont_cpu, advance_run(*gpu, spec, n, rest));
  EXPECT_EQ(cpu->network().synaptic_events, gpu->network().synaptic_events);

  // A CPU checkpoint resumed on the device, and a device checkpoint resumed on the CPU.
  auto gpu2 = make_cuda_backend(spec, 0);
  advance_run(*gpu2, spec, 0, 3 * chunk);  // some other state, and a pending speculation
  gpu2->restore_state(saved_cpu);
  expect_same_state(saved_cpu, gpu2->save_state());
  expect_same_spikes(spec, n, cont_cpu, advance_run(*gpu2, spec, n, rest));
  auto cpu2 = make_cpu_backend(spec, 1);
  cpu2->restore_state(saved_gpu);
  expect_same_spikes(spec, n, cont_cpu, advance_run(*cpu2, spec, n, rest));
  EXPECT_EQ(cpu->network().synaptic_events, gpu2->network().synaptic_events);
  EXPECT_EQ(cpu->network().synaptic_events, cpu2->network().synaptic_events);

  // A checkpoint of another spec is refused by name or size.
  auto other = make_cuda_backend(spec_from(small_brunel("double")), 0);
  EXPECT_THROW(other->restore_state(saved_cpu), input_error);
}

TEST_P(cuda_backend, population_checkpoint_in_float_resumes) {
  // Without projections: u, ref, eta (OU) and the event count, in float, resumed mid-run.
  const std::string toml =
      "[run]\ndt = 0.1\ntstop = 100.0\nrandom_seed = 2\nprecision = \"float\"\n"
      "chunk_steps = 10\n"
      "[population.p]\nsize = 3000\nmodel = \"eif\"\n"
      "input = { I = 7.0, sigma = 3.0, tau_noise = 4.0 }\n";
  const auto spec = spec_from(toml);
  auto cpu = make_cpu_backend(spec, 2);
  auto gpu = make_cuda_backend(spec, 0);
  advance_run(*cpu, spec, 0, 400);
  advance_run(*gpu, spec, 0, 400);
  const auto saved = gpu->save_state();
  expect_same_state(cpu->save_state(), saved);
  auto gpu2 = make_cuda_backend(spec, 0);
  gpu2->restore_state(saved);
  expect_same_spikes(spec, 400, advance_run(*cpu, spec, 400, 600),
                     advance_run(*gpu2, spec, 400, 600));
}

// Two exp currents on one population (I_ex with tau_syn 2 ms, I_in with 0.5 ms, the sign of the
// weight choosing): population e through both, its inhibitory Poisson input on I_in; population
// i with an excitatory Poisson input on I_ex and inhibitory normal weights on I_in; an EIF
// target. Spikes, traces, potentials and the saved state (both currents and rings) equal the
// CPU's, and a CPU checkpoint resumes on the device.
TEST_P(cuda_backend, two_exp_currents_match_cpu) {
  const std::string toml =
      "[run]\ndt = 0.1\ntstop = 100.0\nrandom_seed = 3\nchunk_steps = 9\n"
      "[population.e]\nsize = 800\nmodel = \"lif\"\n"
      "params = { tau_m = 10.0, E_L = 0.0, R_m = 1.0, V_th = 15.0, V_reset = 0.0, t_ref = 2.0 }\n"
      "init = { V = { uniform = [0.0, 15.0] } }\n"
      "input = { I = 16.0, sigma = 1.0, poisson = { rate = 50.0, count = 100, weight = -0.2, "
      "synapse = \"exp\", tau_syn = 0.5 } }\n"
      "record = { traces = [0, 799] }\n"
      "[population.i]\nsize = 300\nmodel = \"eif\"\n"
      "input = { I = 8.0, sigma = 1.0, poisson = { rate = 100.0, count = 100, weight = 0.02, "
      "synapse = \"exp\", tau_syn = 2.0 } }\n"
      "record = { traces = [3] }\n"
      "[projection.ee]\nsource = \"e\"\ntarget = \"e\"\nrule = \"fixed_indegree\"\n"
      "indegree = 50\nsynapse = \"exp\"\ntau_syn = 2.0\n"
      "weight = { normal = [0.3, 0.1] }\ndelay = { uniform = [1.0, 2.0] }\n"
      "[projection.ie]\nsource = \"i\"\ntarget = \"e\"\nrule = \"fixed_indegree\"\n"
      "indegree = 20\nsynapse = \"exp\"\ntau_syn = 0.5\n"
      "weight = { uniform = [-0.5, -0.1] }\ndelay = 1.2\n"
      "[projection.ei]\nsource = \"e\"\ntarget = \"i\"\nrule = \"fixed_probability\"\n"
      "p = 0.05\nsynapse = \"exp\"\ntau_syn = 2.0\nweight = 0.01\ndelay = 1.0\n"
      "[projection.ii]\nsource = \"i\"\ntarget = \"i\"\nrule = \"fixed_indegree\"\n"
      "indegree = 30\nsynapse = \"exp\"\ntau_syn = 0.5\n"
      "weight = { normal = [-0.02, 0.01] }\ndelay = { normal = [1.5, 0.3] }\n";
  for (const char* prec : {"double", "float"}) {
    SCOPED_TRACE(prec);
    const auto spec = spec_from(toml, {std::string("run.precision=\"") + prec + "\""});
    ASSERT_EQ(make_exp_synapse_coeffs<double>(spec, 0).ports, 2u);
    ASSERT_EQ(make_exp_synapse_coeffs<double>(spec, 1).ports, 2u);
    expect_same_run(spec, run_on("cpu", spec), run_on(backend_kind(), spec));
  }
  const auto spec = spec_from(toml);
  const uint64_t n = 50 * chunk_steps_for(spec), rest = spec.run.steps() - n;
  auto cpu = make_cpu_backend(spec, 2);
  auto gpu = make_cuda_backend(spec, 0);
  advance_run(*cpu, spec, 0, n);
  advance_run(*gpu, spec, 0, n);
  const auto saved = cpu->save_state();
  std::map<std::string, std::string> names;
  for (const auto& a : saved) names[a.name] = a.type;
  for (const char* want : {"population/e/i_syn", "population/e/i_syn_in", "population/e/ring_exp",
                           "population/e/ring_exp_in", "population/i/i_syn_in"})
    EXPECT_EQ(names.count(want), 1u) << want;
  expect_same_state(saved, gpu->save_state());
  const auto cont = advance_run(*cpu, spec, n, rest);
  auto gpu2 = make_cuda_backend(spec, 0);
  gpu2->restore_state(saved);
  expect_same_spikes(spec, n, cont, advance_run(*gpu2, spec, n, rest));
}

TEST_P(cuda_backend, network_too_big_for_the_device_is_memory_error) {
  // 10^6 x 10^6 synapses all-to-all: 4 TB of targets. Refused from the estimate, before anything
  // is built.
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 10.0\n"
      "[population.a]\nsize = 1000000\nmodel = \"lif\"\n"
      "[projection.aa]\nsource = \"a\"\ntarget = \"a\"\nrule = \"all_to_all\"\n"
      "weight = 0.1\ndelay = 1.0\n");
  try {
    make_cuda_backend(spec, 0);
    FAIL() << "expected memory_error";
  } catch (const memory_error& e) {
    EXPECT_EQ(e.kind(), error_kind::memory);
    const std::string what = e.what();
    EXPECT_NE(what.find("synapses"), std::string::npos) << what;
    EXPECT_NE(what.find("GiB"), std::string::npos) << what;
  }
}

TEST_P(cuda_backend, auto_runs_networks_on_the_device) {
  backend_options opt;
  opt.kind = "auto";
  std::string notice;
  auto b = make_backend(spec_from(small_brunel("double")), opt, &notice);
  EXPECT_EQ(b->name(), "cuda");
  EXPECT_TRUE(notice.empty()) << notice;
}

TEST_P(cuda_backend, automatic_chunks_are_sized_to_the_device_bound) {
  // 2^28 neuron-steps on the device (kernels/population.cuh), 2^24 on the CPU: 268 and 16 steps
  // at 10^6 neurons; an explicit run.chunk_steps is taken by both.
  const auto spec = spec_from("[population.p]\nsize = 1000000\nmodel = \"lif\"\n");
  const auto gpu = make_cuda_backend(spec, 0);
  EXPECT_EQ(gpu->chunk_neuron_steps(), uint64_t{1} << 28);
  EXPECT_EQ(chunk_steps_for(spec, *gpu), 268u);
  EXPECT_EQ(chunk_steps_for(spec, *make_cpu_backend(spec, 1)), 16u);
  const auto fixed =
      spec_from("[run]\nchunk_steps = 40\n[population.p]\nsize = 1000000\nmodel = \"lif\"\n");
  EXPECT_EQ(chunk_steps_for(fixed, *make_cuda_backend(fixed, 0)), 40u);
}

INSTANTIATE_TEST_SUITE_P(Gpu, cuda_backend, ::testing::Values("cuda"), backend_name);

// The automatic chunk: the backend's neuron-step bound over the neurons, 16 to 1000 steps, at most
// `longest`; the CPU backend keeps 2^24.
TEST(chunk_bound, neuron_steps_over_neurons_within_16_and_1000_steps) {
  const auto spec = spec_from("[population.p]\nsize = 1000000\nmodel = \"lif\"\n");
  EXPECT_EQ(chunk_steps_for(spec, ~uint64_t{0}), 16u);
  EXPECT_EQ(chunk_steps_for(spec, ~uint64_t{0}, uint64_t{1} << 28), 268u);
  EXPECT_EQ(chunk_steps_for(spec, 100, uint64_t{1} << 28), 100u);
  EXPECT_EQ(chunk_steps_for(spec, ~uint64_t{0}, uint64_t{1} << 34), 1000u);
  EXPECT_EQ(chunk_steps_for(spec, ~uint64_t{0}, 1000), 16u);
  const auto cpu = make_cpu_backend(spec, 1);
  EXPECT_EQ(cpu->chunk_neuron_steps(), uint64_t{1} << 24);
  EXPECT_EQ(chunk_steps_for(spec, *cpu), 16u);
}

// Runs where there is no device (label cpu): asking for CUDA must fail with exit code 5 and a
// reason, before any work, also for a spec far too big for any device.
TEST(cuda_backend_without_device, explains_why) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  const auto spec = spec_from(
      "[population.a]\nsize = 4294967295\nmodel = \"lif\"\ninput = { pulses = [ "
      "{ start = 1.0, stop = 2.0, amplitude = { from = 0.0, to = 1.0 } } ] }\n");
  try {
    make_cuda_backend(spec, 0);
    FAIL() << "expected backend_error";
  } catch (const backend_error& e) {
    EXPECT_EQ(e.kind(), error_kind::backend);
    EXPECT_FALSE(std::string(e.what()).empty());
  }
}

// The parity messages name the first difference, so that a failed GPU run is understood from
// its log: here two chunks that differ in one spike, one count, one trace value or one potential.
TEST(parity_messages, name_the_first_difference) {
  const auto spec = spec_from(
      "[population.p]\nsize = 10\nmodel = \"lif\"\n"
      "record = { traces = [2, 7], trace_every = 3 }\n");
  const population_spec& ps = spec.populations[0];
  population_chunk a;
  a.spike_steps = {4, 4, 9};
  a.spike_ids = {1, 5, 2};
  a.counts = std::vector<uint32_t>(12, 0);
  a.counts[4] = 2;
  a.counts[9] = 1;
  a.total_spikes = 3;
  a.trace_rows = 4;
  a.traces = {-70.0f, -69.0f, -68.0f, -67.0f, -66.0f, -65.0f, -64.0f, -63.0f};
  EXPECT_TRUE(same_population_output(ps, a, a));

  population_chunk b = a;
  b.spike_ids[1] = 6;
  auto r = same_population_output(ps, a, b);
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.message())
                .find("spike 1 of 3 (cpu) and 3 (cuda): cpu neuron 5 at step 4, "
                      "cuda neuron 6 at step 4"),
            std::string::npos)
      << r.message();

  b = a;
  b.spike_steps.push_back(11);
  b.spike_ids.push_back(0);
  r = same_population_output(ps, a, b);
  EXPECT_NE(std::string(r.message()).find("first extra one (cuda): neuron 0 at step 11"),
            std::string::npos)
      << r.message();

  b = a;
  b.counts[9] = 2;
  r = same_population_output(ps, a, b, {}, 100);
  EXPECT_NE(std::string(r.message()).find("spike count at step 109: 1 (cpu), 2 (cuda)"),
            std::string::npos)
      << r.message();

  // Row 2, neuron 7: step 6, or 108 for a recording that starts at step 100 (rows 102, 105, 108).
  b = a;
  b.traces[5] = std::nextafter(-65.0f, 0.0f);
  r = same_population_output(ps, a, b);
  EXPECT_NE(std::string(r.message())
                .find("neuron 7 at step 6 (row 2): -65 (0xc2820000) (cpu), "
                      "-64.9999924 (0xc281ffff) (cuda)"),
            std::string::npos)
      << r.message();
  r = same_population_output(ps, a, b, {"one process", "2 ranks"}, 100);
  EXPECT_NE(std::string(r.message())
                .find("neuron 7 at step 108 (row 2): -65 (0xc2820000) (one "
                      "process), -64.9999924 (0xc281ffff) (2 ranks)"),
            std::string::npos)
      << r.message();

  const std::vector<double> u = {-70.0, -65.5, -60.0};
  std::vector<double> v = u;
  v[1] = std::nextafter(-65.5, 0.0);
  EXPECT_TRUE(same_potentials(ps, u, u));
  r = same_potentials(ps, u, v);
  EXPECT_NE(std::string(r.message())
                .find("neuron 1: -65.5 (0xc050600000000000) (cpu), "
                      "-65.499999999999986 (0xc0505fffffffffff) (cuda)"),
            std::string::npos)
      << r.message();
}

// Without a device the library says why and which runtime and driver it found, and `spikesim
// info` prints it.
TEST(cuda_backend_without_device, status_names_the_reason_and_the_versions) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  const cuda_report r = cuda_status();
  EXPECT_EQ(r.built, cuda_built());
  EXPECT_TRUE(r.devices.empty());
  EXPECT_FALSE(r.error.empty());
  const auto info = spikesim_cli("info");
  EXPECT_EQ(info.code, 0) << info.out;
  if (!r.built) {
    EXPECT_NE(info.out.find("CUDA backend: not built"), std::string::npos) << info.out;
    return;
  }
  EXPECT_GE(r.runtime_version, 11000);
  EXPECT_NE(info.out.find("CUDA devices: none usable: " + r.error), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("CUDA runtime: " + std::to_string(r.runtime_version / 1000) + "."),
            std::string::npos)
      << info.out;
  EXPECT_NE(info.out.find(r.driver_version > 0 ? ", driver: CUDA " : ", driver: none found"),
            std::string::npos)
      << info.out;
}

// With SPIKESIM_REQUIRE_GPU=1 a GPU test without a device fails instead of skipping: this test
// program run again on one GPU test, with and without it.
TEST(cuda_backend_without_device, require_gpu_turns_a_skip_into_a_failure) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  auto run = [](const std::string& env) {
    return shell(env + " /proc/" + std::to_string(getpid()) +
                 "/exe --gtest_filter=Gpu/cuda_backend.names_its_device/cuda");
  };
  const cli_result skipped = run("SPIKESIM_REQUIRE_GPU=0");
  EXPECT_EQ(skipped.code, 0) << skipped.out;
  EXPECT_NE(skipped.out.find("[  SKIPPED ] 1 test"), std::string::npos) << skipped.out;
  const cli_result failed = run("SPIKESIM_REQUIRE_GPU=1");
  EXPECT_EQ(failed.code, 1) << failed.out;
  EXPECT_NE(failed.out.find("[  FAILED  ] 1 test"), std::string::npos) << failed.out;
  EXPECT_NE(failed.out.find("SPIKESIM_REQUIRE_GPU is set: " + cuda_status().error),
            std::string::npos)
      << failed.out;
}

}  // namespace
}  // namespace spikesim::testing
