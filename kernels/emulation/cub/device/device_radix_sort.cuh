// cub::DeviceRadixSort's SortKeys and SortPairs on DoubleBuffers, done on the host for the
// emulated build (../host_stand_in.cuh): a stable sort by the key bits [begin_bit, end_bit).
#pragma once

#include "../host_stand_in.cuh"

namespace cub {

struct DeviceRadixSort {
  template <class K, class N>
  static cudaError_t SortKeys(void* temp, std::size_t& temp_bytes, DoubleBuffer<K>& keys,
                              N num_items, int begin_bit = 0, int end_bit = sizeof(K) * 8,
                              cudaStream_t stream = 0) {
    cudaError_t e;
    if (!host_stand_in::must_run(temp, temp_bytes, e)) return e;
    std::vector<K> k;
    e = host_stand_in::to_host(k, keys.Current(), static_cast<std::size_t>(num_items), stream);
    if (e != cudaSuccess) return e;
    return host_stand_in::permute(keys, k, host_stand_in::stable_order(k, begin_bit, end_bit),
                                  stream);
  }

  template <class K, class V, class N>
  static cudaError_t SortPairs(void* temp, std::size_t& temp_bytes, DoubleBuffer<K>& keys,
                               DoubleBuffer<V>& values, N num_items, int begin_bit = 0,
                               int end_bit = sizeof(K) * 8, cudaStream_t stream = 0) {
    cudaError_t e;
    if (!host_stand_in::must_run(temp, temp_bytes, e)) return e;
    const auto n = static_cast<std::size_t>(num_items);
    std::vector<K> k;
    std::vector<V> v;
    e = host_stand_in::to_host(k, keys.Current(), n, stream);
    if (e == cudaSuccess) e = host_stand_in::to_host(v, values.Current(), n, stream);
    if (e != cudaSuccess) return e;
    const std::vector<std::size_t> order = host_stand_in::stable_order(k, begin_bit, end_bit);
    e = host_stand_in::permute(keys, k, order, stream);
    return e != cudaSuccess ? e : host_stand_in::permute(values, v, order, stream);
  }
};

}  // namespace cub
