// One exp synaptic current through one step, as the CPU loop and the CUDA kernel both run it:
// the coefficients are derived on the host (make_exp_synapse_coeffs, docs/models.md).
#pragma once

#include <cstdint>

#include <spikesim/connectivity.hpp>
#include <spikesim/fast_math.hpp>

namespace spikesim {

// Returns the drive held over the step, `drive` plus gain times the current at the step's start;
// then the current decays and takes the step's arrivals (fixed point, connectivity.hpp), which
// enter the membrane from the next step on. A population with two currents calls it once per
// current, the second time with the first's result as `drive`.
template <class T>
SPIKESIM_HD SPIKESIM_INLINE T exp_current_step(T drive, T& current, int64_t arrivals, T gain,
                                               T decay) {
  const T held = drive + gain * current;
  current = math::detail::fma(current, decay,
                              static_cast<T>(arrivals) * static_cast<T>(fixed_point_resolution()));
  return held;
}

}  // namespace spikesim
