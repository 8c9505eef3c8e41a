// Writes a run's output file chunk by chunk: growing datasets are extendable and compressed, so
// memory does not grow with simulated time.
#include <spikesim/hdf5_writer.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <type_traits>

#include <spikesim/errors.hpp>
#include <spikesim/models/param_table.hpp>
#include <spikesim/output_paths.hpp>

#include "io/analysis_file.hpp"
#include "io/h5.hpp"

#ifndef SPIKESIM_VERSION
#define SPIKESIM_VERSION "0.0.0"
#endif
#ifndef SPIKESIM_GIT_SHA
#define SPIKESIM_GIT_SHA "unknown"
#endif

namespace spikesim {

std::string simulator_version() {
  return SPIKESIM_VERSION;
}
std::string git_sha() {
  return SPIKESIM_GIT_SHA;
}
std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

namespace {

struct population_writer {
  h5::appendable<double> timestamps;
  h5::appendable<uint64_t> node_ids;
  h5::appendable<uint32_t> counts;
  h5::appendable<float> traces;
  bool spikes = false;
  uint64_t n_traces = 0;
  std::vector<double> stamp_buf;
};

// The parameters actually used, one scalar dataset each with its unit.
template <class P>
void write_params(hid_t g, const P& p) {
  for (const auto& f : param_table<P>::fields) h5::write_scalar(g, f.key, p.*f.member, f.unit);
  if constexpr (std::is_same_v<P, rate_params>)
    h5::attr(g, "transfer",
             std::string(p.transfer == rate_transfer::sigmoid ? "sigmoid" : "threshold_linear"));
}

// HDF5 chunk sizes. The writer holds up to one chunk of each dataset in memory (h5::appendable),
// so small populations (a packed sweep has many) get smaller spike chunks: 8 spikes per neuron,
// between 4096 and 65536 rows.
uint64_t spike_chunk_rows(uint64_t neurons) {
  uint64_t rows = 4096;
  while (rows < 65536 && rows < 8 * neurons) rows *= 2;
  return rows;
}
constexpr uint64_t count_chunk_rows = 16384;
constexpr uint64_t trace_chunk_values = 65536;

// True when another process holds HDF5's lock on the file (a run is writing it).
bool locked_by_another(const std::string& file) {
  const int fd = open(file.c_str(), O_RDONLY);
  const bool busy = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  if (fd >= 0) close(fd);
  return busy;
}

}  // namespace

struct hdf5_recorder::impl {
  h5::quiet_errors quiet;
  h5::handle file;
  std::vector<population_writer> pops;
  double dt = 0;
  // Spike-train statistics accumulated as the spikes go by, written to /analysis at the end;
  // null for populations whose spikes are not recorded or when analysis.enabled = false.
  analysis_spec analysis;
  std::vector<std::unique_ptr<spike_analyzer>> analyzers;
  std::chrono::steady_clock::time_point last_flush = std::chrono::steady_clock::now();
};

hdf5_recorder::hdf5_recorder(const experiment_spec& spec, const std::string& path,
                             const checkpoint* resume)
    : impl_(std::make_unique<impl>()), path_(path), partial_(path + ".partial"), resume_(resume) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (resume) {
    open_for_resume(spec);
    return;
  }
  check_regular_output({"output", path});
  check_regular_output({"partial output", partial_});
  if (fs::exists(path, ec) && !spec.output.overwrite)
    throw output_error("output '" + path +
                       "' exists and output.overwrite = false; remove it or choose another file");
  const fs::path dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec))
    throw output_error("cannot create output '" + path + "': directory '" + dir.string() +
                       "' does not exist");
  if (access(dir.empty() ? "." : dir.c_str(), W_OK) != 0)
    throw output_error("cannot create output '" + path + "': directory '" +
                       (dir.empty() ? std::string(".") : dir.string()) + "' is not writable (" +
                       std::strerror(errno) + ")");
  // A partial file is either being written by another run, which holds HDF5's lock on it, or
  // left over from a run that was killed: refuse the first, replace the second.
  if (fs::exists(partial_, ec)) {
    if (locked_by_another(partial_))
      throw output_error("cannot create output '" + path + "': another run is writing '" +
                         partial_ + "'");
    std::remove(partial_.c_str());
  }
  try {
    impl_->file = h5::create_file(partial_);
  } catch (const output_error&) {
    throw output_error("cannot create output file '" + partial_ + "'");
  }
}

