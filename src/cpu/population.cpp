// The CPU backend: a team of threads over tiles of neurons; each tile is advanced through a whole
// chunk of steps while its state stays in the L1 cache, with the model math shared with the CUDA
// kernels.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <type_traits>

#include <spikesim/backend.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/models/exp_synapse.hpp>
#include <spikesim/rng.hpp>

#include "chunk_exchange.hpp"
#include "connectivity.hpp"
#include "population_state.hpp"
#include "threads.hpp"

namespace spikesim {
namespace {

constexpr uint64_t tile_size = 512;  // neurons: state, drive and four steps of deviates fit L1

template <class T>
struct tile_scratch {
  T drive[tile_size];
  T eta[tile_size];
  T step_drive[tile_size];  // the drive plus the synaptic current of the current step
  T jump[tile_size];        // mV added to u at the end of the current step
  float z[4 * tile_size];
  double uniform[tile_size];  // the Poisson draws of the current step
  uint32_t count[tile_size];  // and their counts
  uint8_t flags[tile_size];
};

// The synaptic and Poisson input of a population (empty without projections onto it and
// Poisson drive). Ring buffers are [slot][neuron] with slot = step % slots: what arrives in step
// s, in fixed point (connectivity.hpp), summed exactly whatever the order of delivery.
template <class T>
struct synaptic_input {
  uint64_t slots = 0;
  std::vector<int64_t> ring_delta;               // 2^-24 mV: jumps of u
  std::vector<int64_t> ring_exp[max_exp_ports];  // 2^-24 nA: jumps of each exp current
  std::vector<T> i_syn[max_exp_ports];  // nA, the exp currents (population_state.hpp: ports)
  exp_synapse_coeffs<T> syn{};          // decay, gain, the Poisson's jump (population_state.hpp)
  double poisson_lambda = 0.0;          // jumps per step (rate x count x dt)
  double poisson_exp = 1.0;             // exp(-lambda)
  T poisson_weight = T(0);              // mV per jump
  std::vector<double> poisson_cdf;      // rng::poisson_cdf's table when lambda allows inversion
  bool poisson = false;
  bool any() const { return poisson || !ring_delta.empty() || syn.ports > 0; }
};

// The Poisson counts of neurons g0 .. g0 + n - 1 in step s, rng::poisson_from_cdf()'s for the
// uniform of each neuron's Philox call: the uniforms in one loop, then one pass over the tile per
// table entry that some uniform reaches (about 8 for 512 neurons at lambda = 2, of 25 entries).
// Both vectorise across neurons; a loop calling poisson_from_cdf per neuron was vectorised over
// the table instead, and a search per neuron mispredicts where it stops.
template <class T>
const uint32_t* poisson_counts(const synaptic_input<T>& in, uint64_t seed, uint32_t stream,
                               uint64_t g0, uint64_t n, uint64_t s, tile_scratch<T>& scratch) {
  double* __restrict uni = scratch.uniform;
  uint32_t* __restrict cnt = scratch.count;
  double top = 0.0;
#pragma omp simd reduction(max : top)
  for (uint64_t i = 0; i < n; ++i) {
    const rng::u32x4 w = rng::philox(seed, stream, g0 + i, s);
    uni[i] = rng::uniform_double(w.v[0], w.v[1]);
    cnt[i] = 0;
    top = std::max(top, uni[i]);
  }
  const double* cdf = in.poisson_cdf.data();
  const int n_cdf = static_cast<int>(in.poisson_cdf.size());
  int m = 0;
  for (; m < n_cdf && cdf[m] <= top; ++m) {  // the table does not decrease
    const double c = cdf[m];
#pragma omp simd
    for (uint64_t i = 0; i < n; ++i) cnt[i] += c <= uni[i] ? 1u : 0u;
  }
  if (m == n_cdf && in.poisson_cdf.back() < 1.0)  // stalled: the count is the cap (rng.hpp)
    for (uint64_t i = 0; i < n; ++i)
      if (cnt[i] == static_cast<uint32_t>(n_cdf)) cnt[i] = 1000;
  return cnt;
}

// One tile of one population through steps [first, first + steps).
template <class T, class Model, noise_kind noise, bool syn>
void run_tile(population_state<T>& pop, synaptic_input<T>& in, uint64_t seed, uint64_t lo,
              uint64_t hi, uint64_t first, uint64_t steps, tile_scratch<T>& scratch,
              std::vector<spike_record>& spikes, population_chunk& out, uint64_t trace_first_step) {
  // A local copy: stores through the uint8_t flags could alias a referenced struct, which would
  // make GCC reload the coefficients every iteration and give up on vectorising.
  const model_coeffs<T> c = pop.coeffs;
  const uint64_t n = hi - lo;
  const uint64_t g0 = pop.id_offset + lo;  // population-local id of the tile's first neuron
  T* __restrict u = pop.u.data() + lo;
  int32_t* __restrict ref = pop.ref.data() + lo;
  // Without OU input the step ignores eta; a scratch array keeps one loop for all noise kinds.
  T* __restrict eta = noise == noise_kind::ou ? pop.eta.data() + lo : scratch.eta;
  constexpr bool gated = Model::gates > 0;
  T* __restrict gm = gated ? pop.m.data() + lo : nullptr;
  T* __restrict gh = gated ? pop.h.data() + lo : nullptr;
  T* __restrict gn = gated ? pop.n.data() + lo : nullptr;
  T* __restrict drive = scratch.drive;
  uint8_t* __restrict flags = scratch.flags;
  const uint32_t stream = rng::stream_id(pop.stream, rng::noise);

  // Recorded neurons that live in this tile.
  const auto& tr = pop.trace_ids;
  const size_t tr_lo = std::lower_bound(tr.begin(), tr.end(), g0) - tr.begin();
  const size_t tr_hi = std::lower_bound(tr.begin(), tr.end(), g0 + n) - tr.begin();
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
          const rng::f32x4 q = rng::normal4(seed, stream, g0 + i, block);
          z[i] = q.v[0];
          z[tile_size + i] = q.v[1];
          z[2 * tile_size + i] = q.v[2];
          z[3 * tile_size + i] = q.v[3];
        }
      }
      if (tr_lo < tr_hi && s % every == 0) {
        const uint64_t row = (s - trace_first_step) / every;
        for (size_t k = tr_lo; k < tr_hi; ++k)
          out.traces[row * n_tr + k] = static_cast<float>(u[tr[k] - g0]);
      }
      const float* __restrict zs = scratch.z + (s & 3) * tile_size;
      T* __restrict step_drive = drive;
      T* __restrict jump = scratch.jump;
      if constexpr (syn) {
        // The input that arrives in step s: delta jumps and Poisson jumps land on u at the end of
        // the step (before the threshold check); exp synapses raise the current from the next
        // step on. Each slot is cleared once read, ready for step s + slots.
        const uint64_t slot_off = (s % in.slots) * pop.u.size() + lo;
        if (!in.ring_delta.empty()) {
          int64_t* __restrict r = in.ring_delta.data() + slot_off;
#pragma omp simd
          for (uint64_t i = 0; i < n; ++i) {
            jump[i] = static_cast<T>(r[i]) * static_cast<T>(fixed_point_resolution());
            r[i] = 0;
          }
        } else {
          for (uint64_t i = 0; i < n; ++i) jump[i] = T(0);
        }
        if (in.poisson) {
          // Jumps of u (delta), or of the exp synapses' current, summed in fixed point into the
          // slot of this step before it is read below.
          const uint32_t pstream = rng::stream_id(pop.stream, rng::poisson);
          int64_t* __restrict rx =
              in.syn.poisson ? in.ring_exp[in.syn.poisson_port].data() + slot_off : nullptr;
          const int64_t pf = in.syn.poisson_fixed;
          const T pw = in.poisson_weight;
          if (!in.poisson_cdf.empty()) {
            const uint32_t* cnt = poisson_counts(in, seed, pstream, g0, n, s, scratch);
            if (rx) {
#pragma omp simd
              for (uint64_t i = 0; i < n; ++i) rx[i] += static_cast<int64_t>(cnt[i]) * pf;
            } else {
#pragma omp simd
              for (uint64_t i = 0; i < n; ++i) jump[i] += static_cast<T>(cnt[i]) * pw;
            }
          } else {
            for (uint64_t i = 0; i < n; ++i) {
              const uint64_t k =
                  rng::poisson_count(seed, pstream, g0 + i, s, in.poisson_lambda, in.poisson_exp);
              if (rx)
                rx[i] += static_cast<int64_t>(k) * pf;
              else
                jump[i] += static_cast<T>(k) * pw;
            }
          }
        }
        // Each exp current adds its term to the drive, in port order (the second current's term
        // to the first's sum).
        for (uint32_t k = 0; k < in.syn.ports; ++k) {
          int64_t* __restrict r = in.ring_exp[k].data() + slot_off;
          T* __restrict isyn = in.i_syn[k].data() + lo;
          const T* from = step_drive;  // `drive`, then the sum so far (the same array)
          step_drive = scratch.step_drive;
          const T gain = in.syn.gain[k], decay = in.syn.decay[k];
#pragma omp simd
          for (uint64_t i = 0; i < n; ++i) {
            step_drive[i] = exp_current_step(from[i], isyn[i], r[i], gain, decay);
            r[i] = 0;
          }
        }
      }
#pragma omp simd
      for (uint64_t i = 0; i < n; ++i) {
        neuron_vars<T> v{u[i], ref[i], eta[i], T(0), T(0), T(0)};
        if constexpr (gated) {
          v.m = gm[i];
          v.h = gh[i];
          v.n = gn[i];
        }
        flags[i] = (syn ? step_neuron<T, Model, noise>(c, v, step_drive[i], zs[i], jump[i])
                        : step_neuron<T, Model, noise>(c, v, drive[i], zs[i]))
                       ? 1
                       : 0;
        u[i] = v.u;
        ref[i] = v.ref;
        eta[i] = v.eta;
        if constexpr (gated) {
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
          if (flags[i + k]) spikes.push_back({s, g0 + i + k});
      }
    }
  }
}

