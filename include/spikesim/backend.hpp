// The interface both backends implement: advance every population by a number of steps and hand
// back what was recorded in those steps.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <spikesim/errors.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

// What one population produced in one chunk of steps.
struct population_chunk {
  // Spikes ordered by (step, node id); a spike in step n is stamped at t = (n + 1) dt.
  std::vector<uint64_t> spike_steps;
  std::vector<uint64_t> spike_ids;
  std::vector<uint32_t> counts;  // spikes in each step of the chunk
  // Voltage samples of the recorded neurons, row-major [rows][n_traces], in mV. A row is taken at
  // the start of each step n with n % trace_every == 0, i.e. the state at t = n dt.
  std::vector<float> traces;
  uint64_t trace_rows = 0;
  uint64_t total_spikes = 0;  // also counted when spikes are not recorded
};

// Appends the chunk `from`, which follows `to` in time, to `to`.
void append(population_chunk& to, const population_chunk& from);

struct chunk_output {
  uint64_t first_step = 0;
  uint64_t steps = 0;
  std::vector<population_chunk> populations;
};

// The network part of a run: synapses built, their storage, construction time, and the
// synaptic events (spike x synapse) delivered so far.
struct network_stats {
  uint64_t synapses = 0;
  uint64_t synapse_bytes = 0;
  double construction_s = 0.0;
  uint64_t synaptic_events = 0;
};

// One array of a backend's dynamic state, for checkpoints. Names and layouts are the same on
// every backend, so that a checkpoint written on one can be resumed on the other:
//   population/<name>/u, ref, eta, m, h, n     the neuron state (eta only with OU noise; m, h, n
//                                               only for HH)
//   population/<name>/i_syn                     exp-synapse current (nA), targets of exp synapses
//                                               (the one current, or I_ex where there are two)
//   population/<name>/i_syn_in                  I_in (nA), only with two exp currents
//   population/<name>/ring_delta, ring_exp      delay ring buffers, int64 in 2^-24 fixed point,
//                     ring_exp_in (I_in's)
//                                               [slots][neurons], slot = step % slots
//   network/synaptic_events                     u64, one value
// Float arrays are f32 or f64 as run.precision says.
struct state_array {
  std::string name;
  std::string type;  // "f32" | "f64" | "i32" | "i64" | "u64"
  uint64_t count = 0;
  std::vector<unsigned char> bytes;  // count values of `type`, native byte order

  template <class V>
  static state_array of(std::string name, const std::vector<V>& v);
  template <class V>
  std::vector<V> as() const;  // throws input_error when the type does not match
};

// The neuron-steps of an automatic chunk on the CPU backend: ~2^24, so that even a population
// firing at every step keeps its spike buffers near 256 MiB.
constexpr uint64_t default_chunk_neuron_steps = uint64_t{1} << 24;

class backend {
 public:
  virtual ~backend() = default;
  virtual std::string name() const = 0;    // "cpu" or "cuda"
  virtual std::string device() const = 0;  // processor or GPU in words
  // Advances all populations from step `first_step` by `steps` steps. Steps are taken in order;
  // first_step must continue where the previous call ended.
  virtual void advance(uint64_t first_step, uint64_t steps, chunk_output& out) = 0;
  // The longest chunk advance() takes for `spec`, the spec the backend was built from. The
  // default is the shortest delay in steps (unbounded without projections): the spikes of a chunk
  // are delivered after it and must arrive in a later chunk. simulate() cuts its chunks to it.
  virtual uint64_t max_chunk_steps(const experiment_spec& spec) const;
  // The neuron-steps that an automatic chunk (run.chunk_steps unset) is sized to: a bound on the
  // spike buffers of one chunk, and the work between two of the backend's fixed per-chunk costs.
  virtual uint64_t chunk_neuron_steps() const { return default_chunk_neuron_steps; }
  // Current membrane potentials of a population (for checks and checkpoints), in mV.
  virtual std::vector<double> potentials(uint32_t population) const = 0;
  // Connectivity figures; zero for a run without projections.
  virtual network_stats network() const { return {}; }
  // The dynamic state after the last advance(): everything the next steps read that is not
  // rebuilt from the spec (connectivity is regenerated from the seed). Over ranks it is
  // collective and returns the whole network's state on rank 0, nothing on the others
  // (gather_state() below).
  virtual std::vector<state_array> save_state() const = 0;
  // Puts back what save_state() gave on a backend built from the same spec (over ranks: the
  // whole network's state, given to every rank, whatever the number of ranks that saved it).
  // Throws input_error naming the array when one is missing, of another type or of another size.
  virtual void restore_state(const std::vector<state_array>& state) = 0;
};