void hdf5_recorder::open_for_resume(const experiment_spec& spec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // A killed run leaves FILE.partial; a run stopped by a signal renamed it to FILE. It is checked
  // before anything is renamed, so that a refused resume leaves every file as it was.
  const bool partial = fs::exists(partial_, ec);
  const std::string& found = partial ? partial_ : path_;
  if (!partial && !fs::exists(path_, ec))
    throw input_error("cannot resume: the output of the checkpointed run, '" + path_ + "' (or '" +
                      partial_ + "'), does not exist");
  if (partial && locked_by_another(partial_))
    throw output_error("cannot resume into '" + partial_ + "': another run is writing it");
  {
    h5::handle f = h5::open_file(found, false);
    if (H5Aexists(f, "magic") <= 0 || h5::read_attr_u64(f, "magic") != file_magic ||
        H5Aexists(f, "config") <= 0 || h5::read_attr_string(f, "config") != spec.config_text)
      throw input_error("cannot resume into '" + found +
                        "': it is not the output of the checkpointed run (another config)");
  }
  if (!partial) {
    if (std::rename(path_.c_str(), partial_.c_str()) != 0)
      throw output_error("cannot rename '" + path_ + "' to '" + partial_ +
                         "': " + std::strerror(errno));
    renamed_ = true;
  }
  impl_->file = h5::open_file(partial_, true);
}

hdf5_recorder::~hdf5_recorder() {
  if (done_) return;
  impl_.reset();
  if (resume_ && renamed_ && !began_) {
    // The resume stopped before it changed the file: give it its name back.
    std::rename(partial_.c_str(), path_.c_str());
  } else if (!resume_ && !keep_) {
    std::remove(partial_.c_str());
  }
  // Otherwise the partial file holds the output up to a checkpoint, from which the run resumes.
}

void hdf5_recorder::begin(const experiment_spec& spec, const backend& b) {
  if (resume_) return begin_resumed(spec, b);
  hid_t f = impl_->file;
  impl_->dt = spec.run.dt;
  h5::attr(f, "magic", file_magic);
  h5::attr(f, "version", file_version);
  h5::attr(f, "simulator", std::string("spikesim"));
  h5::attr(f, "simulator_version", simulator_version());
  h5::attr(f, "git_sha", git_sha());
  h5::attr(f, "created_utc", utc_now());
  h5::attr(f, "status", std::string("running"));
  h5::attr(f, "backend", b.name());
  h5::attr(f, "device", b.device());
  h5::attr(f, "dt", spec.run.dt);
  h5::attr(f, "tstop", spec.run.tstop);
  h5::attr(f, "random_seed", spec.run.seed);
  h5::attr(f, "precision", std::string(spec.run.prec == precision::single ? "float" : "double"));
  h5::attr(f, "config", spec.config_text);

  auto spikes = h5::create_group(f, "spikes");
  auto report = h5::create_group(f, "report");
  auto activity = h5::create_group(f, "activity");
  auto params = h5::create_group(f, "parameters");
  const bool zip = spec.output.compress;
  for (const auto& p : spec.populations) {
    population_writer w;
    w.spikes = p.record.spikes;
    if (w.spikes) {
      auto g = h5::create_group(spikes, p.name);
      // SONATA's enumeration, which libsonata reads (a string it does not).
      h5::enum_attr(g, "sorting", {{"none", 0}, {"by_id", 1}, {"by_time", 2}}, 2);
      w.timestamps = h5::appendable<double>(g, "timestamps", 0, spike_chunk_rows(p.size), zip);
      h5::attr(w.timestamps.id(), "units", std::string("ms"));
      w.node_ids = h5::appendable<uint64_t>(g, "node_ids", 0, spike_chunk_rows(p.size), zip);
    }
    {
      auto g = h5::create_group(activity, p.name);
      w.counts = h5::appendable<uint32_t>(g, "spikes_per_step", 0, count_chunk_rows, zip);
      h5::attr(w.counts.id(), "units", std::string("spikes"));
      h5::attr(w.counts.id(), "dt", spec.run.dt);
    }
    w.n_traces = p.record.traces.size();
    if (w.n_traces) {
      auto g = h5::create_group(report, p.name);
      const uint64_t chunk_rows = std::max<uint64_t>(1, trace_chunk_values / w.n_traces);
      w.traces = h5::appendable<float>(g, "data", w.n_traces, chunk_rows, zip);
      h5::attr(w.traces.id(), "units", std::string(p.spiking() ? "mV" : "Hz"));
      auto m = h5::create_group(g, "mapping");
      h5::write_vector<uint64_t>(m, "node_ids", p.record.traces);
      std::vector<uint64_t> ptr(w.n_traces + 1);
      for (uint64_t k = 0; k <= w.n_traces; ++k) ptr[k] = k;
      h5::write_vector<uint64_t>(m, "index_pointers", ptr);
      h5::write_vector<uint32_t>(m, "element_ids", std::vector<uint32_t>(w.n_traces, 0));
      const double every = static_cast<double>(p.record.trace_every) * spec.run.dt;
      h5::write_vector<double>(m, "time",
                               {0.0, static_cast<double>(spec.run.steps()) * spec.run.dt, every});
      h5::handle time(H5Dopen2(m, "time", H5P_DEFAULT), H5Dclose);
      h5::attr(time, "units", std::string("ms"));
    }
    {
      auto g = h5::create_group(params, p.name);
      h5::attr(g, "model", p.model_name());
      h5::attr(g, "size", p.size);
      std::visit([&](const auto& mp) { write_params(g, mp); }, p.params);
      auto in = h5::create_group(g, "input");
      const char* current_units = std::holds_alternative<hh_params>(p.params) ? "uA/cm^2" : "nA";
      if (p.input.I.uniform()) {
        h5::write_scalar(in, "I", p.input.I.at(0), current_units);
      } else {
        std::vector<double> I(p.size);
        for (uint64_t i = 0; i < p.size; ++i) I[i] = p.input.I.at(i);
        h5::write_vector<double>(in, "I", I);
        h5::handle ds(H5Dopen2(in, "I", H5P_DEFAULT), H5Dclose);
        h5::attr(ds, "units", std::string(current_units));
      }
      h5::write_scalar(in, "sigma", p.input.noise.sigma, "mV");
      h5::write_scalar(in, "tau_noise", p.input.noise.tau_noise, "ms");
      h5::attr(in, "pulses", static_cast<uint64_t>(p.input.pulses.size()));
    }
    impl_->pops.push_back(std::move(w));
    impl_->analyzers.push_back(
        spec.analysis.enabled && p.record.spikes
            ? std::make_unique<spike_analyzer>(p.name, p.size, spec.analysis,
                                               static_cast<double>(spec.run.steps()) * spec.run.dt)
            : nullptr);
  }
  impl_->analysis = spec.analysis;
  H5Fflush(f, H5F_SCOPE_GLOBAL);
}

