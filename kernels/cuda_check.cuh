// The checked-call layer of the CUDA backend: every runtime call and every kernel launch goes
// through here, so a failure becomes a typed spikesim error naming the file, the line and CUDA's
// reason, and device and pinned memory are owned by RAII handles.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>

namespace spikesim::cuda {

// "NVIDIA H100 80GB HBM3 (132 SMs, 79.1 GiB, sm_90)"; throws backend_error for a bad ordinal.
std::string describe_device(int device);

namespace detail {

// Out-of-memory errors map to memory_error (exit 7), everything else to backend_error (exit 5).
[[noreturn]] void throw_cuda_error(cudaError_t e, const char* call, const char* file, int line);

inline void check(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess) throw_cuda_error(e, call, file, line);
}

// With SPIKESIM_CUDA_SYNC=1 in the environment: waits for the device after a launch and checks,
// so that a fault while a kernel runs names that kernel and its launch site (device.cu).
void after_launch(const void* kernel, const char* file, int line);

}  // namespace detail

#define SPIKESIM_CUDA_CHECK(call) ::spikesim::cuda::detail::check((call), #call, __FILE__, __LINE__)

// One thread per item, `block` threads per block, on `stream`. The launch is checked at once
// (configuration errors); errors while the kernel runs surface at the next checked
// synchronisation. Use it through SPIKESIM_LAUNCH_1D, which supplies the file and line.
// The kernel is a template parameter rather than `void (*)(Params...)`: clang, which compiles the
// emulated build (docs/architecture.md), cannot deduce Params from a __global__ function.
template <class Kernel, class... Args>
void launch_1d(const char* file, int line, uint64_t n, unsigned block, cudaStream_t stream,
               Kernel kernel, Args&&... args) {
  if (n == 0) return;
  const uint64_t grid = (n + block - 1) / block;
  if (grid > 0x7fffffffu)
    throw backend_error(std::string(file) + ":" + std::to_string(line) + ": a grid of " +
                        std::to_string(grid) + " blocks exceeds CUDA's limit of 2^31 - 1");
  kernel<<<static_cast<unsigned>(grid), block, 0, stream>>>(std::forward<Args>(args)...);
  detail::check(cudaGetLastError(), "kernel launch", file, line);
  detail::after_launch(reinterpret_cast<const void*>(kernel), file, line);
}

#define SPIKESIM_LAUNCH_1D(n, block, stream, kernel, ...) \
  ::spikesim::cuda::launch_1d(__FILE__, __LINE__, (n), (block), (stream), (kernel), __VA_ARGS__)

// A launch of `grid` blocks with `shared` bytes of dynamic shared memory, for kernels that size
// their grid themselves (grid-stride loops over work items), checked like launch_1d.
template <class Kernel, class... Args>
void launch_grid(const char* file, int line, uint64_t grid, unsigned block, size_t shared,
                 cudaStream_t stream, Kernel kernel, Args&&... args) {
  if (grid == 0) return;
  if (grid > 0x7fffffffu)
    throw backend_error(std::string(file) + ":" + std::to_string(line) + ": a grid of " +
                        std::to_string(grid) + " blocks exceeds CUDA's limit of 2^31 - 1");
  kernel<<<static_cast<unsigned>(grid), block, shared, stream>>>(std::forward<Args>(args)...);
  detail::check(cudaGetLastError(), "kernel launch", file, line);
  detail::after_launch(reinterpret_cast<const void*>(kernel), file, line);
}

#define SPIKESIM_LAUNCH_GRID(grid, block, shared, stream, kernel, ...)                             \
  ::spikesim::cuda::launch_grid(__FILE__, __LINE__, (grid), (block), (shared), (stream), (kernel), \
                                __VA_ARGS__)

// Device memory for `size` elements of T (uninitialised). Allocation failure is a memory_error
// that says how much was asked for and how much is free.
template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  explicit device_buffer(size_t size) { allocate(size); }
  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(size_, o.size_);
    return *this;
  }
  ~device_buffer() { release(); }

  // Replaces the contents by `size` uninitialised elements (nothing is kept).
  void allocate(size_t size) {
    release();
    if (size == 0) return;
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, size * sizeof(T));
    if (e != cudaSuccess) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      throw memory_error("cannot allocate " + format_bytes_mib_or_gib(size * sizeof(T)) +
                         " of device memory (" + format_bytes_mib_or_gib(free_b) + " free of " +
                         format_bytes_mib_or_gib(total_b) + "): " + cudaGetErrorString(e));
    }
    ptr_ = static_cast<T*>(p);
    size_ = size;
  }

  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  void release() noexcept {
    if (ptr_) cudaFree(ptr_);  // an error here has no one to report to
    ptr_ = nullptr;
    size_ = 0;
  }
  T* ptr_ = nullptr;
  size_t size_ = 0;
};

// Page-locked host memory, the target of asynchronous device-to-host copies.
template <class T>
class pinned_buffer {
 public:
  pinned_buffer() = default;
  pinned_buffer(const pinned_buffer&) = delete;
  pinned_buffer& operator=(const pinned_buffer&) = delete;
  ~pinned_buffer() { release(); }

  // Ensures room for `size` elements; the contents are not kept when it grows.
  void reserve(size_t size) {
    if (size <= size_) return;
    release();
    void* p = nullptr;
    const cudaError_t e = cudaMallocHost(&p, size * sizeof(T));
    if (e != cudaSuccess) {
      cudaGetLastError();
      throw memory_error("cannot allocate " + format_bytes_mib_or_gib(size * sizeof(T)) +
                         " of page-locked host memory: " + cudaGetErrorString(e));
    }
    ptr_ = static_cast<T*>(p);
    size_ = size;
  }

  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t size() const { return size_; }

 private:
  void release() noexcept {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = nullptr;
    size_ = 0;
  }
  T* ptr_ = nullptr;
  size_t size_ = 0;
};

// A non-blocking stream: it does not synchronise with the legacy default stream.
class stream {
 public:
  stream() { SPIKESIM_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  ~stream() {
    if (s_) cudaStreamDestroy(s_);
  }
  cudaStream_t get() const { return s_; }
  void synchronize() const { SPIKESIM_CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  cudaStream_t s_ = nullptr;
};

// An event without timing data, to order work between streams.
class event {
 public:
  event() { SPIKESIM_CUDA_CHECK(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming)); }
  event(const event&) = delete;
  event& operator=(const event&) = delete;
  ~event() {
    if (e_) cudaEventDestroy(e_);
  }
  cudaEvent_t get() const { return e_; }
  void record(cudaStream_t s) { SPIKESIM_CUDA_CHECK(cudaEventRecord(e_, s)); }
  // Work enqueued on `s` from now on waits for the work before the last record().
  void make_wait(cudaStream_t s) const { SPIKESIM_CUDA_CHECK(cudaStreamWaitEvent(s, e_, 0)); }

 private:
  cudaEvent_t e_ = nullptr;
};

}  // namespace spikesim::cuda
