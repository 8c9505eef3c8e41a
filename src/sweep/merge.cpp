// The merge of a sweep's files: which files, their /sweep and /analysis, the check that every
// point is there exactly once, and the CSV table.
#include <hdf5.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include <spikesim/atomic_output.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/sweep.hpp>
#include <spikesim/sweep_merge.hpp>

#include "io/h5.hpp"
#include "io/sweep_file.hpp"

namespace spikesim {

namespace fs = std::filesystem;

namespace {

// A CSV number: the shortest text that reads back exactly, "nan" (of either sign) where undefined.
std::string num(double x) {
  return format_shortest(x, {"nan"});
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

// " (tasks 3, 4 of 8: did they run?)": the tasks that hold the `missing` points.
std::string owners_text(const point_ranges& missing, uint64_t total, uint64_t tasks) {
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
  return " (task" + std::string(owners.size() > 1 ? "s " : " ") + list + " of " +
         std::to_string(tasks) + ": did " + (owners.size() > 1 ? "they" : "it") + " run?)";
}

// The summary attributes of a population's /analysis group, read in the order of the table.
void read_statistics(hid_t g, merge_row& r) {
  using field = std::pair<const char*, double merge_row::*>;
  static const field rates[] = {{"rate_mean", &merge_row::rate_mean},
                                {"rate_median", &merge_row::rate_median},
                                {"rate_p10", &merge_row::rate_p10},
                                {"rate_p90", &merge_row::rate_p90},
                                {"silent_fraction", &merge_row::silent_fraction},
                                {"cv_mean", &merge_row::cv_mean},
                                {"cv_median", &merge_row::cv_median}};
  static const field others[] = {
      {"lv_mean", &merge_row::lv_mean}, {"fano_factor", &merge_row::fano},
      {"chi", &merge_row::chi},         {"population_rate_sd", &merge_row::population_rate_sd},
      {"t_start", &merge_row::t_start}, {"t_stop", &merge_row::t_stop}};
  r.neurons = h5::read_attr_u64(g, "n_neurons");
  r.spikes = h5::read_attr_u64(g, "spikes");
  for (const auto& [name, member] : rates) r.*member = h5::read_attr_double(g, name);
  const uint64_t cv_nan = h5::read_attr_u64(g, "n_cv_nan");
  r.cv_defined_fraction =
      r.neurons ? static_cast<double>(r.neurons - cv_nan) / static_cast<double>(r.neurons) : 0;
  for (const auto& [name, member] : others) r.*member = h5::read_attr_double(g, name);
}

// A file's points and rows; `keys` (when not null) gets its swept keys.
sweep_file_points read_file(const std::string& path, std::vector<merge_row>& rows,
                            std::vector<std::string>* keys) {
  const h5::handle f = open_pack_file(path);
  h5::quiet_errors quiet;
  try {
    pack_file_header header = read_pack_header(f);
    const sweep_file_info& s = header.sweep;
    if (keys) *keys = s.keys;
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
      merge_row r;
      r.point = s.population_point[i];
      r.order = i;
      const auto at = slot.find(r.point);
      if (at == slot.end())
        throw input_error("/sweep/population_point[" + std::to_string(i) +
                          "] = " + std::to_string(r.point) + " is not a point of the file");
      for (const auto& v : s.values) r.values.push_back(v[at->second]);
      r.seed = s.seed[at->second];
      r.population = packed.substr(0, packed.rfind('@'));
      read_statistics(g, r);
      r.file = path;
      rows.push_back(std::move(r));
    }
    return {path, s.id, s.points, s.num_tasks, s.point};
  } catch (const input_error& e) {
    throw input_error("cannot merge '" + path + "': " + e.what());
  }
}

}  // namespace

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

std::string describe(const point_ranges& r, size_t max_ranges) {
  std::string out;
  for (size_t i = 0; i < r.size(); ++i) {
    if (i == max_ranges) return out + ", and " + std::to_string(r.size() - i) + " more ranges";
    out += (out.empty() ? "" : ", ") + std::to_string(r[i].first) +
           (r[i].second > r[i].first ? "-" + std::to_string(r[i].second) : std::string());
  }
  return out;
}

std::vector<std::string> files_of(const std::vector<std::string>& inputs,
                                  const std::function<void(const std::string&)>& warn) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& in : inputs) {
    if (fs::is_directory(in, ec)) {
      std::vector<std::string> found, partial;
      for (const auto& e : fs::directory_iterator(in, ec)) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file(ec)) continue;
        if (e.path().extension() == ".h5") found.push_back(e.path().string());
        if (is_partial_name(name)) partial.push_back(name);
      }
      if (ec) throw input_error("cannot list directory '" + in + "': " + ec.message());
      if (!partial.empty() && warn)
        warn("warning: '" + in + "' holds " + std::to_string(partial.size()) +
             " unfinished file(s) (" + partial.front() + (partial.size() > 1 ? ", ..." : "") +
             ") of a sweep task that was killed; they are ignored");
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

void check_coverage(const std::vector<sweep_file_points>& files) {
  const auto& first = files.front();
  for (const auto& f : files)
    if (f.id != first.id)
      throw input_error("'" + first.path + "' and '" + f.path +
                        "' belong to different sweeps (ids " + first.id + " and " + f.id +
                        "): merge the files of one sweep");
  const uint64_t total = first.points;
  std::vector<std::pair<uint64_t, size_t>> seen;  // (point, file)
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].points != total)
      throw input_error("'" + first.path + "' and '" + files[i].path +
                        "' disagree on the number of points of the sweep");
    for (uint64_t k : files[i].point) seen.push_back({k, i});
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
    const uint64_t tasks = first.num_tasks;
    const bool same_split =
        std::all_of(files.begin(), files.end(),
                    [&](const sweep_file_points& f) { return f.num_tasks == tasks; });
    if (same_split && tasks > 0) msg += owners_text(missing, total, tasks);
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

merged_sweep merge_sweep(const std::vector<std::string>& inputs,
                         const std::function<void(const std::string&)>& warn) {
  merged_sweep m;
  std::vector<sweep_file_points> files;
  for (const auto& p : files_of(inputs, warn))
    files.push_back(read_file(p, m.rows, files.empty() ? &m.keys : nullptr));
  check_coverage(files);
  m.files = files.size();
  m.points = files.front().points;
  std::sort(m.rows.begin(), m.rows.end(), [](const merge_row& a, const merge_row& b) {
    return a.point != b.point ? a.point < b.point : a.order < b.order;
  });
  return m;
}

void write_csv(std::ostream& out, const merged_sweep& m) {
  out << "point";
  for (const auto& k : m.keys) out << "," << csv_field(k);
  out << ",seed,population,neurons,spikes,rate_mean_hz,rate_median_hz,rate_p10_hz,rate_p90_hz,"
         "silent_fraction,cv_mean,cv_median,cv_defined_fraction,lv_mean,fano_factor,chi,"
         "population_rate_sd_hz,t_start_ms,t_stop_ms,file\n";
  for (const auto& r : m.rows) {
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

void write_csv_file(const std::string& path, const merged_sweep& m) {
  write_atomically(path, [&](const std::string& partial) {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) throw output_error("cannot create '" + partial + "': " + std::strerror(errno));
    write_csv(out, m);
    out.flush();
    if (!out) throw output_error("cannot write '" + partial + "'");
  });
}

}  // namespace spikesim