void hdf5_recorder::begin_resumed(const experiment_spec& spec, const backend& b) {
  began_ = true;
  hid_t f = impl_->file;
  const checkpoint& c = *resume_;
  impl_->dt = spec.run.dt;
  h5::attr(f, "status", std::string("running"));
  h5::attr(f, "backend", b.name());
  h5::attr(f, "device", b.device());
  h5::attr(f, "resumed_from_step", c.step);
  // Statistics of the interrupted part would be stale: they are computed again at the end.
  if (H5Lexists(f, "analysis", H5P_DEFAULT) > 0) H5Ldelete(f, "analysis", H5P_DEFAULT);
  for (size_t i = 0; i < spec.populations.size(); ++i) {
    const auto& p = spec.populations[i];
    const output_rows& r = c.rows[i];
    population_writer w;
    w.spikes = p.record.spikes;
    if (w.spikes) {
      auto g = h5::open_group(f, "spikes/" + p.name);
      w.timestamps = h5::appendable<double>::open(g, "timestamps", r.spikes);
      w.node_ids = h5::appendable<uint64_t>::open(g, "node_ids", r.spikes);
    }
    {
      auto g = h5::open_group(f, "activity/" + p.name);
      w.counts = h5::appendable<uint32_t>::open(g, "spikes_per_step", r.counts);
    }
    w.n_traces = p.record.traces.size();
    if (w.n_traces) {
      auto g = h5::open_group(f, "report/" + p.name);
      w.traces = h5::appendable<float>::open(g, "data", r.traces);
    }
    std::unique_ptr<spike_analyzer> a;
    if (spec.analysis.enabled && p.record.spikes) {
      a = std::make_unique<spike_analyzer>(p.name, p.size, spec.analysis,
                                           static_cast<double>(spec.run.steps()) * spec.run.dt);
      // The spikes before the checkpoint, in the order the run wrote them.
      auto g = h5::open_group(f, "spikes/" + p.name);
      constexpr uint64_t block = uint64_t{1} << 20;
      for (uint64_t k = 0; k < r.spikes; k += block) {
        const uint64_t n = std::min(block, r.spikes - k);
        const auto t = h5::read_range<double>(g, "timestamps", k, n);
        const auto id = h5::read_range<uint64_t>(g, "node_ids", k, n);
        a->add(t.data(), id.data(), n);
      }
    }
    impl_->pops.push_back(std::move(w));
    impl_->analyzers.push_back(std::move(a));
  }
  impl_->analysis = spec.analysis;
  H5Fflush(f, H5F_SCOPE_GLOBAL);
}

