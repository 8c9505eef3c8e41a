// Build-wide macros shared by host and device code.
#pragma once

#if defined(__CUDACC__)
#define SPIKESIM_HD __host__ __device__
#else
#define SPIKESIM_HD
#endif

#if defined(__CUDA_ARCH__)
#define SPIKESIM_DEVICE_CODE 1
#else
#define SPIKESIM_DEVICE_CODE 0
#endif
