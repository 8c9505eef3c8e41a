// Projections built on the device: the synapses of src/cpu/connectivity.cpp (same draws, same
// order, same quantisation), generated one warp per target neuron, then regrouped into CSR by
// source with the CPU's row order. Algorithms and the determinism argument:
// docs/architecture.md (The CUDA network path).
//
// Construction of one projection, all on one stream:
//   1. synapses per target: closed form, or (fixed_probability) a counting walk of the draws;
//      prefix sum -> off[j], the first synapse of target j in target order;
//   2. out-degree pass: targets are generated in batches of at most `batch` synapses in target
//      order and each synapse adds one to its source's degree; prefix sum -> row offsets;
//   3. fill pass: each batch is generated again, with weights and delays, stably radix-sorted by
//      source, and scattered to row[s] + (synapses of s in earlier batches) + (rank within the
//      batch). A stable sort of a batch in target order keeps (target, draw) order within each
//      source, and batches follow each other in target order, so every row comes out exactly
//      as the CPU's regrouping leaves it. Memory: the CSR plus O(targets + sources + batch).
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_scan.cuh>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <spikesim/connectivity.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/rng.hpp>

#include "connectivity.cuh"
#include "cpu/connectivity.hpp"
#include "device_ops.cuh"

namespace spikesim {
namespace cuda {
namespace {

constexpr unsigned full_mask = 0xffffffffu;
constexpr uint32_t empty_slot = 0xffffffffu;
constexpr unsigned small_block = 256;
// The warp-per-target kernels shuffle and ballot over full warps (full_mask): whole warps only.
static_assert(small_block % 32 == 0, "blocks of whole warps");
// Synapses regrouped per batch: 26 bytes each of transient buffers (436 MiB at 2^24).
constexpr uint64_t default_batch = uint64_t{1} << 24;
// Floyd's hash tables that do not fit in shared memory live in global memory: at most this much.
constexpr uint64_t max_global_tables = uint64_t{256} << 20;
// The device's log and glibc's may differ in the last bit (each is within 1 ulp). A geometric
// gap floor(log u / log(1 - p)) is taken as decided on the device only when no quotient within
// this relative distance of the device's has another floor; otherwise the target is built on the
// host with the CPU's own expression. 2^-44 is 64 times the largest possible difference.
constexpr double ambiguity_margin = 0x1p-44;

// What the draws of one projection depend on, as the kernels see it.
struct draw_spec {
  uint64_t seed = 1;
  uint32_t stream = 0;  // the projection's stream block (projection_spec::stream)
  connection_rule rule = connection_rule::fixed_indegree;
  uint64_t pool = 0;
  uint64_t indegree = 0;
  bool skip = false;  // the target itself is left out of the pool
  bool multapses = true;
  double p = 0.0;
  double log_q = 0.0;          // log1p(-p), computed on the host exactly as the CPU does
  distribution weight, delay;  // as the CPU draws them (include/spikesim/connectivity.hpp)
  double dt = 0.1;
};

using connectivity::skips_self;

draw_spec make_draw_spec(const experiment_spec& spec, const projection_spec& q) {
  draw_spec d;
  d.seed = q.seed;
  d.stream = q.stream;
  d.rule = q.rule;
  d.skip = skips_self(q);
  d.pool = spec.populations[q.source].size - (d.skip ? 1 : 0);
  d.indegree = q.indegree;
  d.multapses = q.multapses;
  d.p = q.p;
  d.log_q = q.p > 0.0 && q.p < 1.0 ? std::log1p(-q.p) : 0.0;
  d.weight = q.weight;
  d.delay = q.delay;
  d.dt = spec.run.dt;
  return d;
}

bool is_probability_walk(const draw_spec& d) {
  return d.rule == connection_rule::fixed_probability && d.p > 0.0 && d.p < 1.0;
}

bool is_floyd(const draw_spec& d) {
  return d.rule == connection_rule::fixed_indegree && !d.multapses && d.indegree > 0;
}

// Synapses of every target for the rules where the count does not depend on the draws.
uint64_t closed_form_count(const draw_spec& d) {
  switch (d.rule) {
    case connection_rule::fixed_indegree:
      return d.indegree;
    case connection_rule::one_to_one:
      return d.skip ? 0 : 1;
    case connection_rule::all_to_all:
      return d.pool;
    case connection_rule::fixed_probability:
      return d.p >= 1.0 ? d.pool : 0;  // the walk counts 0 < p < 1
    case connection_rule::fixed_total_number:
      return 0;  // counted on the host
  }
  return 0;
}

// The geometric walk of fixed_probability, 32 draws at a time: lane l takes draw k0 + l, the gaps
// are summed by a warp scan, and the first draw whose gap leaves the pool ends the walk, as in
// the CPU's sequential loop. Calls emit(ordinal, pool index) for each synapse and returns their
// number; `ambiguous` is set when a draw that decided something had a gap whose floor the host's
// log might give differently. A Philox block holds two draws (rng::bits64), so every 64 draws
// each lane computes one block, draws 2 l and 2 l + 1 of them, and the lanes of each round of
// 32 take theirs by shuffles: each block is computed once, not by two neighbouring lanes.
template <class Emit>
__device__ uint64_t probability_walk(const draw_spec& d, uint64_t j, unsigned lane, bool& ambiguous,
                                     Emit&& emit) {
  const uint32_t stream = connectivity::source_stream(d.stream);
  const double pool_d = static_cast<double>(d.pool);
  uint64_t x = 0, made = 0;
  bool amb = false;
  rng::u32x4 block{};
  for (uint64_t k0 = 0;; k0 += 32) {
    if ((k0 & 63) == 0) block = rng::philox(d.seed, stream, j, (k0 >> 1) + lane);
    // Draw k0 + lane: half lane & 1 of block (k0 >> 1) + lane / 2, held by lane
    // (k0 & 32) / 2 + lane / 2.
    const unsigned from = (static_cast<unsigned>(k0 & 32) >> 1) + (lane >> 1);
    const uint64_t lo = __shfl_sync(full_mask, rng::bits64_half(block, 0), from);
    const uint64_t hi = __shfl_sync(full_mask, rng::bits64_half(block, 1), from);
    const uint64_t bits = lane & 1 ? hi : lo;
    const double u = static_cast<double>((bits >> 11) + 1) * 0x1p-53;  // (0, 1]
    const double q = log(u) / d.log_q;
    const double gap = floor(q);
    const double m = q * ambiguity_margin;
    const bool lane_amb = floor(q - m) != floor(q + m) && q - m < pool_d;
    // Clamped before the conversion; any gap >= pool ends the walk whatever x is.
    uint64_t s = (gap >= pool_d ? d.pool : static_cast<uint64_t>(gap)) + 1;
    for (unsigned o = 1; o < 32; o <<= 1) {
      const uint64_t t = __shfl_up_sync(full_mask, s, o);
      if (lane >= o) s += t;
    }
    // x before this draw plus its gap: the candidate index, as the CPU's x += gap.
    const uint64_t pos = x + s - 1;
    const unsigned stops = __ballot_sync(full_mask, pos >= d.pool);
    const unsigned valid = stops ? static_cast<unsigned>(__ffs(stops)) - 1 : 32u;
    const unsigned decided = stops ? valid + 1 : 32u;  // the stopping draw decides too
    amb |= __ballot_sync(full_mask, lane_amb && lane < decided) != 0;
    if (lane < valid) emit(made + lane, pos);
    made += valid;
    if (stops) break;
    x += __shfl_sync(full_mask, s, 31);
  }
  ambiguous = amb;
  return made;
}

// The walk with the CPU's expression (std::log, here glibc's as on the CPU backend) for the
// targets the device could not decide.
std::vector<uint32_t> host_probability_walk(const draw_spec& d, uint64_t j) {
  std::vector<uint32_t> xs;
  uint64_t x = 0;
  for (uint64_t k = 0;; ++k) {
    const uint64_t bits = rng::bits64(d.seed, connectivity::source_stream(d.stream), j, k);
    const double u = static_cast<double>((bits >> 11) + 1) * 0x1p-53;
    const double gap = std::floor(std::log(u) / d.log_q);
    if (gap >= static_cast<double>(d.pool - x)) return xs;
    x += static_cast<uint64_t>(gap);
    xs.push_back(static_cast<uint32_t>(x));
    ++x;
  }
}

// Floyd's algorithm in parallel. Sequentially, draw k (k = 0 ... K - 1, i_k = pool - K + k)
// takes t_k uniform in [0, i_k], and x_k = i_k if t_k was taken before, else t_k. "Taken
// before" (D_k) unrolls into facts that need no sequence: t_k is among x_0 ... x_(k-1) exactly
// when t_k equals an earlier t (E_k), or t_k = i_m for an m < k with D_m (the only way an i is
// taken). So D_k = E_k or D_m with m = t_k - (pool - K) when 0 <= m < k, a chain of strictly
// smaller indices. E_k comes from a hash table mapping each value t to the first k that drew it.
__device__ uint32_t table_hash(uint32_t t, uint32_t bits) {
  return (t * 0x9E3779B1u) >> (32 - bits);
}

__device__ void table_insert(uint32_t* table, uint32_t bits, const uint32_t* t_of, uint32_t t,
                             uint32_t k) {
  const uint32_t mask = (1u << bits) - 1u;
  for (uint32_t h = table_hash(t, bits);; h = (h + 1) & mask) {
    const uint32_t cur = atomicCAS(&table[h], empty_slot, k);
    if (cur == empty_slot) return;
    if (t_of[cur] == t) {
      atomic_min(&table[h], k);
      return;
    }
  }
}

// The first draw that took t (t was inserted, so the probe ends at its slot). The slots were
// last written by atomics, which a global-memory table has performed in L2: a volatile load
// does not take an older copy from this SM's L1.
__device__ uint32_t table_first(const uint32_t* table, uint32_t bits, const uint32_t* t_of,
                                uint32_t t) {
  const uint32_t mask = (1u << bits) - 1u;
  const volatile uint32_t* slots = table;
  for (uint32_t h = table_hash(t, bits);; h = (h + 1) & mask) {
    const uint32_t cur = slots[h];
    if (cur == empty_slot || t_of[cur] == t) return cur;
  }
}

// Targets are numbered from the first target built (population-local id j0), as the CPU's
// build_projection() numbers a slice's: target jl draws as target j0 + jl of the population.
struct generate_args {
  draw_spec d;
  uint64_t j0;
  uint64_t ja, jb;      // targets of this batch
  const uint64_t* off;  // first synapse of each target, in target order
  uint64_t off_base;    // off[ja]: batch positions are off[jl] - off_base + k
  uint32_t* src;        // source of each synapse (Floyd: t_k first)
  uint32_t* tgt;        // its target jl (Floyd: x_k first); scratch when !payload
  int32_t* weights;     // or null when constant
  uint16_t* delays;     // or null when constant
  bool payload;         // targets, weights and delays too (the fill pass)
  // fixed_probability targets built on the host: sorted target numbers jl, their pool indices
  const uint64_t* host_ids;
  const uint64_t* host_off;
  const uint32_t* host_x;
  uint64_t n_host;
  uint32_t* tables;  // Floyd: global tables, 2^table_bits words per warp; null: shared memory
  uint32_t table_bits;
};

// One warp per target (grid-stride): the target's synapses in draw order.
__global__ void generate_kernel(const __grid_constant__ generate_args a) {
  extern __shared__ uint32_t shared_tables[];
  const unsigned lane = threadIdx.x & 31u;
  const unsigned warps_per_block = blockDim.x / 32;
  const uint64_t warp_id = static_cast<uint64_t>(blockIdx.x) * warps_per_block + threadIdx.x / 32;
  const uint64_t warps = static_cast<uint64_t>(gridDim.x) * warps_per_block;
  const draw_spec& d = a.d;
  const uint64_t table_words = uint64_t{1} << a.table_bits;
  uint32_t* table = a.tables ? a.tables + warp_id * table_words
                             : shared_tables + (threadIdx.x / 32) * table_words;

  for (uint64_t jl = a.ja + warp_id; jl < a.jb; jl += warps) {
    const uint64_t j = a.j0 + jl;  // the population-local id that keys the draws
    const uint64_t e0 = a.off[jl] - a.off_base;
    auto emit = [&](uint64_t k, uint64_t x) {
      const uint64_t e = e0 + k;
      a.src[e] = static_cast<uint32_t>(connectivity::pool_to_source(x, j, d.skip));
      if (a.payload) {
        a.tgt[e] = static_cast<uint32_t>(jl);
        if (a.weights) a.weights[e] = connectivity::weight_fixed(d.weight, d.seed, d.stream, j, k);
        if (a.delays)
          a.delays[e] = connectivity::delay_in_steps(d.delay, d.seed, d.stream, j, k, d.dt);
      }
    };
    switch (d.rule) {
      case connection_rule::fixed_indegree:
      case connection_rule::fixed_total_number: {  // the latter always with multapses
        const uint64_t K = a.off[jl + 1] - a.off[jl];
        if (d.multapses) {
          for (uint64_t k = lane; k < K; k += 32)
            emit(k, connectivity::draw_index(d.seed, d.stream, j, k, d.pool));
          break;
        }
        if (K == 0) break;
        const uint64_t base = d.pool - K;
        uint32_t* t_of = a.src + e0;
        uint32_t* x_of = a.tgt + e0;
        for (uint64_t h = lane; h < table_words; h += 32) table[h] = empty_slot;
        for (uint64_t k = lane; k < K; k += 32)
          t_of[k] =
              static_cast<uint32_t>(connectivity::draw_index(d.seed, d.stream, j, k, base + k + 1));
        __syncwarp();
        for (uint64_t k = lane; k < K; k += 32)
          table_insert(table, a.table_bits, t_of, t_of[k], static_cast<uint32_t>(k));
        __syncwarp();
        for (uint64_t k = lane; k < K; k += 32) {
          uint64_t m = k;
          uint32_t tm = t_of[k];
          bool taken = false;
          for (;;) {
            if (table_first(table, a.table_bits, t_of, tm) < m) {
              taken = true;
              break;
            }
            if (tm < base || tm - base >= m) break;
            m = tm - base;
            tm = t_of[m];
          }
          x_of[k] = taken ? static_cast<uint32_t>(base + k) : t_of[k];
        }
        __syncwarp();
        for (uint64_t k = lane; k < K; k += 32) emit(k, x_of[k]);
        // The next target of this warp clears the table: all lanes must be done reading it.
        __syncwarp();
        break;
      }
      case connection_rule::fixed_probability: {
        if (d.p <= 0.0) break;
        if (d.p >= 1.0) {
          for (uint64_t k = lane; k < d.pool; k += 32) emit(k, k);
          break;
        }
        if (a.n_host > 0) {
          uint64_t lo = 0, hi = a.n_host;
          while (lo < hi) {
            const uint64_t mid = (lo + hi) / 2;
            if (a.host_ids[mid] < jl)
              lo = mid + 1;
            else
              hi = mid;
          }
          if (lo < a.n_host && a.host_ids[lo] == jl) {
            const uint64_t b = a.host_off[lo], n = a.host_off[lo + 1] - b;
            for (uint64_t k = lane; k < n; k += 32) emit(k, a.host_x[b + k]);
            break;
          }
        }
        bool ambiguous = false;
        probability_walk(d, j, lane, ambiguous, emit);
        break;
      }
      case connection_rule::one_to_one:
        if (!d.skip && lane == 0) emit(0, j);
        break;
      case connection_rule::all_to_all:
        for (uint64_t k = lane; k < d.pool; k += 32) emit(k, k);
        break;
    }
  }
}

// fixed_probability: synapses per target, and the targets whose walk the device could not
// decide (appended to `flagged`, counted beyond its capacity). Targets are numbered from the
// first target built, population-local id j0; the draws are keyed by the population-local id.
struct count_args {
  draw_spec d;
  uint64_t j0;
  uint64_t n_target;
  uint64_t* counts;
  unsigned long long* n_flagged;
  uint64_t* flagged;
  uint64_t flag_capacity;
  bool flag_all;
};

__global__ void count_probability_kernel(const __grid_constant__ count_args a) {
  const unsigned lane = threadIdx.x & 31u;
  const uint64_t warp_id = (static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const uint64_t warps = static_cast<uint64_t>(gridDim.x) * blockDim.x / 32;
  for (uint64_t jl = warp_id; jl < a.n_target; jl += warps) {
    bool ambiguous = false;
    const uint64_t n = probability_walk(a.d, a.j0 + jl, lane, ambiguous, [](uint64_t, uint64_t) {});
    if (lane == 0) {
      a.counts[jl] = n;
      if (ambiguous || a.flag_all) {
        const unsigned long long idx = atomicAdd(a.n_flagged, 1ull);
        if (idx < a.flag_capacity) a.flagged[idx] = jl;
      }
    }
  }
}

__global__ void linear_offsets_kernel(uint64_t* off, uint64_t n, uint64_t per_target) {
  const uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) off[i] = i * per_target;
}

__global__ void patch_counts_kernel(uint64_t* counts, const uint64_t* ids, const uint64_t* off,
                                    uint64_t n) {
  const uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) counts[ids[i]] = off[i + 1] - off[i];
}

__global__ void count_sources_kernel(const uint32_t* src, uint64_t n, unsigned long long* degree) {
  const uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) atomicAdd(&degree[src[i]], 1ull);
}

__global__ void iota_kernel(uint32_t* v, uint64_t n) {
  const uint64_t i = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) v[i] = static_cast<uint32_t>(i);
}

