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

// Calls out(source) for each synapse of target j, in draw order; `count` is the target's number
// of synapses where it is known before the draws (fixed_indegree, fixed_total_number). `mark`
// holds one zero byte per pool entry for fixed_indegree without multapses and is left zeroed.
template <class Out>
void sources_of(uint64_t seed, const projection_spec& q, uint64_t pool, bool skip, uint64_t j,
                uint64_t count, std::vector<uint8_t>& mark, std::vector<uint64_t>& chosen,
                Out&& out) {
  using connectivity::draw_index;
  using connectivity::pool_to_source;
  switch (q.rule) {
    case connection_rule::fixed_indegree:
    case connection_rule::fixed_total_number: {  // the latter always with multapses
      const uint64_t K = count;
      if (q.multapses) {
        for (uint64_t k = 0; k < K; ++k)
          out(pool_to_source(draw_index(seed, q.stream, j, k, pool), j, skip));
        return;
      }
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
  parallel_items(team, threads, chunks, [&](uint64_t b, int) {
    uint64_t* next = place.data() + b * n_src;
    for (uint64_t j = first[b]; j < first[b + 1]; ++j) {
      for (uint64_t e = off[j]; e < off[j + 1]; ++e) {
        const uint64_t pos = next[src[e]]++;
        c.targets[pos] = static_cast<uint32_t>(j);
        if (vary_w) c.weights[pos] = w_tmp[e];
        if (vary_d) c.delays[pos] = d_tmp[e];
      }
    }
  });
}

}  // namespace

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
  struct scratch {
    std::vector<uint8_t> mark;
    std::vector<uint64_t> chosen;
  };
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
    for (uint64_t jl = b * block; jl < std::min(n_tgt, (b + 1) * block); ++jl) {
      const uint64_t j = j0 + jl;
      uint64_t pos = off[jl], k = 0;
      const uint64_t count = off[jl + 1] - off[jl];
      sources_of(seed, q, pool, skip, j, count, sc.mark, sc.chosen, [&](uint64_t s) {
        src[pos] = static_cast<uint32_t>(s);
        if (vary_w) w_tmp[pos] = synapse_weight(q, j, k);
        if (vary_d) d_tmp[pos] = synapse_delay(spec, q, j, k);
        ++pos;
        ++k;
      });
    }
  });

  // 3. CSR by source.
  regroup_by_source(c, off, src, w_tmp, d_tmp, team, threads);
  return c;
}

}  // namespace spikesim
