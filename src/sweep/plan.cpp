// Sweep planning: memory costs of points, packs within a budget, pack file names, what a file
// found in the output directory is to this sweep, and this task's plan.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <map>
#include <sstream>

#include <spikesim/analysis.hpp>
#include <spikesim/environment.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/simulation.hpp>
#include <spikesim/sweep_run.hpp>

#include "io/h5.hpp"
#include "io/sweep_file.hpp"

namespace spikesim {

namespace fs = std::filesystem;

std::string sweep_directory(const sweep_request& r) {
  return r.output_dir.empty() ? fs::path(r.config).stem().string() + "_sweep" : r.output_dir;
}

sweep_spec load_sweep(const sweep_request& r) {
  if (r.config_text.empty()) return load_sweep(r.config, r.sets, r.sweeps);
  return parse_sweep(r.config_text, r.config.empty() ? "<string>" : r.config, r.sets, r.sweeps);
}

point_cost cost_of(const experiment_spec& p) {
  constexpr double k_output_per_population = 1.5 * 1024 * 1024;
  point_cost c;
  c.fixed = static_cast<double>(estimate_state_bytes(p, 0));
  c.per_step = (static_cast<double>(estimate_state_bytes(p, 1000)) - c.fixed) / 1000.0;
  for (const auto& pop : p.populations) {
    c.fixed += k_output_per_population;
    if (p.analysis.enabled && pop.record.spikes)
      c.fixed += static_cast<double>(spike_analyzer::memory_bytes(
          pop.size, static_cast<uint64_t>(p.run.tstop / p.analysis.rate_bin) + 1));
  }
  return c;
}

std::vector<pack_plan> plan_packs(const std::vector<experiment_spec>& specs, uint64_t first_point,
                                  const std::vector<bool>& done, uint64_t max_pack, double budget) {
  std::vector<pack_plan> packs;
  experiment_spec acc;  // the current pack, for its chunk length
  double fixed = 0, per_step = 0;
  uint64_t largest = 0;
  bool after_gap = true;  // a done point ends the current pack
  for (uint64_t i = 0; i < specs.size(); ++i) {
    if (done[i]) {
      after_gap = true;
      continue;
    }
    const uint64_t k = first_point + i;
    const point_cost c = cost_of(specs[i]);
    const uint64_t n = specs[i].total_neurons();
    bool join = !after_gap && packable(specs[packs.back().first - first_point], specs[i]) &&
                (max_pack == 0 || packs.back().count < max_pack);
    after_gap = false;
    if (join && budget > 0) {
      const size_t pops = acc.populations.size(), projs = acc.projections.size();
      append_point(acc, specs[i], k);
      if (specs[i].run.chunk_steps == 0)
        acc.run.chunk_steps = pack_chunk_steps(std::max(largest, n), acc.total_neurons());
      const double chunk = static_cast<double>(chunk_steps_for(acc));
      if (fixed + c.fixed + (per_step + c.per_step) * chunk > budget) {
        acc.populations.resize(pops);
        acc.projections.resize(projs);
        join = false;
      }
    }
    if (join) {
      ++packs.back().count;
      largest = std::max(largest, n);
    } else {
      packs.push_back({k, 1});
      if (budget > 0) acc = pack_points({specs[i]}, {k});
      fixed = per_step = 0;
      largest = n;
    }
    fixed += c.fixed;
    per_step += c.per_step;
  }
  return packs;
}

std::string pack_file(uint64_t first, uint64_t last, uint64_t total) {
  const int width = static_cast<int>(std::to_string(total > 0 ? total - 1 : 0).size());
  std::ostringstream o;
  o << "points_" << std::setfill('0') << std::setw(width) << first << "-" << std::setw(width)
    << last << ".h5";
  return o.str();
}

bool parse_pack_name(const std::string& name, uint64_t& first, uint64_t& last) {
  unsigned long long a = 0, b = 0;
  int used = 0;
  if (std::sscanf(name.c_str(), "points_%llu-%llu.h5%n", &a, &b, &used) != 2 ||
      static_cast<size_t>(used) != name.size())
    return false;
  first = a;
  last = b;
  return true;
}

namespace {

found_file foreign_file(found_file::reason_t reason, std::string why) {
  found_file f;
  f.reason = reason;
  f.why = std::move(why);
  return f;
}

}  // namespace

found_file examine(const std::string& path, const sweep_spec& s, point_range range,
                   const std::vector<experiment_spec>& specs) {
  pack_file_header h;
  try {
    const h5::handle file = open_pack_file(path);
    h = read_pack_header(file);
  } catch (const error& e) {
    return foreign_file(found_file::unreadable, e.what());
  }
  if (h.config != s.config_text)
    return foreign_file(found_file::other_sweep,
                        "it holds sweep " + h.sweep.id + ", this is sweep " + s.id);
  found_file f;
  if (h.status != "complete") {
    f.kind = found_file::unfinished;
    return f;
  }
  if (h.simulator_version != simulator_version())
    return foreign_file(found_file::other_version, "it was written by spikesim " +
                                                       h.simulator_version + "; this is spikesim " +
                                                       simulator_version());
  for (size_t i = 0; i < h.sweep.point.size(); ++i) {
    const uint64_t k = h.sweep.point[i];
    if (k < range.first || k >= range.first + range.count) continue;
    if (h.sweep.config[i] != specs[k - range.first].config_text ||
        h.sweep.seed[i] != point_seed(s, k))
      return foreign_file(
          found_file::other_point,
          "its point " + std::to_string(k) + " has another config or seed than this sweep's");
  }
  f.kind = found_file::complete;
  f.point = h.sweep.point;
  return f;
}

std::vector<experiment_spec> task_specs(const sweep_spec& s, point_range range) {
  std::vector<experiment_spec> specs;
  specs.reserve(range.count);
  for (uint64_t k = range.first; k < range.first + range.count; ++k)
    specs.push_back(point_spec(s, k));
  return specs;
}

namespace {

message_text pack_file_message(pack_file_error::reason_t reason, const std::string& path,
                               const found_file& f) {
  if (reason == pack_file_error::overwrite_off)
    return "output '" + path +
           "' exists and output.overwrite = false; remove it or choose another " + setting::output;
  const message_text other_sweep =
      " (another config, or other " + setting::set + " or " + setting::sweep + " options)";
  return "output '" + path + "' exists and is not a file of this sweep: " + f.why +
         (f.reason == found_file::other_sweep ? other_sweep : message_text()) +
         "; it is not replaced: remove it, choose another " + setting::output + ", or give " +
         setting::redo + " to replace it";
}

}  // namespace

pack_file_error::pack_file_error(reason_t reason, std::string path, found_file found)
    : output_error(pack_file_message(reason, path, found)),
      reason(reason),
      path(std::move(path)),
      found(std::move(found)) {}

std::vector<uint64_t> task_plan::encode() const {
  std::vector<uint64_t> v{task, tasks, range.first, range.count, kept_points, kept_files};
  for (const auto& p : packs) v.insert(v.end(), {p.first, p.count});
  return v;
}

task_plan task_plan::decode(const std::vector<uint64_t>& v) {
  task_plan t;
  t.task = v.at(0);
  t.tasks = v.at(1);
  t.range = {v.at(2), v.at(3)};
  t.kept_points = v.at(4);
  t.kept_files = v.at(5);
  for (size_t i = 6; i + 1 < v.size(); i += 2) t.packs.push_back({v[i], v[i + 1]});
  return t;
}

namespace {

// The files of `dir` named after points of the task, as examined; the points complete ones hold
// are marked `done` and counted in the plan.
std::map<std::string, found_file> look_at_directory(const fs::path& dir, const sweep_spec& s,
                                                    const std::vector<experiment_spec>& specs,
                                                    task_plan& t, std::vector<bool>& done) {
  std::map<std::string, found_file> found;
  const uint64_t last = t.range.first + t.range.count - 1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    uint64_t first = 0, end = 0;
    if (!parse_pack_name(name, first, end) || end < t.range.first || first > last) continue;
    found_file f = examine(e.path().string(), s, t.range, specs);
    if (f.kind == found_file::complete) {
      ++t.kept_files;
      for (uint64_t k : f.point)
        if (k >= t.range.first && k <= last && !done[k - t.range.first]) {
          done[k - t.range.first] = true;
          ++t.kept_points;
        }
    }
    found.emplace(name, std::move(f));
  }
  if (ec) throw input_error("cannot list directory '" + dir.string() + "': " + ec.message());
  return found;
}

}  // namespace

