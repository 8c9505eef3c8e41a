// The variables of one neuron as the step of every model takes them, and the declaration of the
// coefficients of a population (models/neuron.hpp defines them), for the model headers.
#pragma once

#include <cstdint>

namespace spikesim {

// The state variables of one neuron: u is the membrane potential (mV) or, for rate units, the
// rate (Hz); ref the refractory steps left; eta the OU input (mV); m, h, n the HH gates.
template <class T>
struct neuron_vars {
  T u;
  int32_t ref;
  T eta;
  T m, h, n;
};

template <class T>
struct model_coeffs;

}  // namespace spikesim