// One tile of a spike-source population through steps [first, first + steps): the spikes that
// models/source.hpp gives, the functions the CUDA kernel calls. A source has no state, no input
// and no traces (the config refuses them).
template <class T>
void run_source_tile(population_state<T>& pop, synaptic_input<T>&, uint64_t seed, uint64_t lo,
                     uint64_t hi, uint64_t first, uint64_t steps, tile_scratch<T>&,
                     std::vector<spike_record>& spikes, population_chunk&, uint64_t) {
  const source_coeffs& c = pop.coeffs.src;
  const uint64_t end = first + steps;
  if (c.kind == source_kind::times) {
    const uint64_t* st = pop.source_steps.data();
    for (uint64_t i = lo; i < hi; ++i) {
      const uint64_t e = pop.source_row[i + 1];
      for (uint64_t k = source_cursor(st, pop.source_row[i], e, first); k < e && st[k] < end; ++k)
        spikes.push_back({st[k], pop.id_offset + i});
    }
    return;
  }
  const uint32_t stream = rng::stream_id(pop.stream, rng::poisson);
  const uint64_t a = std::max(first, c.start_step), b = std::min(end, c.stop_step);
  for (uint64_t s = a; s < b; ++s)
    for (uint64_t i = lo; i < hi; ++i)
      if (poisson_source_spike(c, seed, stream, pop.id_offset + i, s))
        spikes.push_back({s, pop.id_offset + i});
}

