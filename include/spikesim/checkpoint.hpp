// Checkpoints: the whole dynamic state of a run at the end of a chunk, so that an interrupted run
// can continue and produce bitwise the output an uninterrupted run produces (docs/checkpoints.md).
// Connectivity is not stored: it is regenerated from the seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

inline constexpr uint32_t checkpoint_format = 2;  // 2: arrays with Fletcher-32 checksums

// Rows of a population's growing datasets in the output file.
struct output_rows {
  uint64_t spikes = 0;  // /spikes/<pop>/timestamps and node_ids
  uint64_t counts = 0;  // /activity/<pop>/spikes_per_step
  uint64_t traces = 0;  // /report/<pop>/data
};

struct checkpoint {
  uint64_t step = 0;  // steps done: the state is the one at t = step dt
  std::string config_text;
  std::string simulator_version;
  std::string git_sha;
  std::string backend;                   // the backend that wrote it
  std::string output;                    // the run's output file, as the run named it
  std::string created_utc;               // ISO 8601
  std::vector<std::string> populations;  // names, in the order of the spec
  std::vector<uint64_t> spikes;          // per population: spikes so far (recorded or not)
  std::vector<output_rows> rows;         // per population: rows of the output at `step`
  std::vector<state_array> state;
};

// Writes PATH.tmp, flushes it and renames it to PATH: a crash leaves the previous checkpoint.
// Throws output_error.
void write_checkpoint(const std::string& path, const checkpoint& c);

// Throws input_error (exit 3) when the file is missing, unreadable or not a spikesim checkpoint,
// or damaged: an array that fails its checksum, a negative refractory count, a state value that
// is not finite, rows that do not fit the step.
checkpoint read_checkpoint(const std::string& path);

// Throws config_error (exit 2) naming the difference when the checkpoint was written by another
// version of spikesim or for another configuration than `spec`.
void check_checkpoint(const checkpoint& c, const experiment_spec& spec, const std::string& path);

}  // namespace spikesim
