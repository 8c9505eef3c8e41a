// The run session: what `spikesim run` decides between its options and its tables, from loading
// the spec (or the checkpoint it resumes) to the summary of all ranks.
#include <cerrno>
#include <memory>
#include <sstream>

#include <spikesim/atomic_output.hpp>
#include <spikesim/communicator.hpp>
#include <spikesim/config_loader.hpp>
#include <spikesim/connectivity.hpp>
#include <spikesim/format.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/output_paths.hpp>
#include <spikesim/session.hpp>

namespace spikesim {
namespace {

// Rank 0 writes the file; the other ranks of a run spread over ranks record nothing (every rank
// holds every chunk's spikes after the exchange, rank 0 included).
class null_recorder final : public recorder {
 public:
  void begin(const experiment_spec&, const backend&) override {}
  void write(const chunk_output&) override {}
  void finish(const run_summary&) override {}
};

// No file the run writes (the output, its partial file, the checkpoint and its temporary file) is
// one it reads or another it writes. A resume rewrites the checkpoint it started from by default:
// that one is both.
void check_run_files(const run_request& r, const std::string& output,
                     const std::string& ckpt_path) {
  std::vector<named_file> inputs;
  if (!r.config.empty() && r.config_text.empty()) inputs.push_back({"config", r.config});
  if (!r.resume.empty() && !same_file(r.resume, ckpt_path))
    inputs.push_back({"checkpoint resumed from", r.resume});
  check_distinct_files(inputs, {{"output", output},
                                {"partial output", partial_path(output)},
                                {"checkpoint", ckpt_path},
                                {"temporary checkpoint", temporary_path(ckpt_path)}});
}

// The request's config with its overrides: its text, its file, or (empty) `fallback` (the
// checkpoint's config, or the built-in experiment) named `fallback_name`.
experiment_spec requested_spec(const run_request& r, const std::string& fallback,
                               const std::string& fallback_name) {
  if (!r.config_text.empty())
    return parse_config(r.config_text, r.config.empty() ? "<string>" : r.config, r.sets);
  return r.config.empty() ? parse_config(fallback, fallback_name, r.sets)
                          : load_config(r.config, r.sets);
}

// The spec of a resumed run: without a config the one stored in the checkpoint, which must be
// the checkpoint's (version, resolved config, populations).
experiment_spec resumed_spec(const run_request& r, const checkpoint& ck) {
  experiment_spec spec = requested_spec(r, ck.config_text, r.resume + ":config");
  check_checkpoint(ck, spec, r.resume);
  spec.output.file = r.output.empty() ? ck.output : r.output;
  if (ck.populations.size() != spec.populations.size())
    throw input_error("checkpoint '" + r.resume + "' is damaged: it lists " +
                      std::to_string(ck.populations.size()) + " populations, the config " +
                      std::to_string(spec.populations.size()));
  return spec;
}

// Synapses and synaptic events are those of each rank's slice: summed over the ranks, with the
// exchange's costs. `events_before`: this rank's events restored from a checkpoint.
exchange_summary sum_over_ranks(run_summary& s, uint64_t events_before, communicator& comm) {
  std::vector<uint64_t> net{s.synapses, s.synapse_bytes, s.synaptic_events, events_before};
  comm.sum(net);
  s.synapses = net[0];
  s.synapse_bytes = net[1];
  s.synaptic_events = net[2];
  // Those of this run: a resumed run does not count the events before its checkpoint.
  s.synaptic_events_per_s = s.wall_s > 0 ? static_cast<double>(net[2] - net[3]) / s.wall_s : 0.0;
  s.construction_s = comm.max(s.construction_s);
  const exchange_stats& x = comm.stats();
  std::vector<uint64_t> bytes{x.bytes_sent};
  comm.sum(bytes);
  exchange_summary e;
  e.slowest_s = comm.max(x.seconds);
  e.quickest_s = comm.max(x.fastest_s);
  e.intervals = x.intervals;
  e.bytes_sent_all = bytes[0];
  e.bytes_received = x.bytes_received;
  e.overflows = x.overflows;
  return e;
}

void report_setup(const experiment_spec& spec, communicator& comm, const session_hooks& hooks) {
  if (comm.ranks() > 1)
    hooks.report(std::to_string(comm.ranks()) + " ranks; rank 0 writes " + spec.output.file);
  if (!spec.projections.empty()) {
    const connectivity_estimate e = estimate_connectivity(spec);
    hooks.report("building about " + std::to_string(e.synapses) +
                 " synapses: " + format_bytes(static_cast<double>(e.bytes)) + " (peak " +
                 format_bytes(static_cast<double>(e.peak_bytes)) + " while building)");
  }
}

}  // namespace

run_plan prepare_run(const run_request& r, communicator& comm) {
  run_plan p;
  p.resuming = !r.resume.empty();
  p.resume_path = r.resume;
  if (p.resuming) {
    p.resumed = read_checkpoint(r.resume);
    p.spec = resumed_spec(r, p.resumed);
  } else {
    p.spec = requested_spec(r, default_config_text(), "<default>");
    if (!r.output.empty()) p.spec.output.file = r.output;
  }
  p.checkpoint_every = checkpoint_interval_steps(r.checkpoint_every_ms, p.spec.run.dt);
  p.checkpoint_path = !r.checkpoint.empty() ? r.checkpoint
                      : p.resuming          ? r.resume
                                            : p.spec.output.file + ".ckpt";
  const bool root = comm.rank() == 0;
  if (root) check_run_files(r, p.spec.output.file, p.checkpoint_path);
  p.memory = check_host_memory(p.spec, r.backend, p.spec.analysis.enabled && root, comm.ranks());
  return p;
}

run_outcome execute_run(run_plan& plan, backend_options opt, communicator& comm,
                        const session_hooks& hooks) {
  const experiment_spec& spec = plan.spec;
  const bool spread = comm.ranks() > 1;
  const bool root = comm.rank() == 0;
  session_hooks h = hooks;
  h.quiet = hooks.quiet || !root;
  std::unique_ptr<hdf5_recorder> file_rec;
  null_recorder no_file;
  if (root)
    file_rec = std::make_unique<hdf5_recorder>(spec, spec.output.file,
                                               plan.resuming ? &plan.resumed : nullptr);
  recorder& rec = file_rec ? static_cast<recorder&>(*file_rec) : no_file;
  opt.quiet = h.quiet;
  opt.exchange = spread ? &comm : nullptr;
  if (!h.quiet) report_setup(spec, comm, h);
  std::string notice;
  auto b = make_backend(spec, opt, &notice);
  comm.reset_stats();  // the automatic backend asked every rank: not a spike exchange
  if (!notice.empty() && !h.quiet) h.report(notice);
  if (plan.resuming) {
    b->restore_state(plan.resumed.state);
    plan.resumed.state.clear();
    plan.resumed.state.shrink_to_fit();
    if (!h.quiet) {
      std::ostringstream line;
      line << "resuming at t = " << static_cast<double>(plan.resumed.step) * spec.run.dt
           << " ms (step " << plan.resumed.step << ") from " << plan.resume_path;
      h.report(line.str());
    }
  }
  if (h.starting) h.starting();
  run_outcome out;
  const bool stop = hooks.stop && hooks.stop->load();
  // Nothing was simulated: the recorder removes its partial file (a resumed run keeps it).
  if (spread ? comm.any(stop) : stop) return out;
  out.started = true;
  checkpoint_policy policy;
  policy.path = plan.checkpoint_path;
  policy.every_steps = plan.checkpoint_every;
  policy.resumed = plan.resuming ? &plan.resumed : nullptr;
  policy.spread = spread ? &comm : nullptr;
  const uint64_t events_before = b->network().synaptic_events;  // restored from a checkpoint
  try {
    checkpointed_summary c = simulate_checkpointed(spec, *b, rec, file_rec.get(), policy, h);
    out.summary = std::move(c.summary);
    out.wrote_checkpoint = c.wrote_checkpoint;
  } catch (const output_error& e) {
    throw output_error(write_failure(e.what(), partial_path(spec.output.file), errno));
  }
  if (spread) out.exchange = sum_over_ranks(out.summary, events_before, comm);
  if (file_rec) {
    out.analysis = file_rec->analysis();
    out.analysis_failure = file_rec->analysis_failure();
  }
  return out;
}

}  // namespace spikesim
