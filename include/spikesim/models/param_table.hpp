// Each model's numeric parameters as one table (config key, unit, member), read by the config
// loader, written to the output file and offered as flags by `spikesim model`, so that a
// parameter's name and unit are typed once.
#pragma once

#include <spikesim/models/eif.hpp>
#include <spikesim/models/hh.hpp>
#include <spikesim/models/lif.hpp>
#include <spikesim/models/rate.hpp>

namespace spikesim {

template <class P>
struct param_field {
  const char* key;
  const char* unit;
  double P::*member;
};

template <class P>
struct param_table;

template <>
struct param_table<lif_params> {
  static constexpr param_field<lif_params> fields[] = {
      {"tau_m", "ms", &lif_params::tau_m},     {"E_L", "mV", &lif_params::E_L},
      {"R_m", "MOhm", &lif_params::R_m},       {"V_th", "mV", &lif_params::V_th},
      {"V_reset", "mV", &lif_params::V_reset}, {"t_ref", "ms", &lif_params::t_ref}};
};

template <>
struct param_table<eif_params> {
  static constexpr param_field<eif_params> fields[] = {
      {"tau_m", "ms", &eif_params::tau_m},     {"E_L", "mV", &eif_params::E_L},
      {"R_m", "MOhm", &eif_params::R_m},       {"delta_T", "mV", &eif_params::delta_T},
      {"V_T", "mV", &eif_params::V_T},         {"V_peak", "mV", &eif_params::V_peak},
      {"V_reset", "mV", &eif_params::V_reset}, {"t_ref", "ms", &eif_params::t_ref}};
};

template <>
struct param_table<hh_params> {
  static constexpr param_field<hh_params> fields[] = {
      {"C_m", "uF/cm^2", &hh_params::C_m}, {"g_Na", "mS/cm^2", &hh_params::g_Na},
      {"g_K", "mS/cm^2", &hh_params::g_K}, {"g_L", "mS/cm^2", &hh_params::g_L},
      {"E_Na", "mV", &hh_params::E_Na},    {"E_K", "mV", &hh_params::E_K},
      {"E_L", "mV", &hh_params::E_L},      {"V_spike", "mV", &hh_params::V_spike}};
};

// The rate unit's transfer function ("transfer") is not a number and is handled beside the table.
template <>
struct param_table<rate_params> {
  static constexpr param_field<rate_params> fields[] = {
      {"tau", "ms", &rate_params::tau},      {"I_thr", "nA", &rate_params::I_thr},
      {"gain", "Hz/nA", &rate_params::gain}, {"I_max", "nA", &rate_params::I_max},
      {"r_max", "Hz", &rate_params::r_max},  {"I_half", "nA", &rate_params::I_half},
      {"k", "nA", &rate_params::k}};
};

}  // namespace spikesim
