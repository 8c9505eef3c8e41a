// Rate unit: tau dr/dt = f(I(t)) - r, with f threshold-linear saturating or sigmoid. Models a
// population or a unit of a recurrent network by its firing rate r (Hz) instead of spikes.
#pragma once

#include <cmath>

#include <spikesim/config.hpp>
#include <spikesim/fast_math.hpp>
#include <spikesim/models/membrane.hpp>
#include <spikesim/models/neuron_vars.hpp>
#include <spikesim/models/param_table.hpp>

namespace spikesim {

enum class rate_transfer { threshold_linear, sigmoid };

// key       unit   default           meaning
// tau       ms     10                time constant of the rate, > 0
// transfer         threshold_linear  "threshold_linear" or "sigmoid"
// I_thr     nA     0                 threshold-linear: f = 0 below I_thr
// gain      Hz/nA  10                threshold-linear: slope c, f = c (I - I_thr) above I_thr
// I_max     nA     10                threshold-linear: saturation, f = c (I_max - I_thr) above
// r_max     Hz     100               sigmoid: maximal rate, f = r_max / (1 + e^{-(I - I_half)/k})
// I_half    nA     5                 sigmoid: current at half maximal rate
// k         nA     1                 sigmoid: width, > 0 (slope r_max / (4 k) at I_half)
// The input I is in nA like the other models' input keys.
struct rate_params {
  double tau = 10.0;
  rate_transfer transfer = rate_transfer::threshold_linear;
  double I_thr = 0.0;
  double gain = 10.0;
  double I_max = 10.0;
  double r_max = 100.0;
  double I_half = 5.0;
  double k = 1.0;
};

// The transfer function ("transfer") is not a number: the config loader reads it beside the table.
template <>
struct param_table<rate_params> {
  static constexpr param_field<rate_params> fields[] = {
      {"tau", "ms", &rate_params::tau},      {"I_thr", "nA", &rate_params::I_thr},
      {"gain", "Hz/nA", &rate_params::gain}, {"I_max", "nA", &rate_params::I_max},
      {"r_max", "Hz", &rate_params::r_max},  {"I_half", "nA", &rate_params::I_half},
      {"k", "nA", &rate_params::k}};
  static constexpr param_check<rate_params> checks[] = {
      {&rate_params::tau, param_rule::positive},
      {&rate_params::gain, param_rule::non_negative},
      {&rate_params::I_max, param_rule::above, &rate_params::I_thr},
      {&rate_params::r_max, param_rule::positive},
      {&rate_params::k, param_rule::positive}};
};

// Derived once on the host. The step evaluates both transfer functions and selects one (w_sig = 1:
// the sigmoid), so it has no branch and costs the same for every unit.
template <class T>
struct rate_coeffs {
  T decay;  // e^{-dt/tau}
  T I_thr;  // nA
  T gain;   // Hz/nA
  T span;   // nA, I_max - I_thr
  T r_max;  // Hz
  T I_half;
  T inv_k;  // 1/nA
  T w_sig;  // 1 for the sigmoid, 0 for threshold-linear
};

template <class T>
rate_coeffs<T> make_rate_coeffs(const rate_params& p, double dt) {
  rate_coeffs<T> c{};
  const bool sigmoid = p.transfer == rate_transfer::sigmoid;
  c.decay = static_cast<T>(std::exp(-dt / p.tau));
  c.I_thr = static_cast<T>(p.I_thr);
  c.gain = static_cast<T>(p.gain);
  c.span = static_cast<T>(p.I_max - p.I_thr);
  c.r_max = static_cast<T>(p.r_max);
  c.I_half = static_cast<T>(p.I_half);
  c.inv_k = static_cast<T>(sigmoid ? 1.0 / p.k : 0.0);
  c.w_sig = static_cast<T>(sigmoid ? 1.0 : 0.0);
  return c;
}

// f(I) in Hz.
template <class T>
SPIKESIM_HD inline T rate_transfer_fn(const rate_coeffs<T>& c, T I) {
  T above = I - c.I_thr;
  above = above > T(0) ? above : T(0);
  above = above < c.span ? above : c.span;
  const T linear = c.gain * above;
  // e^{+large} = inf gives r_max / inf = 0, the correct limit far below I_half.
  const T sigmoid = c.r_max / (T(1) + math::exp((c.I_half - I) * c.inv_k));
  return c.w_sig != T(0) ? sigmoid : linear;
}

// One step: exact for I constant within the step, r <- f + (r - f) e^{-dt/tau}.
template <class T>
SPIKESIM_HD inline void rate_step(const rate_coeffs<T>& c, T& r, T I) {
  const T f = rate_transfer_fn(c, I);
  r = math::detail::fma(r - f, c.decay, f);
}

// The model (models/registry.hpp): its name, parameters, state, coefficients and step. A rate
// unit takes neither synapses, Poisson input nor noise (the config refuses them), and never spikes.
struct rate_model {
  static constexpr const char* name = "rate";
  using params = rate_params;
  static constexpr uint32_t gates = 0;  // state arrays beside u, ref and eta
  static constexpr bool takes_input = false;
  static constexpr bool exp_synapses = false;
  static constexpr const char* state_var = "r";  // what init sets, and its unit
  static constexpr const char* state_unit = "Hz";
  static constexpr const char* current_unit = "nA";       // of input.I and pulses
  static double rest(const rate_params&) { return 0.0; }  // the default initial r (Hz)

  template <class T>
  static void set_coeffs(model_coeffs<T>& c, const rate_params& p, const noise_params&, double dt) {
    c.rate = make_rate_coeffs<T>(p, dt);
  }

  template <class T, noise_kind noise>
  SPIKESIM_HD static bool step(const model_coeffs<T>& c, neuron_vars<T>& v, T drive, float, T) {
    rate_step(c.rate, v.u, drive);
    return false;
  }
};

}  // namespace spikesim
