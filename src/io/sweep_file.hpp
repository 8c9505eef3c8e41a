// /sweep in the file of a pack of sweep points: which points it holds, their swept values, seeds,
// populations and resolved configs (layout: docs/output.md).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include <spikesim/spec.hpp>

#include "io/h5.hpp"

namespace spikesim {

struct sweep_file_info {
  std::string mode;   // "grid" | "zip"
  std::string seeds;  // "distinct" | "same"
  std::string id;     // the sweep's identity (sweep_spec::id)
  std::vector<std::string> keys;
  uint64_t points = 0;  // in the whole sweep
  uint64_t task_id = 0, num_tasks = 1;
  std::vector<uint64_t> point;              // global index of each point in the file
  std::vector<std::vector<double>> values;  // [key][point in the file]
  std::vector<uint64_t> seed;               // run.random_seed of each point
  std::vector<std::string> config;          // resolved TOML of each point
  std::vector<std::string> population;      // packed population names ("eif@3"), in pack order
  std::vector<uint64_t> population_point;   // the point of each
};

// Writes /sweep into an open file (output_error on failure).
void write_sweep_group(hid_t file, const sweep_file_info& s);
// Reads /sweep (input_error naming what is missing or inconsistent).
sweep_file_info read_sweep_group(hid_t file);

// What a pack file says of itself: how its run ended, the sweep and the version that wrote it, and
// its /sweep group.
struct pack_file_header {
  std::string status;  // "complete" | "interrupted" | "failed" ("running" when killed)
  std::string config;  // the root attribute config: the sweep's config text
  std::string simulator_version;
  sweep_file_info sweep;
};

// Opens a file for reading; input_error when it is not an HDF5 file.
h5::handle open_pack_file(const std::string& path);
// input_error when the file is not a spikesim output file or its /sweep is missing or damaged.
pack_file_header read_pack_header(hid_t file);

// The packed spec of a sweep file, rebuilt from its points' configs with `overrides` applied to
// each (config_error when an override is invalid).
experiment_spec packed_spec_of(const sweep_file_info& s, const std::string& source,
                               const std::vector<std::string>& overrides);

}  // namespace spikesim
