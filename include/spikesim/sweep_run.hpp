// Running a sweep: this task's share of the points, the points that complete files already hold,
// the packs of the others within a memory budget, the checks of every file a pack would replace,
// and the runner that simulates each pack into its file (split in two when it does not fit,
// resumed from its checkpoint when interrupted). Under several ranks the packs are dealt
// round-robin (docs/sweeps.md).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/checkpoint.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/session.hpp>
#include <spikesim/sweep.hpp>

namespace spikesim {

// What a sweep is asked to do.
struct sweep_request {
  std::string config;       // experiment file with a [sweep] table
  std::string config_text;  // its TOML text, used instead of reading `config` (then only a name)
  std::vector<std::string> sets;         // overrides of every point, key.path=value
  std::vector<std::string> sweeps;       // more swept keys, key=v1,v2,... or key=start:stop:step
  std::string output_dir;                // empty: the config's name without .toml, plus _sweep
  int64_t task_id = -1, num_tasks = -1;  // < 0: from SLURM's variables (resolve_task)
  uint64_t pack = 0;                     // the most points per pack; 0: as many as fit
  bool redo = false;                     // run every pack, replacing whatever file it finds
  double checkpoint_every_ms = 0.0;
};
// The directory the packs' files go to.
std::string sweep_directory(const sweep_request& r);
// The request's sweep: its config_text when given, else the file `config`.
sweep_spec load_sweep(const sweep_request& r);

// Host memory of one point inside a pack, as fixed + per_step * chunk_steps: its share of the
// backend state and chunk buffers (estimate_state_bytes is linear in the chunk), its spike-train
// statistics and the output file's open datasets (HDF5 keeps up to a chunk of each cached).
struct point_cost {
  double fixed = 0, per_step = 0;
};
point_cost cost_of(const experiment_spec& point);

// A pack: the points [first, first + count) of the sweep, simulated together into one file.
struct pack_plan {
  uint64_t first = 0;
  uint64_t count = 0;
};
// Runs of consecutive points of the task (specs[i] is point first_point + i) that are not `done`
// and are packable, at most `max_pack` each (0: no limit) and within `budget` bytes of host
// memory (0: no limit); a point alone always makes a pack.
std::vector<pack_plan> plan_packs(const std::vector<experiment_spec>& specs, uint64_t first_point,
                                  const std::vector<bool>& done, uint64_t max_pack, double budget);

// A pack's file name, points_<first>-<last>.h5 with as many digits as the sweep's last point,
// and back (false for other names).
std::string pack_file(uint64_t first, uint64_t last, uint64_t total);
bool parse_pack_name(const std::string& name, uint64_t& first, uint64_t& last);

// A file found where the sweep writes its packs: how it relates to this sweep.
struct found_file {
  enum kind_t {
    complete,    // this sweep, this version, complete: its points are not run again
    unfinished,  // this sweep, interrupted or failed: its points run again and a pack replaces it
    foreign      // anything else: never replaced unless redone
  } kind = foreign;
  // Why it is foreign: unreadable (not a pack file), another sweep, another version, a point
  // with another config or seed. `why` says so.
  enum reason_t { unreadable, other_sweep, other_version, other_point } reason = unreadable;
  std::string why;
  std::vector<uint64_t> point;  // the points it holds (complete files)
};
// What `path` holds, against the sweep `s` whose points range.first... have the specs `specs`:
// a complete file also needs each of its points of the task to carry this sweep's config and seed.
found_file examine(const std::string& path, const sweep_spec& s, point_range range,
                   const std::vector<experiment_spec>& specs);

// The specs of the points of `range`.
std::vector<experiment_spec> task_specs(const sweep_spec& s, point_range range);

// An existing file a pack would replace and may not: output.overwrite is false, or it is not a
// file of this sweep (`found` says why). The message's advice marks the settings (output, redo,
// set, sweep) that a front-end names.
struct pack_file_error : output_error {
  enum reason_t { overwrite_off, foreign };
  pack_file_error(reason_t reason, std::string path, found_file found);
  reason_t reason;
  std::string path;
  found_file found;
};

// What this task decided before anything runs.
struct task_plan {
  uint64_t task = 0, tasks = 1;
  point_range range;
  uint64_t kept_points = 0, kept_files = 0;  // in complete files of this sweep, not run again
  std::vector<pack_plan> packs;              // what remains, in point order
  // Unfinished files of this sweep that no pack replaces (another pack layout: their points run
  // again), to be removed with their checkpoints; and files of points of the task that are
  // neither kept nor replaced (another sweep's). Names in the directory.
  std::vector<std::string> unfinished, stray;

