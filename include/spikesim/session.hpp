// A run as a front-end asks for it: the spec from a config or from the checkpoint it resumes, the
// checks made before anything is written (files, host memory), checkpoints, a stop the ranks agree
// on, and the summary; each pack of a sweep runs through the same checkpointed simulation.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <spikesim/analysis.hpp>
#include <spikesim/backend.hpp>
#include <spikesim/checkpoint.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/simulation.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

class hdf5_recorder;
class communicator;  // communicator.hpp

// Host memory a run is estimated to need and what was available (bytes; 0 when not checked).
struct memory_estimate {
  uint64_t needed = 0;
  uint64_t available = 0;
};
// Throws memory_error when the state of `spec` (and the spike-train statistics, if `analysis`)
// would need more than 75% of the available host memory; the message names what takes most of
// it. Over `ranks` MPI ranks each holds about 1/ranks of the state (an estimate per rank).
// `backend` "cuda" is not checked (its backend checks device memory itself).
memory_estimate check_host_memory(const experiment_spec& spec, const std::string& backend,
                                  bool analysis, int ranks = 1);
// The message of a failed allocation after check_host_memory passed: needed and available.
std::string out_of_memory_message(const memory_estimate& e);

// checkpoint_interval_steps' refusal of an interval; the message marks the setting
// checkpoint_every for the front-end to name.
struct checkpoint_interval_error : config_error {
  explicit checkpoint_interval_error(double every_ms);
  double every_ms;
};
// Steps between checkpoints taken every `every_ms` ms of simulated time (0: none, only when
// stopped); checkpoint_interval_error when it is not a positive number.
uint64_t checkpoint_interval_steps(double every_ms, double dt);

// What a session tells its front-end while it runs. `report` gets a line for the user (stderr
// in the CLI, which puts "spikesim: " before it); with `quiet` only warnings and failures.
struct session_hooks {
  const std::atomic<bool>* stop = nullptr;  // set (asynchronously) to end the run after a chunk
  std::function<void(uint64_t, uint64_t)> progress;  // (steps done, steps total) per chunk
  std::function<void(const std::string&)> report;
  std::function<void()> starting;  // execute_run: the backend is built, the simulation is next
  bool quiet = false;
};

// How a simulation is checkpointed: to `path` every `every_steps` steps (0: only when stopped).
// `resumed`: the checkpoint whose state the backend holds (restored by the caller), else null.
// `spread`: the ranks of a network spread over them (null for one process); rank 0 writes the
// checkpoint of the whole network. `prefix` goes before the lines it reports ("rank 1: ").
struct checkpoint_policy {
  std::string path;
  uint64_t every_steps = 0;
  const checkpoint* resumed = nullptr;
  communicator* spread = nullptr;
  std::string prefix;
};
struct checkpointed_summary {
  run_summary summary;
  bool wrote_checkpoint = false;
};
// simulate() with checkpoints: into `rec`, whose file `file` (null on the ranks that write none)
// is flushed before each checkpoint. A checkpoint that cannot be written is reported and the run
// goes on; a numerical failure is reported with the output it keeps, and rethrown. Over ranks
// the stop is acted on when every rank agrees (once per chunk). A complete run removes the
// checkpoint it wrote or resumed from: it has served.
checkpointed_summary simulate_checkpointed(const experiment_spec& spec, backend& b, recorder& rec,
                                           hdf5_recorder* file, const checkpoint_policy& policy,
                                           const session_hooks& hooks);

// What a run is asked to do.
struct run_request {
  std::string config;  // experiment file; empty: the built-in one, or the checkpoint's config
  // The config's TOML text itself, used instead of reading `config` (which then only names it in
  // messages; "<string>" when empty): a front-end that holds the config in memory.
  std::string config_text;
  std::vector<std::string> sets;  // config overrides, key.path=value
  std::string output;             // overrides output.file (or the checkpoint's output)
  std::string resume;             // the checkpoint to continue; empty: a fresh run
  std::string checkpoint;         // checkpoint file; empty: OUTPUT.ckpt, or the file resumed from
  double checkpoint_every_ms = 0.0;  // 0: checkpoints only when stopped
  std::string backend = "auto";      // for the memory check; the backend_options' kind
};

// What prepare_run decided, before anything is written.
struct run_plan {
  experiment_spec spec;
  bool resuming = false;
  checkpoint resumed;  // the checkpoint it continues (when resuming)
  std::string resume_path;
  std::string checkpoint_path;
  uint64_t checkpoint_every = 0;  // steps
  memory_estimate memory;
};
// Loads the spec (from the checkpoint's config when resuming without one, which must match the
// checkpoint: version, config, populations), and checks the files the run writes against those
// it reads (on rank 0) and the host memory of this rank's share. Throws the typed errors.
run_plan prepare_run(const run_request& r, communicator& comm);

// The exchange between ranks over a run: this rank's (rank 0's where printed) counts, the
// slowest rank's time in the exchanges, the quickest exchange of any rank, bytes sent by all.
struct exchange_summary {
  uint64_t intervals = 0, bytes_sent_all = 0, bytes_received = 0, overflows = 0;
  double slowest_s = 0.0, quickest_s = 0.0;
};
struct run_outcome {
  bool started = false;  // false: stopped before the simulation started (no output kept)
  run_summary summary;   // over ranks: synapses and synaptic events of all ranks
  bool wrote_checkpoint = false;
  exchange_summary exchange;                  // over ranks
  std::vector<population_analysis> analysis;  // rank 0's file's /analysis
  std::string analysis_failure;               // why it has none, when it failed
};
// Runs the plan with `opt` (its kind, threads and device; quiet and the exchange are the
// session's): rank 0 writes the file, every rank simulates its share. Reports the set-up
// (ranks, synapses, the backend's notice, the resume) unless quiet.
run_outcome execute_run(run_plan& plan, backend_options opt, communicator& comm,
                        const session_hooks& hooks);

}  // namespace spikesim
