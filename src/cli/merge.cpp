// `spikesim merge FILES|DIRS...`: the files of a sweep (from one or many tasks) into one CSV table
// of each point's swept values and spike-train statistics, after checking that every point of
// the sweep is there exactly once.
#include <hdf5.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <spikesim/errors.hpp>
#include <spikesim/sweep.hpp>

#include "cli/commands.hpp"
#include "io/h5.hpp"
#include "io/sweep_file.hpp"

namespace spikesim::cli {
namespace {

namespace fs = std::filesystem;

struct merge_args {
  std::vector<std::string> inputs;
  std::string output;
};

// One population of one point: what the CSV shows of its /analysis.
struct row {
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

struct sweep_file {
  std::string path;
  sweep_file_info info;
};

std::string num(double x) {
  if (std::isnan(x)) return "nan";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

using point_ranges = std::vector<std::pair<uint64_t, uint64_t>>;  // [first, last]

point_ranges to_ranges(const std::vector<uint64_t>& sorted) {
  point_ranges r;
  for (uint64_t k : sorted) {
    if (!r.empty() && r.back().second + 1 == k)
      r.back().second = k;
    else
      r.push_back({k, k});
  }
  return r;
}

// "0-9, 15, 20-29", at most `max_ranges` of them.
std::string describe(const point_ranges& r, size_t max_ranges = 12) {
  std::string out;
  for (size_t i = 0; i < r.size(); ++i) {
    if (i == max_ranges) return out + ", and " + std::to_string(r.size() - i) + " more ranges";
    out += (out.empty() ? "" : ", ") + std::to_string(r[i].first) +
           (r[i].second > r[i].first ? "-" + std::to_string(r[i].second) : std::string());
  }
  return out;
}

// The task that task_points() gives point k.
uint64_t task_of(uint64_t points, uint64_t tasks, uint64_t k) {
  const uint64_t base = points / tasks, extra = points % tasks;
  const uint64_t big = extra * (base + 1);  // points of the tasks that have one more
  return k < big ? k / (base + 1) : extra + (k - big) / base;
}

std::vector<std::string> files_of(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& in : inputs) {
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found, partial;
      for (const auto& e : fs::directory_iterator(in, ec)) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file(ec)) continue;
        if (e.path().extension() == ".h5") found.push_back(e.path().string());
        if (name.size() > 8 && name.compare(name.size() - 8, 8, ".partial") == 0)
          partial.push_back(name);
      }
      if (ec) throw input_error("cannot list directory '" + in + "': " + ec.message());
      if (!partial.empty())
        std::cerr << "spikesim: warning: '" << in << "' holds " << partial.size()
                  << " unfinished file(s) (" << partial.front()
                  << (partial.size() > 1 ? ", ..." : "")
                  << ") of a sweep task that was killed; they are ignored\n";
      if (found.empty()) throw input_error("no sweep files (*.h5) in directory '" + in + "'");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::exists(in, ec)) {
      files.push_back(in);
    } else {
      throw input_error("cannot read '" + in + "': no such file or directory");
    }
  }
  return files;
}

