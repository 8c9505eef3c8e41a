// The CUDA backend: its populations (population.cuh) advanced chunk by chunk, one kernel launch
// per population and chunk (population.cu), their spikes collected (spike_collection.cu),
// exchanged over ranks and delivered (spike_delivery.cu); the CPU backend's counterpart is
// cpu_backend in src/cpu/population.cpp, whose output it reproduces.
//
// Organisation of a chunk, per population (each population has its own stream, so the kernels
// of small populations run side by side):
//   launch    zero the per-step counts and the flags, run the kernel, copy the flags (spike
//             count, first non-finite neuron) to pinned memory;
//   collect   wait for the flags; a non-finite potential throws; a spike buffer that overflowed
//             is grown to the counted size and the chunk is run again from its start state;
//             then radix-sort the spike keys on the device (cub) and copy keys, counts and
//             traces to pinned memory;
//   decode    turn keys into (step, id) pairs in the caller's chunk_output.
// The state is double-buffered: a kernel reads u/ref/eta from one copy and writes the other, so
// the start state of a chunk survives for a rerun without a copy, and the copies only swap
// roles once a chunk is collected.
//
// Overlap with the host: advance() must return chunk k complete, so the host's writing of
// chunk k (sorting is on the device) can only overlap a kernel already running for chunk k + 1.
// advance() therefore launches chunk k + 1 speculatively, with the same length (or the rest of
// the run, if shorter), into the spare state copy before decoding chunk k, and the next call
// collects it. The speculation is dropped, at the cost of the idle GPU time it used, if the call
// asks for another range; the state is unaffected. A collect-side interface (advance()
// launching, a separate call handing back chunk k - 1, or a recorder that takes ownership of
// pinned buffers) would make the pipelining explicit and let the sort and copies of chunk k
// overlap the host too; with the present interface only the kernel overlaps.
//
// Over ranks (docs/scaling.md) a backend holds its rank's slice of each population: array
// element i is neuron id_offset + i, the population-local id that keys its random numbers, its
// trace column and its spike keys. Every population gathers its spikes then; after a chunk they
// are sorted and copied to the host, exchanged with the other ranks (chunk_exchange, shared with
// the CPU backend), and the spikes of all ranks are copied back to the device and delivered into
// the local rings before the next chunk is launched, speculatively as above.
#include <algorithm>
#include <chrono>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/simulation.hpp>

#include "chunk_exchange.hpp"
#include "connectivity.cuh"
#include "cuda_check.cuh"
#include "population.cuh"

namespace spikesim {
namespace {

template <class T>
class cuda_backend final : public backend {
 public:
  // With `exchange` (more than one rank), the backend simulates its rank's slice.
  cuda_backend(const experiment_spec& spec, int device, rank_exchange* exchange)
      : spec_(spec),
        device_(device),
        description_(cuda::describe_device(device)),
        dt_(spec.run.dt),
        total_steps_(spec.run.steps()),
        exchange_(exchange) {
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    if (exchange_) chunks_ = std::make_unique<chunk_exchange>(spec, *exchange_);
    slices_ = exchange_ ? partition_neurons(spec, exchange_->rank(), exchange_->ranks())
                        : partition_neurons(spec, 0, 1);
    int sms = 0;
    SPIKESIM_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device_));
    const uint64_t chunk = cuda::device_chunk_steps(spec);
    for (const auto& p : spec.populations)
      pops_.push_back(cuda::make_device_population<T>(spec, p, slices_[p.index],
                                                      exchange_ != nullptr, chunk, sms));
    setup_inputs(spec);
    // cudaMemcpy from pageable memory may return before its DMA has landed, and the populations'
    // non-blocking streams do not wait for the legacy stream that carried it.
    SPIKESIM_CUDA_CHECK(cudaDeviceSynchronize());
    build_network(spec);
  }

