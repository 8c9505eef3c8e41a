// The CPU backend: OpenMP over tiles of neurons; each tile is advanced through a whole chunk of
// steps while its state stays in the L1 cache, with the model math shared with the CUDA kernels.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include <spikesim/backend.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/rng.hpp>

#include "population_state.hpp"

namespace spikesim {
namespace {

constexpr uint64_t tile_size = 512;  // neurons: state, drive and four steps of deviates fit L1

struct spike_rec {
  uint64_t step;
  uint64_t id;
  bool operator<(const spike_rec& o) const { return step != o.step ? step < o.step : id < o.id; }
};

template <class T>
struct tile_scratch {
  T drive[tile_size];
  T eta[tile_size];
  float z[4 * tile_size];
  uint8_t flags[tile_size];
};

// One tile of one population through steps [first, first + steps).
template <class T, model_kind kind, noise_kind noise>
void run_tile(population_state<T>& pop, uint64_t seed, uint64_t lo, uint64_t hi, uint64_t first,
              uint64_t steps, tile_scratch<T>& scratch, std::vector<spike_rec>& spikes,
              population_chunk& out, uint64_t trace_first_step) {
  // A local copy: stores through the uint8_t flags could alias a referenced struct, which would
  // make GCC reload the coefficients every iteration and give up on vectorising.
  const model_coeffs<T> c = pop.coeffs;
  const uint64_t n = hi - lo;
  T* __restrict u = pop.u.data() + lo;
  int32_t* __restrict ref = pop.ref.data() + lo;
  // Without OU input the step ignores eta; a scratch array keeps one loop for all noise kinds.
  T* __restrict eta = noise == noise_kind::ou ? pop.eta.data() + lo : scratch.eta;
  T* __restrict gm = kind == model_kind::hh ? pop.m.data() + lo : nullptr;
  T* __restrict gh = kind == model_kind::hh ? pop.h.data() + lo : nullptr;
  T* __restrict gn = kind == model_kind::hh ? pop.n.data() + lo : nullptr;
  T* __restrict drive = scratch.drive;
  uint8_t* __restrict flags = scratch.flags;
  const uint32_t stream = rng::stream_id(pop.index, rng::noise);

  // Recorded neurons that live in this tile.
  const auto& tr = pop.trace_ids;
  const size_t tr_lo = std::lower_bound(tr.begin(), tr.end(), lo) - tr.begin();
  const size_t tr_hi = std::lower_bound(tr.begin(), tr.end(), hi) - tr.begin();
  const uint64_t every = pop.trace_every;
  const size_t n_tr = tr.size();

  const uint64_t end = first + steps;
  uint64_t block = ~uint64_t{0};
  uint64_t s = first;
  while (s < end) {
    // The active pulses only change at pulse edges: hold the drive between them.
    uint64_t seg_end = end;
    for (const auto& p : pop.pulses) {
      if (p.start_step > s) seg_end = std::min(seg_end, p.start_step);
      if (p.stop_step > s) seg_end = std::min(seg_end, p.stop_step);
    }
    for (uint64_t i = 0; i < n; ++i) drive[i] = pop.I_base[lo + i];
    for (const auto& p : pop.pulses) {
      if (p.start_step <= s && s < p.stop_step) {
        if (p.amp.size() == 1) {
          const T a = p.amp[0];
          for (uint64_t i = 0; i < n; ++i) drive[i] += a;
        } else {
          for (uint64_t i = 0; i < n; ++i) drive[i] += p.amp[lo + i];
        }
      }
    }
    for (uint64_t i = 0; i < n; ++i) drive[i] *= c.input_gain;

    for (; s < seg_end; ++s) {
      if (noise != noise_kind::none && (s >> 2) != block) {
        block = s >> 2;
        float* __restrict z = scratch.z;
#pragma omp simd
        for (uint64_t i = 0; i < n; ++i) {
          // By value: a local array passed by pointer keeps GCC from vectorising this loop.
          const rng::f32x4 q = rng::normal4(seed, stream, lo + i, block);
          z[i] = q.v[0];
          z[tile_size + i] = q.v[1];
          z[2 * tile_size + i] = q.v[2];
          z[3 * tile_size + i] = q.v[3];
        }
      }
      if (tr_lo < tr_hi && s % every == 0) {
        const uint64_t row = (s - trace_first_step) / every;
        for (size_t k = tr_lo; k < tr_hi; ++k)
          out.traces[row * n_tr + k] = static_cast<float>(u[tr[k] - lo]);
      }
      const float* __restrict zs = scratch.z + (s & 3) * tile_size;
#pragma omp simd
      for (uint64_t i = 0; i < n; ++i) {
        neuron_vars<T> v{u[i], ref[i], eta[i], T(0), T(0), T(0)};
        if constexpr (kind == model_kind::hh) {
          v.m = gm[i];
          v.h = gh[i];
          v.n = gn[i];
        }
        flags[i] = step_neuron<T, kind, noise>(c, v, drive[i], zs[i]) ? 1 : 0;
        u[i] = v.u;
        ref[i] = v.ref;
        eta[i] = v.eta;
        if constexpr (kind == model_kind::hh) {
          gm[i] = v.m;
          gh[i] = v.h;
          gn[i] = v.n;
        }
      }
      // Spikes are rare: skip eight neurons at a time.
      for (uint64_t i = 0; i < n; i += 8) {
        uint64_t word = 0;
        const uint64_t len = std::min<uint64_t>(8, n - i);
        std::memcpy(&word, flags + i, len);
        if (word == 0) continue;
        for (uint64_t k = 0; k < len; ++k)
          if (flags[i + k]) spikes.push_back({s, lo + i + k});
      }
    }
  }
}

template <class T>
class cpu_backend final : public backend {
 public:
  cpu_backend(const experiment_spec& spec, int threads) : run_(spec.run), threads_(threads) {
    if (threads_ <= 0) threads_ = omp_get_max_threads();
    for (const auto& p : spec.populations) pops_.push_back(make_population_state<T>(spec, p));
  }