sweep_file read_file(const std::string& path, std::vector<row>& rows) {
  const h5::handle f = open_pack_file(path);
  h5::quiet_errors quiet;
  try {
    pack_file_header header = read_pack_header(f);
    sweep_file sf{path, std::move(header.sweep)};
    const auto& s = sf.info;
    const std::string& status = header.status;
    std::vector<uint64_t> pts = s.point;
    std::sort(pts.begin(), pts.end());
    if (status != "complete")
      throw input_error("its points " + describe(to_ranges(pts)) + " are from a run that ended " +
                        status + " (not complete): run task " + std::to_string(s.task_id) + " of " +
                        std::to_string(s.num_tasks) + " again");
    if (!h5::exists(f, "analysis"))
      throw input_error(
          "no /analysis (the sweep ran with analysis.enabled = false?): `spikesim "
          "analyze " +
          path + "` computes it");
    std::map<uint64_t, size_t> slot;  // point -> its position in the file's datasets
    for (size_t i = 0; i < s.point.size(); ++i) slot[s.point[i]] = i;
    for (size_t i = 0; i < s.population.size(); ++i) {
      const std::string& packed = s.population[i];
      const std::string where = "analysis/" + packed;
      if (!h5::exists(f, where)) continue;  // spikes not recorded: nothing to tabulate
      auto g = h5::open_group(f, where);
      row r;
      r.point = s.population_point[i];
      r.order = i;
      const auto at = slot.find(r.point);
      if (at == slot.end())
        throw input_error("/sweep/population_point[" + std::to_string(i) +
                          "] = " + std::to_string(r.point) + " is not a point of the file");
      for (const auto& v : s.values) r.values.push_back(v[at->second]);
      r.seed = s.seed[at->second];
      r.population = packed.substr(0, packed.rfind('@'));
      r.neurons = h5::read_attr_u64(g, "n_neurons");
      r.spikes = h5::read_attr_u64(g, "spikes");
      r.rate_mean = h5::read_attr_double(g, "rate_mean");
      r.rate_median = h5::read_attr_double(g, "rate_median");
      r.rate_p10 = h5::read_attr_double(g, "rate_p10");
      r.rate_p90 = h5::read_attr_double(g, "rate_p90");
      r.silent_fraction = h5::read_attr_double(g, "silent_fraction");
      r.cv_mean = h5::read_attr_double(g, "cv_mean");
      r.cv_median = h5::read_attr_double(g, "cv_median");
      const uint64_t cv_nan = h5::read_attr_u64(g, "n_cv_nan");
      r.cv_defined_fraction =
          r.neurons ? static_cast<double>(r.neurons - cv_nan) / static_cast<double>(r.neurons) : 0;
      r.lv_mean = h5::read_attr_double(g, "lv_mean");
      r.fano = h5::read_attr_double(g, "fano_factor");
      r.chi = h5::read_attr_double(g, "chi");
      r.population_rate_sd = h5::read_attr_double(g, "population_rate_sd");
      r.t_start = h5::read_attr_double(g, "t_start");
      r.t_stop = h5::read_attr_double(g, "t_stop");
      r.file = path;
      rows.push_back(std::move(r));
    }
    return sf;
  } catch (const input_error& e) {
    throw input_error("cannot merge '" + path + "': " + e.what());
  }
}

// Every point of the sweep exactly once, or an error naming the missing and repeated points and
// the tasks that should have written the missing ones.
void check_coverage(const std::vector<sweep_file>& files) {
  const auto& first = files.front();
  for (const auto& f : files)
    if (f.info.id != first.info.id)
      throw input_error("'" + first.path + "' and '" + f.path +
                        "' belong to different sweeps (ids " + first.info.id + " and " + f.info.id +
                        "): merge the files of one sweep");
  const uint64_t total = first.info.points;
  std::vector<std::pair<uint64_t, size_t>> seen;  // (point, file)
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].info.points != total)
      throw input_error("'" + first.path + "' and '" + files[i].path +
                        "' disagree on the number of points of the sweep");
    for (uint64_t k : files[i].info.point) seen.push_back({k, i});
  }
  std::sort(seen.begin(), seen.end());
  point_ranges missing;
  std::vector<uint64_t> repeated;
  uint64_t next = 0;
  for (size_t i = 0; i < seen.size(); ++i) {
    const uint64_t k = seen[i].first;
    if (i > 0 && seen[i - 1].first == k) {
      if (repeated.empty() || repeated.back() != k) repeated.push_back(k);
      continue;
    }
    if (k > next) missing.push_back({next, k - 1});
    next = k + 1;
  }
  if (next < total) missing.push_back({next, total - 1});
  if (missing.empty() && repeated.empty()) return;
  std::string msg = "the sweep has " + std::to_string(total) + " points";
  if (!missing.empty()) {
    const bool several = missing.size() > 1 || missing[0].second > missing[0].first;
    msg += "; missing from the files given: point" + std::string(several ? "s " : " ") +
           describe(missing);
    const uint64_t tasks = first.info.num_tasks;
    const bool same_split = std::all_of(
        files.begin(), files.end(), [&](const sweep_file& f) { return f.info.num_tasks == tasks; });
    if (same_split && tasks > 0) {
      std::set<uint64_t> owners;
      for (const auto& [a, b] : missing)
        for (uint64_t t = task_of(total, tasks, a); t <= task_of(total, tasks, b); ++t)
          owners.insert(t);
      std::string list;
      size_t shown = 0;
      for (uint64_t t : owners) {
        if (shown++ == 20) {
          list += ", ...";
          break;
        }
        list += (list.empty() ? "" : ", ") + std::to_string(t);
      }
      msg += " (task" + std::string(owners.size() > 1 ? "s " : " ") + list + " of " +
             std::to_string(tasks) + ": did " + (owners.size() > 1 ? "they" : "it") + " run?)";
    }
  }
  if (!repeated.empty()) {
    const uint64_t k = repeated.front();
    std::vector<std::string> in;
    for (const auto& [p, f] : seen)
      if (p == k) in.push_back(files[f].path);
    msg += "; in more than one file: point" + std::string(repeated.size() > 1 ? "s " : " ") +
           describe(to_ranges(repeated)) + " (point " + std::to_string(k) + " in '" + in[0] +
           "' and '" + in[1] + "'; was the sweep run twice into one directory?)";
  }
  throw input_error("cannot merge: " + msg);
}

