// Output of two backends (or of one process and of several ranks) compared bit for bit, with a
// failure message that names the first difference: the population, the spike, neuron and step,
// and both values in decimal and as hex bits, so that a failed run is understood from its log.
#pragma once

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/spec.hpp>

namespace spikesim::testing {

// "-65.250000000000000 (0xc050500000000000)": the value and its bits.
template <class F>
std::string value_bits(F x) {
  static_assert(sizeof(F) == 4 || sizeof(F) == 8);
  using U = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  U bits;
  std::memcpy(&bits, &x, sizeof bits);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%.*g (0x%0*" PRIx64 ")", sizeof(F) == 4 ? 9 : 17,
                static_cast<double>(x), static_cast<int>(2 * sizeof(F)),
                static_cast<uint64_t>(bits));
  return buf;
}

// Names the two sides in messages: the reference first ("cpu", "one process").
struct parity_sides {
  std::string a = "cpu";
  std::string b = "cuda";
};

// Spikes, per-step counts, totals and traces of population `ps` in `a` and `b`, bit for bit.
// `first_step`: the step the recording starts at (trace rows are taken at the multiples of
// trace_every from there on).
inline ::testing::AssertionResult same_population_output(const population_spec& ps,
                                                         const population_chunk& a,
                                                         const population_chunk& b,
                                                         const parity_sides& s = {},
                                                         uint64_t first_step = 0) {
  std::ostringstream o;
  o << "population '" << ps.name << "': ";
  const size_t na = a.spike_ids.size(), nb = b.spike_ids.size();
  if (a.spike_steps.size() != na || b.spike_steps.size() != nb)
    return ::testing::AssertionFailure() << o.str() << "spike steps and ids differ in length";
  for (size_t k = 0; k < std::min(na, nb); ++k)
    if (a.spike_steps[k] != b.spike_steps[k] || a.spike_ids[k] != b.spike_ids[k])
      return ::testing::AssertionFailure()
             << o.str() << "first difference at spike " << k << " of " << na << " (" << s.a
             << ") and " << nb << " (" << s.b << "): " << s.a << " neuron " << a.spike_ids[k]
             << " at step " << a.spike_steps[k] << ", " << s.b << " neuron " << b.spike_ids[k]
             << " at step " << b.spike_steps[k];
  if (na != nb) {
    const auto& longer = na > nb ? a : b;
    const size_t k = std::min(na, nb);
    return ::testing::AssertionFailure()
           << o.str() << na << " spikes (" << s.a << ") and " << nb << " (" << s.b
           << "), the same up to spike " << k << "; the first extra one (" << (na > nb ? s.a : s.b)
           << "): neuron " << longer.spike_ids[k] << " at step " << longer.spike_steps[k];
  }
  if (a.counts.size() != b.counts.size())
    return ::testing::AssertionFailure() << o.str() << a.counts.size() << " steps counted (" << s.a
                                         << "), " << b.counts.size() << " (" << s.b << ")";
  for (size_t k = 0; k < a.counts.size(); ++k)
    if (a.counts[k] != b.counts[k])
      return ::testing::AssertionFailure()
             << o.str() << "first differing spike count at step " << first_step + k << ": "
             << a.counts[k] << " (" << s.a << "), " << b.counts[k] << " (" << s.b << ")";
  if (a.total_spikes != b.total_spikes)
    return ::testing::AssertionFailure() << o.str() << a.total_spikes << " spikes in all (" << s.a
                                         << "), " << b.total_spikes << " (" << s.b << ")";
  const size_t n_tr = ps.record.traces.size();
  if (a.trace_rows != b.trace_rows || a.traces.size() != b.traces.size() ||
      a.traces.size() != a.trace_rows * n_tr)
    return ::testing::AssertionFailure()
           << o.str() << a.trace_rows << " trace rows of " << a.traces.size() << " values (" << s.a
           << "), " << b.trace_rows << " of " << b.traces.size() << " (" << s.b << "), " << n_tr
           << " neurons traced";
  const uint64_t every = ps.record.trace_every;
  const uint64_t t0 = (first_step + every - 1) / every * every;
  for (size_t k = 0; k < a.traces.size(); ++k)
    if (std::memcmp(&a.traces[k], &b.traces[k], sizeof(float)) != 0)
      return ::testing::AssertionFailure()
             << o.str() << "first differing trace value: neuron " << ps.record.traces[k % n_tr]
             << " at step " << t0 + k / n_tr * every << " (row " << k / n_tr
             << "): " << value_bits(a.traces[k]) << " (" << s.a << "), " << value_bits(b.traces[k])
             << " (" << s.b << ")";
  return ::testing::AssertionSuccess();
}

// Every population of `spec`, as above.
inline ::testing::AssertionResult same_output(const experiment_spec& spec,
                                              const std::vector<population_chunk>& a,
                                              const std::vector<population_chunk>& b,
                                              const parity_sides& s = {}, uint64_t first_step = 0) {
  if (a.size() != spec.populations.size() || b.size() != spec.populations.size())
    return ::testing::AssertionFailure()
           << a.size() << " populations (" << s.a << "), " << b.size() << " (" << s.b << "), "
           << spec.populations.size() << " in the spec";
  for (size_t p = 0; p < a.size(); ++p) {
    auto r = same_population_output(spec.populations[p], a[p], b[p], s, first_step);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

// Membrane potentials (mV) of population `ps`, bit for bit.
inline ::testing::AssertionResult same_potentials(const population_spec& ps,
                                                  const std::vector<double>& a,
                                                  const std::vector<double>& b,
                                                  const parity_sides& s = {}) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure()
           << "population '" << ps.name << "': " << a.size() << " potentials (" << s.a << "), "
           << b.size() << " (" << s.b << ")";
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0)
      return ::testing::AssertionFailure()
             << "population '" << ps.name << "': first differing potential: neuron " << i << ": "
             << value_bits(a[i]) << " (" << s.a << "), " << value_bits(b[i]) << " (" << s.b << ")";
  return ::testing::AssertionSuccess();
}

}  // namespace spikesim::testing
