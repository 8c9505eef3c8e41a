// Hodgkin–Huxley squid giant axon (Hodgkin & Huxley 1952), V measured from rest in mV:
//   C_m dV/dt = g_L (E_L - V) + g_Na m^3 h (E_Na - V) + g_K n^4 (E_K - V) + I(t),
//   dx/dt = alpha_x(V) (1 - x) - beta_x(V) x  for the gates x = m, h, n.
// Currents are densities in uA/cm^2 (conductances in mS/cm^2, so g V is in uA/cm^2).
#pragma once

#include <cmath>

#include <spikesim/config.hpp>
#include <spikesim/fast_math.hpp>
#include <spikesim/models/membrane.hpp>
#include <spikesim/models/neuron_vars.hpp>
#include <spikesim/models/param_table.hpp>

namespace spikesim {

// key      unit      default  meaning
// C_m      uF/cm^2   1        membrane capacitance
// g_Na     mS/cm^2   120      maximal sodium conductance
// g_K      mS/cm^2   36       maximal potassium conductance
// g_L      mS/cm^2   0.3      leak conductance; tau_m = C_m / g_L = 3.33 ms scales the noise
// E_Na     mV        115      sodium reversal potential (relative to rest)
// E_K      mV        -12      potassium reversal potential
// E_L      mV        10.6     leak reversal potential
// V_spike  mV        50       a spike is an upward crossing of this level
struct hh_params {
  double C_m = 1.0;
  double g_Na = 120.0;
  double g_K = 36.0;
  double g_L = 0.3;
  double E_Na = 115.0;
  double E_K = -12.0;
  double E_L = 10.6;
  double V_spike = 50.0;
};

template <>
struct param_table<hh_params> {
  static constexpr param_field<hh_params> fields[] = {
      {"C_m", "uF/cm^2", &hh_params::C_m}, {"g_Na", "mS/cm^2", &hh_params::g_Na},
      {"g_K", "mS/cm^2", &hh_params::g_K}, {"g_L", "mS/cm^2", &hh_params::g_L},
      {"E_Na", "mV", &hh_params::E_Na},    {"E_K", "mV", &hh_params::E_K},
      {"E_L", "mV", &hh_params::E_L},      {"V_spike", "mV", &hh_params::V_spike}};
  static constexpr param_check<hh_params> checks[] = {{&hh_params::C_m, param_rule::positive},
                                                      {&hh_params::g_L, param_rule::positive},
                                                      {&hh_params::g_Na, param_rule::non_negative},
                                                      {&hh_params::g_K, param_rule::non_negative}};
};

// Everything the step needs, derived once on the host from the parameters and dt.
template <class T>
struct hh_coeffs {
  T dt;         // ms
  T dt_over_C;  // ms cm^2/uF
  T g_Na, g_K, g_L;
  T E_Na, E_K;
  T g_L_E_L;    // uA/cm^2
  T V_spike;    // mV
  T noise_amp;  // mV per unit normal deviate: sigma sqrt(dt / tau_m), tau_m = C_m / g_L
};

template <class T>
hh_coeffs<T> make_hh_coeffs(const hh_params& p, const noise_params& noise, double dt) {
  hh_coeffs<T> c{};
  c.dt = static_cast<T>(dt);
  c.dt_over_C = static_cast<T>(dt / p.C_m);
  c.g_Na = static_cast<T>(p.g_Na);
  c.g_K = static_cast<T>(p.g_K);
  c.g_L = static_cast<T>(p.g_L);
  c.E_Na = static_cast<T>(p.E_Na);
  c.E_K = static_cast<T>(p.E_K);
  c.g_L_E_L = static_cast<T>(p.g_L * p.E_L);
  c.V_spike = static_cast<T>(p.V_spike);
  c.noise_amp = static_cast<T>(noise.sigma * std::sqrt(dt * p.g_L / p.C_m));
  return c;
}

// x / (e^x - 1), continuous through its removable singularity at x = 0 (limit 1). Near 0 the
// direct form loses digits to the cancellation in e^x - 1 (relative error ~ eps / |x|), so there
// the series 1 - x/2 + x^2/12 - x^4/720 is used; the cut balances the two errors: the series'
// truncation x^6/30240 against eps/|x|, both below ~1e-14 (double) or ~3e-7 (float).
template <class T>
SPIKESIM_HD inline T x_over_expm1(T x) {
  constexpr T cut = sizeof(T) == 4 ? T(0.25) : T(0.01);
  const T x2 = x * x;
  const T even = math::detail::fma(x2, T(-1.0 / 720.0), T(1.0 / 12.0));
  const T series = math::detail::fma(even, x2, math::detail::fma(x, T(-0.5), T(1)));
  const T direct = x / (math::exp(x) - T(1));
  const T ax = x < T(0) ? -x : x;
  return ax < cut ? series : direct;
}

// The squid-axon opening (alpha) and closing (beta) rates, 1/ms, at V (mV from rest).
template <class T>
struct hh_rates {
  T alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n;
};

template <class T>
SPIKESIM_HD inline hh_rates<T> hh_rate_functions(T V) {
  hh_rates<T> r;
  // alpha_n = (0.1 - 0.01 V) / (e^{1 - 0.1 V} - 1) = 0.1 x / (e^x - 1), x = 1 - 0.1 V: 0.1 at V
  // = 10.
  r.alpha_n = T(0.1) * x_over_expm1(math::detail::fma(V, T(-0.1), T(1)));
  r.beta_n = T(0.125) * math::exp(V * T(-1.0 / 80.0));
  // alpha_m = (2.5 - 0.1 V) / (e^{2.5 - 0.1 V} - 1) = x / (e^x - 1): 1 at V = 25.
  r.alpha_m = x_over_expm1(math::detail::fma(V, T(-0.1), T(2.5)));
  r.beta_m = T(4) * math::exp(V * T(-1.0 / 18.0));
  r.alpha_h = T(0.07) * math::exp(V * T(-1.0 / 20.0));
  r.beta_h = T(1) / (math::exp(math::detail::fma(V, T(-0.1), T(3))) + T(1));
  return r;
}

// The gates' steady state x_inf(V) = alpha / (alpha + beta): the resting state at V.
template <class T>
SPIKESIM_HD inline void hh_steady_gates(T V, T& m, T& h, T& n) {
  const hh_rates<T> r = hh_rate_functions(V);
  m = r.alpha_m / (r.alpha_m + r.beta_m);
  h = r.alpha_h / (r.alpha_h + r.beta_h);
  n = r.alpha_n / (r.alpha_n + r.beta_n);
}

// Exact for V frozen: x relaxes towards x_inf = alpha / (alpha + beta) with rate alpha + beta
// (the Rush–Larsen update).
template <class T>
SPIKESIM_HD inline T hh_gate_update(T x, T alpha, T beta, T dt) {
  const T rate = alpha + beta;
  const T x_inf = alpha / rate;
  return math::detail::fma(x - x_inf, math::exp(-dt * rate), x_inf);
}

// One step of one neuron: I is the input current density (uA/cm^2) held over the step, `noise`
// the voltage increment (mV) of the noise term, added at the end (noise_amp times a normal
// deviate for white noise). Returns true on the step whose end V first reaches V_spike from below.
//
// Scheme: the gates live half a step ahead of V (the staggered scheme of NEURON). With V(t)
// frozen they advance exactly from t - dt/2 to t + dt/2; with those conductances frozen, V
// relaxes exactly from t to t + dt towards (sum g_i E_i + I) / sum g_i with rate sum g_i / C_m.
// Each coefficient is frozen at the middle of its interval, so the scheme is second order in dt;
// both updates are exponential relaxations, so it is stable for any dt. A state whose gates are
// at steady state at V (hh_steady_gates) is a valid start.
template <class T>
SPIKESIM_HD inline bool hh_step(const hh_coeffs<T>& c, T& V, T& m, T& h, T& n, T I, T noise) {
  const hh_rates<T> r = hh_rate_functions(V);
  m = hh_gate_update(m, r.alpha_m, r.beta_m, c.dt);
  h = hh_gate_update(h, r.alpha_h, r.beta_h, c.dt);
  n = hh_gate_update(n, r.alpha_n, r.beta_n, c.dt);
  const T g_Na = c.g_Na * (m * m * m * h);
  const T n2 = n * n;
  const T g_K = c.g_K * (n2 * n2);
  const T g = g_Na + g_K + c.g_L;
  const T drive = math::detail::fma(g_Na, c.E_Na, math::detail::fma(g_K, c.E_K, c.g_L_E_L + I));
  const T V_inf = drive / g;
  const T next = math::detail::fma(V - V_inf, math::exp(-g * c.dt_over_C), V_inf) + noise;
  const bool spike = (V < c.V_spike) & (next >= c.V_spike);
  V = next;
  return spike;
}

// The model (models/registry.hpp): its name, parameters, state, coefficients and step.
struct hh_model {
  static constexpr const char* name = "hh";
  using params = hh_params;
  static constexpr uint32_t gates = 3;  // state arrays beside u, ref and eta: the gates
  static constexpr const char* gate_names[gates] = {"m", "h", "n"};
  static constexpr bool takes_input = true;      // synapses, Poisson input and noise
  static constexpr bool exp_synapses = false;    // synapse = "exp" onto it: not yet
  static constexpr const char* state_var = "V";  // what init sets, and its unit
  static constexpr const char* state_unit = "mV";
  static constexpr const char* current_unit = "uA/cm^2";  // of input.I and pulses
  static double rest(const hh_params& p);                 // the default initial V (mV), below

