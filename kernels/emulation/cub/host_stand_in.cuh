// The CUB calls of kernels/*.cu done on the host, for the emulated build only (chipStar has no
// CUB; the nvcc build uses CUB). Each call waits for its stream, copies its input to the host,
// works with the standard library and copies the result back on the same stream. CUB's contracts
// are kept, so that the code around the calls is checked: a null temporary storage pointer asks
// for the size (never zero), too little storage is an error, and a DoubleBuffer sort leaves its
// result in the other buffer and says so through Current() (CUB may leave it in either).
// Correct and simple, not fast.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

namespace cub {

template <class T>
struct DoubleBuffer {
  T* d_buffers[2] = {nullptr, nullptr};
  int selector = 0;

  DoubleBuffer() = default;
  DoubleBuffer(T* current, T* alternate) : d_buffers{current, alternate} {}
  T* Current() const { return d_buffers[selector]; }
  T* Alternate() const { return d_buffers[selector ^ 1]; }
};

namespace host_stand_in {

// The temporary storage every call asks for; it uses none.
constexpr std::size_t temp_bytes = 16;

// Whether the call should do its work: not for a size query (which sets `bytes`), not with too
// little storage (an error, as in CUB).
inline bool must_run(const void* temp, std::size_t& bytes, cudaError_t& status) {
  status = cudaSuccess;
  if (temp == nullptr) {
    bytes = temp_bytes;
    return false;
  }
  if (bytes < temp_bytes) status = cudaErrorInvalidValue;
  return status == cudaSuccess;
}

template <class T>
cudaError_t to_host(std::vector<T>& h, const T* d, std::size_t n, cudaStream_t s) {
  h.resize(n);
  if (n == 0) return cudaSuccess;
  const cudaError_t e = cudaMemcpyAsync(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost, s);
  return e != cudaSuccess ? e : cudaStreamSynchronize(s);
}

// Synchronous: `h` is pageable and about to go out of scope.
template <class T>
cudaError_t to_device(T* d, const std::vector<T>& h, cudaStream_t s) {
  if (h.empty()) return cudaSuccess;
  const cudaError_t e =
      cudaMemcpyAsync(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice, s);
  return e != cudaSuccess ? e : cudaStreamSynchronize(s);
}

// The bits [begin_bit, end_bit) of a key: what a radix sort orders by.
template <class K>
K sort_bits(K key, int begin_bit, int end_bit) {
  const int width = end_bit - begin_bit;
  const K mask = width >= static_cast<int>(sizeof(K) * 8) ? ~K{0} : (K{1} << width) - 1;
  return (key >> begin_bit) & mask;
}

// The stable order of the n keys at `keys` by their bits [begin_bit, end_bit).
template <class K>
std::vector<std::size_t> stable_order(const std::vector<K>& keys, int begin_bit, int end_bit) {
  std::vector<std::size_t> order(keys.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return sort_bits(keys[a], begin_bit, end_bit) < sort_bits(keys[b], begin_bit, end_bit);
  });
  return order;
}

// Reads buffer's Current(), writes the n values in `order` to its Alternate() and selects that.
template <class T>
cudaError_t permute(DoubleBuffer<T>& buffer, const std::vector<T>& h,
                    const std::vector<std::size_t>& order, cudaStream_t s) {
  std::vector<T> out(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) out[k] = h[order[k]];
  const cudaError_t e = to_device(buffer.Alternate(), out, s);
  if (e == cudaSuccess) buffer.selector ^= 1;
  return e;
}

// Prefix sums over n values of the input's type, inclusive or exclusive (starting from 0).
template <class In, class Out, class N>
cudaError_t prefix_sum(const In* in, Out* out, N n, bool inclusive, cudaStream_t s) {
  std::vector<In> h;
  cudaError_t e = to_host(h, in, static_cast<std::size_t>(n), s);
  if (e != cudaSuccess) return e;
  std::vector<Out> sums(h.size());
  In acc{};
  for (std::size_t k = 0; k < h.size(); ++k) {
    if (inclusive) acc += h[k];
    sums[k] = static_cast<Out>(acc);
    if (!inclusive) acc += h[k];
  }
  return to_device(out, sums, s);
}

}  // namespace host_stand_in
}  // namespace cub
