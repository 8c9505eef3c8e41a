// The Hodgkin–Huxley and rate-unit model math (include/spikesim/models/hh.hpp, rate.hpp) against
// independent references: the full nonlinear HH ODE integrated by classical RK4 at a tiny step in
// plain doubles with std::exp, and the closed-form relaxation of the rate unit.
#include <spikesim/models/hh.hpp>
#include <spikesim/models/rate.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace spikesim {
namespace {

// ------------------------------------------------------------------ reference HH (RK4, libm)

struct ref_state {
  double V, m, h, n;
};

// x / (e^x - 1) with std::expm1, which has no cancellation near 0; x = 0 exactly is the limit.
double ref_x_over_expm1(double x) {
  return x == 0.0 ? 1.0 : x / std::expm1(x);
}

double ref_alpha_n(double V) {
  return 0.1 * ref_x_over_expm1(1.0 - 0.1 * V);
}
double ref_beta_n(double V) {
  return 0.125 * std::exp(-V / 80.0);
}
double ref_alpha_m(double V) {
  return ref_x_over_expm1(2.5 - 0.1 * V);
}
double ref_beta_m(double V) {
  return 4.0 * std::exp(-V / 18.0);
}
double ref_alpha_h(double V) {
  return 0.07 * std::exp(-V / 20.0);
}
double ref_beta_h(double V) {
  return 1.0 / (std::exp(3.0 - 0.1 * V) + 1.0);
}

ref_state ref_rest_gates(double V) {
  return {V, ref_alpha_m(V) / (ref_alpha_m(V) + ref_beta_m(V)),
          ref_alpha_h(V) / (ref_alpha_h(V) + ref_beta_h(V)),
          ref_alpha_n(V) / (ref_alpha_n(V) + ref_beta_n(V))};
}

ref_state ref_derivative(const ref_state& s, double I) {
  const double V = s.V;
  ref_state d;
  d.V = 0.3 * (10.6 - V) + 120.0 * s.m * s.m * s.m * s.h * (115.0 - V) +
        36.0 * s.n * s.n * s.n * s.n * (-12.0 - V) + I;  // C_m = 1 uF/cm^2
  d.m = ref_alpha_m(V) * (1.0 - s.m) - ref_beta_m(V) * s.m;
  d.h = ref_alpha_h(V) * (1.0 - s.h) - ref_beta_h(V) * s.h;
  d.n = ref_alpha_n(V) * (1.0 - s.n) - ref_beta_n(V) * s.n;
  return d;
}

ref_state axpy(const ref_state& s, const ref_state& d, double k) {
  return {s.V + k * d.V, s.m + k * d.m, s.h + k * d.h, s.n + k * d.n};
}

ref_state rk4_step(const ref_state& s, double I, double dt) {
  const ref_state k1 = ref_derivative(s, I);
  const ref_state k2 = ref_derivative(axpy(s, k1, dt / 2), I);
  const ref_state k3 = ref_derivative(axpy(s, k2, dt / 2), I);
  const ref_state k4 = ref_derivative(axpy(s, k3, dt), I);
  const double w = dt / 6.0;
  return {
      s.V + w * (k1.V + 2 * k2.V + 2 * k3.V + k4.V), s.m + w * (k1.m + 2 * k2.m + 2 * k3.m + k4.m),
      s.h + w * (k1.h + 2 * k2.h + 2 * k3.h + k4.h), s.n + w * (k1.n + 2 * k2.n + 2 * k3.n + k4.n)};
}

// Zero of the steady-state current, by bisection with the reference rates.
double ref_resting_potential() {
  auto current = [](double V) {
    const ref_state s = ref_rest_gates(V);
    return ref_derivative(s, 0.0).V;
  };
  double lo = -5.0, hi = 5.0;
  while (hi - lo > 1e-14) {
    const double mid = 0.5 * (lo + hi);
    (current(mid) > 0.0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// ------------------------------------------------------------------ protocols and measures

// A current step protocol on a time grid: amplitude `I` while start <= t < stop (step k covers
// [k dt, (k+1) dt)), zero otherwise, from rest (V = 0, gates at x_inf(0)).
struct protocol {
  double I, start, stop, tstop;
};

// V after each step (index 0 = initial) and the interpolated upward crossings of 50 mV.
struct trace {
  std::vector<double> V;
  std::vector<double> crossings;  // ms
  int flagged = 0;                // spikes reported by hh_step (spikesim runs only)
};

// Runs `step(I)` (which advances one dt and returns V) over the protocol.
trace run_protocol(const protocol& p, double dt, bool keep_v,
                   const std::function<double(double, bool&)>& step) {
  trace t;
  const long n = std::lround(p.tstop / dt);
  const long on = std::lround(p.start / dt), off = std::lround(p.stop / dt);
  double v = 0.0;
  if (keep_v) t.V.push_back(v);
  for (long k = 0; k < n; ++k) {
    bool spike = false;
    const double next = step(k >= on && k < off ? p.I : 0.0, spike);
    t.flagged += spike;
    if (v < 50.0 && next >= 50.0) t.crossings.push_back((k + (50.0 - v) / (next - v)) * dt);
    v = next;
    if (keep_v) t.V.push_back(v);
  }
  return t;
}

trace run_reference(const protocol& p, double dt, bool keep_v) {
  ref_state s = ref_rest_gates(0.0);
  return run_protocol(p, dt, keep_v, [&s, dt](double I, bool&) {
    s = rk4_step(s, I, dt);
    return s.V;
  });
}

template <class T>
trace run_spikesim(const protocol& p, double dt, bool keep_v) {
  const hh_coeffs<T> c = make_hh_coeffs<T>(hh_params{}, noise_params{}, dt);
  T V = 0, m, h, n;
  hh_steady_gates(V, m, h, n);
  return run_protocol(p, dt, keep_v, [&](double I, bool& spike) {
    spike = hh_step(c, V, m, h, n, static_cast<T>(I), T(0));
    return static_cast<double>(V);
  });
}

// Peak (parabola through the largest sample and its neighbours) and width at half of the peak
// above rest (V = 0), by linear interpolation of the two crossings.
struct ap_shape {
  double peak, width;
};

ap_shape measure_ap(const std::vector<double>& v, double dt) {
  const std::size_t k = std::max_element(v.begin(), v.end()) - v.begin();
  const double a = v[k - 1], b = v[k], c = v[k + 1];
  const double peak = b - 0.125 * (a - c) * (a - c) / (a - 2 * b + c);
  const double half = 0.5 * peak;
  double up = 0, down = 0;
  for (std::size_t i = 0; i < k; ++i)
    if (v[i] < half && v[i + 1] >= half) up = (i + (half - v[i]) / (v[i + 1] - v[i])) * dt;
  for (std::size_t i = k; i + 1 < v.size(); ++i)
    if (v[i] >= half && v[i + 1] < half) {
      down = (i + (v[i] - half) / (v[i] - v[i + 1])) * dt;
      break;
    }
  return {peak, down - up};
}

// Periodic rate from the crossings in the second half of the run: 1000 / mean ISI; 0 with fewer
// than two spikes there.
double steady_rate_hz(const trace& t, double tstop) {
  std::vector<double> late;
  for (double x : t.crossings)
    if (x >= 0.5 * tstop) late.push_back(x);
  if (late.size() < 2) return 0.0;
  return 1000.0 * (late.size() - 1) / (late.back() - late.front());
}

// Repetitive firing: still spiking in the second half of 500 ms of constant current.
bool repetitive(const trace& t) {
  return std::any_of(t.crossings.begin(), t.crossings.end(), [](double x) { return x >= 250.0; });
}

template <class F>
double bisect_onset(F fires, double lo, double hi, double tol) {
  EXPECT_FALSE(fires(lo));
  EXPECT_TRUE(fires(hi));
  while (hi - lo > tol) {
    const double mid = 0.5 * (lo + hi);
    (fires(mid) ? hi : lo) = mid;
  }
  return 0.5 * (lo + hi);
}

// ------------------------------------------------------------------ (a) resting state

TEST(hh, steady_gates_are_the_textbook_values) {
  double m, h, n;
  hh_steady_gates(0.0, m, h, n);
  const ref_state r = ref_rest_gates(0.0);
  EXPECT_NEAR(m, r.m, 1e-15);
  EXPECT_NEAR(h, r.h, 1e-15);
  EXPECT_NEAR(n, r.n, 1e-15);
  EXPECT_NEAR(m, 0.0529, 1e-4);
  EXPECT_NEAR(h, 0.5961, 1e-4);
  EXPECT_NEAR(n, 0.3177, 1e-4);
}

TEST(hh, resting_state_is_stationary) {
  const double rest = ref_resting_potential();
  // With E_L = 10.6 mV rest sits 0.28 uV above 0 (10.599 mV would put it exactly at 0).
  EXPECT_LT(std::abs(rest), 1e-3);
  EXPECT_NEAR(hh_resting_potential(hh_params{}), rest, 1e-12);

  const auto c = make_hh_coeffs<double>(hh_params{}, noise_params{}, 0.01);
  for (double start : {rest, 0.0}) {
    double V = start, m, h, n;
    hh_steady_gates(V, m, h, n);
    const double m0 = m, h0 = h, n0 = n;
    double drift = 0.0;
    for (int k = 0; k < 10000; ++k) {  // 100 ms
      EXPECT_FALSE(hh_step(c, V, m, h, n, 0.0, 0.0));
      drift = std::max(drift, std::abs(V - start));
    }
    if (start == rest) {
      EXPECT_LT(drift, 1e-6) << "from the exact rest";
      EXPECT_NEAR(m, m0, 1e-9);
      EXPECT_NEAR(h, h0, 1e-9);
      EXPECT_NEAR(n, n0, 1e-9);
    } else {
      // From V = 0 the state only settles onto the 0.28 uV rest.
      EXPECT_LT(drift, 1e-3) << "from V = 0";
      EXPECT_NEAR(V, rest, 1e-6);
    }
  }
  const auto cf = make_hh_coeffs<float>(hh_params{}, noise_params{}, 0.01);
  float V = 0, m, h, n;
  hh_steady_gates(V, m, h, n);
  for (int k = 0; k < 10000; ++k) hh_step(cf, V, m, h, n, 0.0f, 0.0f);
  EXPECT_LT(std::abs(V), 1e-3f) << "float";
}

// ------------------------------------------------------------------ (b) one action potential

// 10 uA/cm^2 for 1 ms from rest. The reference is RK4 at dt = 1e-4 ms; repeating it at 1e-3 ms
// changes the peak by ~4e-7 mV and the width by ~5e-7 relative, so its own error is negligible
// next to the tolerances. The tolerances (0.05 mV, 0.5%) are 2.5x the largest error measured over
// dt = 0.01-0.05 ms (0.019 mV and 0.26% at dt = 0.05) and 25x tighter at dt = 0.01, where the
// scheme is within 0.002 mV and 0.01%; the issue asks 0.5 mV and 2% at dt = 0.01.
TEST(hh, action_potential_matches_rk4_reference) {
  const protocol pulse{10.0, 1.0, 2.0, 20.0};
  const ap_shape ref = measure_ap(run_reference(pulse, 1e-4, true).V, 1e-4);
  const ap_shape ref_coarse = measure_ap(run_reference(pulse, 1e-3, true).V, 1e-3);
  EXPECT_NEAR(ref_coarse.peak, ref.peak, 1e-5);
  EXPECT_NEAR(ref_coarse.width / ref.width, 1.0, 1e-5);
  EXPECT_NEAR(ref.peak, 104.07, 0.01);
  EXPECT_NEAR(ref.width, 1.4545, 1e-3);

  double width_err_001 = 0, width_err_005 = 0;
  for (double dt : {0.01, 0.025, 0.05}) {
    const trace t = run_spikesim<double>(pulse, dt, true);
    const ap_shape s = measure_ap(t.V, dt);
    const double width_err = std::abs(s.width / ref.width - 1.0);
    EXPECT_NEAR(s.peak, ref.peak, 0.05) << "dt = " << dt;
    EXPECT_LT(width_err, 0.005) << "dt = " << dt;
    EXPECT_EQ(t.flagged, 1) << "dt = " << dt;
    EXPECT_EQ(t.crossings.size(), 1u) << "dt = " << dt;
    if (dt == 0.01) width_err_001 = width_err;
    if (dt == 0.05) width_err_005 = width_err;
  }
  // Second order: a 5x smaller step cuts the width error by well over 5x (measured ~30x).
  EXPECT_LT(width_err_001, width_err_005 / 10);

  const ap_shape f = measure_ap(run_spikesim<float>(pulse, 0.01, true).V, 0.01);
  EXPECT_NEAR(f.peak, ref.peak, 0.05) << "float";
  EXPECT_NEAR(f.width / ref.width, 1.0, 0.005) << "float";
}

// ------------------------------------------------------------------ (c) f-I curve

TEST(hh, no_repetitive_firing_at_low_current) {
  const protocol low{2.0, 0.0, 500.0, 500.0};
  EXPECT_LE(run_spikesim<double>(low, 0.01, false).flagged, 1);
  EXPECT_LE(run_reference(low, 1e-3, false).crossings.size(), 1u);
}

// The onset (rest loses to the limit cycle for a current step from rest) lies at ~6.26 uA/cm^2.
// Bisection to 0.005 uA/cm^2 on the RK4 reference (dt = 1e-3 ms) and on hh_step (dt = 0.01 ms).
TEST(hh, onset_of_repetitive_firing_between_6_and_7) {
  auto ref_fires = [](double I) {
    return repetitive(run_reference({I, 0.0, 500.0, 500.0}, 1e-3, false));
  };
  auto sim_fires = [](double I) {
    return repetitive(run_spikesim<double>({I, 0.0, 500.0, 500.0}, 0.01, false));
  };
  const double ref_onset = bisect_onset(ref_fires, 2.0, 10.0, 0.005);
  const double sim_onset = bisect_onset(sim_fires, 2.0, 10.0, 0.005);
  EXPECT_GT(ref_onset, 6.0);
  EXPECT_LT(ref_onset, 7.0);
  EXPECT_GT(sim_onset, 6.0);
  EXPECT_LT(sim_onset, 7.0);
  EXPECT_NEAR(sim_onset, ref_onset, 0.01);
}

// Rates over 1 s at dt = 0.01 ms against RK4 at dt = 1e-3 ms: measured within 6e-5 (the issue
// asks 1%; the tolerance is 0.1%). The reference step is checked against dt = 1e-4 ms on the
// first 100 ms of spike times.
TEST(hh, firing_rate_matches_rk4_reference) {
  const trace fine = run_reference({50.0, 0.0, 100.0, 100.0}, 1e-4, false);
  const trace coarse = run_reference({50.0, 0.0, 100.0, 100.0}, 1e-3, false);
  ASSERT_EQ(fine.crossings.size(), coarse.crossings.size());
  for (std::size_t k = 0; k < fine.crossings.size(); ++k)
    EXPECT_NEAR(coarse.crossings[k], fine.crossings[k], 1e-6);

  const double expected[] = {68.31, 86.46, 117.03};  // Hz, to 0.01
  int i = 0;
  for (double I : {10.0, 20.0, 50.0}) {
    const protocol step{I, 0.0, 1000.0, 1000.0};
    const double ref = steady_rate_hz(run_reference(step, 1e-3, false), 1000.0);
    const double sim = steady_rate_hz(run_spikesim<double>(step, 0.01, false), 1000.0);
    EXPECT_NEAR(ref, expected[i++], 0.01) << "I = " << I;
    EXPECT_NEAR(sim / ref, 1.0, 1e-3) << "I = " << I;
    if (I == 20.0) {
      const double sim_f = steady_rate_hz(run_spikesim<float>(step, 0.01, false), 1000.0);
      EXPECT_NEAR(sim_f / ref, 1.0, 1e-3) << "float";
    }
  }
}

// ------------------------------------------------------------------ (d) removable singularities

TEST(hh, rate_functions_are_continuous_at_removable_singularities) {
  EXPECT_NEAR(hh_rate_functions(10.0).alpha_n, 0.1, 1e-16);
  EXPECT_NEAR(hh_rate_functions(25.0).alpha_m, 1.0, 1e-15);
  EXPECT_NEAR(hh_rate_functions(10.0f).alpha_n, 0.1f, 1e-7f);
  EXPECT_NEAR(hh_rate_functions(25.0f).alpha_m, 1.0f, 1e-6f);
  // Both sides, from far to 1e-12 mV away, against x / expm1(x) with x from the exact V.
  for (double sign : {-1.0, 1.0}) {
    for (double d = 3.0; d > 1e-12; d /= 3.0) {
      const double Vn = 10.0 + sign * d, Vm = 25.0 + sign * d;
      const double an = hh_rate_functions(Vn).alpha_n, am = hh_rate_functions(Vm).alpha_m;
      EXPECT_NEAR(an / ref_alpha_n(Vn), 1.0, 2e-14) << "V = " << Vn;
      EXPECT_NEAR(am / ref_alpha_m(Vm), 1.0, 2e-14) << "V = " << Vm;
      const float anf = hh_rate_functions(static_cast<float>(Vn)).alpha_n;
      const float amf = hh_rate_functions(static_cast<float>(Vm)).alpha_m;
      EXPECT_NEAR(anf / ref_alpha_n(static_cast<float>(Vn)), 1.0, 1e-6) << "float V = " << Vn;
      EXPECT_NEAR(amf / ref_alpha_m(static_cast<float>(Vm)), 1.0, 1e-6) << "float V = " << Vm;
    }
  }
  // The switch between series and direct form leaves no step: a dense scan over |x| < 1.
  double worst = 0, worst_f = 0;
  for (double x = -1.0; x <= 1.0; x += 1.0 / 4096 + 1e-9) {
    worst = std::max(worst, std::abs(x_over_expm1(x) / ref_x_over_expm1(x) - 1.0));
    const float xf = static_cast<float>(x);
    worst_f = std::max(worst_f, std::abs(x_over_expm1(xf) / ref_x_over_expm1(xf) - 1.0));
  }
  EXPECT_LT(worst, 1e-14);
  EXPECT_LT(worst_f, 5e-7);
}

TEST(hh, white_noise_amplitude_follows_the_membrane_time_constant) {
  noise_params noise;
  noise.sigma = 2.0;
  const auto c = make_hh_coeffs<double>(hh_params{}, noise, 0.01);
  EXPECT_NEAR(c.noise_amp, 2.0 * std::sqrt(0.01 / (1.0 / 0.3)), 1e-15);
}

// ------------------------------------------------------------------ (e) rate unit

double threshold_linear(double I, const rate_params& p) {
  return p.gain * std::min(std::max(I - p.I_thr, 0.0), p.I_max - p.I_thr);
}
double sigmoid(double I, const rate_params& p) {
  return p.r_max / (1.0 + std::exp(-(I - p.I_half) / p.k));
}

TEST(rate, transfer_functions) {
  rate_params p;
  p.I_thr = 1.0;
  p.gain = 12.0;
  p.I_max = 9.0;
  const auto c = make_rate_coeffs<double>(p, 0.1);
  EXPECT_EQ(rate_transfer_fn(c, 0.5), 0.0);
  EXPECT_DOUBLE_EQ(rate_transfer_fn(c, 4.0), 36.0);
  EXPECT_DOUBLE_EQ(rate_transfer_fn(c, 20.0), 96.0);  // r_max = c (I_max - I_thr)
  p.transfer = rate_transfer::sigmoid;
  const auto s = make_rate_coeffs<double>(p, 0.1);
  EXPECT_DOUBLE_EQ(rate_transfer_fn(s, 5.0), 50.0);
  EXPECT_NEAR(rate_transfer_fn(s, 7.0), sigmoid(7.0, p), 1e-13);
  EXPECT_EQ(rate_transfer_fn(s, -1e4), 0.0);
  EXPECT_DOUBLE_EQ(rate_transfer_fn(s, 1e4), 100.0);
}

// r(t) = f(I) (1 - e^{-t/tau}) from r = 0, for both transfer functions, to 1e-12 (relative to
// f, or absolute when f = 0), over 200 ms at dt = 0.1 ms; then a step back to a lower input.
TEST(rate, exact_relaxation_for_a_step_input) {
  for (rate_transfer kind : {rate_transfer::threshold_linear, rate_transfer::sigmoid}) {
    rate_params p;
    p.transfer = kind;
    p.tau = 7.0;
    p.I_thr = 0.5;
    const double dt = 0.1;
    const auto c = make_rate_coeffs<double>(p, dt);
    auto f = [&](double I) {
      return kind == rate_transfer::sigmoid ? sigmoid(I, p) : threshold_linear(I, p);
    };
    for (double I : {-2.0, 0.3, 2.5, 6.0, 30.0}) {
      double r = 0.0;
      double worst = 0.0;
      for (int k = 1; k <= 2000; ++k) {
        rate_step(c, r, I);
        const double exact = -f(I) * std::expm1(-k * dt / p.tau);
        worst = std::max(worst, std::abs(r - exact) / std::max(f(I), 1.0));
      }
      EXPECT_LT(worst, 1e-12) << "I = " << I;
      const double r0 = r;
      for (int k = 1; k <= 500; ++k) {
        rate_step(c, r, 1.0);
        const double exact = f(1.0) + (r0 - f(1.0)) * std::exp(-k * dt / p.tau);
        worst = std::max(worst, std::abs(r - exact) / std::max(r0, 1.0));
      }
      EXPECT_LT(worst, 1e-12) << "I = " << I << " then 1 nA";
    }
  }
}

}  // namespace
}  // namespace spikesim
