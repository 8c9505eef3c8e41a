// Builds a projection's synapses from the seed: each target draws its sources from its own
// Philox counters (so the order of work does not matter), then the synapses are regrouped by
// source into CSR rows, each row in ascending target order. Algorithms: docs/architecture.md.
#include "connectivity.hpp"

#include "threads.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <thread>

namespace spikesim {
namespace {

using connectivity::pool_size;
using connectivity::skips_self;

// Calls out(source) for each synapse of target j, in draw order, except with multapses
// (draw_sources); `count` is the target's number of synapses where it is known before the draws
// (fixed_indegree, fixed_total_number). `mark`
// holds one zero byte per pool entry for fixed_indegree without multapses and is left zeroed.
template <class Out>
void sources_of(uint64_t seed, const projection_spec& q, uint64_t pool, bool skip, uint64_t j,
                uint64_t count, std::vector<uint8_t>& mark, std::vector<uint64_t>& chosen,
                Out&& out) {
  using connectivity::draw_index;
  using connectivity::pool_to_source;
  switch (q.rule) {
    case connection_rule::fixed_indegree:
    case connection_rule::fixed_total_number: {  // with multapses: draw_sources
      const uint64_t K = count;
      // Floyd's algorithm: K distinct values with exactly K draws, for any K <= pool.
      chosen.clear();
      uint64_t k = 0;
      for (uint64_t i = pool - K; i < pool; ++i, ++k) {
        const uint64_t t = draw_index(seed, q.stream, j, k, i + 1);
        const uint64_t x = mark[t] ? i : t;
        mark[x] = 1;
        chosen.push_back(x);
      }
      for (uint64_t x : chosen) {
        mark[x] = 0;
        out(pool_to_source(x, j, skip));
      }
      return;
    }
    case connection_rule::fixed_probability: {
      if (q.p <= 0.0) return;
      if (q.p >= 1.0) {
        for (uint64_t x = 0; x < pool; ++x) out(pool_to_source(x, j, skip));
        return;
      }
      // Geometric skipping: the gap to the next connected source is floor(ln u / ln(1 - p)).
      const double log_q = std::log1p(-q.p);
      uint64_t x = 0;
      for (uint64_t k = 0;; ++k) {
        const uint64_t bits = rng::bits64(seed, connectivity::source_stream(q.stream), j, k);
        const double u = static_cast<double>((bits >> 11) + 1) * 0x1p-53;  // (0, 1]
        const double gap = std::floor(std::log(u) / log_q);
        if (gap >= static_cast<double>(pool - x)) return;
        x += static_cast<uint64_t>(gap);
        out(pool_to_source(x, j, skip));
        ++x;
      }
    }
    case connection_rule::one_to_one:
      if (!skip) out(j);
      return;
    case connection_rule::all_to_all:
      for (uint64_t x = 0; x < pool; ++x) out(pool_to_source(x, j, skip));
      return;
  }
}

// rng::bounded(x, n) for x = hi 2^32 + lo and n < 2^32 from 32 x 32-bit products, which vectorise
// where the 64-bit high product does not: the top word of hi n + lo n / 2^32 is exact.
inline uint64_t bounded_below_2_32(uint32_t hi, uint32_t lo, uint32_t n) {
  const uint64_t h = static_cast<uint64_t>(hi) * n, l = static_cast<uint64_t>(lo) * n;
  return (h + (l >> 32)) >> 32;
}

// Target j's weights or delays, synapse k from draw k: the draws a piece at a time into `values`
// (piece_draws entries), each converted into `out`.
constexpr uint64_t piece_draws = 1024;
template <class T, class Convert>
void draw_synapse_values(const distribution& d, uint64_t seed, uint32_t stream, uint64_t j,
                         uint64_t count, double* values, T* out, Convert convert) {
  for (uint64_t k0 = 0; k0 < count; k0 += piece_draws) {
    const uint64_t n = std::min(piece_draws, count - k0);
    draw_values(d, seed, stream, j, k0, n, values);
#pragma omp simd
    for (uint64_t i = 0; i < n; ++i) out[k0 + i] = convert(values[i]);
  }
}

// A thread's scratch space for the draws of build_projection.
struct scratch {
  std::vector<uint8_t> mark;
  std::vector<uint64_t> chosen;
  double values[piece_draws];
};

// Phase 2 of build_projection: the `count` synapses of target j, from position `first` of the
// arrays, with the sources and, where w and d are given, the weights and delays (synapse k has
// draw k of the weight and delay streams).
void draw_target(const experiment_spec& spec, const projection_spec& q, uint64_t pool, uint64_t j,
                 uint64_t first, uint64_t count, scratch& sc, uint32_t* src, int32_t* w,
                 uint16_t* d) {
  const bool skip = skips_self(q);
  if (q.multapses && (q.rule == connection_rule::fixed_indegree ||
                      q.rule == connection_rule::fixed_total_number)) {
    draw_sources(q.seed, q.stream, j, count, pool, skip, src + first);
  } else {
    uint64_t pos = first;
    sources_of(q.seed, q, pool, skip, j, count, sc.mark, sc.chosen,
               [&](uint64_t s) { src[pos++] = static_cast<uint32_t>(s); });
  }
  if (w)
    draw_synapse_values(q.weight, q.seed, connectivity::weight_stream(q.stream), j, count,
                        sc.values, w + first,
                        [](double x) { return connectivity::fixed_weight(x); });
  const double dt = spec.run.dt;
  if (d)
    draw_synapse_values(q.delay, q.seed, connectivity::delay_stream(q.stream), j, count, sc.values,
                        d + first, [dt](double x) { return connectivity::delay_steps(x, dt); });
}

// Phase 3 of build_projection: the synapses regrouped by source into c's CSR rows by a counting
// sort over ranges of targets ("chunks", in target order, about as many synapses each). Chunk b
// counts its synapses per source, the counts give each (source, chunk) its place in the row after
// those of the chunks before it, and each chunk then writes its synapses in target order: every
// row comes out in ascending target order for any number of chunks and threads, and each thread
// reads only the synapses of the chunks it takes.
void regroup_by_source(csr_projection& c, const std::vector<uint64_t>& off,
                       const synapse_array<uint32_t>& src, const synapse_array<int32_t>& w_tmp,
                       const synapse_array<uint16_t>& d_tmp, thread_team* team, int threads) {
  const uint64_t n_src = c.n_source, n_tgt = c.n_target, total = off[n_tgt];
  const bool vary_w = !w_tmp.empty(), vary_d = !d_tmp.empty();
  // Four chunks a thread, so that a late thread holds up the others little, with their table of
  // places (8 bytes per source and chunk) at most a byte per synapse (connectivity_estimate).
  const uint64_t chunks = threads <= 1
                              ? 1
                              : std::clamp<uint64_t>(total / (8 * std::max<uint64_t>(n_src, 1)), 1,
                                                     4 * static_cast<uint64_t>(threads));
  std::vector<uint64_t> first(chunks + 1, n_tgt);  // first target of each chunk
  for (uint64_t b = 0; b < chunks; ++b)
    first[b] = static_cast<uint64_t>(
        std::lower_bound(off.begin(), off.end() - 1, total * b / chunks) - off.begin());
  std::vector<uint64_t> place(chunks * n_src, 0);
  parallel_items(team, threads, chunks, [&](uint64_t b, int) {
    uint64_t* count = place.data() + b * n_src;
    for (uint64_t e = off[first[b]]; e < off[first[b + 1]]; ++e) ++count[src[e]];
  });
  c.row.assign(n_src + 1, 0);
  for (uint64_t s = 0; s < n_src; ++s) {
    uint64_t at = c.row[s];
    for (uint64_t b = 0; b < chunks; ++b) {
      const uint64_t n = place[b * n_src + s];
      place[b * n_src + s] = at;
      at += n;
    }
    c.row[s + 1] = at;
  }
  c.targets.resize(total);
  if (vary_w) c.weights.resize(total);
  if (vary_d) c.delays.resize(total);
  // One array at a time: a pass writes at one place in every row, and the places of one array
  // stay in cache where those of three did not.
  std::vector<std::vector<uint64_t>> next_of(static_cast<size_t>(std::max(threads, 1)));
  parallel_items(team, threads, chunks, [&](uint64_t b, int t) {
    std::vector<uint64_t>& next = next_of[t];
    const uint64_t* start = place.data() + b * n_src;
    auto scatter = [&](auto&& write) {
      next.assign(start, start + n_src);
      for (uint64_t j = first[b]; j < first[b + 1]; ++j)
        for (uint64_t e = off[j]; e < off[j + 1]; ++e) write(next[src[e]]++, j, e);
    };
    scatter([&](uint64_t pos, uint64_t j, uint64_t) { c.targets[pos] = static_cast<uint32_t>(j); });
    if (vary_w) scatter([&](uint64_t pos, uint64_t, uint64_t e) { c.weights[pos] = w_tmp[e]; });
    if (vary_d) scatter([&](uint64_t pos, uint64_t, uint64_t e) { c.delays[pos] = d_tmp[e]; });
  });
}

}  // namespace

void draw_values(const distribution& d, uint64_t seed, uint32_t stream, uint64_t j, uint64_t k0,
                 uint64_t n, double* x) {
  using connectivity::draw_value;
  const distribution dd = d;  // a local copy, which the vectorised loops keep in registers
  if (dd.type == distribution::kind::uniform) {
#pragma omp simd
    for (uint64_t k = 0; k < n; ++k)
      x[k] = connectivity::uniform_value(dd, rng::uniform(seed, stream, j, k0 + k));
    return;
  }
  if (dd.type != distribution::kind::normal) {
    std::fill(x, x + n, dd.a);
    return;
  }
  // Draw k is normal4(..., k / 4).v[k % 4] (rng::normal); the first redraw of each is kept.
  const uint64_t groups = n / 4, block0 = k0 / 4;
#pragma omp simd
  for (uint64_t g = 0; g < groups; ++g) {
    const rng::f32x4 z = rng::normal4(seed, stream, j, block0 + g);
    x[4 * g] = connectivity::normal_value(dd, z.v[0]);
    x[4 * g + 1] = connectivity::normal_value(dd, z.v[1]);
    x[4 * g + 2] = connectivity::normal_value(dd, z.v[2]);
    x[4 * g + 3] = connectivity::normal_value(dd, z.v[3]);
  }
  for (uint64_t k = 4 * groups; k < n; ++k) x[k] = draw_value(d, seed, stream, j, k0 + k);
  // A draw outside the bounds is redone whole: its first try fails again, and the redraws
  // follow as in draw_value.
  for (uint64_t k = 0; k < n; ++k)
    if (!connectivity::within_bounds(dd, x[k])) x[k] = draw_value(d, seed, stream, j, k0 + k);
}

void draw_sources(uint64_t seed, uint32_t q, uint64_t j, uint64_t n, uint64_t pool, bool skip,
                  uint32_t* out) {
  using connectivity::pool_to_source;
  const uint32_t stream = connectivity::source_stream(q);
  if (pool > UINT32_MAX) {  // beyond the config's population sizes, but kept exact
    for (uint64_t k = 0; k < n; ++k)
      out[k] = static_cast<uint32_t>(
          pool_to_source(connectivity::draw_index(seed, q, j, k, pool), j, skip));
    return;
  }
  const uint32_t p = static_cast<uint32_t>(pool);
  // Draws 2 g and 2 g + 1 are words (0, 1) and (2, 3) of philox(..., g) (rng::bits64_half).
  const uint64_t pairs = n / 2;
#pragma omp simd
  for (uint64_t g = 0; g < pairs; ++g) {
    const rng::u32x4 w = rng::philox(seed, stream, j, g);
    out[2 * g] =
        static_cast<uint32_t>(pool_to_source(bounded_below_2_32(w.v[0], w.v[1], p), j, skip));
    out[2 * g + 1] =
        static_cast<uint32_t>(pool_to_source(bounded_below_2_32(w.v[2], w.v[3], p), j, skip));
  }
  if (n % 2)
    out[n - 1] = static_cast<uint32_t>(
        pool_to_source(connectivity::draw_index(seed, q, j, n - 1, pool), j, skip));
}

csr_projection build_projection(const experiment_spec& spec, const projection_spec& q, int threads,
                                neuron_slice targets) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::unique_ptr<thread_team> team;
  if (threads > 1) team = std::make_unique<thread_team>(threads);
  return build_projection(spec, q, team.get(), threads, targets);
}