  // The plan as numbers, for the other ranks (without the file lists).
  std::vector<uint64_t> encode() const;
  static task_plan decode(const std::vector<uint64_t>& v);
};

// The task's share of the points, the points that complete files in `dir` already hold (unless
// r.redo), the packs of the others within `budget` bytes of memory per pack, and the checks of
// every file a pack would replace (pack_file_error). Reads `dir`, writes nothing. `specs` gets
// the specs of the task's points.
task_plan plan_task(const sweep_request& r, const sweep_spec& s, const std::string& dir,
                    double budget, std::vector<experiment_spec>& specs);
// Removes the plan's unfinished files and creates `dir` (output_error when it cannot be written).
void prepare_directory(const task_plan& t, const std::string& dir);

// The sweep and this task's plan, on every rank: rank 0 loads and plans with a rank's share of the
// memory of the node that has least, calls `vetted` with the plan and prepares the directory;
// the others load the sweep and take rank 0's plan, so that an error is reported once and no
// rank writes before rank 0 has looked at the directory.
struct sweep_task {
  sweep_spec sweep;
  task_plan plan;
  std::vector<experiment_spec> specs;  // of the points of plan.range
  std::string dir;
};
sweep_task plan_sweep_task(const sweep_request& r, communicator& comm,
                           const std::function<void(const sweep_task&)>& vetted);

// The checkpoint that a pack (the spec `packed`, written to `final_path`) resumes from: `ckpt`,
// which a stop or a checkpoint interval left next to its file, when it is of this pack (the
// sweep's config, this version of spikesim, the same points) and the output it continues is still
// there (the interrupted file, or the partial file of a process that was killed). nullopt when
// there is none; a checkpoint that cannot serve is removed and `refused` is told why.
std::optional<checkpoint> pack_checkpoint(const std::string& ckpt, const experiment_spec& packed,
                                          const std::string& final_path,
                                          const std::function<void(const std::string&)>& refused);

// One pack simulated into its file.
struct pack_outcome {
  std::string name, path;
  uint64_t points = 0, neurons = 0;
  run_summary summary;
  std::string analysis_failure;  // why its /analysis failed, else empty
};
struct sweep_hooks {
  session_hooks session;  // stop, progress, report and quiet, for every pack
  std::function<void(const std::string& name)> pack_starting;  // before its simulation
  std::function<void(const pack_outcome&)> pack_done;
};
// What the ranks did together.
struct sweep_totals {
  uint64_t done_points = 0, files = 0;
  bool interrupted = false;
  double neuron_steps = 0, sim_wall = 0;  // simulation wall time, summed over ranks
  std::string interrupted_file;  // this rank's: "FILE is marked interrupted[, its checkpoint ...]"
};
// Simulates this rank's packs of `t` (round-robin over the ranks) with `opt` (its kind, threads
// and device); a pack that does not fit in memory is halved and tried again, an interrupted one
// resumes from its checkpoint. A stop ends the current pack after its chunk and skips the rest.
// Every rank ends here together (the totals are summed over the ranks).
sweep_totals run_packs(const sweep_task& t, const sweep_request& r, backend_options opt,
                       communicator& comm, const sweep_hooks& hooks);

}  // namespace spikesim
