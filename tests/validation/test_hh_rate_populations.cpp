// HH and rate populations run through the backends: the population gives exactly what the model's
// step gives for one neuron, HH fires repetitively from between 6 and 7 uA/cm^2, and rate units
// relax exactly. Run once per backend.
#include <cmath>
#include <sstream>

#include <spikesim/models/hh.hpp>
#include <spikesim/models/rate.hpp>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

class hh_rate_populations : public backend_test {};

// Spike steps of one HH neuron under a constant current, by the model's own step in a plain
// loop, from the resting state with the gates at steady state (the population's default start).
std::vector<uint64_t> hh_reference_spikes(double I, double dt, uint64_t steps) {
  const hh_params p;
  const auto c = make_hh_coeffs<double>(p, noise_params{}, dt);
  double V = hh_resting_potential(p), m, h, n;
  hh_steady_gates(V, m, h, n);
  std::vector<uint64_t> spikes;
  for (uint64_t s = 0; s < steps; ++s)
    if (hh_step(c, V, m, h, n, I, 0.0)) spikes.push_back(s);
  return spikes;
}

TEST_P(hh_rate_populations, hh_population_equals_the_model_step) {
  const std::vector<double> currents = {2.0, 6.0, 7.0, 10.0, 20.0};  // uA/cm^2
  std::ostringstream cfg;
  cfg << "[run]\ndt = 0.01\ntstop = 500.0\n[population.hh]\nsize = 5\nmodel = \"hh\"\n"
      << "input = { I = [2.0, 6.0, 7.0, 10.0, 20.0] }\nrecord = { traces = [4] }\n";
  const auto spec = spec_from(cfg.str());
  const auto r = run_on(backend_kind(), spec);
  const auto& d = r.rec.populations[0];
  for (size_t i = 0; i < currents.size(); ++i) {
    std::vector<uint64_t> steps;
    for (size_t k = 0; k < d.spike_ids.size(); ++k)
      if (d.spike_ids[k] == i) steps.push_back(d.spike_steps[k]);
    EXPECT_EQ(steps, hh_reference_spikes(currents[i], 0.01, spec.run.steps()))
        << "I = " << currents[i] << " uA/cm^2";
  }
  // The trace shows action potentials of the right size (peak ~ 100 mV above rest).
  float peak = -1e9f;
  for (float v : d.traces) peak = std::max(peak, v);
  EXPECT_GT(peak, 90.0f);
  EXPECT_LT(peak, 115.0f);
}

TEST_P(hh_rate_populations, hh_repetitive_firing_starts_between_6_and_7) {
  // A ramp over 101 neurons from 6 to 7 uA/cm^2: in the last 500 ms of 1 s the low end is silent
  // (at most a damped onset transient earlier) and the high end fires regularly.
  const auto spec = spec_from(
      "[run]\ndt = 0.02\ntstop = 1000.0\n[population.hh]\nsize = 101\nmodel = \"hh\"\n"
      "input = { I = { from = 6.0, to = 7.0 } }\n");
  const auto r = run_on(backend_kind(), spec);
  const auto& d = r.rec.populations[0];
  std::vector<int> late(101, 0);
  for (size_t k = 0; k < d.spike_ids.size(); ++k)
    if ((d.spike_steps[k] + 1) * spec.run.dt > 500.0) ++late[d.spike_ids[k]];
  EXPECT_EQ(late[0], 0) << "6 uA/cm^2 fires repetitively";
  EXPECT_GE(late[100], 20) << "7 uA/cm^2 does not fire repetitively";
  // Once it fires repetitively, a larger current never stops it (no bistable gap in the ramp).
  size_t onset = 0;
  while (onset < late.size() && late[onset] == 0) ++onset;
  ASSERT_LT(onset, late.size());
  for (size_t i = onset; i < late.size(); ++i) EXPECT_GT(late[i], 0) << "neuron " << i;
}

