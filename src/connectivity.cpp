// The host-side plan of connectivity that both backends share: the quantised weight and delay of
// a synapse, the storage a projection needs, and fixed_total_number's synapses per target (a
// multinomial split by binomial draws down a binary tree of target ranges).
#include <algorithm>
#include <cmath>
#include <functional>

#include <spikesim/connectivity.hpp>
#include <spikesim/rng.hpp>

namespace spikesim {

namespace connectivity {

bool skips_self(const projection_spec& q) {
  return q.source == q.target && !q.autapses;
}

uint64_t pool_size(const experiment_spec& spec, const projection_spec& q) {
  return spec.populations[q.source].size - (skips_self(q) ? 1 : 0);
}

}  // namespace connectivity

using connectivity::pool_size;
using connectivity::skips_self;

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
    case connection_rule::fixed_total_number:
      syn = static_cast<double>(q.total);
      break;
  }
  connectivity_estimate e;
  e.synapses = static_cast<uint64_t>(syn);
  e.bytes = e.synapses * synapse_bytes(q) + (n_src + 1) * 8;
  // The build's transients: the synapses target by target, the offsets of each target's, and
  // the table of places of the regrouping by source (at most a byte per synapse, or a chunk).
  e.peak_bytes =
      e.bytes + e.synapses * synapse_bytes(q) + (n_tgt + 1) * 8 + std::max(e.synapses, n_src * 8);
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

uint64_t binomial_inversion(uint64_t n, double p, double u) {
  if (n == 0 || p <= 0.0) return 0;
  if (p >= 1.0) return n;
  const double nd = static_cast<double>(n), q = 1.0 - p, odds = p / q;
  const uint64_t mode = std::min<uint64_t>(n, static_cast<uint64_t>((nd + 1.0) * p));
  const double md = static_cast<double>(mode);
  const double pm =
      std::exp(std::lgamma(nd + 1.0) - std::lgamma(md + 1.0) - std::lgamma(nd - md + 1.0) +
               md * std::log(p) + (nd - md) * std::log1p(-p));
  double sum = pm;
  if (u < sum) return mode;
  // up: k = mode + 1, ...; down: k = mode - 1, ...; each with its probability by the recurrence
  uint64_t up = mode, down = mode;
  double p_up = pm, p_down = pm;
  for (;;) {
    const bool can_up = up < n;
    const bool can_down = down > 0;
    if (!can_up && !can_down) return mode;  // rounding left u beyond the summed mass
    if (can_up) {
      p_up *= static_cast<double>(n - up) / static_cast<double>(up + 1) * odds;
      ++up;
      sum += p_up;
      if (u < sum) return up;
    }
    if (can_down) {
      p_down *= static_cast<double>(down) / (static_cast<double>(n - down + 1) * odds);
      --down;
      sum += p_down;
      if (u < sum) return down;
    }
  }
}

std::vector<uint64_t> total_number_counts(const projection_spec& q, uint64_t n_target, uint64_t lo,
                                          uint64_t hi) {
  hi = std::min(hi, n_target);
  lo = std::min(lo, hi);
  std::vector<uint64_t> counts(hi - lo, 0);
  const uint32_t stream = rng::stream_id(q.stream, rng::synapse_count);
  // The synapses of targets [a, b) are `n`; the split of range [a, b) is keyed by (a, b).
  std::function<void(uint64_t, uint64_t, uint64_t)> split = [&](uint64_t a, uint64_t b,
                                                                uint64_t n) {
    if (n == 0 || b <= lo || a >= hi) return;
    if (b - a == 1) {
      counts[a - lo] = n;
      return;
    }
    const uint64_t mid = a + (b - a) / 2;
    const double p = static_cast<double>(mid - a) / static_cast<double>(b - a);
    const uint64_t left = binomial_inversion(n, p, rng::uniform(q.seed, stream, a, b));
    split(a, mid, left);
    split(mid, b, n - left);
  };
  if (n_target > 0) split(0, n_target, q.total);
  return counts;
}

}  // namespace spikesim