// A network spread over several processes (MPI ranks; docs/scaling.md). The neurons of all
// populations, concatenated in spec order, are cut into `ranks` contiguous blocks of global ids;
// rank r simulates block r, which is a slice [lo, hi) of population-local ids of each population
// (empty for some). Random numbers, per-neuron inputs and connectivity are keyed by the
// population-local id, so the spikes do not depend on the number of ranks.
struct neuron_slice {
  uint64_t lo = 0, hi = 0;  // population-local ids
  uint64_t size() const { return hi - lo; }
  // The part of the slice that lies in a population of n neurons.
  neuron_slice clipped(uint64_t n) const {
    const uint64_t h = hi < n ? hi : n;
    return {lo < h ? lo : h, h};
  }
};
std::vector<neuron_slice> partition_neurons(const experiment_spec& spec, int rank, int ranks);

// The collectives a backend spread over ranks needs, once per exchange interval (at most the
// shortest delay long). Implemented on MPI by src/mpi/comm_mpi.cpp; the calls are collective:
// every rank makes them in the same order.
class rank_exchange {
 public:
  virtual ~rank_exchange() = default;
  virtual int rank() const = 0;
  virtual int ranks() const = 0;
  // Every rank's `local` concatenated in rank order, on every rank; `counts` receives the number
  // of values each rank gave.
  virtual std::vector<uint64_t> allgather(const std::vector<uint64_t>& local,
                                          std::vector<uint64_t>& counts) = 0;
  virtual std::vector<float> allgather(const std::vector<float>& local,
                                       std::vector<uint64_t>& counts) = 0;
  // allgather() in two halves, so that a rank computes while the values travel:
  // start_allgather() sends `local`, finish_allgather() returns what allgather() would have. One
  // is started at a time, and no other collective comes between the two halves. progress() lets
  // a started allgather advance; it may be called from any thread, and does nothing on a thread
  // that does not make the collectives. The defaults make the whole allgather in
  // start_allgather().
  virtual void start_allgather(const std::vector<uint64_t>& local);
  virtual std::vector<uint64_t> finish_allgather(std::vector<uint64_t>& counts);
  virtual void progress() {}
  // Every rank's `local` concatenated in rank order, on rank 0 only (empty on the others); every
  // rank receives `counts`. For checkpoints, not for the per-chunk exchange.
  virtual std::vector<unsigned char> gather(const std::vector<unsigned char>& local,
                                            std::vector<uint64_t>& counts) = 0;

 private:
  std::vector<uint64_t> started_, started_counts_;  // the defaults' finished allgather
};

// Checkpoints of a network spread over ranks are those of one process, so that a run can resume
// with another number of ranks (or none). A backend with an exchange saves its slice's arrays
// (every per-neuron array population/<name>/X laid out [k][slice neurons]) and hands them to
// gather_state(), which returns on rank 0 the arrays of the whole network as one process lays
// them out ([k][population size]; network/synaptic_events summed over the ranks) and nothing on
// the other ranks. Collective: every rank calls it. A rank may leave out an array of a
// population it holds no neuron of.
std::vector<state_array> gather_state(const experiment_spec& spec,
                                      const std::vector<state_array>& local, rank_exchange& x);
// The inverse, on every rank: the whole network's arrays cut to rank `rank`'s slice
// (network/synaptic_events goes to rank 0, the others start from 0). Throws input_error when an
// array's size is not a multiple of its population's size.
std::vector<state_array> slice_state(const experiment_spec& spec,
                                     const std::vector<state_array>& whole, int rank, int ranks);

