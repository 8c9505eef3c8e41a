// What the CUDA build supports and which devices it sees, and the error reporting of the
// checked-call layer (cuda_check.cuh).
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
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

namespace {

bool sync_after_launch() {
  static const bool on = [] {
    const char* v = std::getenv("SPIKESIM_CUDA_SYNC");
    return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
  }();
  return on;
}

// "advance_population_kernel<float, ...>" for a kernel's address; its mangled name when that
// cannot be demangled, "a kernel" when the runtime cannot name it (after a sticky fault).
std::string kernel_name(const void* kernel) {
  const char* mangled = nullptr;
  if (cudaFuncGetName(&mangled, kernel) != cudaSuccess || mangled == nullptr) {
    cudaGetLastError();
    return "a kernel";
  }
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> plain(
      abi::__cxa_demangle(mangled, nullptr, nullptr, &status), std::free);
  return status == 0 && plain ? plain.get() : mangled;
}

}  // namespace

void after_launch(const void* kernel, const char* file, int line) {
  if (!sync_after_launch()) return;
  const cudaError_t e = cudaDeviceSynchronize();
  if (e == cudaSuccess) return;
  const std::string what =
      "kernel " + kernel_name(kernel) + " (SPIKESIM_CUDA_SYNC=1: synchronised after its launch)";
  throw_cuda_error(e, what.c_str(), file, line);
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

namespace {

std::string build_description() {
  std::string archs = SPIKESIM_CUDA_ARCHS;  // CMake joins the list with spaces
  for (size_t k = archs.find(' '); k != std::string::npos; k = archs.find(' ', k + 2))
    archs.replace(k, 1, ", ");
  return "built, architectures " + archs + ", precision float and double";
}

}  // namespace

cuda_report cuda_status() {
  cuda_report r;
  r.built = true;
  r.build = build_description();
  cudaRuntimeGetVersion(&r.runtime_version);
  if (cudaDriverGetVersion(&r.driver_version) != cudaSuccess) r.driver_version = 0;
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    r.error = std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")";
    return r;
  }
  if (n == 0) r.error = "the driver reports no CUDA device";
  for (int d = 0; d < n; ++d) {
    try {
      r.devices.push_back("device " + std::to_string(d) + ": " + cuda::describe_device(d));
    } catch (const error& x) {
      r.devices.push_back("device " + std::to_string(d) + ": unusable (" + x.what() + ")");
    }
  }
  return r;
}

}  // namespace spikesim
