// Builds a projection's synapses from the seed: each target draws its sources from its own
// Philox counters (so the order of work does not matter), then the synapses are regrouped by
// source into CSR rows, each row in ascending target order. Algorithms: docs/architecture.md.
#include "connectivity.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>

namespace spikesim {
namespace {

bool skips_self(const projection_spec& q) {
  return q.source == q.target && !q.autapses;
}

uint64_t pool_size(const experiment_spec& spec, const projection_spec& q) {
  return spec.populations[q.source].size - (skips_self(q) ? 1 : 0);
}

// Calls out(source) for each synapse of target j, in draw order. `mark` holds one zero byte per
// pool entry for fixed_indegree without multapses and is left zeroed again.
template <class Out>
void sources_of(uint64_t seed, const projection_spec& q, uint64_t pool, bool skip, uint64_t j,
                std::vector<uint8_t>& mark, std::vector<uint64_t>& chosen, Out&& out) {
  using connectivity::draw_index;
  using connectivity::pool_to_source;
  switch (q.rule) {
    case connection_rule::fixed_indegree: {
      const uint64_t K = q.indegree;
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

}  // namespace

int32_t synapse_weight(const projection_spec& q, uint64_t j, uint64_t k) {
  return connectivity::weight_fixed(q.weight, q.seed, q.stream, j, k);
}

uint16_t synapse_delay(const experiment_spec& spec, const projection_spec& q, uint64_t j,
                       uint64_t k) {
  return connectivity::delay_in_steps(q.delay, q.seed, q.stream, j, k, spec.run.dt);
}

uint64_t synapse_bytes(const projection_spec& q) {
  return 4 + (q.weight.constant() ? 0 : 4) + (q.delay.constant() ? 0 : 2);
}

connectivity_estimate estimate_connectivity(const experiment_spec& spec, const projection_spec& q) {
  const uint64_t n_tgt = spec.populations[q.target].size;
  const uint64_t n_src = spec.populations[q.source].size;
  const uint64_t pool = pool_size(spec, q);
  double syn = 0;
  switch (q.rule) {
    case connection_rule::fixed_indegree:
      syn = static_cast<double>(q.indegree) * n_tgt;
      break;
    case connection_rule::fixed_probability:
      syn = q.p * static_cast<double>(pool) * n_tgt;
      break;
    case connection_rule::one_to_one:
      syn = skips_self(q) ? 0.0 : static_cast<double>(n_tgt);
      break;
    case connection_rule::all_to_all:
      syn = static_cast<double>(pool) * n_tgt;
      break;
  }
  connectivity_estimate e;
  e.synapses = static_cast<uint64_t>(syn);
  e.bytes = e.synapses * synapse_bytes(q) + (n_src + 1) * 8;
  e.peak_bytes = e.bytes + e.synapses * synapse_bytes(q) + (n_tgt + 1) * 8;
  return e;
}

connectivity_estimate estimate_connectivity(const experiment_spec& spec) {
  connectivity_estimate total;
  for (const auto& q : spec.projections) {
    const auto e = estimate_connectivity(spec, q);
    total.synapses += e.synapses;
    total.bytes += e.bytes;
    // Projections are built one after the other: the transient part is needed once.
    total.peak_bytes = std::max(total.peak_bytes, total.bytes + (e.peak_bytes - e.bytes));
  }
  return total;
}

csr_projection build_projection(const experiment_spec& spec, const projection_spec& q, int threads,
                                neuron_slice targets) {
  if (threads <= 0) threads = omp_get_max_threads();
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
  const uint64_t n_tgt = c.n_target, n_src = c.n_source;
  const int64_t n_tgt_i = static_cast<int64_t>(n_tgt);
  const bool needs_mark = q.rule == connection_rule::fixed_indegree && !q.multapses;

  // 1. Synapses per target: known in closed form except for fixed_probability, whose draws are
  // made twice (count, then fill) rather than stored per thread in an order that would vary.
  std::vector<uint64_t> off(n_tgt + 1, 0);
#pragma omp parallel num_threads(threads)
  {
    std::vector<uint8_t> mark;
    std::vector<uint64_t> chosen;
#pragma omp for schedule(dynamic, 256)
    for (int64_t jj = 0; jj < n_tgt_i; ++jj) {
      const uint64_t jl = static_cast<uint64_t>(jj), j = j0 + jl;
      uint64_t count = 0;
      switch (q.rule) {
        case connection_rule::fixed_indegree:
          count = q.indegree;
          break;
        case connection_rule::one_to_one:
          count = skip ? 0 : 1;
          break;
        case connection_rule::all_to_all:
          count = pool;
          break;
        case connection_rule::fixed_probability:
          sources_of(seed, q, pool, skip, j, mark, chosen, [&](uint64_t) { ++count; });
          break;
      }
      off[jl + 1] = count;
    }
  }
  for (uint64_t j = 0; j < n_tgt; ++j) off[j + 1] += off[j];
  const uint64_t total = off[n_tgt];

  // 2. Sources (and varying weights and delays) target by target.
  std::vector<uint32_t> src(total);
  std::vector<int32_t> w_tmp(vary_w ? total : 0);
  std::vector<uint16_t> d_tmp(vary_d ? total : 0);
#pragma omp parallel num_threads(threads)
  {
    std::vector<uint8_t> mark(needs_mark ? pool : 0, 0);
    std::vector<uint64_t> chosen;
#pragma omp for schedule(dynamic, 256)
    for (int64_t jj = 0; jj < n_tgt_i; ++jj) {
      const uint64_t jl = static_cast<uint64_t>(jj), j = j0 + jl;
      uint64_t pos = off[jl], k = 0;
      sources_of(seed, q, pool, skip, j, mark, chosen, [&](uint64_t s) {
        src[pos] = static_cast<uint32_t>(s);
        if (vary_w) w_tmp[pos] = synapse_weight(q, j, k);
        if (vary_d) d_tmp[pos] = synapse_delay(spec, q, j, k);
        ++pos;
        ++k;
      });
    }
  }

  // 3. CSR by source. Each thread owns a range of sources and scans all synapses in target
  // order, so every row comes out in ascending target order whatever the thread count.
  c.row.assign(n_src + 1, 0);
  c.targets.resize(total);
  if (vary_w) c.weights.resize(total);
  if (vary_d) c.delays.resize(total);
#pragma omp parallel num_threads(threads)
  {
    const uint64_t nt = static_cast<uint64_t>(omp_get_num_threads());
    const uint64_t t = static_cast<uint64_t>(omp_get_thread_num());
    const uint64_t lo = n_src * t / nt, hi = n_src * (t + 1) / nt;
    for (uint64_t e = 0; e < total; ++e)
      if (src[e] >= lo && src[e] < hi) ++c.row[src[e] + 1];
#pragma omp barrier
#pragma omp single
    for (uint64_t s = 0; s < n_src; ++s) c.row[s + 1] += c.row[s];
    std::vector<uint64_t> cursor(c.row.begin() + lo, c.row.begin() + hi);
    for (uint64_t j = 0; j < n_tgt; ++j) {
      for (uint64_t e = off[j]; e < off[j + 1]; ++e) {
        const uint64_t s = src[e];
        if (s < lo || s >= hi) continue;
        const uint64_t pos = cursor[s - lo]++;
        c.targets[pos] = static_cast<uint32_t>(j);
        if (vary_w) c.weights[pos] = w_tmp[e];
        if (vary_d) c.delays[pos] = d_tmp[e];
      }
    }
  }
  return c;
}

}  // namespace spikesim
