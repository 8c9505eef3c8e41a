// Exponential integrate-and-fire neuron (Fourcaud-Trocme et al. 2003; Gerstner & Kistler,
// Neuronal Dynamics 5.2): tau_m du/dt = -(u - E_L) + delta_T exp((u - V_T)/delta_T) + R_m I(t).
#pragma once

#include <spikesim/fast_math.hpp>
#include <spikesim/models/membrane.hpp>
#include <spikesim/models/param_table.hpp>

namespace spikesim {

// key      unit  default  meaning
// tau_m    ms    10       membrane time constant
// E_L      mV    -70      resting potential
// R_m      MOhm  4        membrane resistance
// delta_T  mV    1        slope factor (sharpness of spike initiation)
// V_T      mV    -40      rheobase threshold: the rheobase is (V_T - E_L - delta_T) / R_m = 7.25 nA
// V_peak   mV    -30      numerical spike cutoff, > V_T
// V_reset  mV    -70      reset potential, < V_peak
// t_ref    ms    0        absolute refractory period (rounded to whole steps)
struct eif_params {
  double tau_m = 10.0;
  double E_L = -70.0;
  double R_m = 4.0;
  double delta_T = 1.0;
  double V_T = -40.0;
  double V_peak = -30.0;
  double V_reset = -70.0;
  double t_ref = 0.0;
};

template <>
struct param_table<eif_params> {
  static constexpr param_field<eif_params> fields[] = {
      {"tau_m", "ms", &eif_params::tau_m},     {"E_L", "mV", &eif_params::E_L},
      {"R_m", "MOhm", &eif_params::R_m},       {"delta_T", "mV", &eif_params::delta_T},
      {"V_T", "mV", &eif_params::V_T},         {"V_peak", "mV", &eif_params::V_peak},
      {"V_reset", "mV", &eif_params::V_reset}, {"t_ref", "ms", &eif_params::t_ref}};
  static constexpr param_check<eif_params> checks[] = {
      {&eif_params::tau_m, param_rule::positive},
      {&eif_params::R_m, param_rule::positive},
      {&eif_params::t_ref, param_rule::non_negative},
      {&eif_params::t_ref, param_rule::countable_steps},
      {&eif_params::delta_T, param_rule::positive},
      {&eif_params::V_peak, param_rule::above, &eif_params::V_T},
      {&eif_params::V_reset, param_rule::below, &eif_params::V_peak}};
};

// The model (models/registry.hpp): its name, parameters, state, coefficients and step.
struct eif_model : integrate_and_fire<eif_model, eif_params> {
  static constexpr const char* name = "eif";

  template <class T>
  static membrane_coeffs<T> membrane(const eif_params& p, const noise_params& noise, double dt) {
    auto c =
        make_membrane_coeffs<T>(dt, p.tau_m, p.E_L, p.R_m, p.V_peak, p.V_reset, p.t_ref, noise);
    c.delta_T = static_cast<T>(p.delta_T);
    c.V_T = static_cast<T>(p.V_T);
    c.inv_delta_T = static_cast<T>(1.0 / p.delta_T);
    // exp(40) ~ 2e17 mV already crosses any V_peak in one step; 40 keeps float far from overflow.
    c.exp_arg_max = static_cast<T>(40.0);
    return c;
  }

  // Exponential Euler: the leak is integrated exactly and the exponential current is held at its
  // value at the start of the step, like the input.
  template <class T>
  SPIKESIM_HD static T free_step(const membrane_coeffs<T>& c, T u, T drive) {
    T arg = (u - c.V_T) * c.inv_delta_T;
    arg = arg < c.exp_arg_max ? arg : c.exp_arg_max;
    const T total = math::detail::fma(c.delta_T, math::exp(arg), drive);
    return math::detail::fma(u - c.E_L, c.decay, math::detail::fma(total, c.gain, c.E_L));
  }
};

}  // namespace spikesim
