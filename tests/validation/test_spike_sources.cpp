// Spike-source populations (spec.hpp source_spec, models/source.hpp): a Poisson source's rate and
// window, a times list replayed and delivered at the right step, sources projecting with every
// rule, the config's refusals, a network with sources over ranks. Backend tests run on the CPU
// and on the CUDA backend ("/cuda", the emulated lane without a device).
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include <spikesim/errors.hpp>

#include "rank_cases.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

// Two sources (a Poisson one with a window, a times list) and a LIF population that they drive
// through every rule and both synapse kinds, with recurrent synapses of its own.
std::string source_network() {
  std::ostringstream o;
  o << "[run]\ndt = 0.1\ntstop = 300.0\nrandom_seed = 5\nchunk_steps = 7\n"
    << "[population.th]\nsize = 200\n"
    << "source = { poisson = { rate = 120.0, start = 50.0, stop = 250.0 } }\n"
    << "[population.rep]\nsize = 50\nsource = { times = [";
  for (int k = 0; k < 400; ++k)  // neuron k % 50 at 1 + 0.7 k ms: 35 ms apart per neuron
    o << (k ? ", " : "") << "[" << k % 50 << ", " << 1.0 + 0.7 * k << "]";
  o << "] }\n"
    << "[population.l]\nsize = 300\nmodel = \"lif\"\n"
    << "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, "
       "t_ref = 2.0 }\n"
    << "init = { V = { uniform = [0.0, 20.0] } }\ninput = { I = 18.0, sigma = 2.0 }\n"
    << "[projection.th_l]\nsource = \"th\"\ntarget = \"l\"\nrule = \"fixed_indegree\"\n"
    << "indegree = 20\nsynapse = \"exp\"\ntau_syn = 0.5\n"
    << "weight = { normal = [0.5, 0.1] }\ndelay = { normal = [1.5, 0.5] }\n"
    << "[projection.th_l2]\nsource = \"th\"\ntarget = \"l\"\nrule = \"fixed_probability\"\n"
    << "p = 0.1\nweight = -0.3\ndelay = 2.0\n"
    << "[projection.rep_l]\nsource = \"rep\"\ntarget = \"l\"\nrule = \"fixed_total_number\"\n"
    << "N = 2000\nweight = 0.5\ndelay = 1.0\n"
    << "[projection.rep_l2]\nsource = \"rep\"\ntarget = \"l\"\nrule = \"all_to_all\"\n"
    << "synapse = \"exp\"\ntau_syn = 0.5\nweight = 0.01\ndelay = 1.2\n"
    << "[projection.ll]\nsource = \"l\"\ntarget = \"l\"\nrule = \"fixed_indegree\"\n"
    << "indegree = 30\nweight = -0.2\ndelay = 1.5\n";
  return o.str();
}

class spike_sources : public backend_test {};

// Every spike within [start, stop) and the count within 4 binomial SDs of
// neurons x steps x (1 - e^(-rate dt)).
TEST_P(spike_sources, poisson_rate_is_binomial_within_its_window) {
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 400.0\n[population.th]\nsize = 2000\n"
      "source = { poisson = { rate = 120.0, start = 100.0, stop = 300.0 } }\n");
  const auto r = run_on(backend_kind(), spec);
  const auto& d = r.rec.populations[0];
  ASSERT_FALSE(d.spike_steps.empty());
  EXPECT_GE(d.spike_steps.front(), 1000u);
  EXPECT_LT(d.spike_steps.back(), 3000u);
  const double p = -std::expm1(-120.0 * 1e-4), trials = 2000.0 * 2000.0;
  const double mean = trials * p, sd = std::sqrt(trials * p * (1.0 - p));
  EXPECT_NEAR(static_cast<double>(d.spike_ids.size()), mean, 4.0 * sd);
  // At most one spike of a neuron in a step: (step, id) pairs are strictly increasing.
  for (size_t k = 1; k < d.spike_ids.size(); ++k)
    ASSERT_TRUE(d.spike_steps[k - 1] < d.spike_steps[k] || d.spike_ids[k - 1] < d.spike_ids[k]);
}

// A spike at t falls in the step n with n dt < t <= (n + 1) dt and is stamped (n + 1) dt: on the
// grid it keeps its time, off the grid it moves to the next grid point; the list need not be
// sorted.
TEST_P(spike_sources, times_list_is_replayed_exactly) {
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 20.0\n[population.rep]\nsize = 4\n"
      "source = { times = [[3, 12.0], [0, 10.0], [2, 10.05], [1, 0.1], [0, 19.95], [2, 10.0]] "
      "}\n");
  const auto r = run_on(backend_kind(), spec);
  const auto& d = r.rec.populations[0];
  EXPECT_EQ(d.spike_steps, (std::vector<uint64_t>{0, 99, 99, 100, 119, 199}));
  EXPECT_EQ(d.spike_ids, (std::vector<uint64_t>{1, 0, 2, 2, 3, 0}));
}

