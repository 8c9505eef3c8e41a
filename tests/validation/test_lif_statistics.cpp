// Noisy LIF populations against the Siegert theory (Brunel 2000): firing rate and ISI CV measured
// by the streaming analyzer on a run of each backend, sub- and suprathreshold, with the
// discrete-time threshold correction and tolerances from the sample size.
#include <cmath>
#include <sstream>

#include <spikesim/analysis.hpp>
#include <spikesim/theory.hpp>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

class lif_noise_theory : public backend_test {};

struct regime {
  double mu, sigma;  // mV, relative to rest (R_m = 1 MOhm, so I in nA is mu in mV)
};

// Brunel's neuron: tau = 20 ms, theta = 20 mV, V_r = 10 mV, t_ref = 2 ms, rest 0.
constexpr double k_tau = 20.0, k_theta = 20.0, k_reset = 10.0, k_t_ref = 2.0;

std::string populations_config(const std::vector<regime>& regimes, uint64_t n, double dt,
                               double tstop, double t_start) {
  std::ostringstream o;
  o << "[run]\ndt = " << dt << "\ntstop = " << tstop
    << "\nrandom_seed = 3\nprecision = \"double\"\n[analysis]\nt_start = " << t_start << "\n";
  for (std::size_t k = 0; k < regimes.size(); ++k)
    o << "[population.p" << k << "]\nsize = " << n << "\nmodel = \"lif\"\n"
      << "params = { tau_m = " << k_tau << ", E_L = 0.0, R_m = 1.0, V_th = " << k_theta
      << ", V_reset = " << k_reset << ", t_ref = " << k_t_ref << " }\n"
      << "init = { V = { uniform = [0.0, 20.0] } }\n"
      << "input = { I = " << regimes[k].mu << ", sigma = " << regimes[k].sigma << " }\n";
  return o.str();
}

struct estimate {
  double value, se;  // se: standard error from the spread of independent groups of neurons
};

// The population's firing rate and the CV of all its ISIs pooled (a homogeneous population: the
// per-neuron CV of a short train is biased low by O(1/ISIs), the pooled one is not), each with a
// standard error from G = 20 groups of neurons ("batch means": the groups are independent).
struct pooled {
  estimate rate_hz, cv;
  double mean_isi_ms;
};

pooled pool(const population_analysis& r) {
  constexpr int groups = 20;
  const double seconds = (r.t_stop - r.t_start) * 1e-3;
  std::vector<double> g_rate, g_cv;
  double all_k = 0, all_s1 = 0, all_s2 = 0, all_spikes = 0;
  for (int g = 0; g < groups; ++g) {
    double k = 0, s1 = 0, s2 = 0, spikes = 0, neurons = 0;
    for (uint64_t i = g; i < r.n_neurons; i += groups) {
      spikes += static_cast<double>(r.spike_count[i]);
      neurons += 1;
      if (r.spike_count[i] < 2) continue;
      const double n_isi = static_cast<double>(r.spike_count[i] - 1);
      k += n_isi;
      s1 += n_isi * r.isi_mean_ms[i];
      s2 += n_isi * (r.isi_sd_ms[i] * r.isi_sd_ms[i] + r.isi_mean_ms[i] * r.isi_mean_ms[i]);
    }
    const double mean = s1 / k;
    g_rate.push_back(spikes / (neurons * seconds));
    g_cv.push_back(std::sqrt(s2 / k - mean * mean) / mean);
    all_k += k;
    all_s1 += s1;
    all_s2 += s2;
    all_spikes += spikes;
  }
  auto se = [](const std::vector<double>& v) {
    double m = 0, s = 0;
    for (double x : v) m += x;
    m /= v.size();
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / (v.size() - 1) / v.size());
  };
  const double mean = all_s1 / all_k;
  return {{all_spikes / (static_cast<double>(r.n_neurons) * seconds), se(g_rate)},
          {std::sqrt(all_s2 / all_k - mean * mean) / mean, se(g_cv)},
          mean};
}

