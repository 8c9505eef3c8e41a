// /analysis in a run's file: writing the results, and reading a finished (or interrupted) file back
// chunk by chunk for `spikesim analyze`.
#include "io/analysis_file.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <spikesim/atomic_output.hpp>
#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/format.hpp>
#include <spikesim/hdf5_writer.hpp>

#include "io/h5.hpp"
#include "io/sweep_file.hpp"

namespace spikesim {
namespace {

// Spikes read per dataset access: 2^20 (16 MiB of times and ids), a multiple of the file's chunk
// of 2^16, so that no compressed chunk is decoded twice.
constexpr uint64_t k_read_chunk = uint64_t{1} << 20;

template <class T>
void dataset(hid_t g, const std::string& name, const std::vector<T>& v, const char* units) {
  h5::write_vector<T>(g, name, v);
  if (units[0] != '\0') {
    h5::handle ds(H5Dopen2(g, name.c_str(), H5P_DEFAULT), H5Dclose);
    h5::attr(ds, "units", std::string(units));
  }
}

void write_histogram(hid_t parent, const std::string& name, const stats::histogram& h,
                     uint64_t outside, const char* units) {
  auto g = h5::create_group(parent, name);
  dataset<uint64_t>(g, "counts", h.counts, "");
  dataset<double>(g, "bin_edges", h.bin_edges, units);
  h5::attr(g, "outside", outside);
}

void write_summary(hid_t g, const std::string& prefix, const stats::summary& s) {
  h5::attr(g, prefix + "_mean", s.mean);
  h5::attr(g, prefix + "_median", s.median);
  h5::attr(g, prefix + "_p10", s.p10);
  h5::attr(g, prefix + "_p90", s.p90);
}

void write_population(hid_t parent, const population_analysis& r) {
  auto g = h5::create_group(parent, r.name);
  h5::attr(g, "n_neurons", r.n_neurons);
  h5::attr(g, "spikes", r.spikes);
  h5::attr(g, "t_start", r.t_start);
  h5::attr(g, "t_stop", r.t_stop);

  dataset<double>(g, "population_rate", r.population_rate_hz, "Hz");
  {
    h5::handle ds(H5Dopen2(g, "population_rate", H5P_DEFAULT), H5Dclose);
    h5::attr(ds, "bin", r.rate_bin_ms);
    h5::attr(ds, "t_start", r.t_start);
    h5::attr(ds, "mean", r.population_rate_mean_hz);
    h5::attr(ds, "sd", r.population_rate_sd_hz);
  }
  h5::attr(g, "population_rate_mean", r.population_rate_mean_hz);
  h5::attr(g, "population_rate_sd", r.population_rate_sd_hz);
  h5::attr(g, "rate_bin", r.rate_bin_ms);

  dataset<uint64_t>(g, "spike_count", r.spike_count, "spikes");
  dataset<double>(g, "rate_hz", r.rate_hz, "Hz");
  dataset<double>(g, "isi_mean", r.isi_mean_ms, "ms");
  dataset<double>(g, "isi_sd", r.isi_sd_ms, "ms");
  dataset<double>(g, "cv_isi", r.cv_isi, "");
  dataset<double>(g, "lv", r.lv, "");
  write_histogram(g, "rate_hist", r.rate_hist, r.rate_hist_outside, "Hz");
  write_histogram(g, "cv_hist", r.cv_hist, r.cv_hist_outside, "");

  write_summary(g, "rate", r.rate_summary);
  h5::attr(g, "n_silent", r.n_silent);
  h5::attr(g, "silent_fraction", r.silent_fraction);
  write_summary(g, "cv", r.cv_summary);
  h5::attr(g, "n_cv_nan", r.n_cv_nan);
  h5::attr(g, "cv_min_spikes", r.cv_min_spikes);
  write_summary(g, "lv", r.lv_summary);
  h5::attr(g, "fano_factor", r.fano_factor);
  h5::attr(g, "fano_window", r.fano_window_ms);
  h5::attr(g, "chi_squared", r.chi_squared);
  h5::attr(g, "chi", r.chi);
}

htri_t is_hdf5(const std::string& path) {
#if H5_VERSION_GE(1, 12, 0)
  return H5Fis_accessible(path.c_str(), H5P_DEFAULT);
#else
  return H5Fis_hdf5(path.c_str());
#endif
}

// The part of analyze_file that may fail on the file's content; its input_errors get the path
// prepended by the caller.
file_analysis analyze_open_file(hid_t f, const std::string& path,
                                const std::vector<std::string>& overrides, std::string* warning) {
  if (H5Aexists(f, "magic") <= 0 || h5::read_attr_u64(f, "magic") != file_magic)
    throw input_error("not a spikesim run file (no magic attribute 0x0A7A)");
  if (H5Aexists(f, "status") <= 0)
    throw input_error("not a spikesim run file (no status attribute)");
  file_analysis fa;
  fa.path = path;
  fa.status = h5::read_attr_string(f, "status");
  if (fa.status == "running")
    throw input_error(
        "status = \"running\": the run writing it never finished (it crashed, or is still "
        "running), so its contents are incomplete");
  if (fa.status != "complete" && fa.status != "interrupted" && fa.status != "failed")
    throw input_error("unknown status \"" + fa.status + "\"");

  // A sweep's pack file holds several points side by side: its spec is rebuilt from the
  // points' own configs in /sweep, renamed as they were packed.
  const bool sweep = h5::exists(f, "sweep");
  const sweep_file_info points = sweep ? read_sweep_group(f) : sweep_file_info{};
  const std::string config = sweep ? std::string() : h5::read_attr_string(f, "config");
  auto spec_with = [&](const std::vector<std::string>& sets) {
    return sweep ? packed_spec_of(points, path, sets)
                 : parse_config(config, path + ":config", sets);
  };
  experiment_spec spec;
  try {
    spec = spec_with({});
  } catch (const config_error& e) {
    throw input_error(std::string(sweep ? "its /sweep/config holds a config that is not valid: "
                                        : "its config attribute is not a valid spikesim config: ") +
                      e.what());
  }
  for (const auto& o : overrides)
    if (o.rfind("analysis.", 0) != 0)
      throw config_error("config error: " + setting::set + " " + o +
                         ": analyze changes only analysis.* keys (the run is what it was)");
  // analyze always computes, so the settings are validated as for an enabled analysis even if
  // the run had it off (a bin width that would need gigabytes is a config error, exit 2).
  std::vector<std::string> sets = overrides;
  sets.push_back("analysis.enabled=true");
  spec = spec_with(sets);

  const uint64_t steps = h5::read_attr_u64(f, "steps");
  const double dt = h5::read_attr_double(f, "dt");
  fa.simulated_ms = static_cast<double>(steps) * dt;
  fa.tstop = spec.run.tstop;
  fa.settings = spec.analysis;
  if (fa.status != "complete" && warning)
    *warning = "'" + path + "' is from " + (fa.status == "failed" ? "a failed" : "an interrupted") +
               " run: analysing the " + format_significant(fa.simulated_ms, 10) +
               " ms simulated (of run.tstop = " + format_significant(spec.run.tstop, 10) + " ms)";
  if (!(fa.settings.t_start < fa.simulated_ms))
    throw config_error(
        "config error: analysis.t_start = " + format_significant(fa.settings.t_start, 10) +
        " ms is invalid: the file holds " + format_significant(fa.simulated_ms, 10) +
        " ms of simulated time");

  for (const auto& p : spec.populations) {
    if (!p.record.spikes) {
      fa.skipped.push_back(p.name);
      continue;
    }
    const std::string where = "spikes/" + p.name;
    if (!h5::exists(f, where))
      throw input_error("no group /" + where + " although the config records its spikes");
    auto g = h5::open_group(f, where);
    const uint64_t n = h5::dataset_length(g, "timestamps");
    if (h5::dataset_length(g, "node_ids") != n)
      throw input_error("/" + where + ": timestamps and node_ids differ in length");
    if (h5::exists(f, "parameters/" + p.name)) {
      auto params = h5::open_group(f, "parameters/" + p.name);
      const uint64_t size = h5::read_attr_u64(params, "size");
      if (size != p.size)
        throw input_error("/parameters/" + p.name + " says " + std::to_string(size) +
                          " neurons, the config " + std::to_string(p.size));
    }
    spike_analyzer an(p.name, p.size, fa.settings, fa.simulated_ms);
    for (uint64_t first = 0; first < n && !an.done(); first += k_read_chunk) {
      const uint64_t count = std::min(k_read_chunk, n - first);
      const auto t = h5::read_range<double>(g, "timestamps", first, count);
      const auto ids = h5::read_range<uint64_t>(g, "node_ids", first, count);
      an.add(t.data(), ids.data(), count);
    }
    fa.populations.push_back(an.finish(fa.simulated_ms));
  }
  return fa;
}

}  // namespace

void write_analysis_group(hid_t file, const std::vector<population_analysis>& results,
                          const analysis_spec& settings, const std::string& created_by) {
  if (H5Lexists(file, "analysis", H5P_DEFAULT) > 0 && H5Ldelete(file, "analysis", H5P_DEFAULT) < 0)
    throw output_error("HDF5 error: cannot remove the old /analysis");
  auto g = h5::create_group(file, "analysis");
  h5::attr(g, "settings", analysis_settings_toml(settings));
  h5::attr(g, "created_by", created_by);
  h5::attr(g, "simulator_version", simulator_version());
  for (const auto& r : results) write_population(g, r);
}

file_analysis analyze_file(const std::string& path, const std::vector<std::string>& overrides,
                           std::string* warning) {
  h5::quiet_errors quiet;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw input_error("cannot analyse '" + path + "': no such file");
  if (std::filesystem::is_directory(path, ec))
    throw input_error("cannot analyse '" + path + "': it is a directory");
  if (is_hdf5(path) <= 0)
    throw input_error("cannot analyse '" + path + "': not an HDF5 file (or its header is damaged)");
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0)
    throw input_error("cannot analyse '" + path +
                      "': HDF5 cannot open it (truncated or corrupt file)");
  h5::handle f(id, H5Fclose);
  try {
    return analyze_open_file(f, path, overrides, warning);
  } catch (const input_error& e) {
    throw input_error("cannot analyse '" + path + "': " + e.what());
  }
}

void write_analysis(const std::string& path, const file_analysis& fa,
                    const std::string& created_by) {
  h5::quiet_errors quiet;
  if (access(path.c_str(), W_OK) != 0)
    throw output_error("cannot write /analysis to '" + path + "': the file is not writable (" +
                       std::strerror(errno) + ")");
  // A new file with the new /analysis, renamed over the old one: a kill at any instant leaves
  // the file as it was or as it is meant to be, never half-written.
  try {
    write_atomically(
        path,
        [&](const std::string& tmp) {
          h5::handle f = h5::open_file(path, false);
          h5::handle out = h5::copy_to_new_file(f, tmp, {"analysis"});
          write_analysis_group(out, fa.populations, fa.settings, created_by);
          h5::close_to_disk(out, tmp);
        },
        temporary_suffix);
  } catch (const error& e) {
    throw output_error("cannot write /analysis to '" + path + "': " + e.what());
  }
}

}  // namespace spikesim