  std::string name() const override { return "cpu"; }

  std::string device() const override {
    std::ifstream in("/proc/cpuinfo");
    std::string line, model = "unknown CPU";
    while (std::getline(in, line)) {
      if (line.rfind("model name", 0) == 0) {
        model = line.substr(line.find(':') + 2);
        break;
      }
    }
    std::ostringstream o;
    o << model << ", " << threads_ << (threads_ == 1 ? " thread" : " threads");
    return o.str();
  }

  std::vector<double> potentials(uint32_t p) const override {
    return std::vector<double>(pops_[p].u.begin(), pops_[p].u.end());
  }

  void advance(uint64_t first, uint64_t steps, chunk_output& out) override {
    out.first_step = first;
    out.steps = steps;
    out.populations.resize(pops_.size());
    for (size_t p = 0; p < pops_.size(); ++p)
      advance_population(pops_[p], first, steps, out.populations[p]);
  }

 private:
  template <model_kind kind, noise_kind noise>
  void advance_tiles(population_state<T>& pop, uint64_t first, uint64_t steps,
                     population_chunk& out, uint64_t trace_first) {
    const uint64_t n = pop.u.size();
    const int64_t tiles = static_cast<int64_t>((n + tile_size - 1) / tile_size);
    std::vector<spike_rec> all;
    std::mutex merge;
    std::atomic<int64_t> bad{-1};
#pragma omp parallel num_threads(threads_)
    {
      tile_scratch<T> scratch;
      std::vector<spike_rec> local;
#pragma omp for schedule(static)
      for (int64_t t = 0; t < tiles; ++t) {
        const uint64_t lo = static_cast<uint64_t>(t) * tile_size;
        const uint64_t hi = std::min(n, lo + tile_size);
        run_tile<T, kind, noise>(pop, run_.seed, lo, hi, first, steps, scratch, local, out,
                                 trace_first);
        for (uint64_t i = lo; i < hi; ++i) {
          if (!std::isfinite(pop.u[i])) {
            int64_t expected = -1;
            bad.compare_exchange_strong(expected, static_cast<int64_t>(i));
            break;
          }
        }
      }
      std::lock_guard<std::mutex> lock(merge);
      all.insert(all.end(), local.begin(), local.end());
    }
    if (bad.load() >= 0) {
      std::ostringstream o;
      o << "numerical failure: the membrane potential of neuron " << bad.load()
        << " of population '" << pop.name << "' is not finite between t = " << first * run_.dt
        << " and " << (first + steps) * run_.dt
        << " ms (reduce dt, or check the parameters and input)";
      throw numerical_error(o.str());
    }
    std::sort(all.begin(), all.end());
    out.total_spikes = all.size();
    for (const auto& sp : all) ++out.counts[sp.step - first];
    if (pop.record_spikes) {
      out.spike_steps.resize(all.size());
      out.spike_ids.resize(all.size());
      for (size_t k = 0; k < all.size(); ++k) {
        out.spike_steps[k] = all[k].step;
        out.spike_ids[k] = all[k].id;
      }
    }
  }

  template <model_kind kind>
  void dispatch_noise(population_state<T>& pop, uint64_t first, uint64_t steps,
                      population_chunk& out, uint64_t trace_first) {
    switch (pop.noise) {
      case noise_kind::ou:
        return advance_tiles<kind, noise_kind::ou>(pop, first, steps, out, trace_first);
      case noise_kind::white:
        return advance_tiles<kind, noise_kind::white>(pop, first, steps, out, trace_first);
      case noise_kind::none:
        return advance_tiles<kind, noise_kind::none>(pop, first, steps, out, trace_first);
    }
  }

  void advance_population(population_state<T>& pop, uint64_t first, uint64_t steps,
                          population_chunk& out) {
    out.spike_steps.clear();
    out.spike_ids.clear();
    out.counts.assign(steps, 0);
    const uint64_t every = pop.trace_every;
    const uint64_t trace_first = (first + every - 1) / every * every;
    out.trace_rows =
        trace_first < first + steps ? (first + steps - 1 - trace_first) / every + 1 : 0;
    out.traces.assign(out.trace_rows * pop.trace_ids.size(), 0.0f);
    switch (pop.model) {
      case model_kind::lif:
        return dispatch_noise<model_kind::lif>(pop, first, steps, out, trace_first);
      case model_kind::eif:
        return dispatch_noise<model_kind::eif>(pop, first, steps, out, trace_first);
      case model_kind::hh:
        return dispatch_noise<model_kind::hh>(pop, first, steps, out, trace_first);
      case model_kind::rate:
        return advance_tiles<model_kind::rate, noise_kind::none>(pop, first, steps, out,
                                                                 trace_first);
    }
  }

  run_spec run_;
  int threads_;
  std::vector<population_state<T>> pops_;
};

}  // namespace

std::unique_ptr<backend> make_cpu_backend(const experiment_spec& spec, int threads) {
  if (spec.run.prec == precision::single)
    return std::make_unique<cpu_backend<float>>(spec, threads);
  return std::make_unique<cpu_backend<double>>(spec, threads);
}

}  // namespace spikesim