uint64_t hdf5_recorder::buffer_bytes(const experiment_spec& spec) {
  uint64_t b = 0;
  for (const auto& p : spec.populations) {
    if (p.record.spikes) b += spike_chunk_rows(p.size) * (sizeof(double) + sizeof(uint64_t));
    b += count_chunk_rows * sizeof(uint32_t);
    if (!p.record.traces.empty())
      b += (trace_chunk_values + p.record.traces.size()) * sizeof(float);
  }
  return b;
}

std::vector<output_rows> hdf5_recorder::rows() const {
  std::vector<output_rows> r;
  for (const auto& w : impl_->pops)
    r.push_back(
        {w.spikes ? w.timestamps.rows() : 0, w.counts.rows(), w.n_traces ? w.traces.rows() : 0});
  return r;
}

void hdf5_recorder::write(const chunk_output& chunk) {
  for (size_t p = 0; p < chunk.populations.size(); ++p) {
    const auto& c = chunk.populations[p];
    auto& w = impl_->pops[p];
    if (w.spikes && !c.spike_steps.empty()) {
      w.stamp_buf.resize(c.spike_steps.size());
      for (size_t k = 0; k < c.spike_steps.size(); ++k)
        w.stamp_buf[k] = static_cast<double>(c.spike_steps[k] + 1) * impl_->dt;
      w.timestamps.append(w.stamp_buf.data(), w.stamp_buf.size());
      w.node_ids.append(c.spike_ids.data(), c.spike_ids.size());
      if (auto& a = impl_->analyzers[p]) {
        try {
          a->add(w.stamp_buf.data(), c.spike_ids.data(), c.spike_ids.size());
        } catch (const std::exception& e) {
          // The statistics are lost, not the run: `analyze` can compute them from the file.
          analysis_failure_ = e.what();
          a.reset();
        }
      }
    }
    w.counts.append(c.counts.data(), c.counts.size());
    if (w.n_traces && c.trace_rows) w.traces.append(c.traces.data(), c.trace_rows);
  }
  // A killed run leaves a file that opens, with every chunk up to its last flush (h5.cpp says
  // why nothing later can damage them). Not after every chunk: a flush writes the partly
  // filled HDF5 chunk of every dataset, which is compressed again and written again (to new
  // space) when it is full; flushing every network chunk (its shortest delay) made files 30-100
  // times larger than their data, and cost more time than the simulation.
  const auto now = std::chrono::steady_clock::now();
  if (now - impl_->last_flush >= flush_interval) flush();
}

void hdf5_recorder::flush() {
  for (auto& w : impl_->pops) {
    if (w.spikes) {
      w.timestamps.flush_pending();
      w.node_ids.flush_pending();
    }
    w.counts.flush_pending();
    if (w.n_traces) w.traces.flush_pending();
  }
  if (H5Fflush(impl_->file, H5F_SCOPE_LOCAL) < 0)
    throw output_error("cannot flush '" + partial_ + "'");
  impl_->last_flush = std::chrono::steady_clock::now();
}

void hdf5_recorder::finish(const run_summary& s) {
  hid_t f = impl_->file;
  flush();
  h5::attr(f, "status", std::string(to_string(s.status)));
  h5::attr(f, "steps", s.steps);
  h5::attr(f, "simulated_ms", s.simulated_ms);
  h5::attr(f, "wall_s", s.wall_s);
  if (impl_->analysis.enabled && analysis_failure_.empty() &&
      s.simulated_ms > impl_->analysis.t_start) {
    try {
      for (auto& a : impl_->analyzers)
        if (a) analysis_.push_back(a->finish(s.simulated_ms));
      write_analysis_group(f, analysis_, impl_->analysis, "spikesim run");
    } catch (const std::exception& e) {
      analysis_failure_ = e.what();
      analysis_.clear();
      if (H5Lexists(f, "analysis", H5P_DEFAULT) > 0) H5Ldelete(f, "analysis", H5P_DEFAULT);
    }
  }
  if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) throw output_error("cannot flush '" + partial_ + "'");
  impl_->pops.clear();
  impl_->file.reset();
  if (std::rename(partial_.c_str(), path_.c_str()) != 0)
    throw output_error("cannot rename '" + partial_ + "' to '" + path_ +
                       "': " + std::strerror(errno));
  done_ = true;
}

}  // namespace spikesim
