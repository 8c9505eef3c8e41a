// What the CUDA build supports and which devices it sees, and the error reporting of the
// checked-call layer (cuda_check.cuh).
#include <cstdio>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/errors.hpp>

#include "cuda_check.cuh"

#ifndef SPIKESIM_CUDA_ARCHS
#define SPIKESIM_CUDA_ARCHS "unknown"
#endif

namespace spikesim {

namespace cuda {

std::string format_bytes(uint64_t bytes) {
  char buf[64];
  const double b = static_cast<double>(bytes);
  if (b >= 0x1p30)
    std::snprintf(buf, sizeof buf, "%.1f GiB", b / 0x1p30);
  else if (b >= 0x1p20)
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / 0x1p20);
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

std::string describe_device(int device) {
  cudaDeviceProp prop{};
  SPIKESIM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s (%d SMs, %.1f GiB, sm_%d%d)", prop.name,
                prop.multiProcessorCount, static_cast<double>(prop.totalGlobalMem) / 0x1p30,
                prop.major, prop.minor);
  return buf;
}

namespace detail {

void throw_cuda_error(cudaError_t e, const char* call, const char* file, int line) {
  cudaGetLastError();  // clear a non-sticky error so that later calls report their own
  std::string msg = std::string("CUDA error at ") + file + ":" + std::to_string(line) + " in " +
                    call + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (e == cudaErrorMemoryAllocation) throw memory_error(msg);
  throw backend_error(msg);
}

}  // namespace detail
}  // namespace cuda

bool cuda_built() {
  return true;
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();
    return 0;  // no driver, no device or a driver older than the runtime: no usable device
  }
  return n;
}

std::string cuda_build_description() {
  std::string archs = SPIKESIM_CUDA_ARCHS;  // CMake joins the list with spaces
  for (size_t k = archs.find(' '); k != std::string::npos; k = archs.find(' ', k + 2))
    archs.replace(k, 1, ", ");
  return "built, architectures " + archs + ", precision float and double (CUDA runtime " +
         std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10) +
         ")";
}

std::vector<std::string> cuda_devices() {
  std::vector<std::string> out;
  const int n = cuda_device_count();
  for (int d = 0; d < n; ++d) {
    try {
      out.push_back("device " + std::to_string(d) + ": " + cuda::describe_device(d));
    } catch (const error& e) {
      out.push_back("device " + std::to_string(d) + ": unusable (" + e.what() + ")");
    }
  }
  return out;
}

}  // namespace spikesim