// run_tile for the model, noise and input of one population, chosen once per run.
template <class T>
using tile_fn = void (*)(population_state<T>&, synaptic_input<T>&, uint64_t, uint64_t, uint64_t,
                         uint64_t, uint64_t, tile_scratch<T>&, std::vector<spike_record>&,
                         population_chunk&, uint64_t);

template <class T, class Model, bool syn>
tile_fn<T> pick_noise(noise_kind noise) {
  switch (noise) {
    case noise_kind::ou:
      return &run_tile<T, Model, noise_kind::ou, syn>;
    case noise_kind::white:
      return &run_tile<T, Model, noise_kind::white, syn>;
    case noise_kind::none:
      break;
  }
  return &run_tile<T, Model, noise_kind::none, syn>;
}

template <class T, class Model>
tile_fn<T> pick_input(noise_kind noise, bool syn) {
  return syn ? pick_noise<T, Model, true>(noise) : pick_noise<T, Model, false>(noise);
}

// The one dispatch on the model of this backend. Rate units and sources take neither synapses,
// Poisson input nor noise (the config refuses them).
template <class T>
tile_fn<T> pick_tile_fn(const population_state<T>& pop, const synaptic_input<T>& in) {
  return visit_model(pop.model, [&](auto tag) -> tile_fn<T> {
    using Model = typename decltype(tag)::type;
    if constexpr (std::is_same_v<Model, source_model>)
      return &run_source_tile<T>;
    else if constexpr (Model::takes_input)
      return pick_input<T, Model>(pop.noise, in.any());
    else
      return &run_tile<T, Model, noise_kind::none, false>;
  });
}

// A unit of work that a thread claims: neurons [lo, hi) of a population, a whole number of tiles.
// `block`: its index among the population's items when the rows of the projections onto it are
// split at the items' bounds beforehand (row_splits), else no_block.
constexpr uint32_t no_block = ~uint32_t{0};
struct work_item {
  uint32_t pop;
  uint64_t lo, hi;
  uint32_t block = no_block;
};

// Where each row of a projection crosses the bounds of the work items onto its target (for the
// team's full thread count): splits of row s at [s * (parts - 1), (s + 1) * (parts - 1)), each
// relative to the row's start. Delivery then reads a range's part of a row instead of searching
// for it: two threads searching every row did about 12% more delivery work than one (model A).
struct row_splits {
  uint32_t parts = 0;  // 0: none; the row is searched
  std::vector<uint32_t> at;
};

// What each thread keeps between pieces: its scratch, and its spikes per population of the last
// two pieces (by parity; `stamp` says which piece of the chunk a list holds) and of the pieces
// before them in the chunk.
template <class T>
struct thread_data {
  tile_scratch<T> scratch;
  std::vector<std::vector<spike_record>> piece[2];  // [parity][population]
  int64_t stamp[2] = {-1, -1};
  std::vector<std::vector<spike_record>> chunk;  // [population]
  std::vector<uint64_t> bad;                     // [population]: lowest non-finite neuron
  uint64_t events = 0;                           // synaptic events delivered in the chunk

  explicit thread_data(size_t pops)
      : piece{std::vector<std::vector<spike_record>>(pops),
              std::vector<std::vector<spike_record>>(pops)},
        chunk(pops),
        bad(pops, ~uint64_t{0}) {}
  // Moves the spikes of parity `par` into the chunk's lists.
  void retire(int par) {
    for (size_t p = 0; p < chunk.size(); ++p) {
      chunk[p].insert(chunk[p].end(), piece[par][p].begin(), piece[par][p].end());
      piece[par][p].clear();
    }
    stamp[par] = -1;
  }
};

template <class T>
class cpu_backend final : public backend {
 public:
  cpu_backend(const experiment_spec& spec, int threads, rank_exchange* exchange)
      : spec_(spec), run_(spec.run), exchange_(exchange) {
    threads_ = threads;
    slices_ = exchange_ ? partition_neurons(spec, exchange_->rank(), exchange_->ranks())
                        : partition_neurons(spec, 0, 1);
    for (const auto& p : spec.populations)
      pops_.push_back(make_population_state<T>(spec, p, slices_[p.index]));
    uint64_t neurons = 0;
    for (const auto& p : pops_) neurons += p.u.size();
    if (threads_ <= 0) threads_ = cpu_threads_for(neurons, omp_get_max_threads());
    inputs_.resize(pops_.size());
    spikes_.resize(pops_.size());
    received_.resize(pops_.size());
    if (threads_ > 1) team_ = std::make_unique<thread_team>(threads_);
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& q : spec.projections) {
      // The team's threads for a projection of 2^16 synapses or more; a smaller one costs less
      // than waking them.
      const bool small = estimate_connectivity(spec, q).synapses < (uint64_t{1} << 16);
      projections_.push_back(
          build_projection(spec, q, team_.get(), small ? 1 : threads_, slices_[q.target]));
      exp_port_.push_back(q.synapse == synapse_kind::exp ? exp_port(spec, q) : 0);
      stats_.synapses += projections_.back().synapses();
      stats_.synapse_bytes += projections_.back().bytes();
    }
    stats_.construction_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    setup_inputs(spec);
    if (exchange_) chunks_ = std::make_unique<chunk_exchange>(spec, *exchange_);
    setup_work();
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

