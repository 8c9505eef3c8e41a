// Spike delivery of the CUDA backend (the CPU's is cpu_backend::deliver in
// src/cpu/population.cpp): after a chunk, each spike of a projection's source walks its CSR row
// and adds the weight into the ring slot of its arrival step.
//
// One warp per spike: the lanes read the row's targets (and weights, delays) coalesced and each
// issues one 64-bit integer atomicAdd. The ring holds int64 sums in 2^-24 fixed point; adding
// their two's-complement bits as unsigned 64-bit words gives the same bits as signed addition,
// and integer addition is associative and commutative, so the sums do not depend on the order in
// which warps, lanes or spikes arrive: the ring is bitwise the CPU's after every chunk.
#include "connectivity.cuh"

namespace spikesim::cuda {
namespace {

constexpr unsigned delivery_block = 256;
// One warp per spike: a spike's lanes are threads 32 w ... 32 w + 31 of a block.
static_assert(delivery_block % 32 == 0, "blocks of whole warps");

struct delivery_args {
  const uint64_t* row;
  const uint32_t* targets;
  const int32_t* weights;  // null: `weight` for all
  const uint16_t* delays;  // null: `delay` for all
  int32_t weight;
  uint16_t delay;
  const uint64_t* keys;
  uint64_t n_keys;
  uint32_t id_bits;
  uint64_t first;
  unsigned long long* ring;
  uint64_t n_target;
  uint64_t slots;
  unsigned long long* events;
};

__global__ void __launch_bounds__(delivery_block)
    deliver_kernel(const __grid_constant__ delivery_args a) {
  __shared__ unsigned long long block_events;
  if (threadIdx.x == 0) block_events = 0;
  __syncthreads();
  const uint64_t spike = (static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const unsigned lane = threadIdx.x & 31u;
  if (spike < a.n_keys) {
    const uint64_t key = a.keys[spike];
    const uint64_t id = key & ((uint64_t{1} << a.id_bits) - 1);
    const uint64_t step = a.first + (key >> a.id_bits);
    const uint64_t b = a.row[id], e = a.row[id + 1];
    const uint64_t base = step % a.slots;
    if (lane == 0 && e > b) atomicAdd(&block_events, static_cast<unsigned long long>(e - b));
    for (uint64_t k = b + lane; k < e; k += 32) {
      uint64_t slot = base + (a.delays ? a.delays[k] : a.delay);
      if (slot >= a.slots) slot -= a.slots;
      const int64_t w = a.weights ? a.weights[k] : a.weight;
      atomicAdd(&a.ring[slot * a.n_target + a.targets[k]], static_cast<unsigned long long>(w));
    }
  }
  __syncthreads();
  if (threadIdx.x == 0 && block_events != 0) atomicAdd(a.events, block_events);
}

}  // namespace

void deliver_spikes(const device_projection& c, const uint64_t* keys, uint64_t n_keys,
                    uint32_t id_bits, uint64_t first, unsigned long long* ring, uint64_t slots,
                    unsigned long long* events, cudaStream_t stream) {
  if (n_keys == 0 || c.synapses == 0) return;
  delivery_args a{};
  a.row = c.row.data();
  a.targets = c.targets.data();
  a.weights = c.weights.size() ? c.weights.data() : nullptr;
  a.delays = c.delays.size() ? c.delays.data() : nullptr;
  a.weight = c.weight;
  a.delay = c.delay;
  a.keys = keys;
  a.n_keys = n_keys;
  a.id_bits = id_bits;
  a.first = first;
  a.ring = ring;
  a.n_target = c.n_target;
  a.slots = slots;
  a.events = events;
  SPIKESIM_LAUNCH_1D(n_keys * 32, delivery_block, stream, deliver_kernel, a);
}

}  // namespace spikesim::cuda
