// The output file: SONATA-compatible spikes, voltage reports, per-step spike counts, the
// parameters used and the run's metadata (docs/output.md). Grows as FILE.partial (SWMR: a kill
// at any instant leaves it readable, docs/checkpoints.md); when the run ends, FILE is written
// anew from it (FILE.tmp, renamed) with the final attributes and /analysis.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <spikesim/analysis.hpp>
#include <spikesim/checkpoint.hpp>
#include <spikesim/simulation.hpp>
#include <spikesim/version.hpp>

namespace spikesim {

inline constexpr uint32_t file_magic = 0x0A7A;
// The file layout version, root attribute `version` (docs/output.md). [0, 2]: /spikes/<pop>
// attribute `sorting` is SONATA's enumeration (a string in [0, 1]) and the report's mapping/time
// has attribute `units` (mapping had `time_units` in [0, 1]).
inline const std::vector<uint32_t> file_version{0, 2};

class hdf5_recorder : public recorder {
 public:
  // Checks that the output can be created (output_error otherwise) and creates FILE.tmp, which
  // begin() fills and renames to FILE.partial. With `resume`, continues the file of the
  // checkpointed run instead (FILE.partial when the run was killed, FILE when it stopped on a
  // signal; input_error when neither is there or the file belongs to another run): it is copied,
  // never changed, into a new FILE.partial with its datasets cut to the checkpoint's rows, and
  // the statistics are fed the spikes already in the file, so the finished file is the one an
  // uninterrupted run writes.
  hdf5_recorder(const experiment_spec& spec, const std::string& path,
                const checkpoint* resume = nullptr);
  // Removes FILE.partial unless finish() completed, a checkpoint refers to it (keep_partial),
  // or the run was resumed; removes FILE.tmp.
  ~hdf5_recorder() override;
  void begin(const experiment_spec& spec, const backend& b) override;
  void write(const chunk_output& chunk) override;
  void finish(const run_summary& summary) override;
  const std::string& path() const { return path_; }
  // Rows written so far, per population (what a checkpoint records).
  std::vector<output_rows> rows() const;
  // Puts everything written so far on disk, where a killed run leaves it. write() flushes by
  // itself when flush_interval has passed since the last flush.
  void flush();
  // A checkpoint refers to the partial file: keep it whatever ends the run.
  void keep_partial() { keep_ = true; }
  static constexpr std::chrono::seconds flush_interval{10};
  // Called by finish() with the HDF5 file id (hid_t) of the final file before it is renamed to
  // FILE, to add groups of its own (a sweep's /sweep).
  void on_finish(std::function<void(int64_t)> add) { on_finish_ = std::move(add); }
  // The most memory the writer holds for a spec: one HDF5 chunk of each growing dataset.
  static uint64_t buffer_bytes(const experiment_spec& spec);
  // The statistics written to /analysis by finish(), one entry per population whose spikes were
  // recorded; empty when analysis.enabled = false or the run ended before analysis.t_start.
  const std::vector<population_analysis>& analysis() const { return analysis_; }
  // Why the statistics could not be computed (the file is then written without /analysis, and
  // `spikesim analyze` can compute them from it); empty when they were.
  const std::string& analysis_failure() const { return analysis_failure_; }

 private:
  void open_for_resume(const experiment_spec& spec);
  void create_layout(const experiment_spec& spec, const backend& b);
  // Resuming: the root attributes of the file resumed from and the rows its checkpoint counts.
  void continue_resumed(const experiment_spec& spec, const backend& b);
  void flush_rows();
  // FILE.tmp, filled, becomes FILE.partial, switched to SWMR writing.
  void publish_partial();
  // The final file `tmp` (renamed over FILE by finish()): FILE.partial's datasets (`src`, an HDF5
  // file id), the final attributes and /analysis, on disk.
  void write_final_file(int64_t src, const std::string& tmp, const run_summary& s);
  void update_progress_attrs();

  struct impl;
  std::unique_ptr<impl> impl_;
  std::string path_, partial_, tmp_;
  std::string source_;  // resuming: the file resumed from (FILE.partial or FILE), never changed
  std::function<void(int64_t)> on_finish_;
  std::vector<population_analysis> analysis_;
  std::string analysis_failure_;
  bool done_ = false;
  bool keep_ = false;
  bool published_ = false;  // FILE.partial is this run's
  const checkpoint* resume_ = nullptr;
};

std::string utc_now();  // ISO 8601, as files, checkpoints and benchmarks stamp it

}  // namespace spikesim