  uint64_t max_chunk_steps(const experiment_spec& spec) const override {
    // Over ranks a chunk is integrated in overlapped pieces (advance_overlapped), whatever its
    // length; a long chunk leaves one exchange in many exposed.
    // In one process it is integrated in pieces too, each at most the shortest delay long.
    if (overlapped() || !exchange_) return ~uint64_t{0};
    return backend::max_chunk_steps(spec);
  }

  void advance(uint64_t first, uint64_t steps, chunk_output& out) override {
    if (overlapped()) return advance_overlapped(first, steps, out);
    if (!exchange_) return advance_pieces(first, steps, out);
    if (min_delay_ > 0 && steps > min_delay_) {
      // A chunk longer than the shortest delay would need spikes of this chunk within it.
      for (uint64_t done = 0; done < steps;) {
        const uint64_t n = std::min(min_delay_, steps - done);
        chunk_output part;
        advance(first + done, n, part);
        if (done == 0) {
          out = std::move(part);
        } else {
          out.steps += part.steps;
          for (size_t p = 0; p < pops_.size(); ++p) append(out.populations[p], part.populations[p]);
        }
        done += n;
      }
      return;
    }
    out.first_step = first;
    out.steps = steps;
    out.populations.resize(pops_.size());
    // Over ranks, a failure is reported to every rank in the exchange that follows (a rank
    // that threw here would leave the others waiting in it).
    std::string failure;
    try {
      advance_populations(first, steps, out);
    } catch (const numerical_error& e) {
      failure = e.what();
    }
    // The spikes of all ranks come back in spikes_, to be delivered below.
    chunks_->exchange(first, steps, failure, spikes_, out.populations);
    for (const auto& c : projections_) deliver(c, spikes_[c.source]);
  }

  // One process: the chunk in segments, each one run of the team (or of the calling thread
  // alone) with the number of threads the tuner gives, and each in pieces of at most the shortest
  // delay D. A work item delivers the spikes of the previous piece onto its neurons and then
  // integrates them through the piece: the spikes of a piece arrive D steps later at the earliest,
  // in the next piece or after it, so one barrier per piece suffices and a thread is never more
  // than a piece ahead of another. The last piece's spikes are delivered before the chunk ends,
  // so that the rings hold everything at a checkpoint.
  void advance_pieces(uint64_t first, uint64_t steps, chunk_output& out) {
    begin_chunk(first, steps, out);
    pieces_done_ = 0;
    for (uint64_t done = 0; done < steps;) {
      uint64_t n = tuner_.probing() ? probe_steps() : segment_;
      n = std::min(n, steps - done);
      const int nt = tuner_.threads();
      const auto t0 = std::chrono::steady_clock::now();
      run_segment(nt, first + done, n, done + n == steps, true, out);
      tuner_.measured(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                      static_cast<double>(n) * static_cast<double>(local_neurons_));
      done += n;
    }
    end_chunk(first, steps, out);
  }

  // Over ranks with a shortest delay D >= 2, in pieces of at most D / 2 steps: a spike of piece j
  // arrives in piece j + 2 at the earliest, so piece j's exchange runs while piece j + 1 is
  // integrated, and its spikes are delivered after j + 1 and before j + 2. They land in the slots
  // of steps from j + 2 on, which j + 1 has not read, and no slot of a step still to be read is
  // reused (max_delay + 1 slots; setup_inputs). Only the last piece's exchange is waited for with
  // nothing to integrate.
  void advance_overlapped(uint64_t first, uint64_t steps, chunk_output& out) {
    const uint64_t piece = min_delay_ / 2;
    chunk_output sent;  // the piece whose exchange is under way
    bool started = false;
    out.first_step = first;
    out.steps = 0;
    out.populations.assign(pops_.size(), {});
    for (uint64_t done = 0; done < steps;) {
      const uint64_t n = std::min(piece, steps - done);
      chunk_output part;
      part.first_step = first + done;
      part.steps = n;
      part.populations.resize(pops_.size());
      // A rank that fails sends its failure and integrates no further; every rank throws it
      // when that piece's exchange finishes, after the same piece.
      std::string failure;
      try {
        advance_populations(first + done, n, part);
      } catch (const numerical_error& e) {
        failure = e.what();
      }
      if (started) chunks_->finish(received_, sent.populations);
      chunks_->start(first + done, n, failure, spikes_);
      if (started) deliver_and_append(sent, out);
      sent = std::move(part);
      started = true;
      done += n;
      if (!failure.empty()) break;
    }
    if (!started) return;
    chunks_->finish(received_, sent.populations);
    deliver_and_append(sent, out);
    chunks_->exchange_traces(out.populations);
  }

  void deliver_and_append(const chunk_output& part, chunk_output& out) {
    for (const auto& c : projections_) deliver(c, received_[c.source]);
    out.steps += part.steps;
    for (size_t p = 0; p < pops_.size(); ++p) append(out.populations[p], part.populations[p]);
  }

  bool overlapped() const { return exchange_ && min_delay_ >= 2; }

  // Over ranks: the populations through [first, first + steps) in one piece, delivering
  // nothing (the caller exchanges the spikes, left in spikes_, and delivers them).
  void advance_populations(uint64_t first, uint64_t steps, chunk_output& out) {
    begin_chunk(first, steps, out);
    pieces_done_ = 0;
    run_segment(threads_, first, steps, true, false, out);
    end_chunk(first, steps, out);
  }

  network_stats network() const override { return stats_; }

