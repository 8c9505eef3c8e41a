// Merging the files of a sweep (from one or many tasks) into one table of each point's swept
// values and spike-train statistics, after checking that every point is there exactly once.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace spikesim {

// Consecutive points as [first, last] ranges, and their text: "0-9, 15, 20-29", at most
// `max_ranges` of them ("..., and N more ranges").
using point_ranges = std::vector<std::pair<uint64_t, uint64_t>>;
point_ranges to_ranges(const std::vector<uint64_t>& sorted);
std::string describe(const point_ranges& r, size_t max_ranges = 12);

// The files given: directories give their *.h5 files in name order (`warn` is told of the
// unfinished *.partial files they hold), files stand for themselves; input_error for a missing
// input or a directory without sweep files.
std::vector<std::string> files_of(const std::vector<std::string>& inputs,
                                  const std::function<void(const std::string&)>& warn);

// What the coverage check needs of a file: its sweep, the points it holds, its task split.
struct sweep_file_points {
  std::string path;
  std::string id;       // the sweep's id
  uint64_t points = 0;  // of the whole sweep
  uint64_t num_tasks = 0;
  std::vector<uint64_t> point;
};
// Every point of the sweep exactly once, or input_error naming the missing and repeated points
// and the tasks that should have written the missing ones.
void check_coverage(const std::vector<sweep_file_points>& files);

// One population of one point: what the table shows of its /analysis.
struct merge_row {
  uint64_t point = 0;
  size_t order = 0;  // position of the population in its pack
  std::vector<double> values;
  uint64_t seed = 0;
  std::string population;
  uint64_t neurons = 0, spikes = 0;
  double rate_mean = 0, rate_median = 0, rate_p10 = 0, rate_p90 = 0, silent_fraction = 0;
  double cv_mean = 0, cv_median = 0, cv_defined_fraction = 0, lv_mean = 0, fano = 0, chi = 0;
  double population_rate_sd = 0, t_start = 0, t_stop = 0;
  std::string file;
};

struct merged_sweep {
  std::vector<std::string> keys;  // the swept keys
  uint64_t points = 0;
  size_t files = 0;
  std::vector<merge_row> rows;  // by point, then population in pack order
};
// Reads every file of `inputs` (files_of), checks the coverage and gathers the rows; the
// typed errors name the file.
merged_sweep merge_sweep(const std::vector<std::string>& inputs,
                         const std::function<void(const std::string&)>& warn);

// The table as CSV, and into `path` (written as PATH.partial, renamed when complete).
void write_csv(std::ostream& out, const merged_sweep& m);
void write_csv_file(const std::string& path, const merged_sweep& m);

}  // namespace spikesim