  ~cuda_backend() override {
    // A speculative launch or a delivery may still run: wait for them before their buffers are
    // freed.
    cudaSetDevice(device_);
    for (auto& p : pops_) cudaStreamSynchronize(p->stream.get());
    cudaStreamSynchronize(net_stream_.get());
    cudaGetLastError();
  }

  std::string name() const override { return "cuda"; }
  std::string device() const override { return description_; }
  uint64_t chunk_neuron_steps() const override { return cuda::device_chunk_neuron_steps; }

  network_stats network() const override {
    network_stats s = stats_;
    if (!network_) return s;
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    net_stream_.synchronize();
    unsigned long long events = 0;
    SPIKESIM_CUDA_CHECK(cudaMemcpy(&events, events_.data(), sizeof events, cudaMemcpyDeviceToHost));
    s.synaptic_events = events;
    return s;
  }

  // The state after the last advance() is the copy `cur` of each population's state and the
  // rings as the last delivery left them: a speculative launch only reads both (the rings are
  // cleared when a chunk is accepted, not by the kernel). It is still let finish, so that no copy
  // below runs beside a kernel, and stays valid for the next advance().
  std::vector<state_array> save_state() const override {
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    for (const auto& p : pops_) p->stream.synchronize();
    net_stream_.synchronize();
    std::vector<state_array> st;
    for (const auto& p : pops_) cuda::save_population_state(*p, st);
    st.push_back(state_array::of("network/synaptic_events",
                                 std::vector<uint64_t>{network().synaptic_events}));
    // Over ranks: the whole network's state, as one process saves it, on rank 0.
    return exchange_ ? gather_state(spec_, st, *exchange_) : st;
  }

  // Writes into the copy `cur`; a pending speculative launch, which started from the old state,
  // is dropped first.
  void restore_state(const std::vector<state_array>& whole) override {
    const std::vector<state_array> st =
        exchange_ ? slice_state(spec_, whole, exchange_->rank(), exchange_->ranks()) : whole;
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    for (const auto& p : pops_) p->stream.synchronize();
    net_stream_.synchronize();
    pending_ = false;
    for (auto& p : pops_) cuda::restore_population_state(*p, st);
    const std::vector<uint64_t> events =
        cuda::find_state_array(st, "network/synaptic_events").template as<uint64_t>();
    if (events.size() != 1)
      throw input_error("checkpoint array 'network/synaptic_events' has " +
                        std::to_string(events.size()) + " values where 1 was expected");
    if (network_)
      SPIKESIM_CUDA_CHECK(
          cudaMemcpy(events_.data(), events.data(), sizeof(uint64_t), cudaMemcpyHostToDevice));
    // As in the constructor: the non-blocking streams do not wait for these copies.
    SPIKESIM_CUDA_CHECK(cudaDeviceSynchronize());
  }

  std::vector<double> potentials(uint32_t population) const override {
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    const auto& p = *pops_.at(population);
    // The current copy is only read by a speculative launch, so this copy need not wait for it.
    const std::vector<T> u = cuda::download(p.u[p.cur], p.n);
    return std::vector<double>(u.begin(), u.end());
  }

  void advance(uint64_t first, uint64_t steps, chunk_output& out) override {
    SPIKESIM_CUDA_CHECK(cudaSetDevice(device_));
    out.first_step = first;
    out.steps = steps;
    out.populations.resize(pops_.size());
    // A launch longer than the shortest delay would need spikes of its own steps.
    const uint64_t limit =
        min_delay_ > 0 ? std::min(cuda::max_launch_steps, min_delay_) : cuda::max_launch_steps;
    if (steps <= limit) {
      run_chunk(first, steps, out.populations);
      return;
    }
    for (auto& c : out.populations) c = population_chunk{};
    std::vector<population_chunk> part(pops_.size());
    for (uint64_t done = 0; done < steps;) {
      const uint64_t n = std::min(limit, steps - done);
      run_chunk(first + done, n, part);
      for (size_t k = 0; k < part.size(); ++k) append(out.populations[k], part[k]);
      done += n;
    }
  }