// Index of the first entry equal to keys[r] in the sorted keys[0, r].
__device__ uint64_t run_start(const uint32_t* keys, uint64_t r) {
  const uint32_t s = keys[r];
  uint64_t lo = 0, hi = r;
  while (lo < hi) {
    const uint64_t mid = (lo + hi) / 2;
    if (keys[mid] < s)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

struct scatter_args {
  const uint32_t* keys;  // sources of the batch, sorted (stably)
  const uint32_t* perm;  // batch position of each sorted entry
  uint64_t n;
  const uint64_t* cursor;  // next free position of each source's row
  const uint32_t* tgt;
  const int32_t* w;
  const uint16_t* dl;
  uint32_t* targets;
  int32_t* weights;
  uint16_t* delays;
};

__global__ void scatter_kernel(const __grid_constant__ scatter_args a) {
  const uint64_t r = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= a.n) return;
  const uint64_t pos = a.cursor[a.keys[r]] + (r - run_start(a.keys, r));
  const uint32_t e = a.perm[r];
  a.targets[pos] = a.tgt[e];
  if (a.weights) a.weights[pos] = a.w[e];
  if (a.delays) a.delays[pos] = a.dl[e];
}

// After the scatter (a separate launch: the scatter reads the cursors this writes).
__global__ void advance_cursor_kernel(const uint32_t* keys, uint64_t n, uint64_t* cursor) {
  const uint64_t r = static_cast<uint64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= n || (r + 1 < n && keys[r + 1] == keys[r])) return;
  cursor[keys[r]] += r - run_start(keys, r) + 1;
}