TEST_P(hh_rate_populations, rate_units_relax_exactly) {
  // tau = 20 ms; from r = 0 the unit relaxes towards f(0) until t = 10 ms, then towards f(I):
  //   r(t) = f(0) (1 - e^{-t/tau}) for t <= 10, f(I) + (r(10) - f(I)) e^{-(t - 10)/tau} after.
  // Threshold-linear: f(0) = 0, f(4) = 10 Hz/nA * (4 - 1) nA = 30 Hz, f(12) saturates at
  // 10 * (8 - 1); the sigmoid is not 0 at I = 0.
  const auto spec = spec_from(
      "[run]\ndt = 0.1\ntstop = 100.0\nprecision = \"double\"\n"
      "[population.lin]\nsize = 2\nmodel = \"rate\"\n"
      "params = { tau = 20.0, I_thr = 1.0, gain = 10.0, I_max = 8.0 }\n"
      "input = { pulses = [ { start = 10.0, stop = 200.0, amplitude = [4.0, 12.0] } ] }\n"
      "record = { traces = [0, 1] }\n"
      "[population.sig]\nsize = 1\nmodel = \"rate\"\n"
      "params = { tau = 20.0, transfer = \"sigmoid\", r_max = 50.0, I_half = 3.0, k = 0.5 }\n"
      "input = { pulses = [ { start = 10.0, stop = 200.0, amplitude = 4.0 } ] }\n"
      "record = { traces = [0] }\n");
  const auto r = run_on(backend_kind(), spec);
  EXPECT_TRUE(r.rec.populations[0].spike_ids.empty());
  auto sigmoid = [](double I) { return 50.0 / (1.0 + std::exp(-(I - 3.0) / 0.5)); };
  const std::vector<std::vector<double>> f = {{30.0, 70.0}, {sigmoid(4.0)}};
  const std::vector<double> f0 = {0.0, sigmoid(0.0)};
  for (size_t p = 0; p < 2; ++p) {
    const auto& d = r.rec.populations[p];
    const size_t cols = f[p].size();
    ASSERT_EQ(d.trace_rows, spec.run.steps());
    for (size_t row = 0; row < d.trace_rows; ++row) {
      const double t = row * spec.run.dt;
      for (size_t k = 0; k < cols; ++k) {
        const double r10 = f0[p] * -std::expm1(-10.0 / 20.0);
        const double expect = t <= 10.0 ? f0[p] * -std::expm1(-t / 20.0)
                                        : f[p][k] + (r10 - f[p][k]) * std::exp(-(t - 10.0) / 20.0);
        // Traces are stored as float32: 2^-24 relative plus the rounding of t.
        ASSERT_NEAR(d.traces[row * cols + k], expect, 1e-6 * f[p][k] + 1e-9)
            << "population " << p << " unit " << k << " t = " << t;
      }
    }
  }
}

SPIKESIM_INSTANTIATE_BACKENDS(hh_rate_populations);

TEST(hh_rate_config, model_specific_keys_and_errors) {
  const auto s = spec_from(
      "[population.h]\nsize = 2\nmodel = \"hh\"\nparams = { g_Na = 100.0 }\n"
      "input = { I = 10.0, sigma = 1.0 }\n"
      "[population.r]\nsize = 2\nmodel = \"rate\"\ninit = { r = [5.0, 7.0] }\n"
      "params = { transfer = \"sigmoid\" }\n");
  EXPECT_EQ(s.populations[0].model_name(), "hh");
  EXPECT_DOUBLE_EQ(std::get<hh_params>(s.populations[0].params).g_Na, 100.0);
  EXPECT_EQ(s.populations[1].model_name(), "rate");
  EXPECT_DOUBLE_EQ(s.populations[1].init.V.at(1), 7.0);
  EXPECT_FALSE(s.populations[1].record.spikes);
  EXPECT_EQ(std::get<rate_params>(s.populations[1].params).transfer, rate_transfer::sigmoid);
  struct bad {
    std::string toml, key;
  };
  for (const auto& b : std::vector<bad>{
           {"[population.r]\nsize = 1\nmodel = \"rate\"\ninput = { sigma = 1.0 }\n",
            "population.r.input.sigma"},
           {"[population.r]\nsize = 1\nmodel = \"rate\"\ninit = { V = 1.0 }\n",
            "population.r.init.V"},
           {"[population.r]\nsize = 1\nmodel = \"rate\"\nparams = { transfer = \"relu\" }\n",
            "population.r.params.transfer"},
           {"[population.r]\nsize = 1\nmodel = \"rate\"\nparams = { tau = 0.0 }\n",
            "population.r.params.tau"},
           {"[population.h]\nsize = 1\nmodel = \"hh\"\nparams = { g_L = -1.0 }\n",
            "population.h.params.g_L"},
           {"[population.h]\nsize = 1\nmodel = \"hh\"\nparams = { tau_m = 1.0 }\n",
            "population.h.params.tau_m"},
       }) {
    try {
      spec_from(b.toml);
      ADD_FAILURE() << b.key << ": accepted";
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find(b.key), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace spikesim::testing