 private:
  using population = cuda::device_population<T>;

  // The event launches wait for: the last delivery of spikes, in a network.
  const cuda::event* delivered() const { return network_ ? &delivered_ : nullptr; }

  // The inputs of each population (rings, exp currents, Poisson terms) and, per projection, the
  // exp current it feeds and the shortest delay.
  void setup_inputs(const experiment_spec& spec) {
    for (auto& p : pops_) cuda::setup_population_inputs(*p, spec, exchange_ != nullptr);
    for (const auto& q : spec.projections) {
      exp_port_.push_back(q.synapse == synapse_kind::exp ? exp_port(spec, q) : 0);
      const uint64_t d = q.min_delay_steps(dt_);
      min_delay_ = min_delay_ == 0 ? d : std::min(min_delay_, d);
    }
  }

  void build_network(const experiment_spec& spec) {
    if (spec.projections.empty()) return;
    network_ = true;
    events_.allocate(1);
    SPIKESIM_CUDA_CHECK(cudaMemset(events_.data(), 0, sizeof(unsigned long long)));
    SPIKESIM_CUDA_CHECK(cudaDeviceSynchronize());
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& q : spec.projections) {
      projections_.push_back(
          cuda::build_device_projection(spec, q, slices_[q.target], net_stream_.get()));
      stats_.synapses += projections_.back().synapses;
      stats_.synapse_bytes += projections_.back().bytes();
    }
    SPIKESIM_CUDA_CHECK(cudaDeviceSynchronize());
    stats_.construction_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  // After a chunk [first, first + steps) is collected: clear the ring slots its steps read
  // (after its kernel, in each population's stream), then deliver its spikes on the network
  // stream, which waits for every population; the next launches wait for the deliveries.
  // Over ranks, `all` holds the spikes of all ranks (chunk_exchange), delivered in place of the
  // gathered ones.
  void deliver_chunk(uint64_t first, uint64_t steps,
                     const std::vector<std::vector<spike_record>>* all = nullptr) {
    const cudaStream_t net = net_stream_.get();
    for (auto& pp : pops_) {
      population& p = *pp;
      const cudaStream_t s = p.stream.get();
      for (auto* ring : {&p.ring_delta, &p.ring_exp[0], &p.ring_exp[1]}) {
        if (ring->size() == 0) continue;
        // steps <= the shortest delay < slots: one run of slots, perhaps wrapping once.
        const uint64_t s0 = first % p.slots, count = std::min(steps, p.slots);
        const uint64_t head = std::min(count, p.slots - s0);
        SPIKESIM_CUDA_CHECK(
            cudaMemsetAsync(ring->data() + s0 * p.n, 0, head * p.n * sizeof(int64_t), s));
        if (count > head)
          SPIKESIM_CUDA_CHECK(
              cudaMemsetAsync(ring->data(), 0, (count - head) * p.n * sizeof(int64_t), s));
      }
      p.ready.record(s);
      p.ready.make_wait(net);
    }
    if (all) upload_exchanged(first, *all);
    for (const auto& c : projections_) {
      const population& src = *pops_[c.source];
      population& tgt = *pops_[c.target];
      int64_t* ring =
          (c.synapse == synapse_kind::exp ? tgt.ring_exp[exp_port_[c.index]] : tgt.ring_delta)
              .data();
      cuda::deliver_spikes(c, src.delivery_keys, src.gathered_spikes, src.id_bits, first,
                           reinterpret_cast<unsigned long long*>(ring), tgt.slots, events_.data(),
                           net);
    }
    delivered_.record(net);
  }