  std::vector<state_array> save_state() const override {
    std::vector<state_array> st;
    for (size_t p = 0; p < pops_.size(); ++p) {
      const auto& s = pops_[p];
      const auto& in = inputs_[p];
      const std::string base = "population/" + s.name + "/";
      st.push_back(state_array::of(base + "u", s.u));
      st.push_back(state_array::of(base + "ref", s.ref));
      if (!s.eta.empty()) st.push_back(state_array::of(base + "eta", s.eta));
      for (uint32_t g = 0; g < model_gates(s.model); ++g)
        if (!s.gate(g).empty())
          st.push_back(state_array::of(base + model_gate_name(s.model, g), s.gate(g)));
      for (uint32_t k = 0; k < in.syn.ports; ++k)
        if (!in.i_syn[k].empty())
          st.push_back(state_array::of(base + exp_current_name(k), in.i_syn[k]));
      if (!in.ring_delta.empty()) st.push_back(state_array::of(base + "ring_delta", in.ring_delta));
      for (uint32_t k = 0; k < in.syn.ports; ++k)
        if (!in.ring_exp[k].empty())
          st.push_back(state_array::of(base + exp_ring_name(k), in.ring_exp[k]));
    }
    st.push_back(
        state_array::of("network/synaptic_events", std::vector<uint64_t>{stats_.synaptic_events}));
    // Over ranks: the whole network's state, as one process saves it, on rank 0.
    return exchange_ ? gather_state(spec_, st, *exchange_) : st;
  }

  void restore_state(const std::vector<state_array>& whole) override {
    const std::vector<state_array> st =
        exchange_ ? slice_state(spec_, whole, exchange_->rank(), exchange_->ranks()) : whole;
    auto find = [&](const std::string& name) -> const state_array& {
      for (const auto& a : st)
        if (a.name == name) return a;
      throw input_error("checkpoint has no array '" + name + "'");
    };
    auto load = [&](const std::string& name, auto& v) {
      using V = typename std::decay_t<decltype(v)>::value_type;
      std::vector<V> x = find(name).template as<V>();
      if (x.size() != v.size())
        throw input_error("checkpoint array '" + name + "' has " + std::to_string(x.size()) +
                          " values where " + std::to_string(v.size()) + " were expected");
      v = std::move(x);
    };
    for (size_t p = 0; p < pops_.size(); ++p) {
      auto& s = pops_[p];
      auto& in = inputs_[p];
      const std::string base = "population/" + s.name + "/";
      load(base + "u", s.u);
      load(base + "ref", s.ref);
      if (!s.eta.empty()) load(base + "eta", s.eta);
      for (uint32_t g = 0; g < model_gates(s.model); ++g)
        if (!s.gate(g).empty()) load(base + model_gate_name(s.model, g), s.gate(g));
      for (uint32_t k = 0; k < in.syn.ports; ++k)
        if (!in.i_syn[k].empty()) load(base + exp_current_name(k), in.i_syn[k]);
      if (!in.ring_delta.empty()) load(base + "ring_delta", in.ring_delta);
      for (uint32_t k = 0; k < in.syn.ports; ++k)
        if (!in.ring_exp[k].empty()) load(base + exp_ring_name(k), in.ring_exp[k]);
    }
    std::vector<uint64_t> events{0};
    load("network/synaptic_events", events);
    stats_.synaptic_events = events[0];
  }

 private:
  // Ring buffers sized for the longest delay onto each population; Poisson coefficients.
  void setup_inputs(const experiment_spec& spec) {
    std::vector<uint64_t> max_delay(pops_.size(), 0);
    for (const auto& c : projections_) {
      max_delay[c.target] = std::max<uint64_t>(max_delay[c.target], c.max_delay);
      min_delay_ = min_delay_ == 0 ? c.min_delay : std::min<uint64_t>(min_delay_, c.min_delay);
    }
    for (size_t p = 0; p < pops_.size(); ++p) {
      auto& in = inputs_[p];
      const uint64_t n = pops_[p].u.size();
      // Arrivals of a chunk reach at most max_delay steps past its last step, and the steps
      // still to be read span at most max_delay slots: max_delay + 1 slots never collide.
      in.slots = max_delay[p] + 1;
      bool delta = false;
      for (const auto& c : projections_)
        if (c.target == p && c.synapse == synapse_kind::delta) delta = true;
      if (delta) in.ring_delta.assign(in.slots * n, 0);
      in.syn = make_exp_synapse_coeffs<T>(spec, static_cast<uint32_t>(p));
      for (uint32_t k = 0; k < in.syn.ports; ++k) {
        in.ring_exp[k].assign(in.slots * n, 0);
        in.i_syn[k].assign(n, T(0));
      }
      const auto& po = spec.populations[p].input.poisson;
      if (po.active()) {
        in.poisson = true;
        in.poisson_lambda = po.rate * 1e-3 * run_.dt * static_cast<double>(po.count);
        in.poisson_exp = std::exp(-in.poisson_lambda);
        in.poisson_weight = static_cast<T>(po.weight);
        if (in.poisson_lambda <= rng::poisson_inversion_max) {
          in.poisson_cdf.resize(1001);
          in.poisson_cdf.resize(
              rng::poisson_cdf(in.poisson_lambda, in.poisson_exp, in.poisson_cdf.data(), 1001));
        }
      }
    }
  }