csr_projection build_projection(const experiment_spec& spec, const projection_spec& q,
                                thread_team* team, int threads, neuron_slice targets) {
  if (!team) threads = 1;
  csr_projection c;
  c.index = q.index;
  c.source = q.source;
  c.target = q.target;
  c.synapse = q.synapse;
  c.n_source = spec.populations[q.source].size;
  targets = targets.clipped(spec.populations[q.target].size);
  c.n_target = targets.size();
  const uint64_t j0 = targets.lo;  // local target jj is target j0 + jj of the population
  c.min_delay = static_cast<uint16_t>(q.min_delay_steps(spec.run.dt));
  c.max_delay = static_cast<uint16_t>(q.max_delay_steps(spec.run.dt));
  const uint64_t seed = q.seed;
  const uint64_t pool = pool_size(spec, q);
  const bool skip = skips_self(q);
  const bool vary_w = !q.weight.constant(), vary_d = !q.delay.constant();
  if (!vary_w) c.weight = synapse_weight(q, 0, 0);
  if (!vary_d) c.delay = synapse_delay(spec, q, 0, 0);
  const uint64_t n_tgt = c.n_target;
  const bool needs_mark = q.rule == connection_rule::fixed_indegree && !q.multapses;
  // Targets in blocks of 256, each block claimed by the next free thread.
  constexpr uint64_t block = 256;
  const uint64_t blocks = (n_tgt + block - 1) / block;
  std::vector<scratch> per_thread(static_cast<size_t>(std::max(threads, 1)));

  // 1. Synapses per target: known in closed form except for fixed_probability, whose draws are
  // made twice (count, then fill) rather than stored per thread in an order that would vary.
  std::vector<uint64_t> off(n_tgt + 1, 0);
  if (q.rule == connection_rule::fixed_probability) {
    parallel_items(team, threads, blocks, [&](uint64_t b, int t) {
      for (uint64_t jl = b * block; jl < std::min(n_tgt, (b + 1) * block); ++jl) {
        uint64_t count = 0;
        sources_of(seed, q, pool, skip, j0 + jl, 0, per_thread[t].mark, per_thread[t].chosen,
                   [&](uint64_t) { ++count; });
        off[jl + 1] = count;
      }
    });
  } else if (q.rule == connection_rule::fixed_total_number) {
    const auto counts = total_number_counts(q, spec.populations[q.target].size, j0, j0 + n_tgt);
    std::copy(counts.begin(), counts.end(), off.begin() + 1);
  } else {
    const uint64_t count = q.rule == connection_rule::fixed_indegree ? q.indegree
                           : q.rule == connection_rule::one_to_one   ? (skip ? 0 : 1)
                                                                     : pool;
    std::fill(off.begin() + 1, off.end(), count);
  }
  for (uint64_t j = 0; j < n_tgt; ++j) off[j + 1] += off[j];
  const uint64_t total = off[n_tgt];

  // 2. Sources (and varying weights and delays) target by target.
  synapse_array<uint32_t> src(total);
  synapse_array<int32_t> w_tmp(vary_w ? total : 0);
  synapse_array<uint16_t> d_tmp(vary_d ? total : 0);
  parallel_items(team, threads, blocks, [&](uint64_t b, int t) {
    scratch& sc = per_thread[t];
    if (needs_mark && sc.mark.size() != pool) sc.mark.assign(pool, 0);
    for (uint64_t jl = b * block; jl < std::min(n_tgt, (b + 1) * block); ++jl)
      draw_target(spec, q, pool, j0 + jl, off[jl], off[jl + 1] - off[jl], sc, src.data(),
                  vary_w ? w_tmp.data() : nullptr, vary_d ? d_tmp.data() : nullptr);
  });

  // 3. CSR by source.
  regroup_by_source(c, off, src, w_tmp, d_tmp, team, threads);
  return c;
}

}  // namespace spikesim