  // Over ranks: the spikes of all ranks as keys in the format of the gathered ones, copied on the
  // network stream to the device for delivery. The pinned staging buffers are free: this chunk's
  // kernels, collected before, waited for the last chunk's deliveries and so for its copies;
  // synchronising the network stream states it.
  void upload_exchanged(uint64_t first, const std::vector<std::vector<spike_record>>& all) {
    net_stream_.synchronize();
    for (auto& pp : pops_) {
      population& p = *pp;
      if (!p.source) continue;
      const std::vector<spike_record>& sp = all[p.index];
      const uint64_t m = sp.size();
      if (m > p.exchanged_keys.size()) {
        const uint64_t cap = m + m / 8;
        p.exchanged_keys.allocate(cap);
        p.exchanged_keys_host.reserve(cap);
      }
      uint64_t* keys = p.exchanged_keys_host.data();
      for (uint64_t k = 0; k < m; ++k) keys[k] = (sp[k].step - first) << p.id_bits | sp[k].id;
      if (m > 0)
        SPIKESIM_CUDA_CHECK(cudaMemcpyAsync(p.exchanged_keys.data(), keys, m * sizeof(uint64_t),
                                            cudaMemcpyHostToDevice, net_stream_.get()));
      p.delivery_keys = p.exchanged_keys.data();
      p.gathered_spikes = m;
    }
  }

  // One launch's worth of steps for every population, with the next chunk started before the
  // host decodes this one (see the top of this file).
  void run_chunk(uint64_t first, uint64_t steps, std::vector<population_chunk>& outs) {
    if (steps == 0) {
      for (auto& c : outs) {
        c = population_chunk{};
      }
      return;
    }
    const bool hit = pending_ && pending_first_ == first && pending_steps_ == steps;
    if (pending_ && !hit)
      for (auto& p : pops_) p->stream.synchronize();  // a wrong guess: its output is dropped
    pending_ = false;
    if (!hit)
      for (auto& p : pops_) cuda::launch_population(*p, first, steps, delivered());
    if (chunks_) {
      exchange_chunk(first, steps, outs);
    } else {
      for (auto& p : pops_) cuda::collect_population(*p, first, steps, dt_, delivered());
      if (network_) deliver_chunk(first, steps);
    }
    for (auto& p : pops_) {
      p->stream.synchronize();
      p->cur = 1 - p->cur;
    }
    const uint64_t next = first + steps;
    if (next < total_steps_) {
      pending_first_ = next;
      pending_steps_ = std::min(steps, total_steps_ - next);
      for (auto& p : pops_)
        cuda::launch_population(*p, pending_first_, pending_steps_, delivered());
      pending_ = true;
    }
    if (!chunks_)
      for (size_t k = 0; k < pops_.size(); ++k)
        cuda::decode_population(*pops_[k], first, steps, exchange_ != nullptr, outs[k]);
  }

  // Over ranks, in place of collecting and delivering: the chunk is collected and decoded, its
  // spikes go to every rank and those of all ranks come back (chunk_exchange), and these are
  // delivered. A numerical failure is sent in the exchange, and every rank throws it there: a
  // rank that threw here would leave the others waiting in it.
  void exchange_chunk(uint64_t first, uint64_t steps, std::vector<population_chunk>& outs) {
    std::string failure;
    try {
      for (auto& p : pops_) cuda::collect_population(*p, first, steps, dt_, delivered());
    } catch (const numerical_error& e) {
      failure = e.what();
    }
    exchanged_.resize(pops_.size());
    for (size_t k = 0; k < pops_.size(); ++k) {
      population& p = *pops_[k];
      exchanged_[k].clear();
      if (!failure.empty()) continue;
      p.stream.synchronize();
      cuda::decode_population(p, first, steps, true, outs[k]);
      const uint64_t* keys = p.keys_host.data();
      for (uint64_t j = 0; j < p.collected_spikes; ++j)
        exchanged_[k].push_back(cuda::key_spike(keys[j], p.id_bits, first));
    }
    chunks_->exchange(first, steps, failure, exchanged_, outs);
    if (network_) deliver_chunk(first, steps, &exchanged_);
  }