  // Adds the weights of the spikes `sp` of c's source onto targets [lo, hi) into the ring slots
  // of their arrival steps; returns the synaptic events. Rows are sorted by target, so a range's
  // part of a row is read from the row's splits (an item's `block`, row_splits) or found by
  // row_lower_bound; integer sums make the order of delivery irrelevant.
  uint64_t deliver_range(const csr_projection& c, const std::vector<spike_record>& sp, uint64_t lo,
                         uint64_t hi, uint32_t block = no_block) {
    auto& in = inputs_[c.target];
    int64_t* ring =
        (c.synapse == synapse_kind::exp ? in.ring_exp[exp_port_[c.index]] : in.ring_delta).data();
    const uint64_t n = c.n_target, slots = in.slots;
    const bool all = lo == 0 && hi >= n;
    const uint32_t* tg = c.targets.data();
    uint64_t events = 0;
    // The rows of the next spikes are fetched ahead, so that their misses overlap this spike's
    // work: the first 512 bytes of the range's part of a row (the hardware's stream prefetcher
    // takes over after a few lines; on model A 8 lines 4 spikes ahead ran 2 threads about 6%
    // faster than 1 line 2 spikes ahead, 1 thread 3%), or where row_lower_bound will look first.
    constexpr size_t ahead = 4;
    constexpr int lines = 8;
    const row_splits& rs = splits_[c.index];
    const bool split = !all && block != no_block;
    const uint32_t* at = split ? rs.at.data() : nullptr;
    const uint64_t cuts = split ? rs.parts - 1 : 0;
    auto part_begin = [&](uint64_t id) { return block == 0 ? 0 : at[id * cuts + block - 1]; };
    auto part_end = [&](uint64_t id, uint64_t len) {
      return block + 1 == rs.parts ? len : at[id * cuts + block];
    };
    auto prefetch = [&](const spike_record& s) {
      const uint64_t b = c.row[s.id], e = c.row[s.id + 1];
      if (split || all) {
        const uint32_t* q = tg + b + (split ? part_begin(s.id) : 0);
        for (int l = 0; l < lines; ++l) fetch_ahead(q + 16 * l);  // 16 targets a 64-byte line
        return;
      }
      fetch_ahead(tg + (lo == 0 ? b : b + (e - b) * lo / n));
      if (hi < n) fetch_ahead(tg + b + (e - b) * hi / n);
    };
    for (size_t i = 0; i < std::min(ahead, sp.size()); ++i) prefetch(sp[i]);
    for (size_t i = 0; i < sp.size(); ++i) {
      const spike_record& s = sp[i];
      if (i + ahead < sp.size()) prefetch(sp[i + ahead]);
      uint64_t b = c.row[s.id], e = c.row[s.id + 1];
      if (split) {
        const uint64_t row_b = b;
        e = row_b + part_end(s.id, e - row_b);
        b = row_b + part_begin(s.id);
      } else if (!all) {
        const uint64_t row_b = b;
        b = row_lower_bound(tg, row_b, e, lo, n);
        e = row_lower_bound(tg, row_b, e, hi, n);
      }
      events += e - b;
      const uint64_t base = s.step % slots;
      if (c.weights.empty() && c.delays.empty()) {
        uint64_t slot = base + c.delay;
        if (slot >= slots) slot -= slots;
        int64_t* r = ring + slot * n;
        const int64_t w = c.weight;
        for (uint64_t k = b; k < e; ++k) r[tg[k]] += w;
      } else {
        for (uint64_t k = b; k < e; ++k) {
          uint64_t slot = base + (c.delays.empty() ? c.delay : c.delays[k]);
          if (slot >= slots) slot -= slots;
          ring[slot * n + tg[k]] += c.weights.empty() ? c.weight : c.weights[k];
        }
      }
    }
    return events;
  }

  // Over ranks, after each exchange: the spikes of all ranks, threads owning disjoint ranges of
  // target neurons.
  void deliver(const csr_projection& c, const std::vector<spike_record>& sp) {
    if (sp.empty()) return;
    uint64_t events = 0;
    for (const auto& s : sp) events += c.row[s.id + 1] - c.row[s.id];
    stats_.synaptic_events += events;
    const int nt =
        static_cast<int>(std::min<uint64_t>(threads_, std::max<uint64_t>(1, events / 65536)));
    const uint64_t n = c.n_target;
    if (nt <= 1) {
      deliver_range(c, sp, 0, n);
      return;
    }
    team_->run(nt, [&](int t, int T_) { deliver_range(c, sp, n * t / T_, n * (t + 1) / T_); });
  }

  // The work items for each thread count, the threads' data, the segment and piece lengths.
  void setup_work() {
    for (size_t p = 0; p < pops_.size(); ++p)
      tile_fns_.push_back(pick_tile_fn(pops_[p], inputs_[p]));
    incoming_.resize(pops_.size());
    for (const auto& c : projections_) incoming_[c.target].push_back(&c);
    items_.resize(threads_ + 1);
    for (int nt = 1; nt <= threads_; ++nt) {
      for (size_t p = 0; p < pops_.size(); ++p) {
        const uint64_t n = pops_[p].u.size();
        if (n == 0) continue;
        const uint64_t tiles = (n + tile_size - 1) / tile_size;
        // One item per population for one thread; else one per tile, or, onto a population that
        // receives spikes, one per thread: each item searches every spike's row for its range,
        // and on model A (2 threads) 1 item per thread took 1.15 s where 2 or 4 took 1.26 s
        // idle, with the same times beside a busy process (benchmarks/README.md, CPU threads).
        uint64_t blocks = nt == 1 ? 1 : tiles;
        if (nt > 1 && !incoming_[p].empty()) blocks = std::min<uint64_t>(tiles, nt);
        for (uint64_t b = 0; b < blocks; ++b) {
          const uint64_t lo = tiles * b / blocks * tile_size;
          const uint64_t hi = std::min(n, tiles * (b + 1) / blocks * tile_size);
          items_[nt].push_back({static_cast<uint32_t>(p), lo, hi});
        }
      }
    }
    split_rows();
    for (int t = 0; t < threads_; ++t)
      data_.push_back(std::make_unique<thread_data<T>>(pops_.size()));
    tuner_ = thread_tuner(threads_);
    for (const auto& p : pops_) local_neurons_ += p.u.size();
    // A segment holds >= 2^19 neuron-steps (some ms of one thread) and >= 16 steps: long enough
    // for its timing to mean something and for the team's start to cost nothing; whole pieces,
    // and a multiple of the four steps one draw of deviates serves.
    piece_ = min_delay_ > 0 ? min_delay_ : ~uint64_t{0};
    segment_ = std::max<uint64_t>(
        16, ((uint64_t{1} << 19) / std::max<uint64_t>(local_neurons_, 1) + 3) / 4 * 4);
    if (min_delay_ > 0) segment_ = (segment_ + piece_ - 1) / piece_ * piece_;
  }

