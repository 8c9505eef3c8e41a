// The checkpointed simulation that a run and each pack of a sweep go through: the checkpoint
// interval, writing a checkpoint after the output is flushed, the stop agreed over ranks, and the
// removal of a checkpoint that has served.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <sstream>

#include <spikesim/atomic_output.hpp>
#include <spikesim/communicator.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/output_paths.hpp>
#include <spikesim/session.hpp>

namespace spikesim {
namespace {

// The checkpoint of `spec`'s run at `step`, written to `path` after `rec` is flushed, so that the
// file holds every row the checkpoint counts (a failure of the output fails the run); `rec` then
// keeps its partial file whatever ends the run. A checkpoint that cannot be written is reported
// and the run goes on: returns whether it was. Over `ranks` > 1 this is rank 0's part; the other
// ranks call b.save_state() (collective), and a failure to gather the state is thrown (it ends
// the job) rather than reported.
bool save_checkpoint(const std::string& path, uint64_t step, const std::vector<uint64_t>& spikes,
                     const experiment_spec& spec, const backend& b, hdf5_recorder& rec, int ranks,
                     const session_hooks& hooks) {
  rec.flush();
  checkpoint c;
  // Over ranks the state is gathered collectively: a failure there (memory on rank 0) must end
  // the job (the exception goes to the front-end's abort) instead of leaving the other ranks
  // waiting in the gather. In one process the run goes on without this checkpoint.
  if (ranks > 1) c.state = b.save_state();
  try {
    if (ranks == 1) c.state = b.save_state();
    c.step = step;
    c.config_text = spec.config_text;
    c.simulator_version = simulator_version();
    c.git_sha = git_sha();
    c.backend = b.name() + (ranks > 1 ? " (" + std::to_string(ranks) + " ranks)" : "");
    c.output = spec.output.file;
    c.created_utc = utc_now();
    for (const auto& p : spec.populations) c.populations.push_back(p.name);
    c.spikes = spikes;
    c.rows = rec.rows();
    write_checkpoint(path, c);
    rec.keep_partial();
    return true;
  } catch (const std::exception& e) {
    std::ostringstream line;
    line << "warning: no checkpoint at t = " << static_cast<double>(step) * spec.run.dt
         << " ms: " << write_failure(e.what(), temporary_path(path), errno);
    if (hooks.report) hooks.report(line.str());
    return false;
  }
}

}  // namespace

checkpoint_interval_error::checkpoint_interval_error(double every_ms)
    : config_error("config error: " + setting::checkpoint_every + " = " + std::to_string(every_ms) +
                   " ms is invalid: must be > 0 (simulated time between checkpoints)"),
      every_ms(every_ms) {}

uint64_t checkpoint_interval_steps(double every_ms, double dt) {
  if (every_ms == 0.0) return 0;
  if (!(every_ms > 0.0) || !std::isfinite(every_ms)) throw checkpoint_interval_error(every_ms);
  return std::max<uint64_t>(1, step_at(every_ms, dt));
}

checkpointed_summary simulate_checkpointed(const experiment_spec& spec, backend& b, recorder& rec,
                                           hdf5_recorder* file, const checkpoint_policy& policy,
                                           const session_hooks& hooks) {
  communicator* const spread = policy.spread;
  // Ranks stop together: a signal reaches them at different times, so they agree on it (once per
  // chunk) before acting on it.
  std::atomic<bool> agreed_stop{false};
  run_options ro;
  ro.stop = spread ? &agreed_stop : hooks.stop;
  ro.progress = [&](uint64_t d, uint64_t t) {
    if (hooks.progress) hooks.progress(d, t);
    if (spread) agreed_stop.store(spread->any(hooks.stop && hooks.stop->load()));
  };
  if (policy.resumed) {
    ro.start_step = policy.resumed->step;
    ro.start_spikes = policy.resumed->spikes;
  }
  checkpointed_summary out;
  ro.checkpoint_every = policy.every_steps;
  ro.checkpoint = [&](uint64_t step, const std::vector<uint64_t>& spikes) {
    // Over ranks every rank hands its slice's state to rank 0 (collective), which writes the
    // checkpoint of the whole network, the one a single process writes.
    if (!file) {
      b.save_state();
      return;
    }
    out.wrote_checkpoint |= save_checkpoint(policy.path, step, spikes, spec, b, *file,
                                            spread ? spread->ranks() : 1, hooks);
  };
  try {
    out.summary = simulate(spec, b, rec, ro);
  } catch (const numerical_error&) {
    if (file && hooks.report)
      hooks.report(policy.prefix + "the output up to the failing chunk is kept in " +
                   spec.output.file + ", marked failed");
    throw;
  }
  if (file && out.summary.status == run_status::complete &&
      (out.wrote_checkpoint || policy.resumed))
    std::remove(policy.path.c_str());  // the run is complete: its checkpoint has served
  return out;
}

}  // namespace spikesim
