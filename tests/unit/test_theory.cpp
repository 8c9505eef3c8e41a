// Unit tests for the single-neuron theory: erfcx, the Siegert rate and CV of the noisy LIF, the
// deterministic LIF rate and the EIF phase line. References come from independent computations.
#include <spikesim/theory.hpp>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace spikesim {
namespace theory {
namespace {

constexpr double k_eps = std::numeric_limits<double>::epsilon();
constexpr double k_pi = 3.14159265358979323846;
constexpr double k_sqrt_pi = 1.77245385090551602730;

double rel_diff(double value, double reference) {
  return std::abs(value - reference) / std::abs(reference);
}

// ------------------------------------------------------------------------------------- erfcx

TEST(erfcx, matches_erfc_times_exp_for_moderate_arguments) {
  for (double x = -5.0; x <= 26.0; x += 0.37) {
    const double reference = std::erfc(x) * std::exp(x * x);
    // The reference carries the rounding of x*x, amplified by exp to ~x^2 eps, plus a few ulp.
    const double tol = (8.0 + 2.0 * x * x) * k_eps;
    EXPECT_LE(rel_diff(erfcx(x), reference), tol) << "x = " << x;
  }
}

TEST(erfcx, matches_high_precision_values) {
  // Maclaurin series of erf summed in 420-digit decimal arithmetic at the exact binary value of
  // x, times exp(x^2); both sides of the switch to the continued fraction at x = 5.
  const double x[] = {1.3, 2.9, 4.6, 4.97, 5.5, 8.0, 12.25, 20.0};
  const double reference[] = {3.57642669086090325692e-01, 1.84601825955590825856e-01,
                              1.19936259788385596314e-01, 1.11348278486718021973e-01,
                              1.00962218399499092936e-01, 6.99851662008809244364e-02,
                              4.59043444549499038421e-02, 2.81743487410513193669e-02};
  for (int i = 0; i < 8; ++i) {
    EXPECT_LE(rel_diff(erfcx(x[i]), reference[i]), 4.0 * k_eps) << "x = " << x[i];
  }
  // Negative side: 2 exp(x^2) - erfcx(-x); exp(x^2) has condition number 2 x^2.
  EXPECT_LE(rel_diff(erfcx(-3.25), 7.73151364037560706493e+04), 8.0 * k_eps);
}

TEST(erfcx, matches_asymptotic_series_for_large_arguments) {
  for (double x : {30.0, 50.0, 100.0, 1e3, 1e5, 1e8, 1e10, 1e200}) {
    // sqrt(pi) x erfcx(x) ~ sum_n (-1)^n (2n-1)!! / (2x^2)^n; the error of the truncated
    // series is below its first omitted term, here < 1e-20 relative.
    double sum = 0.0;
    double term = 1.0;
    for (int n = 0; n < 12 && std::abs(term) > 1e-20; ++n) {
      sum += term;
      term *= -(2.0 * n + 1.0) / (2.0 * x * x);
    }
    const double reference = sum / (k_sqrt_pi * x);
    EXPECT_LE(rel_diff(erfcx(x), reference), 4.0 * k_eps) << "x = " << x;
  }
}

TEST(erfcx, negative_arguments_and_overflow) {
  EXPECT_DOUBLE_EQ(erfcx(0.0), 1.0);
  EXPECT_EQ(erfcx(-30.0), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(erfcx(std::nan(""))));
}

TEST(log_erfcx, agrees_with_log_of_erfcx_and_never_overflows) {
  for (double x = -20.0; x <= 60.0; x += 0.7) {
    EXPECT_NEAR(log_erfcx(x), std::log(erfcx(x)), 1e-13 * std::max(1.0, x * x)) << "x = " << x;
  }
  // erfcx(-40) = exp(1600) (1 + erf 40) = 2 exp(1600), far beyond double range.
  EXPECT_DOUBLE_EQ(log_erfcx(-40.0), 1600.0 + std::log(2.0));
  EXPECT_TRUE(std::isfinite(log_erfcx(-1e10)));
}

// ----------------------------------------------------------------------------------- siegert

// Brute force of the same two integrals by a different method: the textbook integrands
// exp(x^2) erfc(-x) and exp(y^2) erfc(-y)^2 (std::erfc, no erfcx, no scaling) on one uniform
// grid with the plain trapezoid rule, the inner integral accumulated along the grid. With
// h ~ 1e-4 the O(h^2) error is ~1e-9 relative.
lif_noise_result brute_force_siegert(double mu, double sigma, double tau, double theta,
                                     double v_reset, double t_ref) {
  const double y_theta = (theta - mu) / sigma;
  const double y_reset = (v_reset - mu) / sigma;
  const int n = static_cast<int>(std::ceil((y_theta - y_reset) / 1e-4));
  const double h = (y_theta - y_reset) / n;
  // exp(y^2) erfc(-y)^2 ~ exp(-y^2) / (pi y^2) for y -> -inf: 6 below min(y_r, 0) is negligible.
  const int below = static_cast<int>(std::ceil((y_reset - (std::min(y_reset, 0.0) - 6.0)) / h));
  auto inner_integrand = [](double y) {
    const double e = std::erfc(-y);
    return std::exp(y * y) * e * e;
  };
  double inner = 0.0;
  double previous = inner_integrand(y_reset - below * h);
  for (int k = -below + 1; k <= 0; ++k) {
    const double current = inner_integrand(y_reset + k * h);
    inner += 0.5 * h * (previous + current);
    previous = current;
  }
  double rate_integral = 0.0;
  double cv_integral = 0.0;
  double prev_rate = std::exp(y_reset * y_reset) * std::erfc(-y_reset);
  double prev_cv = std::exp(y_reset * y_reset) * inner;
  for (int k = 1; k <= n; ++k) {
    const double x = y_reset + k * h;
    const double current = inner_integrand(x);
    inner += 0.5 * h * (previous + current);
    previous = current;
    const double rate_term = std::exp(x * x) * std::erfc(-x);
    const double cv_term = std::exp(x * x) * inner;
    rate_integral += 0.5 * h * (prev_rate + rate_term);
    cv_integral += 0.5 * h * (prev_cv + cv_term);
    prev_rate = rate_term;
    prev_cv = cv_term;
  }
  const double isi = t_ref + tau * k_sqrt_pi * rate_integral;
  const double nu_tau = tau / isi;
  return {1000.0 / isi, nu_tau * std::sqrt(2.0 * k_pi * cv_integral), isi};
}

TEST(siegert, small_noise_limit_is_the_deterministic_lif) {
  // tau 20, theta 20, V_r 10, t_ref 2, mu 25: 1/nu = 2 + 20 ln 3 = 23.972245773362197 ms.
  const double deterministic_hz = 1000.0 / (2.0 + 20.0 * std::log(3.0));
  const lif_noise_result r = siegert(25.0, 0.01, 20.0, 20.0, 10.0, 2.0);
  // sigma = 0.01 is far above the deterministic fallback (1e-6 * 5 mV), so this is the quadrature.
  EXPECT_LE(rel_diff(r.rate_hz, deterministic_hz), 1e-5);  // required: 1e-3
  // From erfcx(z) ~ (1 - 1/(2 z^2)) / (sqrt(pi) z), noise shortens the ISI by
  // tau/4 (sigma^2/(mu-theta)^2 - sigma^2/(mu-V_r)^2) = 1.7778e-5 ms (7e-7 relative), up to
  // O(sigma^4) terms.
  const double shortening = 5.0 * (1e-4 / 25.0 - 1e-4 / 225.0);
  EXPECT_NEAR(1000.0 / deterministic_hz - r.mean_isi_ms, shortening, 0.01 * shortening);
  // The fallback itself (sigma <= 1e-6 |theta - mu|) and sigma = 0 return the formula.
  EXPECT_LE(rel_diff(siegert(25.0, 1e-7, 20.0, 20.0, 10.0, 2.0).rate_hz, deterministic_hz), 1e-14);
  const lif_noise_result zero = siegert(25.0, 0.0, 20.0, 20.0, 10.0, 2.0);
  EXPECT_LE(rel_diff(zero.rate_hz, deterministic_hz), 1e-14);
  EXPECT_EQ(zero.cv, 0.0);
}

TEST(siegert, continuous_across_the_deterministic_fallback) {
  // 1e-6 * |theta - mu| = 5e-6 mV: one side is quadrature, the other the closed form.
  const lif_noise_result above = siegert(25.0, 5.1e-6, 20.0, 20.0, 10.0, 2.0);
  const lif_noise_result below = siegert(25.0, 4.9e-6, 20.0, 20.0, 10.0, 2.0);
  EXPECT_LE(rel_diff(above.rate_hz, below.rate_hz), 1e-12);
  // The CV scales with sigma: compare CV / sigma.
  EXPECT_LE(rel_diff(above.cv / 5.1e-6, below.cv / 4.9e-6), 1e-9);
}

TEST(siegert, matches_brute_force_double_integral) {
  struct point {
    double mu, sigma;
  };
  // y ranges: [-2, 0], [-1.25, 1.25], [0, 3.33], [-10, -5], [-1.5, -0.5].
  for (const point& c : {point{20.0, 5.0}, point{15.0, 4.0}, point{10.0, 3.0}, point{30.0, 2.0},
                         point{25.0, 10.0}}) {
    const lif_noise_result r = siegert(c.mu, c.sigma, 20.0, 20.0, 10.0, 2.0);
    const lif_noise_result ref = brute_force_siegert(c.mu, c.sigma, 20.0, 20.0, 10.0, 2.0);
    EXPECT_LE(rel_diff(r.rate_hz, ref.rate_hz), 1e-6) << "mu = " << c.mu << " sigma = " << c.sigma;
    EXPECT_LE(rel_diff(r.cv, ref.cv), 1e-6) << "mu = " << c.mu << " sigma = " << c.sigma;
    EXPECT_DOUBLE_EQ(r.mean_isi_ms, 1000.0 / r.rate_hz);
  }
}

TEST(siegert, independent_reference_at_threshold) {
  // tau 20 ms, theta 20, V_r 10, t_ref 2 ms, mu 20, sigma 5 (y_r = -2, y_theta = 0).
  // Rate: int_{-2}^0 exp(x^2)(1 + erf x) dx = int_0^2 exp(t^2) dt - int_0^2 exp(t^2) erf(t) dt,
  // both from their power series (sum 2^(2n+1)/(n!(2n+1)) and (2/sqrt(pi)) sum
  // 2^(3n+2)/((2n+1)!!(2n+2))) in exact rationals and 40-digit decimals: 0.975362087484156024,
  // so 1/nu = 2 + 20 sqrt(pi) * that = 36.575685759770703 ms.
  // CV: the backward equations for the first two passage-time moments,
  // T1''/2 - y T1' = -1 and T2''/2 - y T2' = -2 T1 (T(0) = 0, reflecting at y = -12), solved by
  // central finite differences at h = 1e-3, 5e-4, 2.5e-4 with Richardson extrapolation; this
  // also reproduces the rate above to 13 digits.
  const lif_noise_result r = siegert(20.0, 5.0, 20.0, 20.0, 10.0, 2.0);
  EXPECT_LE(rel_diff(r.mean_isi_ms, 36.575685759770703), 1e-11);
  EXPECT_LE(rel_diff(r.rate_hz, 27.340567353077267), 1e-11);
  EXPECT_LE(rel_diff(r.cv, 0.582635839932697), 1e-9);
}

TEST(siegert, cv_tends_to_one_as_the_rate_vanishes) {
  // Far below threshold a spike is a rare escape and the ISI nearly exponential; |1 - CV| shrinks
  // with the rate (the CV may approach 1 from above when V_r is above mu: early escapes).
  double previous_rate = std::numeric_limits<double>::infinity();
  double previous_deviation = std::numeric_limits<double>::infinity();
  for (double mu : {15.0, 12.0, 10.0, 7.0, 5.0, 2.0, 0.0}) {
    const lif_noise_result r = siegert(mu, 3.0, 20.0, 20.0, 10.0, 2.0);
    const double deviation = std::abs(1.0 - r.cv);
    EXPECT_LT(r.rate_hz, previous_rate) << "mu = " << mu;
    EXPECT_LT(deviation, previous_deviation) << "mu = " << mu;
    previous_rate = r.rate_hz;
    previous_deviation = deviation;
  }
  const lif_noise_result strong = siegert(0.0, 3.0, 20.0, 20.0, 10.0, 2.0);
  EXPECT_LT(strong.rate_hz, 1e-10);
  EXPECT_GT(strong.rate_hz, 0.0);
  EXPECT_NEAR(strong.cv, 1.0, 1e-9);
  // Rates far below double range: no overflow, the rate underflows to 0, the CV stays 1.
  for (double sigma : {1.0, 0.5, 0.1, 1e-3, 1e-4, 2.1e-5}) {
    const lif_noise_result r = siegert(0.0, sigma, 20.0, 20.0, 10.0, 2.0);
    EXPECT_GE(r.rate_hz, 0.0);
    EXPECT_LT(r.rate_hz, 1e-100);
    EXPECT_NEAR(r.cv, 1.0, 1e-9) << "sigma = " << sigma;
  }
  EXPECT_EQ(siegert(0.0, 0.1, 20.0, 20.0, 10.0, 2.0).mean_isi_ms,
            std::numeric_limits<double>::infinity());
}

TEST(siegert, cv_vanishes_in_the_low_noise_suprathreshold_limit) {
  // Small-noise (linear) limit: Var(ISI) = tau^2 sigma^2 / 2 (1/(mu-theta)^2 - 1/(mu-V_r)^2),
  // with relative corrections of order (sigma / (mu - theta))^2.
  const double mu = 40.0;
  const double period = 2.0 + 20.0 * std::log(30.0 / 20.0);
  for (double sigma : {0.1, 0.01}) {
    const lif_noise_result r = siegert(mu, sigma, 20.0, 20.0, 10.0, 2.0);
    const double cv_linear =
        20.0 * sigma / std::sqrt(2.0) * std::sqrt(1.0 / 400.0 - 1.0 / 900.0) / period;
    EXPECT_LT(r.cv, 0.01);
    EXPECT_LE(rel_diff(r.cv, cv_linear), 10.0 * (sigma / 20.0) * (sigma / 20.0) + 1e-9);
    EXPECT_LE(rel_diff(r.rate_hz, 1000.0 / period), 1e-4);
  }
}

TEST(siegert, shifted_rest_equals_deterministic_lif) {
  // A neuron with E_L = -70 mV is passed to siegert relative to rest.
  const double E_L = -70.0, R_m = 4.0, I = 12.0, V_th = -50.0, V_reset = -65.0;
  const double lif = lif_rate_hz(I, 20.0, E_L, R_m, V_th, V_reset, 2.0);
  const lif_noise_result r = siegert(R_m * I, 0.0, 20.0, V_th - E_L, V_reset - E_L, 2.0);
  EXPECT_LE(rel_diff(r.rate_hz, lif), 1e-14);
}

TEST(siegert, a_refused_argument_carries_its_name_value_unit_and_requirement) {
  try {
    siegert(10.0, 1.0, -5.0, 20.0, 10.0, 2.0);
    FAIL() << "tau_m = -5 accepted";
  } catch (const argument_error& e) {
    EXPECT_EQ(e.where, "siegert");
    EXPECT_EQ(e.name, "tau_m");
    EXPECT_EQ(e.value, -5.0);
    EXPECT_EQ(e.unit, "ms");
    EXPECT_EQ(e.requirement, "must be > 0");
    EXPECT_EQ(e.value_text(), "-5 ms, must be > 0");
    EXPECT_EQ(std::string(e.what()), "siegert: tau_m = -5 ms, must be > 0");
  }
}

TEST(siegert, rejects_invalid_parameters) {
  auto expect_message = [](auto call, const std::string& needle) {
    try {
      call();
      ADD_FAILURE() << "no exception for " << needle;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_message([] { siegert(10.0, 1.0, 0.0, 20.0, 10.0, 2.0); }, "tau_m = 0 ms");
  expect_message([] { siegert(10.0, -1.0, 20.0, 20.0, 10.0, 2.0); }, "sigma = -1 mV");
  expect_message([] { siegert(10.0, 1.0, 20.0, 20.0, 20.0, 2.0); }, "v_reset = 20 mV");
  expect_message([] { siegert(10.0, 1.0, 20.0, 20.0, 10.0, -1.0); }, "t_ref = -1 ms");
  expect_message([] { siegert(std::nan(""), 1.0, 20.0, 20.0, 10.0, 2.0); }, "mu");
}

// ------------------------------------------------------------------------- deterministic LIF

TEST(lif_theory, rheobase_and_rate) {
  // Linear LIF of the EIF report: E_L = V_reset = -70 mV, R 4 MOhm, tau 10 ms, threshold -30 mV.
  EXPECT_DOUBLE_EQ(lif_rheobase_nA(-70.0, 4.0, -30.0), 10.0);
  EXPECT_EQ(lif_rate_hz(10.0, 10.0, -70.0, 4.0, -30.0, -70.0, 2.0), 0.0);
  EXPECT_EQ(lif_rate_hz(-5.0, 10.0, -70.0, 4.0, -30.0, -70.0, 2.0), 0.0);
  EXPECT_GT(lif_rate_hz(10.0 + 1e-9, 10.0, -70.0, 4.0, -30.0, -70.0, 2.0), 0.0);
  // 12 nA: u_inf = -22 mV, 1/nu = 2 + 10 ln(48/8) = 19.91759469228055 ms.
  EXPECT_LE(rel_diff(lif_rate_hz(12.0, 10.0, -70.0, 4.0, -30.0, -70.0, 2.0), 50.20686561051318),
            1e-14);
  EXPECT_THROW(lif_rate_hz(12.0, 10.0, -70.0, 0.0, -30.0, -70.0, 2.0), std::invalid_argument);
  EXPECT_THROW(lif_rate_hz(12.0, 10.0, -70.0, 4.0, -30.0, -30.0, 2.0), std::invalid_argument);
  EXPECT_THROW(lif_rheobase_nA(-70.0, -4.0, -30.0), std::invalid_argument);
}

// ------------------------------------------------------------------------------------- EIF

// Gerstner & Kistler 5.2: tau 10 ms, u_r = -70 mV, R 4 MOhm, delta_T 1 mV, theta_rh -40 mV,
// theta_pa -30 mV.
const eif_params_view k_eif{10.0, -70.0, 4.0, 1.0, -40.0, -30.0, -70.0, 0.0};

// The textbook phase line, written independently of the library.
double f_eif(const eif_params_view& p, double I, double u) {
  return -(u - p.E_L) + p.delta_T * std::exp((u - p.V_T) / p.delta_T) + p.R_m * I;
}
double df_eif(const eif_params_view& p, double u) {
  return -1.0 + std::exp((u - p.V_T) / p.delta_T);
}

TEST(eif_theory, fixed_points_without_current) {
  const std::vector<fixed_point> fp = eif_fixed_points(k_eif, 0.0);
  ASSERT_EQ(fp.size(), 2u);
  // Stable: -(u + 70) + exp(u + 40) = 0 gives u = -70 + e^-30 (1 + ...) = -70 + 9.4e-14.
  EXPECT_NEAR(fp[0].u_mV, -70.0, 1e-6);
  EXPECT_TRUE(fp[0].stable);
  EXPECT_NEAR(fp[1].u_mV, -36.5, 0.1);  // the emergent threshold theta_{I=0}
  EXPECT_FALSE(fp[1].stable);
  for (const fixed_point& p : fp) {
    EXPECT_LE(std::abs(f_eif(k_eif, 0.0, p.u_mV)), 1e-9);
    EXPECT_EQ(p.stable, df_eif(k_eif, p.u_mV) < 0.0);
  }
}

TEST(eif_theory, fixed_points_at_six_nanoamps) {
  const std::vector<fixed_point> fp = eif_fixed_points(k_eif, 6.0);
  ASSERT_EQ(fp.size(), 2u);
  EXPECT_NEAR(fp[0].u_mV, -46.0, 0.1);
  EXPECT_TRUE(fp[0].stable);
  EXPECT_NEAR(fp[1].u_mV, -37.9, 0.1);
  EXPECT_FALSE(fp[1].stable);
  for (const fixed_point& p : fp) EXPECT_LE(std::abs(f_eif(k_eif, 6.0, p.u_mV)), 1e-9);
}

TEST(eif_theory, fixed_points_merge_at_the_rheobase) {
  EXPECT_DOUBLE_EQ(eif_rheobase_nA(k_eif), 7.25);
  // The bisection stops at 1e-12 relative; the golden-section minimum is exact to ~1e-14 mV.
  EXPECT_NEAR(eif_rheobase_numeric_nA(k_eif), eif_rheobase_nA(k_eif), 1e-9);
  double previous_gap = std::numeric_limits<double>::infinity();
  for (double eps : {1.0, 1e-2, 1e-4, 1e-6}) {
    const std::vector<fixed_point> fp = eif_fixed_points(k_eif, 7.25 - eps);
    ASSERT_EQ(fp.size(), 2u) << "eps = " << eps;
    const double gap = fp[1].u_mV - fp[0].u_mV;
    EXPECT_LT(gap, previous_gap);
    previous_gap = gap;
    // Saddle-node normal form: f ~ -R eps + (u - V_T)^2 / (2 delta_T), so the gap tends to
    // 2 sqrt(2 delta_T R eps); the cubic term shifts it by O(eps) relative.
    if (eps <= 1e-2) {
      EXPECT_LE(rel_diff(gap, 2.0 * std::sqrt(8.0 * eps)), 0.1 * std::sqrt(eps)) << eps;
    }
    for (const fixed_point& p : fp) EXPECT_LE(std::abs(f_eif(k_eif, 7.25 - eps, p.u_mV)), 1e-9);
  }
  const std::vector<fixed_point> at = eif_fixed_points(k_eif, 7.25);
  ASSERT_EQ(at.size(), 1u);
  EXPECT_EQ(at[0].u_mV, -40.0);
  EXPECT_FALSE(at[0].stable);
  EXPECT_TRUE(eif_fixed_points(k_eif, 7.25 + 1e-9).empty());
  EXPECT_TRUE(eif_fixed_points(k_eif, 20.0).empty());
}

// Plain trapezoid rule on tau / f(u) with n intervals. f > 0 on the whole interval here, so
// 1/f is smooth and bounded (largest, 1/f_min, near V_T) and the rule converges as O(h^2).
double trapezoid_period(const eif_params_view& p, double I, int n) {
  const double h = (p.V_peak - p.V_reset) / n;
  double sum = 0.5 * (1.0 / f_eif(p, I, p.V_reset) + 1.0 / f_eif(p, I, p.V_peak));
  for (int k = 1; k < n; ++k) sum += 1.0 / f_eif(p, I, p.V_reset + k * h);
  return p.t_ref + p.tau_m * h * sum;
}

TEST(eif_theory, rate_matches_trapezoid_integration) {
  const double rate = eif_rate_hz(k_eif, 8.0);
  EXPECT_LE(rel_diff(rate, 1000.0 / trapezoid_period(k_eif, 8.0, 1000000)), 1e-4);
  eif_params_view with_ref = k_eif;
  with_ref.t_ref = 2.0;
  EXPECT_LE(rel_diff(eif_rate_hz(with_ref, 8.0), 1000.0 / trapezoid_period(with_ref, 8.0, 1000000)),
            1e-4);
  EXPECT_EQ(eif_rate_hz(k_eif, 6.0), 0.0);
  EXPECT_EQ(eif_rate_hz(k_eif, 7.25), 0.0);
  EXPECT_LT(rate, eif_rate_hz(k_eif, 9.0));
}

TEST(eif_theory, period_diverges_like_the_saddle_node_near_rheobase) {
  // T ~ tau pi sqrt(2 delta_T / (R eps)) + O(1): the relative error falls like sqrt(eps).
  double previous_error = std::numeric_limits<double>::infinity();
  for (double eps : {1e-4, 1e-6, 1e-8}) {
    const double period = 1000.0 / eif_rate_hz(k_eif, 7.25 + eps);
    const double asymptotic = 10.0 * k_pi * std::sqrt(2.0 / (4.0 * eps));
    const double error = rel_diff(period, asymptotic);
    EXPECT_LT(error, previous_error / 5.0) << "eps = " << eps;
    previous_error = error;
  }
  EXPECT_LT(previous_error, 2e-3);
}

TEST(eif_theory, reset_above_the_unstable_point_fires_below_rheobase) {
  eif_params_view high_reset = k_eif;
  high_reset.V_reset = -35.0;  // above theta_{I=0} ~ -36.5 mV
  const double rate = eif_rate_hz(high_reset, 0.0);
  EXPECT_GT(rate, 0.0);
  EXPECT_LE(rel_diff(rate, 1000.0 / trapezoid_period(high_reset, 0.0, 100000)), 1e-6);
  high_reset.V_reset = -38.0;  // between the fixed points: decays to rest
  EXPECT_EQ(eif_rate_hz(high_reset, 0.0), 0.0);
}

TEST(eif_theory, rejects_invalid_parameters) {
  eif_params_view bad = k_eif;
  bad.delta_T = 0.0;
  EXPECT_THROW(eif_fixed_points(bad, 0.0), std::invalid_argument);
  bad = k_eif;
  bad.V_reset = -30.0;
  EXPECT_THROW(eif_rate_hz(bad, 8.0), std::invalid_argument);
  EXPECT_THROW(eif_rate_hz(k_eif, std::nan("")), std::invalid_argument);
}

}  // namespace
}  // namespace theory
}  // namespace spikesim
