// The CUDA runtime names kernels/*.cu use that chipStar 1.2.1 lacks, for the emulated build only
// (docs/architecture.md, "The emulated CUDA build"): CMake force-includes this header after
// chipStar's cuda_runtime.h in both of cucc's passes. Re-check every entry when chipStar changes.
#pragma once

#include <cstddef>

// chipStar's cuda_runtime.h defines __CUDA_ARCH__ (200) in the host pass too, where nvcc leaves
// it undefined: undone there, so that host/device branches on it (SPIKESIM_DEVICE_CODE) take the
// host path on the host.
#if defined(__HIP__) && !defined(__HIP_DEVICE_COMPILE__)
#undef __CUDA_ARCH__
#endif

// clang 15 does not know the attribute. It only lets a kernel take the address of its by-value
// argument without a copy; without it the argument is copied, with the same values.
#ifndef __grid_constant__
#define __grid_constant__
#endif

// What cuda_build_description() reports as the architectures built (kernels/device.cu, which
// turns spaces into list separators).
#define SPIKESIM_CUDA_ARCHS "SPIR-V"

using cudaDeviceAttr = cudaDeviceAttribute_t;
using cudaFuncAttribute = hipFuncAttribute;
constexpr cudaFuncAttribute cudaFuncAttributeMaxDynamicSharedMemorySize =
    hipFuncAttributeMaxDynamicSharedMemorySize;

// There is no opt-in beyond the per-block limit on an OpenCL device (256 KiB of local memory on
// Intel's CPU runtime): the opt-in query answers the plain limit.
#define cudaDevAttrMaxSharedMemoryPerBlockOptin hipDeviceAttributeMaxSharedMemoryPerBlock

// hipFuncSetAttribute is "not supported" in chipStar 1.2.1. The only attribute set is the
// dynamic shared memory opt-in, which the device grants up to its per-block limit without
// asking; more than that is refused, as CUDA refuses more than its opt-in limit.
template <class Kernel>
inline cudaError_t cudaFuncSetAttribute(Kernel, cudaFuncAttribute attr, int value) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaErrorInvalidValue;
  int device = 0, limit = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e == cudaSuccess)
    e = cudaDeviceGetAttribute(&limit, hipDeviceAttributeMaxSharedMemoryPerBlock, device);
  if (e != cudaSuccess) return e;
  return value >= 0 && value <= limit ? cudaSuccess : cudaErrorInvalidValue;
}

// Occupancy is not implemented in chipStar 1.2.1 (hipErrorNotSupported). The answer only caps
// the grid of the grid-stride kernels that ask (kernels/connectivity.cu), which are correct for
// any grid: two blocks per compute unit, one per CPU core.
namespace spikesim::emulation {
template <class Kernel>
inline cudaError_t max_active_blocks_per_multiprocessor(int* blocks, Kernel, int block_size,
                                                        std::size_t) {
  if (blocks == nullptr || block_size <= 0) return cudaErrorInvalidValue;
  *blocks = 2;
  return cudaSuccess;
}
}  // namespace spikesim::emulation
#define cudaOccupancyMaxActiveBlocksPerMultiprocessor \
  ::spikesim::emulation::max_active_blocks_per_multiprocessor

// cudaFuncGetName (CUDA 12.3) is absent from chipStar 1.2.1. Only SPIKESIM_CUDA_SYNC=1's message
// asks it for a kernel's name (kernels/device.cu), and that message says "a kernel" when the
// runtime cannot name it.
template <class Kernel>
inline cudaError_t cudaFuncGetName(const char** name, Kernel) {
  if (name != nullptr) *name = nullptr;
  return cudaErrorNotSupported;
}