task_plan plan_task(const sweep_request& r, const sweep_spec& s, const std::string& dir_name,
                    double budget, std::vector<experiment_spec>& specs) {
  const fs::path dir(dir_name);
  task_plan t;
  const task_assignment task = resolve_task(r.task_id, r.num_tasks);
  t.task = task.id;
  t.tasks = task.tasks;
  const uint64_t total = s.points();
  t.range = task_points(total, t.task, t.tasks);
  if (t.range.count == 0) return t;
  checkpoint_interval_steps(r.checkpoint_every_ms, 1.0);  // refuses a bad value before anything
  specs = task_specs(s, t.range);
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw output_error("cannot write the sweep into '" + dir.string() + "': not a directory");
  std::map<std::string, found_file> found;  // files named after points of the task
  std::vector<bool> done(t.range.count, false);
  if (!r.redo && fs::is_directory(dir, ec)) found = look_at_directory(dir, s, specs, t, done);
  t.packs = plan_packs(specs, t.range.first, done, r.pack, budget);
  for (const auto& p : t.packs) {
    const std::string name = pack_file(p.first, p.first + p.count - 1, total);
    const fs::path f = dir / name;
    if (!fs::exists(f, ec)) continue;
    if (!specs[p.first - t.range.first].output.overwrite)
      throw pack_file_error(pack_file_error::overwrite_off, f.string(), {});
    const auto it = found.find(name);
    if (it != found.end() && it->second.kind == found_file::foreign)
      throw pack_file_error(pack_file_error::foreign, f.string(), it->second);
    found.erase(name);
  }
  // Unfinished files of this sweep that no pack replaces come from another pack layout (the plan
  // depends on the memory available and on the ranks per node): their points run again in this
  // plan's packs, so they are removed, with their checkpoints, rather than left for the merge to
  // refuse. Other files that are not complete files of this sweep are reported.
  for (const auto& [name, f] : found) {
    if (f.kind == found_file::unfinished)
      t.unfinished.push_back(name);
    else if (f.kind != found_file::complete)
      t.stray.push_back(name);
  }
  return t;
}

void prepare_directory(const task_plan& t, const std::string& dir_name) {
  if (t.range.count == 0) return;
  const fs::path dir(dir_name);
  std::error_code ec;
  for (const auto& name : t.unfinished) {
    fs::remove(dir / name, ec);
    fs::remove(dir / (name + ".ckpt"), ec);
  }
  fs::create_directories(dir, ec);
  if (ec || access(dir.c_str(), W_OK) != 0)
    throw output_error("cannot create or write the output directory '" + dir.string() + "'" +
                       (ec ? ": " + ec.message() : std::string()));
}

}  // namespace spikesim