uint64_t batch_capacity(uint64_t synapses, uint64_t max_per_target) {
  return std::max<uint64_t>({1, max_per_target, std::min(synapses, default_batch)});
}

uint64_t batch_bytes_per_synapse(const projection_spec& q) {
  // src, sorted src, tgt, perm, sorted perm; weights and delays when they vary
  return 20 + (q.weight.constant() ? 0 : 4) + (q.delay.constant() ? 0 : 2);
}

size_t sort_temp_bytes(uint64_t items, int end_bit) {
  size_t bytes = 0;
  cub::DoubleBuffer<uint32_t> keys(nullptr, nullptr), vals(nullptr, nullptr);
  SPIKESIM_CUDA_CHECK(
      cub::DeviceRadixSort::SortPairs(nullptr, bytes, keys, vals, items, 0, end_bit));
  return bytes;
}

size_t scan_temp_bytes(uint64_t items) {
  size_t a = 0, b = 0;
  SPIKESIM_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, a, static_cast<uint64_t*>(nullptr),
                                                    static_cast<uint64_t*>(nullptr), items));
  SPIKESIM_CUDA_CHECK(cub::DeviceScan::InclusiveSum(nullptr, b, static_cast<uint64_t*>(nullptr),
                                                    static_cast<uint64_t*>(nullptr), items));
  return std::max(a, b);
}

