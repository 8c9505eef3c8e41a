// The one per-neuron step of every model, as both backends call it: the model is a compile-time
// kind, the variables travel in a small struct that the CPU loop and the CUDA kernel load from
// and store to their struct-of-arrays state.
#pragma once

#include <cstdint>

#include <spikesim/models/eif.hpp>
#include <spikesim/models/hh.hpp>
#include <spikesim/models/lif.hpp>
#include <spikesim/models/membrane.hpp>
#include <spikesim/models/rate.hpp>
#include <spikesim/models/source.hpp>

namespace spikesim {

// `source`: a spike-source population (models/source.hpp), which has no step_neuron.
enum class model_kind { lif, eif, hh, rate, source };

// The coefficients of a population, derived once on the host. `mem` serves the
// integrate-and-fire models and, for HH, the OU input; `input_gain` turns the input current into
// the step's drive: R_m (mV/nA) for LIF/EIF, 1 for HH (uA/cm^2) and rate units (nA).
template <class T>
struct model_coeffs {
  membrane_coeffs<T> mem{};
  hh_coeffs<T> hh{};
  rate_coeffs<T> rate{};
  source_coeffs src{};
  T input_gain = T(1);
};

// The state variables of one neuron: u is the membrane potential (mV) or, for rate units, the
// rate (Hz); ref the refractory steps left; eta the OU input (mV); m, h, n the HH gates.
template <class T>
struct neuron_vars {
  T u;
  int32_t ref;
  T eta;
  T m, h, n;
};

// `jump` (mV) is synaptic input of delta synapses and Poisson drive that arrives in this step: it
// is added to the membrane potential at the end of the step, undecayed, before the threshold
// check (and is lost while the neuron is refractory); rate units ignore it.
template <class T, model_kind kind, noise_kind noise>
SPIKESIM_HD inline bool step_neuron(const model_coeffs<T>& c, neuron_vars<T>& v, T drive, float z,
                                    T jump = T(0)) {
  if constexpr (kind == model_kind::lif) {
    return neuron_step<T, lif_model, noise>(c.mem, v.u, v.ref, v.eta, drive, z, jump);
  } else if constexpr (kind == model_kind::eif) {
    return neuron_step<T, eif_model, noise>(c.mem, v.u, v.ref, v.eta, drive, z, jump);
  } else if constexpr (kind == model_kind::hh) {
    // The OU input eta (mV) enters as the current g_L eta, so that it shifts the leak's
    // equilibrium by eta, as it does for the integrate-and-fire models.
    T xi = jump;
    if constexpr (noise == noise_kind::white) xi = xi + c.hh.noise_amp * static_cast<T>(z);
    if constexpr (noise == noise_kind::ou) {
      drive = math::detail::fma(c.hh.g_L, v.eta, drive);
      v.eta = math::detail::fma(v.eta, c.mem.ou_decay, c.mem.ou_amp * static_cast<T>(z));
    }
    return hh_step(c.hh, v.u, v.m, v.h, v.n, drive, xi);
  } else {
    (void)jump;
    rate_step(c.rate, v.u, drive);
    return false;
  }
}

}  // namespace spikesim