void write_csv(std::ostream& out, const std::vector<std::string>& keys, std::vector<row>& rows) {
  std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
    return a.point != b.point ? a.point < b.point : a.order < b.order;
  });
  out << "point";
  for (const auto& k : keys) out << "," << csv_field(k);
  out << ",seed,population,neurons,spikes,rate_mean_hz,rate_median_hz,rate_p10_hz,rate_p90_hz,"
         "silent_fraction,cv_mean,cv_median,cv_defined_fraction,lv_mean,fano_factor,chi,"
         "population_rate_sd_hz,t_start_ms,t_stop_ms,file\n";
  for (const auto& r : rows) {
    out << r.point;
    for (double v : r.values) out << "," << num(v);
    out << "," << r.seed << "," << csv_field(r.population) << "," << r.neurons << "," << r.spikes
        << "," << num(r.rate_mean) << "," << num(r.rate_median) << "," << num(r.rate_p10) << ","
        << num(r.rate_p90) << "," << num(r.silent_fraction) << "," << num(r.cv_mean) << ","
        << num(r.cv_median) << "," << num(r.cv_defined_fraction) << "," << num(r.lv_mean) << ","
        << num(r.fano) << "," << num(r.chi) << "," << num(r.population_rate_sd) << ","
        << num(r.t_start) << "," << num(r.t_stop) << "," << csv_field(r.file) << "\n";
  }
}

void merge_command(const merge_args& a) {
  const auto paths = files_of(a.inputs);
  std::vector<row> rows;
  std::vector<sweep_file> files;
  for (const auto& p : paths) files.push_back(read_file(p, rows));
  check_coverage(files);
  const auto& keys = files.front().info.keys;
  if (a.output.empty()) {
    write_csv(std::cout, keys, rows);
    return;
  }
  const std::string partial = a.output + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) throw output_error("cannot create '" + partial + "': " + std::strerror(errno));
    write_csv(out, keys, rows);
    out.flush();
    if (!out) {
      std::remove(partial.c_str());
      throw output_error("cannot write '" + partial + "'");
    }
  }
  if (std::rename(partial.c_str(), a.output.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(partial.c_str());
    throw output_error("cannot rename '" + partial + "' to '" + a.output + "': " + why);
  }
  std::cout << "merged " << files.front().info.points << " points (" << rows.size()
            << " rows) from " << files.size() << " file" << (files.size() == 1 ? "" : "s")
            << " into " << a.output << "\n";
}

}  // namespace

void add_merge(CLI::App& app) {
  auto args = std::make_shared<merge_args>();
  auto* cmd = app.add_subcommand(
      "merge", "tabulate the files of a sweep (all tasks) as CSV: swept values and statistics");
  cmd->add_option("inputs", args->inputs, "sweep files, or directories of them (*.h5)")->required();
  cmd->add_option("-o,--output", args->output, "CSV file to write (default: print the table)");
  cmd->callback([args] { merge_command(*args); });
}

}  // namespace spikesim::cli