// Floyd's tables: 2^bits words per warp with a load factor of at most 3/4.
uint32_t floyd_table_bits(uint64_t K) {
  return std::max<uint32_t>(5, bit_width((4 * K + 2) / 3 - 1));
}

int current_device_attribute(cudaDeviceAttr attr) {
  int dev = 0, v = 0;
  SPIKESIM_CUDA_CHECK(cudaGetDevice(&dev));
  SPIKESIM_CUDA_CHECK(cudaDeviceGetAttribute(&v, attr, dev));
  return v;
}

// Launch shape of the generation kernel: warps per block, dynamic shared memory, the largest
// useful grid, and Floyd's global tables when one table does not fit in shared memory.
struct generate_shape {
  unsigned warps_per_block = 4;
  size_t shared = 0;
  uint64_t max_grid = 1;
  uint32_t table_bits = 0;
  bool global_tables = false;
  uint64_t global_table_bytes = 0;
};

generate_shape shape_for(const draw_spec& d) {
  generate_shape g;
  const int sms = current_device_attribute(cudaDevAttrMultiProcessorCount);
  if (is_floyd(d)) {
    g.table_bits = floyd_table_bits(d.indegree);
    if (g.table_bits > 31)
      throw backend_error("fixed_indegree without multapses: an indegree of " +
                          std::to_string(d.indegree) +
                          " is more than the CUDA backend draws distinct sources for (2^30)");
    const uint64_t table_bytes = (uint64_t{1} << g.table_bits) * 4;
    const uint64_t max_shared =
        static_cast<uint64_t>(current_device_attribute(cudaDevAttrMaxSharedMemoryPerBlockOptin));
    if (table_bytes <= max_shared) {
      g.warps_per_block = static_cast<unsigned>(std::min<uint64_t>(4, max_shared / table_bytes));
      g.shared = g.warps_per_block * table_bytes;
      SPIKESIM_CUDA_CHECK(cudaFuncSetAttribute(generate_kernel,
                                               cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               static_cast<int>(g.shared)));
    } else {
      g.global_tables = true;
    }
  }
  int blocks_per_sm = 0;
  SPIKESIM_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &blocks_per_sm, generate_kernel, static_cast<int>(g.warps_per_block * 32), g.shared));
  g.max_grid = static_cast<uint64_t>(std::max(1, blocks_per_sm)) * static_cast<uint64_t>(sms);
  if (g.global_tables) {
    const uint64_t table_bytes = (uint64_t{1} << g.table_bits) * 4;
    const uint64_t warps = std::max<uint64_t>(1, max_global_tables / table_bytes);
    g.max_grid = std::max<uint64_t>(1, std::min(g.max_grid, warps / g.warps_per_block));
    g.global_table_bytes = g.max_grid * g.warps_per_block * table_bytes;
  }
  return g;
}