  experiment_spec spec_;
  int device_;
  std::string description_;
  double dt_;
  uint64_t total_steps_;
  // Over ranks: the exchange, the neurons held here, and the spikes of all ranks in the last
  // chunk, per population. Without ranks: null, every neuron, unused.
  rank_exchange* exchange_ = nullptr;
  std::unique_ptr<chunk_exchange> chunks_;
  std::vector<neuron_slice> slices_;
  std::vector<std::vector<spike_record>> exchanged_;
  std::vector<std::unique_ptr<population>> pops_;
  // Networks: the projections, the stream of their deliveries and the event the next launches
  // wait for, synaptic events delivered (on the device), the shortest delay in steps.
  bool network_ = false;
  std::vector<cuda::device_projection> projections_;
  std::vector<uint32_t> exp_port_;  // per projection: the target's exp current it feeds
  cuda::device_buffer<unsigned long long> events_;
  network_stats stats_;
  uint64_t min_delay_ = 0;
  cuda::stream net_stream_;
  cuda::event delivered_;
  bool pending_ = false;  // a speculative launch of [pending_first_, + pending_steps_) is queued
  uint64_t pending_first_ = 0;
  uint64_t pending_steps_ = 0;
};

}  // namespace

std::unique_ptr<backend> make_cuda_backend(const experiment_spec& spec, int device,
                                           rank_exchange* exchange) {
  if (exchange && exchange->ranks() <= 1) exchange = nullptr;
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    cudaGetLastError();
    throw backend_error(
        setting::backend + " cuda: no usable CUDA device (" + cudaGetErrorString(e) +
        "); check the NVIDIA driver and CUDA_VISIBLE_DEVICES, or use " + setting::backend + " cpu");
  }
  if (count == 0)
    throw backend_error(setting::backend + " cuda: no CUDA device found; use " + setting::backend +
                        " cpu");
  if (device < 0 || device >= count)
    throw backend_error(setting::device + " " + std::to_string(device) +
                        ": out of range, this machine has " + std::to_string(count) +
                        " CUDA device" + (count == 1 ? "" : "s") + " (0.." +
                        std::to_string(count - 1) + ")");
  SPIKESIM_CUDA_CHECK(cudaSetDevice(device));
  size_t free_bytes = 0, total_bytes = 0;
  SPIKESIM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  const uint64_t chunk = cuda::device_chunk_steps(spec);
  const std::vector<neuron_slice> slices =
      exchange ? partition_neurons(spec, exchange->rank(), exchange->ranks())
               : partition_neurons(spec, 0, 1);
  const uint64_t need = cuda::estimate_device_bytes(spec, chunk, slices, exchange != nullptr);
  if (need > free_bytes) {
    uint64_t neurons = 0;
    for (const auto& sl : slices) neurons += sl.size();
    std::ostringstream o;
    o << "out of device memory: " << neurons << " neurons"
      << (exchange ? " (rank " + std::to_string(exchange->rank()) + "'s share)" : std::string())
      << " in " << (spec.run.prec == precision::single ? "float" : "double") << " precision need "
      << format_bytes_mib_or_gib(need) << " of device memory (state, inputs"
      << (spec.projections.empty() ? "" : ", synapses and their construction, ring buffers")
      << " and the output buffers of a " << chunk << "-step chunk) but device " << device << ", "
      << cuda::describe_device(device) << ", has " << format_bytes_mib_or_gib(free_bytes)
      << " free of " << format_bytes_mib_or_gib(total_bytes)
      << "; use fewer neurons, precision = \"float\", or ";
    throw memory_error(o.str() + setting::backend + " cpu");
  }
  if (spec.run.prec == precision::single)
    return std::make_unique<cuda_backend<float>>(spec, device, exchange);
  return std::make_unique<cuda_backend<double>>(spec, device, exchange);
}

}  // namespace spikesim
