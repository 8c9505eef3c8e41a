// Deterministic LIF and EIF dynamics against theory: the analytic LIF rate, the EIF rheobase,
// its phase-line fixed points and its period by quadrature. Run once per backend.
#include <cmath>
#include <functional>
#include <sstream>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

class neuron_models : public backend_test {};

// Reference EIF (Gerstner & Kistler 5.2) in config syntax.
const char* eif_params_toml =
    "params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, V_T = -40.0, "
    "V_peak = -30.0, V_reset = -70.0, t_ref = 0.0 }\n";

std::string list(const std::vector<double>& v) {
  std::ostringstream o;
  o.precision(17);
  o << "[";
  for (size_t i = 0; i < v.size(); ++i) o << (i ? ", " : "") << v[i];
  o << "]";
  return o.str();
}

// Mean interspike interval, skipping the first spike (which depends on the initial condition).
double mean_isi(const std::vector<double>& t) {
  if (t.size() < 3) return NAN;
  return (t.back() - t[1]) / static_cast<double>(t.size() - 2);
}

TEST_P(neuron_models, lif_rate_matches_analytic_formula) {
  const std::vector<double> currents = {11.0, 12.0, 15.0, 20.0, 30.0};  // nA; rheobase 10 nA
  for (double t_ref : {0.0, 2.0}) {
    std::ostringstream cfg;
    cfg << "[run]\ndt = 0.01\ntstop = 1000.0\n[population.lif]\nsize = " << currents.size()
        << "\nmodel = \"lif\"\nparams = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, V_th = -30.0, "
        << "V_reset = -70.0, t_ref = " << t_ref << " }\ninput = { I = " << list(currents) << " }\n";
    const auto spec = spec_from(cfg.str());
    const auto r = run_on(backend_kind(), spec);
    for (size_t i = 0; i < currents.size(); ++i) {
      const double RI = 4.0 * currents[i];
      const double period = t_ref + 10.0 * std::log(RI / (RI - 40.0));
      // The threshold is checked at step ends, so each interval is rounded up to whole steps:
      // at most dt = 0.01 ms longer, below 0.5% of the shortest period here (4.05 ms).
      EXPECT_NEAR(mean_isi(spike_times(r, spec, 0, i)), period, 0.005 * period)
          << "I = " << currents[i] << " nA, t_ref = " << t_ref << " ms";
    }
  }
}

TEST_P(neuron_models, lif_silent_below_rheobase) {
  const auto spec = spec_from(
      "[run]\ndt = 0.01\ntstop = 1000.0\n[population.lif]\nsize = 2\nmodel = \"lif\"\n"
      "params = { V_th = -30.0 }\ninput = { I = [9.9, 9.99] }\n");
  const auto r = run_on(backend_kind(), spec);
  EXPECT_EQ(r.summary.populations[0].spikes, 0u);
}

TEST_P(neuron_models, eif_rheobase_is_7_25_nA) {
  const auto spec = spec_from(std::string("[run]\ndt = 0.01\ntstop = 1000.0\n") +
                              "[population.eif]\nsize = 2\nmodel = \"eif\"\n" + eif_params_toml +
                              "input = { I = [7.2, 7.3] }\n");
  const auto r = run_on(backend_kind(), spec);
  EXPECT_TRUE(spike_times(r, spec, 0, 0).empty()) << "7.2 nA is below the rheobase";
  const auto t = spike_times(r, spec, 0, 1);
  // Near the saddle-node the period is ~ pi tau / sqrt(a b) ~ 100 ms with a = 0.2 mV,
  // b = 1/(2 delta_T): repetitive firing means several regular spikes in 1 s.
  ASSERT_GE(t.size(), 5u) << "7.3 nA is above the rheobase";
  const double isi = mean_isi(t);
  for (size_t k = 2; k < t.size(); ++k) EXPECT_NEAR(t[k] - t[k - 1], isi, 0.02);
}

// f(u) of the phase line tau du/dt = f(u) of the reference EIF.
double eif_f(double u, double I) {
  return -(u + 70.0) + std::exp((u + 40.0) / 1.0) + 4.0 * I;
}

