// The sweep runner: the plan agreed over the ranks, and each pack of this rank simulated into
// its file through the checkpointed simulation of a run (split when it does not fit, resumed
// from its checkpoint when interrupted).
#include <filesystem>
#include <optional>
#include <set>
#include <sstream>

#include <spikesim/atomic_output.hpp>
#include <spikesim/communicator.hpp>
#include <spikesim/environment.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/sweep_run.hpp>

#include "io/sweep_file.hpp"

namespace spikesim {

namespace fs = std::filesystem;

sweep_task plan_sweep_task(const sweep_request& r, communicator& comm,
                           const std::function<void(const sweep_task&)>& vetted) {
  // Each rank of a node runs a pack at the same time: the plan gives a pack the memory of a
  // rank's share of the node that has the least available.
  const double ram = comm.min(static_cast<double>(available_ram()) / comm.local_ranks());
  sweep_task t;
  t.dir = sweep_directory(r);
  std::vector<uint64_t> wire;
  if (comm.rank() == 0) {
    t.sweep = load_sweep(r);
    t.plan = plan_task(r, t.sweep, t.dir, ram * 0.75, t.specs);
    if (vetted) vetted(t);
    prepare_directory(t.plan, t.dir);
    wire = t.plan.encode();
    wire.push_back(std::stoull(t.sweep.id, nullptr, 16));
  }
  comm.broadcast(wire);
  if (comm.rank() != 0) {
    t.sweep = load_sweep(r);
    if (std::stoull(t.sweep.id, nullptr, 16) != wire.back())
      throw input_error("'" + r.config + "' changed while the sweep was starting");
    wire.pop_back();
    t.plan = task_plan::decode(wire);
    if (t.plan.range.count) t.specs = task_specs(t.sweep, t.plan.range);
  }
  return t;
}

std::optional<checkpoint> pack_checkpoint(const std::string& ckpt, const experiment_spec& packed,
                                          const std::string& final_path,
                                          const std::function<void(const std::string&)>& refused) {
  std::error_code ec;
  if (!fs::exists(ckpt, ec)) return std::nullopt;
  try {
    checkpoint c = read_checkpoint(ckpt);
    check_checkpoint(c, packed, ckpt);
    std::vector<std::string> pops;
    for (const auto& p : packed.populations) pops.push_back(p.name);
    if (c.populations != pops || fs::path(c.output).filename() != fs::path(final_path).filename())
      throw input_error("it is of another pack of points");
    if (!fs::exists(partial_path(final_path), ec) && !fs::exists(final_path, ec))
      throw input_error("the output it continues is gone");
    return c;
  } catch (const error& e) {
    if (refused) refused(e.what());
    fs::remove(ckpt, ec);
    return std::nullopt;
  }
}

namespace {

sweep_file_info sweep_info(const sweep_spec& s, const std::vector<experiment_spec>& specs,
                           const std::vector<uint64_t>& indices, const experiment_spec& packed,
                           uint64_t task, uint64_t tasks) {
  sweep_file_info f;
  f.mode = s.mode == sweep_mode::zip ? "zip" : "grid";
  f.seeds = s.seeds == sweep_seeds::same ? "same" : "distinct";
  f.id = s.id;
  for (const auto& a : s.axes) f.keys.push_back(a.key);
  f.points = s.points();
  f.task_id = task;
  f.num_tasks = tasks;
  f.values.assign(s.axes.size(), {});
  for (size_t i = 0; i < indices.size(); ++i) {
    f.point.push_back(indices[i]);
    const auto v = point_values(s, indices[i]);
    for (size_t k = 0; k < v.size(); ++k) f.values[k].push_back(v[k]);
    f.seed.push_back(point_seed(s, indices[i]));
    f.config.push_back(specs[i].config_text);
    for (size_t p = 0; p < specs[i].populations.size(); ++p)
      f.population_point.push_back(indices[i]);
  }
  for (const auto& p : packed.populations) f.population.push_back(p.name);
  return f;
}

// A pack's spec: its points side by side, with the sweep's config and seed, into `path`.
experiment_spec pack_spec(const sweep_task& t, const std::vector<experiment_spec>& part,
                          const std::vector<uint64_t>& part_idx, const std::string& path) {
  experiment_spec packed = pack_points(part, part_idx);
  packed.config_text = t.sweep.config_text;
  packed.run.seed = t.sweep.base_seed;
  packed.output.file = path;
  return packed;
}

// The recorder of a pack: resuming from `ck` when it serves (reset when the recorder refuses it),
// else a fresh file (any checkpoint of another run of the pack removed).
std::unique_ptr<hdf5_recorder> pack_recorder(
    const experiment_spec& packed, const std::string& path, const std::string& ckpt_path,
    std::optional<checkpoint>& ck, const std::function<void(const std::string&)>& refused) {
  std::unique_ptr<hdf5_recorder> rec;
  if (ck) {
    try {
      rec = std::make_unique<hdf5_recorder>(packed, path, &*ck);
    } catch (const error& e) {
      refused(e.what());
      ck.reset();
    }
  }
  if (!rec) {
    std::error_code ec;
    fs::remove(ckpt_path, ec);  // of another run of the pack (redone), or unusable
    rec = std::make_unique<hdf5_recorder>(packed, path);
  }
  return rec;
}

// The runner of one rank: its packs in order (a pack split for memory becomes two), and the
// totals of this rank.
class pack_runner {
 public:
  pack_runner(const sweep_task& t, const sweep_request& r, backend_options opt,
              const communicator& comm, const sweep_hooks& hooks)
      : t_(t), r_(r), opt_(std::move(opt)), hooks_(hooks) {
    opt_.quiet = hooks.session.quiet || comm.rank() != 0;
    prefix_ = comm.ranks() > 1 ? "rank " + std::to_string(comm.rank()) + ": " : "";
    for (size_t i = comm.rank(); i < t.plan.packs.size(); i += comm.ranks())
      packs_.push_back(t.plan.packs[i]);
    // The names whose existing files plan_task vetted; a pack split for memory gets other names.
    for (const auto& p : t.plan.packs) vetted_.insert(name_of(p));
  }

