// /analysis in the output file: written by the recorder when a run ends and by `spikesim analyze`.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include <spikesim/analysis.hpp>

namespace spikesim {

// Replaces the group /analysis of an open file by these results (layout: docs/output.md).
void write_analysis_group(hid_t file, const std::vector<population_analysis>& results,
                          const analysis_spec& settings, const std::string& created_by);

}  // namespace spikesim