// The spike of source neuron 0 in step 49 (t = 5 ms) reaches target 0 (one_to_one) after 1.5 ms
// = 15 steps: the jump is added at the end of step 64, so the trace (u at the start of a step)
// shows it from step 65 on, undecayed (E_L = 0); target 1 gets nothing.
TEST_P(spike_sources, times_list_is_delivered_with_its_delay) {
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 10.0\n[population.in]\nsize = 2\n"
      "source = { times = [[0, 5.0]] }\n"
      "[population.t]\nsize = 2\nmodel = \"lif\"\n"
      "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0 }\n"
      "record = { traces = [0, 1] }\n"
      "[projection.p]\nsource = \"in\"\ntarget = \"t\"\nrule = \"one_to_one\"\n"
      "weight = 2.0\ndelay = 1.5\n");
  const auto r = run_on(backend_kind(), spec);
  const auto& tr = r.rec.populations[1].traces;  // [step][2]
  ASSERT_EQ(tr.size(), 2u * 100u);
  EXPECT_EQ(tr[64 * 2], 0.0f);
  EXPECT_EQ(tr[65 * 2], 2.0f);
  EXPECT_LT(tr[66 * 2], 2.0f);
  EXPECT_GT(tr[66 * 2], 1.98f);
  for (uint64_t s = 0; s < 100; ++s) EXPECT_EQ(tr[s * 2 + 1], 0.0f) << s;
  EXPECT_EQ(r.summary.synaptic_events, 1u);
}

// fixed_total_number from a source: N synapses, and with all_to_all every spike reaches every
// target.
std::string source_onto_lif(const std::string& rule) {
  return "[run]\ndt = 0.1\ntstop = 100.0\n[population.src]\nsize = 100\n"
         "source = { poisson = { rate = 50.0 } }\n"
         "[population.tgt]\nsize = 50\nmodel = \"lif\"\n"
         "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0 }\n"
         "[projection.p]\nsource = \"src\"\ntarget = \"tgt\"\n" +
         rule + "\nweight = 0.1\ndelay = 1.0\n";
}

TEST_P(spike_sources, project_with_fixed_total_number_and_all_to_all) {
  const auto spec = spec_from(source_onto_lif("rule = \"fixed_total_number\"\nN = 1000"));
  const auto r = run_on(backend_kind(), spec);
  EXPECT_EQ(r.summary.synapses, 1000u);
  const uint64_t spikes = r.summary.populations[0].spikes;
  EXPECT_GT(spikes, 300u);
  EXPECT_GT(r.summary.synaptic_events, 5 * spikes);
  EXPECT_LT(r.summary.synaptic_events, 15 * spikes);
  double sum = 0.0;
  for (double v : r.final_v[1]) sum += v;
  EXPECT_GT(sum, 0.0);

  const auto all = spec_from(source_onto_lif("rule = \"all_to_all\""));
  const auto a = run_on(backend_kind(), all);
  // The source's spikes do not depend on what it projects to (events count every spike x
  // synapse delivered into the rings, also those arriving after the end).
  EXPECT_EQ(a.rec.populations[0].spike_ids, r.rec.populations[0].spike_ids);
  EXPECT_EQ(a.summary.synaptic_events, 50 * a.rec.populations[0].spike_ids.size());
}

// The sources drive a network identically on both backends (the CUDA instance against the CPU).
TEST_P(spike_sources, network_with_sources_is_the_cpus) {
  const auto spec = spec_from(source_network());
  const auto cpu = run_on("cpu", spec);
  const auto other = run_on(backend_kind(), spec);
  // Populations in the order of their names: l, rep, th.
  EXPECT_GT(cpu.summary.populations[2].spikes, 4000u);
  EXPECT_EQ(cpu.summary.populations[1].spikes, 400u);
  EXPECT_GT(cpu.summary.populations[0].spikes, 100u);
  EXPECT_TRUE(same_output(spec, cpu.rec.populations, other.rec.populations));
  EXPECT_EQ(cpu.summary.synaptic_events, other.summary.synaptic_events);
  EXPECT_TRUE(same_potentials(spec.populations[0], cpu.final_v[0], other.final_v[0]));
}

// Over ranks each rank holds a slice of every source (its part of a times list), and the
// exchange carries the sources' spikes like any population's.
TEST_P(spike_sources, network_with_sources_over_ranks_gives_the_output_of_one_process) {
  expect_ranks_give_one_process(backend_kind(), spec_from(source_network()), {2, 3});
}

SPIKESIM_INSTANTIATE_BACKENDS(spike_sources);

std::string config_error_of(const std::string& toml) {
  return error_of<config_error>([&] { spec_from(toml); });
}

const char* const run_table = "[run]\ndt = 0.1\ntstop = 10.0\n";

std::string source_pop(const std::string& source, const std::string& extra = "") {
  return std::string(run_table) + "[population.s]\nsize = 3\nsource = " + source + "\n" + extra;
}