  sweep_totals run() {
    for (size_t pi = 0; pi < packs_.size() && !totals_.interrupted; ++pi) {
      if (stopped()) {
        totals_.interrupted = true;
        break;
      }
      const pack_plan p = packs_[pi];
      const auto from =
          t_.specs.begin() + static_cast<std::ptrdiff_t>(p.first - t_.plan.range.first);
      const std::vector<experiment_spec> part(from, from + static_cast<std::ptrdiff_t>(p.count));
      std::vector<uint64_t> part_idx(p.count);
      for (uint64_t i = 0; i < p.count; ++i) part_idx[i] = p.first + i;
      const std::string name = name_of(p);
      const std::string path = (fs::path(t_.dir) / name).string();
      const experiment_spec packed = pack_spec(t_, part, part_idx, path);
      check_unvetted(name, path, part.front());
      std::string notice;
      std::unique_ptr<backend> b;
      try {
        check_host_memory(packed, opt_.kind, packed.analysis.enabled);
        b = make_backend(packed, opt_, &notice);
      } catch (const memory_error& e) {
        // The plan's estimate is of host memory when it was made; the device's memory is only
        // known to its backend. A pack that does not fit is halved and tried again.
        if (p.count < 2) throw;
        report(prefix_ + name + " does not fit (" + e.what() + "); splitting it in two");
        const uint64_t half = p.count / 2;
        packs_[pi] = {p.first, half};
        packs_.insert(packs_.begin() + static_cast<std::ptrdiff_t>(pi) + 1,
                      pack_plan{p.first + half, p.count - half});
        --pi;
        continue;
      }
      if (!notice.empty() && !opt_.quiet && pi == 0) hooks_.session.report(notice);
      if (stopped()) {
        totals_.interrupted = true;
        break;
      }
      run_pack(p, packed, *b, part, part_idx);
    }
    return totals_;
  }

 private:
  std::string name_of(const pack_plan& p) const {
    return pack_file(p.first, p.first + p.count - 1, t_.sweep.points());
  }
  bool stopped() const { return hooks_.session.stop && hooks_.session.stop->load(); }
  void report(const std::string& line) const {
    if (!hooks_.session.quiet) hooks_.session.report(line);
  }

  // A pack split for memory: its file name was not looked at when the task was planned.
  void check_unvetted(const std::string& name, const std::string& path,
                      const experiment_spec& first) const {
    std::error_code ec;
    if (vetted_.count(name) || !fs::exists(path, ec)) return;
    if (!first.output.overwrite) throw pack_file_error(pack_file_error::overwrite_off, path, {});
    found_file f = examine(path, t_.sweep, t_.plan.range, t_.specs);
    if (!r_.redo && f.kind == found_file::foreign)
      throw pack_file_error(pack_file_error::foreign, path, std::move(f));
  }