  // The OU input of HH uses the membrane time constant C_m / g_L; only its noise terms are
  // taken from the membrane coefficients.
  template <class T>
  static void set_coeffs(model_coeffs<T>& c, const hh_params& p, const noise_params& noise,
                         double dt) {
    c.hh = make_hh_coeffs<T>(p, noise, dt);
    c.mem = make_membrane_coeffs<T>(dt, p.C_m / p.g_L, 0.0, 1.0, p.V_spike, 0.0, 0.0, noise);
  }

  // The drive (uA/cm^2) per uA/cm^2 of an exp synaptic current: held over the step, as the
  // membrane time constant changes with the conductances.
  static double exp_synapse_gain(const hh_params&, double, double) { return 1.0; }

  // The gates start at their steady state for the initial potential.
  template <class T>
  static void init_gates(T u, T& m, T& h, T& n) {
    hh_steady_gates(u, m, h, n);
  }

  // The OU input eta (mV) enters as the current g_L eta, so that it shifts the leak's
  // equilibrium by eta, as it does for the integrate-and-fire models.
  template <class T, noise_kind noise>
  SPIKESIM_HD static bool step(const model_coeffs<T>& c, neuron_vars<T>& v, T drive, float z,
                               T jump) {
    T xi = jump;
    if constexpr (noise == noise_kind::white) xi = xi + c.hh.noise_amp * static_cast<T>(z);
    if constexpr (noise == noise_kind::ou) {
      drive = math::detail::fma(c.hh.g_L, v.eta, drive);
      v.eta = math::detail::fma(v.eta, c.mem.ou_decay, c.mem.ou_amp * static_cast<T>(z));
    }
    return hh_step(c.hh, v.u, v.m, v.h, v.n, drive, xi);
  }
};

// Resting potential (mV) of the model without input: the zero of the steady-state current
// g_L (E_L - V) + g_Na m_inf^3 h_inf (E_Na - V) + g_K n_inf^4 (E_K - V), found by bisection on
// [-20, 20] mV; NaN when the current does not change sign there. With the default parameters it
// is +0.00028 mV (E_L = 10.599 mV would put it exactly at 0 with these rate functions).
inline double hh_resting_potential(const hh_params& p) {
  auto current = [&p](double V) {
    double m, h, n;
    hh_steady_gates(V, m, h, n);
    return p.g_L * (p.E_L - V) + p.g_Na * m * m * m * h * (p.E_Na - V) +
           p.g_K * n * n * n * n * (p.E_K - V);
  };
  double lo = -20.0, hi = 20.0;
  if (!(current(lo) > 0.0 && current(hi) < 0.0)) return std::nan("");
  for (int i = 0; i < 200 && hi - lo > 1e-13; ++i) {
    const double mid = 0.5 * (lo + hi);
    (current(mid) > 0.0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

// The default initial V: the resting potential, or 0 mV when there is none in [-20, 20] mV.
inline double hh_model::rest(const hh_params& p) {
  const double r = hh_resting_potential(p);
  return std::isnan(r) ? 0.0 : r;
}

}  // namespace spikesim