TEST(spike_sources_config, refuses_what_a_source_does_not_take) {
  EXPECT_EQ(config_error_of(source_pop("{ poisson = { rate = 10.0 } }", "model = \"lif\"\n")),
            "config error: population.s.model: a spike-source population takes no model (its "
            "neurons emit the spikes of `source` and nothing else)");
  EXPECT_NE(config_error_of(source_pop("{ poisson = { rate = 10.0 } }", "input = { I = 1.0 }\n"))
                .find("population.s.input: a spike-source population takes no input"),
            std::string::npos);
  EXPECT_NE(
      config_error_of(source_pop("{ poisson = { rate = 10.0 } }", "record = { traces = [0] }\n"))
          .find("population.s.record.traces: a spike-source population has no membrane"),
      std::string::npos);
  const std::string onto = source_pop("{ poisson = { rate = 10.0 } }") +
                           "[population.t]\nsize = 3\nmodel = \"lif\"\n"
                           "[projection.p]\nsource = \"t\"\ntarget = \"s\"\nrule = "
                           "\"all_to_all\"\nweight = 1.0\ndelay = 1.0\n";
  EXPECT_EQ(config_error_of(onto),
            "config error: projection.p.target = \"s\": population 's' is a spike source, which "
            "takes no synapses (it can only be a source)");
}

TEST(spike_sources_config, poisson_keys_name_their_value_and_unit) {
  EXPECT_EQ(config_error_of(source_pop("{ poisson = { rate = -1.0 } }")),
            "config error: population.s.source.poisson.rate: -1 Hz is invalid: must be >= 0");
  EXPECT_EQ(config_error_of(source_pop("{ poisson = { rate = 1.0, start = 5.0, stop = 5.0 } }")),
            "config error: population.s.source.poisson.stop: 5 ms is invalid: must be after "
            "start = 5 ms");
  EXPECT_EQ(
      config_error_of(source_pop("{ poisson = { start = 5.0 } }")),
      "config error: population.s.source.poisson.rate: missing (the rate of each neuron, Hz)");
  EXPECT_NE(config_error_of(source_pop("{ poisson = { rate = 1.0, rat = 2.0 } }"))
                .find("population.s.source.poisson.rat: unknown key"),
            std::string::npos);
  EXPECT_NE(config_error_of(source_pop("{ poisson = { rate = 1.0 }, times = [] }"))
                .find("population.s.source: give one of poisson"),
            std::string::npos);
}

TEST(spike_sources_config, times_are_checked_with_key_value_and_unit) {
  EXPECT_EQ(config_error_of(source_pop("{ times = [[0, 1.0], [3, 2.0]] }")),
            "config error: population.s.source.times[1][0] = 3: neuron id out of range (the "
            "population has 3 neurons, ids 0..2)");
  EXPECT_EQ(config_error_of(source_pop("{ times = [[0, 0.0]] }")),
            "config error: population.s.source.times[0][1]: 0 ms is invalid: must be > 0 (a "
            "spike falls in the step that ends at or after it; the first ends at dt)");
  EXPECT_EQ(config_error_of(source_pop("{ times = [[0, nan]] }")),
            "config error: population.s.source.times[0][1] = nan ms: must be finite");
  EXPECT_EQ(config_error_of(source_pop("{ times = [[1, 2.0], [1, 1.95]] }")),
            "config error: population.s.source.times: neuron 1 spikes twice in one step (at 1.95 "
            "and 2 ms, dt = 0.1 ms): a neuron spikes at most once a step");
  EXPECT_EQ(config_error_of(source_pop("{ times = [0, 1.0] }")),
            "config error: population.s.source.times[0] = 0: expected [neuron id, ms]");
  EXPECT_NE(config_error_of(source_pop("{ times = \"spikes.h5\" }"))
                .find("reading spike times from a file is not supported yet"),
            std::string::npos);
  // Sorted by (time, id) into the spec.
  const auto spec = spec_from(source_pop("{ times = [[2, 3.0], [1, 1.0], [0, 3.0]] }"));
  EXPECT_EQ(spec.populations[0].source.ids, (std::vector<uint64_t>{1, 0, 2}));
  EXPECT_EQ(spec.populations[0].source.times, (std::vector<double>{1.0, 3.0, 3.0}));
  EXPECT_EQ(spec.populations[0].model_name(), "spike_times");
}

TEST(spike_sources_config, spike_step_is_the_step_that_ends_at_or_after_the_time) {
  EXPECT_EQ(spike_step(0.1, 0.1), 0u);
  EXPECT_EQ(spike_step(0.05, 0.1), 0u);
  EXPECT_EQ(spike_step(10.0, 0.1), 99u);
  EXPECT_EQ(spike_step(10.0000000001, 0.1), 99u);  // on the grid within rounding
  EXPECT_EQ(spike_step(10.01, 0.1), 100u);
}

}  // namespace
}  // namespace spikesim::testing