  // An interrupted pack continues from its checkpoint, in its own file: the interrupted one, or
  // the partial file of a process that was killed (the recorder copies it, changing neither).
  void run_pack(const pack_plan& p, const experiment_spec& packed, backend& b,
                const std::vector<experiment_spec>& part, const std::vector<uint64_t>& part_idx) {
    const std::string& path = packed.output.file;
    const std::string name = fs::path(path).filename().string();
    const session_hooks& h = hooks_.session;
    checkpoint_policy policy;
    policy.path = path + ".ckpt";
    policy.prefix = prefix_;
    // A checkpoint that cannot serve is said so whatever the quiet setting: its pack starts over.
    const auto refused = [&](const std::string& why) {
      h.report(prefix_ + "cannot resume from " + policy.path + " (" + why +
               "): its pack runs from the beginning");
    };
    std::optional<checkpoint> ck;
    if (!r_.redo) ck = pack_checkpoint(policy.path, packed, path, refused);
    const auto rec = pack_recorder(packed, path, policy.path, ck, refused);
    if (hooks_.pack_starting) hooks_.pack_starting(name);
    if (ck) {
      b.restore_state(ck->state);
      policy.resumed = &*ck;
      std::ostringstream line;
      line << prefix_ << name << " resumes at t = " << static_cast<double>(ck->step) * packed.run.dt
           << " ms from " << policy.path;
      report(line.str());
    }
    policy.every_steps = checkpoint_interval_steps(r_.checkpoint_every_ms, packed.run.dt);
    const sweep_file_info info =
        sweep_info(t_.sweep, part, part_idx, packed, t_.plan.task, t_.plan.tasks);
    rec->on_finish([&info](int64_t f) { write_sweep_group(f, info); });
    const checkpointed_summary c = simulate_checkpointed(packed, b, *rec, rec.get(), policy, h);
    const run_summary& sum = c.summary;
    ++totals_.files;
    if (sum.status == run_status::complete) totals_.done_points += p.count;
    totals_.sim_wall += sum.wall_s;
    totals_.neuron_steps += static_cast<double>(packed.total_neurons()) *
                            static_cast<double>(sum.steps - (ck ? ck->step : 0));
    if (hooks_.pack_done)
      hooks_.pack_done({name, path, p.count, packed.total_neurons(), sum, rec->analysis_failure()});
    if (sum.status == run_status::interrupted) {
      totals_.interrupted = true;
      totals_.interrupted_file = path + " is marked interrupted" +
                                 (c.wrote_checkpoint ? ", its checkpoint is " + policy.path : "");
    }
  }

  const sweep_task& t_;
  const sweep_request& r_;
  backend_options opt_;
  const sweep_hooks& hooks_;
  std::string prefix_;
  std::vector<pack_plan> packs_;
  std::set<std::string> vetted_;
  sweep_totals totals_;
};

}  // namespace

sweep_totals run_packs(const sweep_task& t, const sweep_request& r, backend_options opt,
                       communicator& comm, const sweep_hooks& hooks) {
  sweep_totals totals = pack_runner(t, r, std::move(opt), comm, hooks).run();
  if (comm.ranks() > 1 && !totals.interrupted_file.empty())
    hooks.session.report("rank " + std::to_string(comm.rank()) + ": " + totals.interrupted_file);
  // The ranks end together, with one exit code: Open MPI's mpirun ends every rank as soon as one
  // exits with a code other than 0, which would kill ranks still writing their last chunk.
  std::vector<uint64_t> sums{totals.done_points, totals.files, totals.interrupted ? 1u : 0u,
                             static_cast<uint64_t>(totals.neuron_steps),
                             static_cast<uint64_t>(totals.sim_wall * 1e6)};
  comm.sum_idle(sums);
  totals.done_points = sums[0];
  totals.files = sums[1];
  totals.interrupted = sums[2] > 0;
  totals.neuron_steps = static_cast<double>(sums[3]);
  totals.sim_wall = static_cast<double>(sums[4]) * 1e-6;
  return totals;
}

}  // namespace spikesim