double bisect(const std::function<double(double)>& f, double lo, double hi) {
  for (int k = 0; k < 200; ++k) {
    const double mid = 0.5 * (lo + hi);
    ((f(lo) > 0) == (f(mid) > 0) ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

TEST_P(neuron_models, eif_settles_at_stable_fixed_point) {
  const auto spec = spec_from(std::string("[run]\ndt = 0.05\ntstop = 500.0\n") +
                              "[population.eif]\nsize = 1\nmodel = \"eif\"\n" + eif_params_toml +
                              "input = { I = 6.0 }\n");
  const auto r = run_on(backend_kind(), spec);
  EXPECT_EQ(r.summary.populations[0].spikes, 0u);
  // The stable root lies between E_L (f > 0) and V_T (f'(V_T) = 0, f(V_T) < 0).
  const double u_star = bisect([](double u) { return eif_f(u, 6.0); }, -70.0, -40.0);
  EXPECT_NEAR(u_star, -46.0, 0.1);
  // The exponential-Euler step has the same fixed points as the ODE; 500 ms are 50 relaxation
  // times (f'(u*) ~ -1), so only rounding remains.
  EXPECT_NEAR(r.final_v[0][0], u_star, 1e-6);
}

TEST_P(neuron_models, eif_effective_threshold_at_zero_current) {
  const double theta = bisect([](double u) { return eif_f(u, 0.0); }, -40.0, -30.0);
  ASSERT_NEAR(theta, -36.5, 0.1);
  const auto spec = spec_from(std::string("[run]\ndt = 0.01\ntstop = 200.0\n") +
                              "[population.eif]\nsize = 2\nmodel = \"eif\"\n" + eif_params_toml +
                              "init = { V = [-35.0, -37.0] }\n");
  const auto r = run_on(backend_kind(), spec);
  EXPECT_EQ(spike_times(r, spec, 0, 0).size(), 1u) << "u(0) = -35 mV is above the threshold";
  EXPECT_TRUE(spike_times(r, spec, 0, 1).empty()) << "u(0) = -37 mV is below the threshold";
  EXPECT_NEAR(r.final_v[0][1], -70.0, 1e-3);
}

// T = tau * integral of du / f(u) from V_reset to V_peak, composite Simpson on a fine grid split
// at V_T where f is smallest.
double eif_period_quadrature(double I) {
  auto g = [I](double u) { return 10.0 / eif_f(u, I); };
  auto simpson = [&](double a, double b, int n) {
    const double h = (b - a) / n;
    double s = g(a) + g(b);
    for (int k = 1; k < n; ++k) s += g(a + k * h) * (k % 2 ? 4.0 : 2.0);
    return s * h / 3.0;
  };
  return simpson(-70.0, -40.0, 200000) + simpson(-40.0, -30.0, 200000);
}

TEST_P(neuron_models, eif_rate_matches_quadrature) {
  const std::vector<double> currents = {8.0, 10.0, 15.0, 20.0};
  const auto spec = spec_from(std::string("[run]\ndt = 0.01\ntstop = 1000.0\n") +
                              "[population.eif]\nsize = 4\nmodel = \"eif\"\n" + eif_params_toml +
                              "input = { I = " + list(currents) + " }\n");
  const auto r = run_on(backend_kind(), spec);
  for (size_t i = 0; i < currents.size(); ++i) {
    const double period = eif_period_quadrature(currents[i]);
    EXPECT_NEAR(mean_isi(spike_times(r, spec, 0, i)), period, 0.01 * period)
        << "I = " << currents[i] << " nA";
  }
}

TEST_P(neuron_models, pulse_drives_eif_to_fixed_point_then_back) {
  // examples/eif_pulse.toml: 6 nA from 100 to 400 ms holds u near -46 mV without a spike.
  const auto spec = spec_from(std::string("[run]\ndt = 0.05\ntstop = 500.0\n") +
                              "[population.eif]\nsize = 3\nmodel = \"eif\"\n" + eif_params_toml +
                              "input = { pulses = [ { start = 100.0, stop = 400.0, amplitude = "
                              "[6.0, 8.0, 12.0] } ] }\nrecord = { traces = [0, 1, 2] }\n");
  const auto r = run_on(backend_kind(), spec);
  const auto& d = r.rec.populations[0];
  ASSERT_EQ(d.trace_rows, spec.run.steps());
  const double u_star = bisect([](double u) { return eif_f(u, 6.0); }, -70.0, -40.0);
  const size_t row_399 = static_cast<size_t>(399.0 / 0.05);
  EXPECT_NEAR(d.traces[row_399 * 3 + 0], u_star, 1e-3);
  EXPECT_TRUE(spike_times(r, spec, 0, 0).empty());
  EXPECT_FALSE(spike_times(r, spec, 0, 1).empty());
  EXPECT_GT(spike_times(r, spec, 0, 2).size(), spike_times(r, spec, 0, 1).size());
  // No spike before the pulse, nor after it beyond an upswing that had already begun.
  for (size_t i = 0; i < 3; ++i)
    for (double t : spike_times(r, spec, 0, i)) {
      EXPECT_GT(t, 100.0);
      EXPECT_LE(t, 405.0);  // an upswing already past the unstable point completes
    }
  EXPECT_NEAR(d.traces[(d.trace_rows - 1) * 3 + 0], -70.0, 0.05);
}

SPIKESIM_INSTANTIATE_BACKENDS(neuron_models);

}  // namespace
}  // namespace spikesim::testing
