// Parameter sweeps: a [sweep] table or --sweep options expanded into points, each point the base
// config with a few keys overridden, and points packed side by side into one experiment_spec
// (docs/sweeps.md).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <spikesim/spec.hpp>

namespace spikesim {

// grid: every combination of the values (the last key varies fastest); zip: the i-th value of
// every key together (all keys have as many values).
enum class sweep_mode { grid, zip };
// distinct: point k runs with run.random_seed + k; same: every point with run.random_seed
// (common random numbers).
enum class sweep_seeds { distinct, same };

// One swept config key and its values, in order.
struct sweep_axis {
  std::string key;                    // dotted config path, e.g. population.eif.input.I
  std::vector<double> values;         // as numbers
  std::vector<std::string> literals;  // as TOML: integers stay integers ("1000", not "1000.0")
};

struct sweep_spec {
  sweep_mode mode = sweep_mode::grid;
  sweep_seeds seeds = sweep_seeds::distinct;
  std::vector<sweep_axis> axes;   // table keys in the order written, then --sweep keys
  std::string base_text;          // the config without its [sweep] table
  std::string source;             // the config's name in messages
  std::vector<std::string> sets;  // --set overrides applied to every point
  uint64_t base_seed = 1;         // run.random_seed of the base config (with the --set overrides)
  // The sweep as one TOML text: the base config with the --set overrides applied and the [sweep]
  // table written out in full (explicit value lists, --sweep keys included). `spikesim sweep`
  // on this text runs the same points.
  std::string config_text;
  std::string id;  // 16 hex digits, a hash of config_text: files of one sweep share it

  uint64_t points() const;
};

// Parses a config with an optional [sweep] table, adds the `cli_axes` ("key=v1,v2,..." or
// "key=start:stop:step"), and checks what can be checked without expanding the points. A config
// without any swept key is an error. Throws config_error naming the key, value and unit.
sweep_spec parse_sweep(const std::string& text, const std::string& source,
                       const std::vector<std::string>& sets,
                       const std::vector<std::string>& cli_axes);
// Reads the file first; a missing or unreadable file throws input_error.
sweep_spec load_sweep(const std::string& path, const std::vector<std::string>& sets,
                      const std::vector<std::string>& cli_axes);

// Point k (0 <= k < points()): its value of each axis, its random seed, the --set overrides that
// make it from the base config, and its validated spec (config_error prefixed with the point).
std::vector<double> point_values(const sweep_spec& s, uint64_t k);
uint64_t point_seed(const sweep_spec& s, uint64_t k);
std::vector<std::string> point_overrides(const sweep_spec& s, uint64_t k);
experiment_spec point_spec(const sweep_spec& s, uint64_t k);

// The name of population (or projection) `name` of point k in a packed spec: "name@k". '@' is
// not allowed in config names, so packed names never collide.
std::string packed_name(const std::string& name, uint64_t point);

// Whether two points may share a simulation: the same dt, tstop, precision, chunk_steps,
// [analysis] settings and output.overwrite.
bool packable(const experiment_spec& a, const experiment_spec& b);

// One spec holding `points` side by side (point i has global index indices[i]): populations and
// projections renamed by packed_name(), projections re-indexed to stay within their point, every
// population and projection keeping the seed and streams it has alone, so each point's output
// is the same as when it runs alone. The points must be packable; config_text is left empty.
experiment_spec pack_points(const std::vector<experiment_spec>& points,
                            const std::vector<uint64_t>& indices);
// Adds one point (global index `index`) to a pack as pack_points does; no check of packability.
void append_point(experiment_spec& pack, const experiment_spec& point, uint64_t index);

// The run.chunk_steps of a pack whose points leave it automatic: the chunk its largest point
// takes alone (2^24 neuron-steps, 16 to 1000 steps), as long as a chunk of the whole pack stays
// within 2^28 neuron-steps (and at least 16 steps); projections shorten it as in any run. Costs
// paid per population and chunk (a parallel region, an output append, a kernel launch) would
// otherwise grow with the pack, whose automatic chunk shrinks as it grows.
uint64_t pack_chunk_steps(uint64_t largest_point_neurons, uint64_t total_neurons);

// The points of task `task` of `tasks` (0-based): contiguous blocks whose sizes differ by at most
// one, in task order.
struct point_range {
  uint64_t first = 0;
  uint64_t count = 0;
};
point_range task_points(uint64_t points, uint64_t task, uint64_t tasks);
// The task that task_points() gives point k (k < points, tasks >= 1).
uint64_t task_of(uint64_t points, uint64_t tasks, uint64_t k);

}  // namespace spikesim
