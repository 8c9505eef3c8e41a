// Build-wide macros shared by host and device code.
#pragma once

#if defined(__CUDACC__)
#define SPIKESIM_HD __host__ __device__
#else
#define SPIKESIM_HD
#endif

// For the small functions of the per-step math: inlined wherever they are used, so that a hot
// loop never calls an out-of-line copy (which also keeps them vectorisable).
#if defined(__CUDACC__)
#define SPIKESIM_INLINE __forceinline__
#else
#define SPIKESIM_INLINE inline __attribute__((always_inline))
#endif

#if defined(__CUDA_ARCH__)
#define SPIKESIM_DEVICE_CODE 1
#else
#define SPIKESIM_DEVICE_CODE 0
#endif