template <class T>
void copy_to_device(device_buffer<T>& d, const std::vector<T>& h, cudaStream_t s) {
  d.allocate(h.size());
  if (!h.empty())
    SPIKESIM_CUDA_CHECK(
        cudaMemcpyAsync(d.data(), h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice, s));
}

// Targets per batch: [ja, jb) with at most `cap` synapses (one target always fits: cap is at
// least the largest count).
uint64_t batch_end(const std::vector<uint64_t>& off, uint64_t ja, uint64_t cap) {
  const auto it =
      std::upper_bound(off.begin() + static_cast<ptrdiff_t>(ja) + 1, off.end(), off[ja] + cap);
  return std::max<uint64_t>(ja + 1, static_cast<uint64_t>(it - off.begin()) - 1);
}

}  // namespace

device_projection build_device_projection(const experiment_spec& spec, const projection_spec& q,
                                          neuron_slice targets, cudaStream_t stream,
                                          const build_options& opt) {
  device_projection c;
  c.index = q.index;
  c.source = q.source;
  c.target = q.target;
  c.synapse = q.synapse;
  c.n_source = spec.populations[q.source].size;
  targets = targets.clipped(spec.populations[q.target].size);
  c.n_target = targets.size();
  const uint64_t j0 = targets.lo;
  c.min_delay = static_cast<uint16_t>(q.min_delay_steps(spec.run.dt));
  c.max_delay = static_cast<uint16_t>(q.max_delay_steps(spec.run.dt));
  const bool vary_w = !q.weight.constant(), vary_d = !q.delay.constant();
  // The constants as the CPU stores them.
  if (!vary_w) c.weight = synapse_weight(q, 0, 0);
  if (!vary_d) c.delay = synapse_delay(spec, q, 0, 0);
  const draw_spec d = make_draw_spec(spec, q);
  const uint64_t n_tgt = c.n_target, n_src = c.n_source;

  // 1. Synapses per target and their prefix sums.
  device_buffer<uint64_t> off(n_tgt + 1);
  device_buffer<uint64_t> host_ids, host_off;
  device_buffer<uint32_t> host_x;
  uint64_t n_host = 0;
  if (is_probability_walk(d)) {
    device_buffer<uint64_t> counts(n_tgt + 1);
    SPIKESIM_CUDA_CHECK(cudaMemsetAsync(counts.data() + n_tgt, 0, sizeof(uint64_t), stream));
    device_buffer<unsigned long long> n_flagged(1);
    uint64_t capacity = opt.host_fallback_all ? n_tgt : std::min<uint64_t>(n_tgt, 4096);
    device_buffer<uint64_t> flagged(capacity);
    unsigned long long flagged_count = 0;
    for (;;) {
      SPIKESIM_CUDA_CHECK(cudaMemsetAsync(n_flagged.data(), 0, sizeof(unsigned long long), stream));
      count_args a{d,
                   j0,
                   n_tgt,
                   counts.data(),
                   n_flagged.data(),
                   flagged.data(),
                   capacity,
                   opt.host_fallback_all};
      const uint64_t grid = std::min<uint64_t>((n_tgt + 7) / 8, uint64_t{1} << 20);
      SPIKESIM_LAUNCH_GRID(grid, small_block, 0, stream, count_probability_kernel, a);
      SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(&flagged_count, n_flagged.data(), sizeof flagged_count,
                                          cudaMemcpyDeviceToHost, stream));
      SPIKESIM_CUDA_CHECK(cudaStreamSynchronize(stream));
      if (flagged_count <= capacity) break;
      capacity = flagged_count;
      flagged.allocate(capacity);
    }
    if (flagged_count > 0) {
      std::vector<uint64_t> ids(flagged_count);
      SPIKESIM_CUDA_CHECK(cudaMemcpy(ids.data(), flagged.data(), flagged_count * sizeof(uint64_t),
                                     cudaMemcpyDeviceToHost));
      std::sort(ids.begin(), ids.end());
      std::vector<uint64_t> offs{0};
      std::vector<uint32_t> xs;
      for (uint64_t jl : ids) {
        const std::vector<uint32_t> w = host_probability_walk(d, j0 + jl);
        xs.insert(xs.end(), w.begin(), w.end());
        offs.push_back(xs.size());
      }
      n_host = ids.size();
      copy_to_device(host_ids, ids, stream);
      copy_to_device(host_off, offs, stream);
      copy_to_device(host_x, xs, stream);
      SPIKESIM_LAUNCH_1D(n_host, small_block, stream, patch_counts_kernel, counts.data(),
                         host_ids.data(), host_off.data(), n_host);
      // The host vectors are pageable: wait for the copies before they go out of scope.
      SPIKESIM_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    size_t scan_bytes = scan_temp_bytes(n_tgt + 1);
    device_buffer<unsigned char> scan_temp(scan_bytes);
    SPIKESIM_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(scan_temp.data(), scan_bytes, counts.data(),
                                                      off.data(), n_tgt + 1, stream));
  } else if (q.rule == connection_rule::fixed_total_number) {
    // The split over the targets is made on the host, as for the CPU backend.
    const auto counts = total_number_counts(q, spec.populations[q.target].size, j0, j0 + n_tgt);
    std::vector<uint64_t> offs(n_tgt + 1, 0);
    for (uint64_t j = 0; j < n_tgt; ++j) offs[j + 1] = offs[j] + counts[j];
    SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(off.data(), offs.data(), offs.size() * sizeof(uint64_t),
                                        cudaMemcpyHostToDevice, stream));
    SPIKESIM_CUDA_CHECK(cudaStreamSynchronize(stream));  // offs is pageable
  } else {
    SPIKESIM_LAUNCH_1D(n_tgt + 1, small_block, stream, linear_offsets_kernel, off.data(), n_tgt + 1,
                       closed_form_count(d));
  }
  std::vector<uint64_t> off_h(n_tgt + 1);
  SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(off_h.data(), off.data(), off_h.size() * sizeof(uint64_t),
                                      cudaMemcpyDeviceToHost, stream));
  SPIKESIM_CUDA_CHECK(cudaStreamSynchronize(stream));
  const uint64_t total = off_h[n_tgt];
  uint64_t max_count = 0;
  for (uint64_t j = 0; j < n_tgt; ++j) max_count = std::max(max_count, off_h[j + 1] - off_h[j]);
  if (total > 0 && n_src - 1 > 0xffffffffull)
    throw backend_error("projection '" + q.name + "': source ids beyond 32 bits");

  c.synapses = total;
  c.row.allocate(n_src + 1);
  c.targets.allocate(total);
  if (vary_w) c.weights.allocate(total);
  if (vary_d) c.delays.allocate(total);
  if (total == 0) {
    SPIKESIM_CUDA_CHECK(cudaMemsetAsync(c.row.data(), 0, (n_src + 1) * sizeof(uint64_t), stream));
    SPIKESIM_CUDA_CHECK(cudaStreamSynchronize(stream));
    return c;
  }

  const uint64_t cap = batch_capacity(total, max_count);
  device_buffer<uint32_t> src_b(cap), src_alt(cap), tgt_b(cap), perm(cap), perm_alt(cap);
  device_buffer<int32_t> w_b(vary_w ? cap : 0);
  device_buffer<uint16_t> d_b(vary_d ? cap : 0);
  device_buffer<uint64_t> cursor(n_src);
  const int end_bit = static_cast<int>(std::max<uint32_t>(1, bit_width(n_src - 1)));
  size_t temp_bytes = std::max(sort_temp_bytes(cap, end_bit), scan_temp_bytes(n_src));
  device_buffer<unsigned char> temp(temp_bytes);
  size_t scan_bytes = temp_bytes;
  const generate_shape shape = shape_for(d);
  device_buffer<uint32_t> tables(shape.global_table_bytes / 4);

  auto generate = [&](uint64_t ja, uint64_t jb, bool payload) {
    generate_args a{};
    a.d = d;
    a.j0 = j0;
    a.ja = ja;
    a.jb = jb;
    a.off = off.data();
    a.off_base = off_h[ja];
    a.src = src_b.data();
    a.tgt = tgt_b.data();
    a.weights = vary_w ? w_b.data() : nullptr;
    a.delays = vary_d ? d_b.data() : nullptr;
    a.payload = payload;
    a.host_ids = host_ids.data();
    a.host_off = host_off.data();
    a.host_x = host_x.data();
    a.n_host = n_host;
    a.tables = shape.global_tables ? tables.data() : nullptr;
    a.table_bits = shape.table_bits;
    const uint64_t grid = std::min<uint64_t>(
        (jb - ja + shape.warps_per_block - 1) / shape.warps_per_block, shape.max_grid);
    SPIKESIM_LAUNCH_GRID(grid, shape.warps_per_block * 32, shape.shared, stream, generate_kernel,
                         a);
  };

  // 2. Out-degrees -> row offsets; cursor[s] = row[s], the next free place in row s.
  auto* degree = reinterpret_cast<unsigned long long*>(cursor.data());
  SPIKESIM_CUDA_CHECK(cudaMemsetAsync(cursor.data(), 0, n_src * sizeof(uint64_t), stream));
  for (uint64_t ja = 0; ja < n_tgt;) {
    const uint64_t jb = batch_end(off_h, ja, cap);
    const uint64_t m = off_h[jb] - off_h[ja];
    generate(ja, jb, false);
    SPIKESIM_LAUNCH_1D(m, small_block, stream, count_sources_kernel, src_b.data(), m, degree);
    ja = jb;
  }
  SPIKESIM_CUDA_CHECK(cudaMemsetAsync(c.row.data(), 0, sizeof(uint64_t), stream));
  SPIKESIM_CUDA_CHECK(cub::DeviceScan::InclusiveSum(temp.data(), scan_bytes, cursor.data(),
                                                    c.row.data() + 1, n_src, stream));
  SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(cursor.data(), c.row.data(), n_src * sizeof(uint64_t),
                                      cudaMemcpyDeviceToDevice, stream));

  // 3. Fill, batch by batch in target order.
  for (uint64_t ja = 0; ja < n_tgt;) {
    const uint64_t jb = batch_end(off_h, ja, cap);
    const uint64_t m = off_h[jb] - off_h[ja];
    if (m > 0) generate(ja, jb, true);
    ja = jb;
    if (m == 0) continue;
    SPIKESIM_LAUNCH_1D(m, small_block, stream, iota_kernel, perm.data(), m);
    cub::DoubleBuffer<uint32_t> keys(src_b.data(), src_alt.data());
    cub::DoubleBuffer<uint32_t> vals(perm.data(), perm_alt.data());
    size_t sort_bytes = temp_bytes;
    SPIKESIM_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp.data(), sort_bytes, keys, vals, m, 0,
                                                        end_bit, stream));
    scatter_args s{keys.Current(),
                   vals.Current(),
                   m,
                   cursor.data(),
                   tgt_b.data(),
                   vary_w ? w_b.data() : nullptr,
                   vary_d ? d_b.data() : nullptr,
                   c.targets.data(),
                   vary_w ? c.weights.data() : nullptr,
                   vary_d ? c.delays.data() : nullptr};
    SPIKESIM_LAUNCH_1D(m, small_block, stream, scatter_kernel, s);
    SPIKESIM_LAUNCH_1D(m, small_block, stream, advance_cursor_kernel, keys.Current(), m,
                       cursor.data());
  }
  SPIKESIM_CUDA_CHECK(cudaStreamSynchronize(stream));
  return c;
}