  // The rows of each projection split at the bounds of the items onto its target, for the full
  // thread count (row_splits); those items get their block. A population of one item, or with a
  // projection onto it of 2^32 synapses or more (relative offsets are 32-bit), keeps searching.
  // One search per row and bound, on the team.
  void split_rows() {
    splits_.assign(projections_.size(), {});
    if (threads_ <= 1) return;
    std::vector<uint32_t> items(pops_.size(), 0);
    for (const auto& it : items_[threads_]) ++items[it.pop];
    std::vector<bool> split(pops_.size());
    for (size_t p = 0; p < pops_.size(); ++p) split[p] = items[p] > 1 && !incoming_[p].empty();
    for (const auto& c : projections_)
      if (c.synapses() >= (uint64_t{1} << 32)) split[c.target] = false;
    std::vector<std::vector<uint64_t>> bounds(pops_.size());  // interior bounds per population
    std::vector<uint32_t> next(pops_.size(), 0);
    for (auto& it : items_[threads_]) {
      if (!split[it.pop]) continue;
      it.block = next[it.pop]++;
      if (it.lo > 0) bounds[it.pop].push_back(it.lo);
    }
    for (const auto& c : projections_) {
      if (!split[c.target]) continue;
      const auto& cut = bounds[c.target];
      row_splits& rs = splits_[c.index];
      rs.parts = static_cast<uint32_t>(cut.size() + 1);
      rs.at.resize(c.n_source * cut.size());
      const uint32_t* tg = c.targets.data();
      parallel_items(team_.get(), threads_, (c.n_source + 4095) / 4096, [&](uint64_t chunk, int) {
        const uint64_t end = std::min(c.n_source, (chunk + 1) * 4096);
        for (uint64_t s = chunk * 4096; s < end; ++s)
          for (size_t k = 0; k < cut.size(); ++k)
            rs.at[s * cut.size() + k] = static_cast<uint32_t>(
                row_lower_bound(tg, c.row[s], c.row[s + 1], cut[k], c.n_target) - c.row[s]);
      });
    }
  }

  // A probe segment: half a segment, in whole pieces (or steps of four without projections).
  uint64_t probe_steps() const {
    const uint64_t unit = min_delay_ > 0 ? piece_ : 4;
    return std::max(unit, segment_ / 2 / unit * unit);
  }

  // Empties the chunk's output and the threads' lists.
  void begin_chunk(uint64_t first, uint64_t steps, chunk_output& out) {
    out.first_step = first;
    out.steps = steps;
    out.populations.resize(pops_.size());
    trace_first_.resize(pops_.size());
    for (size_t p = 0; p < pops_.size(); ++p) {
      auto& o = out.populations[p];
      o.spike_steps.clear();
      o.spike_ids.clear();
      o.counts.assign(steps, 0);
      const uint64_t every = pops_[p].trace_every;
      trace_first_[p] = (first + every - 1) / every * every;
      o.trace_rows =
          trace_first_[p] < first + steps ? (first + steps - 1 - trace_first_[p]) / every + 1 : 0;
      o.traces.assign(o.trace_rows * pops_[p].trace_ids.size(), 0.0f);
    }
    for (auto& d : data_) {
      d->retire(0);
      d->retire(1);
      for (auto& c : d->chunk) c.clear();
      std::fill(d->bad.begin(), d->bad.end(), ~uint64_t{0});
      d->events = 0;
    }
  }

  // Takes the next unclaimed item of the phase whose items end at `end`; false when none is left.
  bool claim(uint64_t end, uint64_t& i) {
    i = claimed_.load(std::memory_order_relaxed);
    while (i < end)
      if (claimed_.compare_exchange_weak(i, i + 1, std::memory_order_relaxed)) return true;
    return false;
  }

  // Steps [first, first + steps) with nt threads; `last`: the chunk ends with them; `fused`:
  // spikes are delivered by the items (one process), else left for the caller.
  void run_segment(int nt, uint64_t first, uint64_t steps, bool last, bool fused,
                   chunk_output& out) {
    const std::vector<work_item>& items = items_[nt];
    const uint64_t m = items.size();
    const uint64_t len = fused ? std::min(piece_, steps) : steps;
    const uint64_t pieces = (steps + len - 1) / len;
    const uint64_t base = claimed_.load(), k0 = pieces_done_;
    auto body = [&](int t, int) {
      thread_data<T>& d = *data_[t];
      for (uint64_t j = 0; j <= pieces; ++j) {
        const int64_t k = static_cast<int64_t>(k0 + j);  // piece of the chunk
        const bool deliver_only = j == pieces;           // the last piece's spikes
        if (deliver_only && !(last && fused)) break;
        const int par = static_cast<int>(k & 1);
        const uint64_t a = first + j * len, n = std::min(len, first + steps - a);
        if (!deliver_only) {
          if (d.stamp[par] >= 0) d.retire(par);  // piece k - 2: read by the items of k - 1
          d.stamp[par] = k;
        }
        uint64_t i;
        while (claim(base + (j + 1) * m, i)) {
          const work_item& it = items[i - base - j * m];
          if (fused && k > 0) deliver_onto(it, k - 1, d);
          if (deliver_only) continue;
          for (uint64_t lo = it.lo; lo < it.hi; lo += tile_size)
            tile_fns_[it.pop](pops_[it.pop], inputs_[it.pop], pops_[it.pop].seed, lo,
                              std::min(it.hi, lo + tile_size), a, n, d.scratch,
                              d.piece[par][it.pop], out.populations[it.pop], trace_first_[it.pop]);
          if (last && j + 1 == pieces) check_finite(it, d);
          if (exchange_) exchange_->progress();  // a started exchange advances between items
        }
        if (!deliver_only) team_barrier(nt);
      }
    };
    if (nt > 1)
      team_->run(nt, body);
    else
      body(0, 1);
    claimed_.store(base + (pieces + (last && fused ? 1 : 0)) * m);
    pieces_done_ += pieces;
  }

