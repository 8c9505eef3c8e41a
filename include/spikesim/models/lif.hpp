// Leaky integrate-and-fire neuron: tau_m du/dt = -(u - E_L) + R_m I(t); spike when u >= V_th,
// then u = V_reset held for t_ref.
#pragma once

#include <spikesim/models/membrane.hpp>
#include <spikesim/models/param_table.hpp>

namespace spikesim {

// key      unit  default  meaning
// tau_m    ms    10       membrane time constant
// E_L      mV    -70      resting potential
// R_m      MOhm  4        membrane resistance (R_m I is in mV for I in nA)
// V_th     mV    -30      threshold; rheobase (V_th - E_L) / R_m = 10 nA
// V_reset  mV    -70      reset potential, < V_th
// t_ref    ms    0        absolute refractory period (rounded to whole steps)
struct lif_params {
  double tau_m = 10.0;
  double E_L = -70.0;
  double R_m = 4.0;
  double V_th = -30.0;
  double V_reset = -70.0;
  double t_ref = 0.0;
};

template <>
struct param_table<lif_params> {
  static constexpr param_field<lif_params> fields[] = {
      {"tau_m", "ms", &lif_params::tau_m},     {"E_L", "mV", &lif_params::E_L},
      {"R_m", "MOhm", &lif_params::R_m},       {"V_th", "mV", &lif_params::V_th},
      {"V_reset", "mV", &lif_params::V_reset}, {"t_ref", "ms", &lif_params::t_ref}};
  static constexpr param_check<lif_params> checks[] = {
      {&lif_params::tau_m, param_rule::positive},
      {&lif_params::R_m, param_rule::positive},
      {&lif_params::t_ref, param_rule::non_negative},
      {&lif_params::t_ref, param_rule::countable_steps},
      {&lif_params::V_reset, param_rule::below, &lif_params::V_th}};
};

// The model (models/registry.hpp): its name, parameters, state, coefficients and step.
struct lif_model : integrate_and_fire<lif_model, lif_params> {
  static constexpr const char* name = "lif";

  template <class T>
  static membrane_coeffs<T> membrane(const lif_params& p, const noise_params& noise, double dt) {
    return make_membrane_coeffs<T>(dt, p.tau_m, p.E_L, p.R_m, p.V_th, p.V_reset, p.t_ref, noise);
  }

  // Exact for input constant within the step: u relaxes towards E_L + drive with factor decay.
  template <class T>
  SPIKESIM_HD static T free_step(const membrane_coeffs<T>& c, T u, T drive) {
    return math::detail::fma(u - c.E_L, c.decay, math::detail::fma(drive, c.gain, c.E_L));
  }
};

}  // namespace spikesim