projection_bytes projection_device_bytes(const experiment_spec& spec, const projection_spec& q,
                                         neuron_slice targets) {
  const connectivity_estimate e = estimate_connectivity(spec, q);
  const draw_spec d = make_draw_spec(spec, q);
  const uint64_t n_all = spec.populations[q.target].size, n_src = spec.populations[q.source].size;
  const uint64_t n_tgt = targets.clipped(n_all).size();
  // The slice's share of the synapses (all of them for the whole population).
  const auto synapses = static_cast<uint64_t>(static_cast<unsigned __int128>(e.synapses) * n_tgt /
                                              std::max<uint64_t>(1, n_all));
  uint64_t max_count = closed_form_count(d);
  if (is_probability_walk(d)) {
    // The largest binomial count among the targets, generously.
    const double mean = d.p * static_cast<double>(d.pool);
    max_count =
        std::min<uint64_t>(d.pool, static_cast<uint64_t>(mean + 10.0 * std::sqrt(mean) + 64.0));
  }
  const uint64_t cap = batch_capacity(synapses, max_count);
  projection_bytes b;
  b.storage = synapses * synapse_bytes(q) + (n_src + 1) * 8;
  b.transient = 8 * (n_tgt + 1) + (is_probability_walk(d) ? 8 * (n_tgt + 1) + 4096 * 8 : 0) +
                8 * n_src + cap * batch_bytes_per_synapse(q) +
                std::max(sort_temp_bytes(cap, 32), scan_temp_bytes(std::max(n_src, n_tgt + 1))) +
                (is_floyd(d) ? shape_for(d).global_table_bytes : 0);
  return b;
}

}  // namespace cuda