struct backend_options {
  std::string kind = "auto";  // auto | cpu | cuda
  int threads = 0;            // the most CPU threads; 0: from the work (cpu_threads_for)
  int device = 0;             // CUDA device ordinal
  bool quiet = false;
  // Set when the run is spread over several ranks (null for one process): the backend then
  // simulates this rank's slice and every chunk it hands back holds the output of all ranks.
  rank_exchange* exchange = nullptr;
};

// The most CPU threads a run may ask for (backend_options::threads).
inline constexpr int max_threads = 4096;
// Throws config_error when `threads` is negative or above max_threads, and memory_error when the
// system cannot create that many threads at once (tried before the backend starts them: OpenMP
// would end the program). 0 and 1 need no check.
void check_threads(int threads);

// Memory a run of this spec needs on the backend's memory (host RAM for cpu, device memory for
// cuda), in bytes: the state, the per-neuron inputs and one chunk's output buffers.
uint64_t estimate_state_bytes(const experiment_spec& spec, uint64_t chunk_steps);

// The threads the CPU backend starts, when not told, for a process simulating `neurons` neurons
// that may use `max_threads`: one per cpu_neurons_per_thread neurons (four tiles of 512), at
// least one and at most max_threads, so that a run of a few hundred neurons starts no thread it
// cannot keep busy. During the run the backend may use fewer, as it measures
// (docs/architecture.md).
constexpr uint64_t cpu_neurons_per_thread = 2048;
int cpu_threads_for(uint64_t neurons, int max_threads);

// `threads`: the most threads it uses (0: cpu_threads_for(its neurons, omp_get_max_threads())).
// With `exchange`, the backend simulates the slice partition_neurons() gives its rank.
std::unique_ptr<backend> make_cpu_backend(const experiment_spec& spec, int threads,
                                          rank_exchange* exchange = nullptr);
// Throws backend_error when CUDA support is not built or no device is usable. With `exchange`,
// as make_cpu_backend.
std::unique_ptr<backend> make_cuda_backend(const experiment_spec& spec, int device,
                                           rank_exchange* exchange = nullptr);
bool cuda_built();
int cuda_device_count();  // 0 without CUDA support or devices

// What this build's CUDA support and the machine's driver report, for `spikesim info` and for
// telling why no device is usable.
struct cuda_report {
  bool built = false;
  std::string build;        // "not built", or the architectures and precisions compiled in
  int runtime_version = 0;  // the CUDA runtime compiled in, as 1000 major + 10 minor; 0: none
  int driver_version = 0;   // the newest CUDA version the installed driver supports; 0: none
  std::string error;        // why no device is usable (CUDA's error name and text), else empty
  std::vector<std::string> devices;  // "device 0: NVIDIA H100 ... (132 SMs, 79.1 GiB, sm_90)"
};
cuda_report cuda_status();

// Chooses the backend as --backend asks; `notice` receives a one-line message for the user when
// auto falls back to the CPU.
std::unique_ptr<backend> make_backend(const experiment_spec& spec, const backend_options& opt,
                                      std::string* notice);

namespace detail {
template <class V>
constexpr const char* state_type_name() {
  if constexpr (std::is_same_v<V, float>) return "f32";
  if constexpr (std::is_same_v<V, double>) return "f64";
  if constexpr (std::is_same_v<V, int32_t>) return "i32";
  if constexpr (std::is_same_v<V, int64_t>) return "i64";
  if constexpr (std::is_same_v<V, uint64_t>) return "u64";
}
}  // namespace detail

template <class V>
state_array state_array::of(std::string name, const std::vector<V>& v) {
  state_array a;
  a.name = std::move(name);
  a.type = detail::state_type_name<V>();
  a.count = v.size();
  a.bytes.resize(v.size() * sizeof(V));
  if (!v.empty()) std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
  return a;
}

template <class V>
std::vector<V> state_array::as() const {
  if (type != detail::state_type_name<V>() || bytes.size() != count * sizeof(V))
    throw input_error("checkpoint array '" + name + "' holds " + type + " values where " +
                      detail::state_type_name<V>() + " were expected");
  std::vector<V> v(count);
  if (count) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

}  // namespace spikesim