TEST_P(lif_noise_theory, rate_and_cv_match_siegert) {
  // Two subthreshold (mu < theta), one at and one above threshold; rates 9 to 43 Hz.
  const std::vector<regime> regimes = {{15.0, 5.0}, {18.0, 3.0}, {20.0, 5.0}, {25.0, 2.0}};
  const double dt = 0.02, t_start = 500.0, tstop = 8500.0;
  const uint64_t n = 1000;
  const auto spec = spec_from(populations_config(regimes, n, dt, tstop, t_start));
  const auto run = run_on(backend_kind(), spec);
  ASSERT_EQ(run.summary.status, run_status::complete);
  const double t_end = run.summary.simulated_ms;

  for (std::size_t k = 0; k < regimes.size(); ++k) {
    const auto [mu, sigma] = regimes[k];
    SCOPED_TRACE("mu = " + std::to_string(mu) + " mV, sigma = " + std::to_string(sigma) + " mV");
    // Through the analysis code exactly as the recorder feeds it: time-sorted stamps (n+1) dt.
    const auto& d = run.rec.populations[k];
    std::vector<double> t(d.spike_steps.size());
    for (std::size_t s = 0; s < t.size(); ++s)
      t[s] = static_cast<double>(d.spike_steps[s] + 1) * dt;
    spike_analyzer an("p" + std::to_string(k), n, spec.analysis, t_end);
    for (std::size_t first = 0; first < t.size(); first += 65536)
      an.add(t.data() + first, d.spike_ids.data() + first,
             std::min<std::size_t>(65536, t.size() - first));
    const population_analysis r = an.finish(t_end);
    const pooled m = pool(r);

    // The threshold is checked only at the ends of steps; the continuous-time theory then needs
    // theta_eff = theta + 0.5826 sigma sqrt(dt / tau) (theory.hpp, discrete_time_threshold:
    // the Siegmund / Broadie-Glasserman-Kou overshoot constant -zeta(1/2)/sqrt(2 pi); at
    // dt = 0.1 ms it brings Siegert within 0.15 % of 1e4-neuron runs whose rates are 4-13 %
    // below the uncorrected value).
    const double theta_eff = theory::discrete_time_threshold(k_theta, sigma, k_tau, dt);
    const auto th = theory::siegert(mu, sigma, k_tau, theta_eff, k_reset, k_t_ref);
    const auto plain = theory::siegert(mu, sigma, k_tau, k_theta, k_reset, k_t_ref);

    // Rate: 5 standard errors (estimated from 20 groups, Student t with 19 degrees of freedom:
    // a false failure ~1e-4 per check; the seed is fixed, so the outcome is too), plus the O(dt)
    // remainder of the discretisation, bounded by a delay of one step per ISI: relative nu dt.
    const double rate_tol = 5.0 * m.rate_hz.se + th.rate_hz * (th.rate_hz * dt * 1e-3);
    EXPECT_NEAR(m.rate_hz.value, th.rate_hz, rate_tol)
        << "SE " << m.rate_hz.se << " Hz; uncorrected theory " << plain.rate_hz << " Hz";
    // The correction matters at this dt (1-3 % of the rate): the uncorrected theory is outside
    // the tolerance, so the test can tell.
    EXPECT_GT(std::abs(m.rate_hz.value - plain.rate_hz), rate_tol);

    // CV: 5 standard errors plus the bias of ISIs censored by the window ends, of order
    // (mean ISI / window) CV (it vanishes to first order for gamma ISIs and is
    // (mean ISI / window) CV^3 / 2 for inverse-Gaussian ones).
    const double eps = m.mean_isi_ms / (r.t_stop - r.t_start);
    const double cv_tol = 5.0 * m.cv.se + eps * th.cv;
    EXPECT_NEAR(m.cv.value, th.cv, cv_tol) << "SE " << m.cv.se;

    // The statistics are sharp: below 0.5 % (rate) and 2 % (CV) of the value.
    EXPECT_LT(m.rate_hz.se, 0.005 * th.rate_hz);
    EXPECT_LT(m.cv.se, 0.02 * th.cv);
    EXPECT_EQ(r.n_silent, 0u);
  }
}

SPIKESIM_INSTANTIATE_BACKENDS(lif_noise_theory);

}  // namespace
}  // namespace spikesim::testing
