// The one per-neuron step of every model, as both backends call it: the model is a compile-time
// type of the registry (models/registry.hpp), the variables travel in a small struct
// (models/neuron_vars.hpp) that the CPU loop and the CUDA kernel load from and store to their
// struct-of-arrays state.
#pragma once

#include <cstdint>

#include <spikesim/models/membrane.hpp>
#include <spikesim/models/neuron_vars.hpp>
#include <spikesim/models/registry.hpp>

namespace spikesim {

// The coefficients of a population, derived once on the host (each model's set_coeffs). `mem`
// serves the integrate-and-fire models and, for HH, the OU input; `input_gain` turns the input
// current into the step's drive: R_m (mV/nA) for LIF/EIF, 1 for HH (uA/cm^2) and rate units (nA).
template <class T>
struct model_coeffs {
  membrane_coeffs<T> mem{};
  hh_coeffs<T> hh{};
  rate_coeffs<T> rate{};
  source_coeffs src{};
  T input_gain = T(1);
};

// `jump` (mV) is synaptic input of delta synapses and Poisson drive that arrives in this step: it
// is added to the membrane potential at the end of the step, undecayed, before the threshold
// check (and is lost while the neuron is refractory); rate units ignore it. A spike source
// (models/source.hpp) has no step.
template <class T, class Model, noise_kind noise>
SPIKESIM_HD inline bool step_neuron(const model_coeffs<T>& c, neuron_vars<T>& v, T drive, float z,
                                    T jump = T(0)) {
  return Model::template step<T, noise>(c, v, drive, z, jump);
}

}  // namespace spikesim