  void team_barrier(int nt) {
    if (nt > 1) team_->barrier();
  }

  // The spikes of piece k of every thread onto the neurons of `it`.
  void deliver_onto(const work_item& it, int64_t k, thread_data<T>& d) {
    const int par = static_cast<int>(k & 1);
    for (const csr_projection* c : incoming_[it.pop])
      for (const auto& other : data_)
        if (other->stamp[par] == k)
          d.events += deliver_range(*c, other->piece[par][c->source], it.lo, it.hi, it.block);
  }

  void check_finite(const work_item& it, thread_data<T>& d) {
    const auto& u = pops_[it.pop].u;
    for (uint64_t i = it.lo; i < it.hi; ++i) {
      if (!std::isfinite(u[i])) {
        d.bad[it.pop] = std::min(d.bad[it.pop], i);
        return;
      }
    }
  }

  // Gathers the threads' spikes into spikes_ and the chunk, sorted by (step, id), and throws for
  // the first population (the lowest id) whose potential is not finite, so that the message does
  // not depend on the thread count (the CUDA backend reports the lowest too).
  void end_chunk(uint64_t first, uint64_t steps, chunk_output& out) {
    for (size_t p = 0; p < pops_.size(); ++p) {
      auto& all = spikes_[p];
      all.clear();
      uint64_t bad = ~uint64_t{0};
      for (auto& d : data_) {
        if (p == 0) {
          d->retire(0);
          d->retire(1);
          stats_.synaptic_events += d->events;
        }
        all.insert(all.end(), d->chunk[p].begin(), d->chunk[p].end());
        bad = std::min(bad, d->bad[p]);
      }
      const auto& pop = pops_[p];
      if (bad != ~uint64_t{0}) {
        std::ostringstream o;
        o << "numerical failure: the membrane potential of neuron " << pop.id_offset + bad
          << " of population '" << pop.name << "' is not finite between t = " << first * run_.dt
          << " and " << (first + steps) * run_.dt
          << " ms (reduce dt, or check the parameters and input)";
        throw numerical_error(o.str());
      }
      std::sort(all.begin(), all.end());
      auto& o = out.populations[p];
      o.total_spikes = all.size();
      for (const auto& sp : all) ++o.counts[sp.step - first];
      if (pop.record_spikes) {
        o.spike_steps.resize(all.size());
        o.spike_ids.resize(all.size());
        for (size_t k = 0; k < all.size(); ++k) {
          o.spike_steps[k] = all[k].step;
          o.spike_ids[k] = all[k].id;
        }
      }
    }
  }

  experiment_spec spec_;
  run_spec run_;
  int threads_;                                               // the most threads a segment uses
  std::unique_ptr<thread_team> team_;                         // with threads_ > 1
  thread_tuner tuner_{1};                                     // set in setup_work()
  std::vector<std::unique_ptr<thread_data<T>>> data_;         // per thread
  std::vector<std::vector<work_item>> items_;                 // per thread count
  std::vector<tile_fn<T>> tile_fns_;                          // per population
  std::vector<std::vector<const csr_projection*>> incoming_;  // per population: onto it
  std::vector<uint64_t> trace_first_;  // per population: the chunk's first traced step
  std::atomic<uint64_t> claimed_{0};   // work items claimed so far, over all phases
  uint64_t pieces_done_ = 0;           // pieces of the current chunk
  uint64_t piece_ = 0, segment_ = 0;   // steps
  uint64_t local_neurons_ = 0;
  rank_exchange* exchange_ = nullptr;       // null: the whole network in this process
  std::vector<neuron_slice> slices_;        // per population: the neurons simulated here
  std::unique_ptr<chunk_exchange> chunks_;  // with exchange_
  std::vector<population_state<T>> pops_;
  std::vector<synaptic_input<T>> inputs_;          // per population
  std::vector<std::vector<spike_record>> spikes_;  // per population: the last chunk's spikes
  // Over ranks, per population: the spikes of all ranks in the piece being delivered.
  std::vector<std::vector<spike_record>> received_;
  std::vector<csr_projection> projections_;
  std::vector<row_splits> splits_;  // per projection
  std::vector<uint32_t> exp_port_;  // per projection: the target's exp current it feeds
  uint64_t min_delay_ = 0;          // steps; 0 without projections
  network_stats stats_;
};

}  // namespace

std::unique_ptr<backend> make_cpu_backend(const experiment_spec& spec, int threads,
                                          rank_exchange* exchange) {
  if (exchange && exchange->ranks() <= 1) exchange = nullptr;
  if (spec.run.prec == precision::single)
    return std::make_unique<cpu_backend<float>>(spec, threads, exchange);
  return std::make_unique<cpu_backend<double>>(spec, threads, exchange);
}

}  // namespace spikesim
