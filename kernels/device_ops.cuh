// Device operations that chipStar 1.2.1 gets wrong, under one name for both builds: CUDA's own
// under nvcc, a stand-in in the emulated build (SPIKESIM_CUDA_EMULATED, set by CMake;
// docs/architecture.md, "The emulated CUDA build").
#pragma once

#include <type_traits>

namespace spikesim::cuda {

// atomicMin on an unsigned word; returns the old value. chipStar compares unsigned words as
// signed, so a value with the top bit set (the ~0 "none" sentinel) counts as negative and is
// never replaced: a compare-and-swap loop there.
template <class U>
__device__ inline U atomic_min(U* address, U value) {
  static_assert(std::is_same_v<U, unsigned> || std::is_same_v<U, unsigned long long>);
#if defined(SPIKESIM_CUDA_EMULATED)
  U old = atomicCAS(address, value, value);  // an atomic read: stores only an equal value
  while (value < old) {
    const U seen = atomicCAS(address, old, value);
    if (seen == old) break;
    old = seen;
  }
  return old;
#else
  return atomicMin(address, value);
#endif
}

// isfinite. chipStar's isfinite(float) is false for finite non-zero values and true for zero:
// the exponent bits there (all ones for infinities and NaNs only).
template <class T>
__device__ inline bool is_finite(T x) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>);
#if defined(SPIKESIM_CUDA_EMULATED)
  if constexpr (std::is_same_v<T, float>)
    return (__float_as_uint(x) & 0x7f800000u) != 0x7f800000u;
  else
    return (static_cast<unsigned long long>(__double_as_longlong(x)) & 0x7ff0000000000000ull) !=
           0x7ff0000000000000ull;
#else
  return isfinite(x);
#endif
}

}  // namespace spikesim::cuda
