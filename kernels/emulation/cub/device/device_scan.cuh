// cub::DeviceScan's ExclusiveSum and InclusiveSum over device pointers, done on the host for the
// emulated build (../host_stand_in.cuh).
#pragma once

#include "../host_stand_in.cuh"

namespace cub {

struct DeviceScan {
  template <class In, class Out, class N>
  static cudaError_t ExclusiveSum(void* temp, std::size_t& temp_bytes, In* in, Out* out,
                                  N num_items, cudaStream_t stream = 0) {
    cudaError_t e;
    if (!host_stand_in::must_run(temp, temp_bytes, e)) return e;
    return host_stand_in::prefix_sum<std::remove_const_t<In>>(in, out, num_items, false, stream);
  }

  template <class In, class Out, class N>
  static cudaError_t InclusiveSum(void* temp, std::size_t& temp_bytes, In* in, Out* out,
                                  N num_items, cudaStream_t stream = 0) {
    cudaError_t e;
    if (!host_stand_in::must_run(temp, temp_bytes, e)) return e;
    return host_stand_in::prefix_sum<std::remove_const_t<In>>(in, out, num_items, true, stream);
  }
};

}  // namespace cub
