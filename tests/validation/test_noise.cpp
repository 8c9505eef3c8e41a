// Stationary statistics of the free membrane potential under white and Ornstein-Uhlenbeck noise
// against theory, with tolerances from the sample size (threshold out of reach).
#include <cmath>
#include <sstream>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

class noise_statistics : public backend_test {};

struct moments {
  double mean, var;
};

moments sample_moments(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  m /= v.size();
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return {m, s / (v.size() - 1)};
}

// One snapshot across N independent neurons: the mean has standard error sqrt(var / N) and the
// sample variance sqrt(2 / (N - 1)) var (Gaussian samples). We allow 5 standard errors: a false
// failure then has probability ~6e-7 per check.
void expect_moments(const std::vector<double>& v, double mean, double var, double bias_var,
                    const std::string& what) {
  const double n = static_cast<double>(v.size());
  const auto m = sample_moments(v);
  EXPECT_NEAR(m.mean, mean, 5.0 * std::sqrt(var / n)) << what << ": mean";
  EXPECT_NEAR(m.var, var, 5.0 * std::sqrt(2.0 / (n - 1)) * var + bias_var) << what << ": variance";
}

std::string noisy_population(const std::string& model, double dt, double tstop, uint64_t n,
                             const std::string& input, const std::string& precision) {
  std::ostringstream o;
  o << "[run]\ndt = " << dt << "\ntstop = " << tstop << "\nrandom_seed = 7\nprecision = \""
    << precision << "\"\n[population.p]\nsize = " << n << "\nmodel = \"" << model << "\"\n"
    << (model == "lif" ? "params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, V_th = 1000.0 }\n"
                       : "params = { V_T = 100.0, V_peak = 200.0 }\n")
    << "input = " << input << "\n";
  return o.str();
}

TEST_P(noise_statistics, white_noise_variance_is_sigma_squared_over_two) {
  // tau_m du = (-(u - E_L) + R I) dt + sigma sqrt(tau_m) dW: stationary mean E_L + R I and
  // variance sigma^2 / 2. The LIF update is the exact OU transition, so there is no dt bias;
  // starting at E_L the variance reaches its stationary value up to exp(-2 t / tau) = 2e-9.
  for (const char* prec : {"double", "float"}) {
    const auto spec =
        spec_from(noisy_population("lif", 0.1, 100.0, 100000, "{ I = 2.0, sigma = 3.0 }", prec));
    const auto r = run_on(backend_kind(), spec);
    expect_moments(r.final_v[0], -70.0 + 8.0, 4.5, 0.0, std::string("LIF white noise, ") + prec);
  }
}

TEST_P(noise_statistics, eif_far_from_threshold_matches_lif) {
  // With V_T = 100 mV the exponential term is below e^-160: the EIF is then a LIF.
  const auto spec =
      spec_from(noisy_population("eif", 0.1, 100.0, 100000, "{ I = -1.0, sigma = 2.0 }", "double"));
  const auto r = run_on(backend_kind(), spec);
  expect_moments(r.final_v[0], -74.0, 2.0, 0.0, "EIF white noise");
}

// Stationary variance of the discrete scheme: u' = a u + (1 - a) eta, eta' = b eta + s xi with
// a = exp(-dt/tau_m), b = exp(-dt/tau_s) and Var(eta) = V_eta:
//   Var(u) = (1 - a)^2 V_eta (1 + a b) / ((1 - a^2)(1 - a b)),
// which tends to V_eta tau_s / (tau_m + tau_s) as dt -> 0 (filtered OU input).
double discrete_ou_variance(double dt, double tau_m, double tau_s, double v_eta) {
  const double a = std::exp(-dt / tau_m), b = std::exp(-dt / tau_s);
  return (1 - a) * (1 - a) * v_eta * (1 + a * b) / ((1 - a * a) * (1 - a * b));
}

TEST_P(noise_statistics, ou_input_variance_matches_filtered_ou_theory) {
  // tau_s d(eta) = -eta dt + sigma sqrt(tau_m) dW, so Var(eta) = sigma^2 tau_m / (2 tau_s) and
  // the membrane (a first-order filter with time constant tau_m) has
  //   Var(u) = Var(eta) tau_s / (tau_m + tau_s) = (sigma^2 / 2) tau_m / (tau_m + tau_s),
  // which tends to the white-noise sigma^2 / 2 as tau_s -> 0.
  const double sigma = 3.0, tau_m = 10.0, tau_s = 5.0, dt = 0.02;
  const double v_eta = sigma * sigma * tau_m / (2 * tau_s);
  const double theory = sigma * sigma / 2 * tau_m / (tau_m + tau_s);
  ASSERT_NEAR(v_eta * tau_s / (tau_m + tau_s), theory, 1e-12);
  // Holding eta constant within a step biases the variance by O(dt / tau); the bias is known
  // exactly and is part of the allowance.
  const double bias = std::fabs(discrete_ou_variance(dt, tau_m, tau_s, v_eta) - theory);
  ASSERT_LT(bias, 0.01 * theory);
  std::ostringstream in;
  in << "{ I = 2.0, sigma = " << sigma << ", tau_noise = " << tau_s << " }";
  const auto spec = spec_from(noisy_population("lif", dt, 150.0, 40000, in.str(), "double"));
  const auto r = run_on(backend_kind(), spec);
  expect_moments(r.final_v[0], -62.0, theory, bias, "LIF with OU input");
}

TEST_P(noise_statistics, ou_input_tends_to_white_noise) {
  // tau_noise = 0.05 ms against tau_m = 10 ms: the OU variance is within 0.5% of sigma^2 / 2.
  const double sigma = 2.0, tau_m = 10.0, tau_s = 0.05, dt = 0.01;
  const double white = sigma * sigma / 2;
  const double v_eta = sigma * sigma * tau_m / (2 * tau_s);
  const double bias = std::fabs(discrete_ou_variance(dt, tau_m, tau_s, v_eta) - white);
  ASSERT_LT(bias, 0.01 * white);
  std::ostringstream in;
  in << "{ sigma = " << sigma << ", tau_noise = " << tau_s << " }";
  const auto spec = spec_from(noisy_population("lif", dt, 100.0, 20000, in.str(), "double"));
  const auto r = run_on(backend_kind(), spec);
  expect_moments(r.final_v[0], -70.0, white, bias, "LIF with short OU input");
}

SPIKESIM_INSTANTIATE_BACKENDS(noise_statistics);

}  // namespace
}  // namespace spikesim::testing
