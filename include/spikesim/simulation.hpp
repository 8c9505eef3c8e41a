// Runs a spec on a backend chunk by chunk and hands each chunk to a recorder.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

enum class run_status { running, complete, interrupted, failed };
const char* to_string(run_status s);

struct population_summary {
  std::string name;
  uint64_t neurons = 0;
  uint64_t spikes = 0;
  double mean_rate_hz = 0.0;
};

struct run_summary {
  std::vector<population_summary> populations;
  uint64_t steps = 0;  // steps simulated in all (a resumed run counts those before the checkpoint)
  double simulated_ms = 0.0;
  double wall_s = 0.0;  // simulation loop only (a resumed run: since the resume)
  double neuron_steps_per_s = 0.0;
  double real_time_factor = 0.0;  // wall / simulated time
  // Networks (zero without projections): synapses and their storage in bytes, the time spent
  // building them (not in wall_s), synaptic events (spike x synapse) delivered, and per second.
  uint64_t synapses = 0;
  uint64_t synapse_bytes = 0;
  double construction_s = 0.0;
  uint64_t synaptic_events = 0;
  double synaptic_events_per_s = 0.0;
  std::string backend;
  std::string device;
  run_status status = run_status::running;
};

class recorder {
 public:
  virtual ~recorder() = default;
  virtual void begin(const experiment_spec& spec, const backend& b) = 0;
  virtual void write(const chunk_output& chunk) = 0;
  virtual void finish(const run_summary& summary) = 0;
};

// Keeps everything in memory: for tests and small library uses.
class memory_recorder : public recorder {
 public:
  using population_data = population_chunk;  // everything of the run, appended
  void begin(const experiment_spec& spec, const backend& b) override;
  void write(const chunk_output& chunk) override;
  void finish(const run_summary& summary) override;
  std::vector<population_data> populations;
  run_summary summary;
};

struct run_options {
  const std::atomic<bool>* stop = nullptr;  // set asynchronously to end the run after a chunk
  // Called after each chunk with (steps done, steps total).
  std::function<void(uint64_t, uint64_t)> progress;
  // Resuming from a checkpoint: the backend holds the state of step start_step (restore_state),
  // and start_spikes the spikes of each population before it.
  uint64_t start_step = 0;
  std::vector<uint64_t> start_spikes;
  // Called with (steps done, spikes so far per population) after the chunk that reaches or
  // passes each multiple of checkpoint_every steps, and after the last chunk of a run ended by
  // `stop`; not after the last step of a complete run. A chunk is then at most checkpoint_every
  // steps long.
  uint64_t checkpoint_every = 0;  // steps; 0: only when stopped
  std::function<void(uint64_t, const std::vector<uint64_t>&)> checkpoint;
};

// Chunk length: the spec's run.chunk_steps, or about `neuron_steps` / (neurons) steps (16 to
// 1000), which bounds the spike buffers of a chunk; at most `longest` steps.
uint64_t chunk_steps_for(const experiment_spec& spec, uint64_t longest,
                         uint64_t neuron_steps = default_chunk_neuron_steps);
// The same with the default bounds: with projections, at most the shortest delay in steps.
uint64_t chunk_steps_for(const experiment_spec& spec);
// The chunk simulate() takes on `b`: its max_chunk_steps() and chunk_neuron_steps().
uint64_t chunk_steps_for(const experiment_spec& spec, const backend& b);

run_summary simulate(const experiment_spec& spec, backend& b, recorder& rec,
                     const run_options& opt = {});

}  // namespace spikesim