// For tests: projection q onto `targets` built on `device` and copied back in the CPU backend's
// format.
csr_projection cuda_build_projection(const experiment_spec& spec, uint32_t projection, int device,
                                     bool host_fallback_all, neuron_slice targets) {
  SPIKESIM_CUDA_CHECK(cudaSetDevice(device));
  const projection_spec& q = spec.projections.at(projection);
  cuda::stream s;
  cuda::build_options opt;
  opt.host_fallback_all = host_fallback_all;
  const cuda::device_projection d = cuda::build_device_projection(spec, q, targets, s.get(), opt);
  csr_projection c;
  c.index = d.index;
  c.source = d.source;
  c.target = d.target;
  c.synapse = d.synapse;
  c.n_source = d.n_source;
  c.n_target = d.n_target;
  c.weight = d.weight;
  c.delay = d.delay;
  c.min_delay = d.min_delay;
  c.max_delay = d.max_delay;
  auto download = [](auto& h, const auto& dev) {
    h.resize(dev.size());
    if (!h.empty())
      SPIKESIM_CUDA_CHECK(
          cudaMemcpy(h.data(), dev.data(), h.size() * sizeof(h[0]), cudaMemcpyDeviceToHost));
  };
  download(c.row, d.row);
  download(c.targets, d.targets);
  download(c.weights, d.weights);
  download(c.delays, d.delays);
  return c;
}

}  // namespace spikesim
