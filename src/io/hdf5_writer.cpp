// Writes a run's output file chunk by chunk: growing datasets are extendable and compressed, so
// memory does not grow with simulated time. FILE.partial grows under SWMR (ordered metadata
// writes: a reader opens it after a kill at any write); every other file is written under a
// temporary name and renamed (docs/checkpoints.md).
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

#include <spikesim/atomic_output.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/models/param_table.hpp>
#include <spikesim/output_paths.hpp>

#include "io/analysis_file.hpp"
#include "io/h5.hpp"

namespace spikesim {

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

// A spike source's parameters: its kind is the group's "model" attribute.
void write_source(hid_t g, const source_spec& s) {
  if (s.type == source_spec::kind::poisson) {
    h5::write_scalar(g, "rate", s.rate, "Hz");
    h5::write_scalar(g, "start", s.start, "ms");
    h5::write_scalar(g, "stop", s.stop, "ms");
  } else {
    h5::attr(g, "spikes", static_cast<uint64_t>(s.ids.size()));
  }
}

// The streaming analyzer of a population's spikes, or none (not recorded, or no analysis).
std::unique_ptr<spike_analyzer> analyzer_of(const experiment_spec& spec, const population_spec& p) {
  if (!spec.analysis.enabled || !p.record.spikes) return nullptr;
  return std::make_unique<spike_analyzer>(p.name, p.size, spec.analysis,
                                          static_cast<double>(spec.run.steps()) * spec.run.dt);
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

// True when another process holds a lock on the file (a run is writing it: HDF5's own lock, or
// the shared lock a SWMR writer takes, hold_lock).
bool locked_by_another(const std::string& file) {
  const int fd = open(file.c_str(), O_RDONLY);
  const bool busy = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  if (fd >= 0) close(fd);
  return busy;
}

// input_error when a dataset of the file resumed from holds fewer rows than the checkpoint counts.
void check_rows(hid_t g, const std::string& name, uint64_t rows) {
  const uint64_t n = h5::dataset_length(g, name);
  if (n < rows)
    throw input_error("cannot resume: dataset '" + name + "' of the output has " +
                      std::to_string(n) + " rows, fewer than the " + std::to_string(rows) +
                      " the checkpoint counts");
}

// A shared lock on a file the process writes: HDF5 drops its own when SWMR writing starts.
int hold_lock(const std::string& file) {
  const int fd = open(file.c_str(), O_RDONLY);
  if (fd >= 0) flock(fd, LOCK_SH | LOCK_NB);
  return fd;
}

}  // namespace

struct hdf5_recorder::impl {
  ~impl() {
    if (lock_fd >= 0) close(lock_fd);
  }
  int lock_fd = -1;
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
    : impl_(std::make_unique<impl>()),
      path_(path),
      partial_(partial_path(path)),
      tmp_(temporary_path(path)),
      resume_(resume) {
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
  // Refused before any work, not when the file is published after the first chunk.
  for (const std::string& f : {partial_, tmp_})
    if (fs::is_directory(f, ec))
      throw output_error("cannot create output '" + path + "': '" + f + "' is a directory");
  // A partial file is either being written by another run, which holds a lock on it, or left
  // over from a run that was killed: refuse the first, replace the second.
  for (const std::string& f : {partial_, tmp_})
    if (fs::exists(f, ec) && locked_by_another(f))
      throw output_error("cannot create output '" + path + "': another run is writing '" + f + "'");
  std::remove(tmp_.c_str());
  try {
    impl_->file = h5::create_growing_file(tmp_);
  } catch (const output_error&) {
    throw output_error("cannot create output file '" + tmp_ + "'");
  }
}

void hdf5_recorder::open_for_resume(const experiment_spec& spec) {
  namespace fs = std::filesystem;
  std::error_code ec;
  // A killed run leaves FILE.partial; a run stopped by a signal, FILE. Neither is changed: the
  // resumed run copies it into FILE.tmp, which replaces FILE.partial once it is SWMR-writable.
  const bool partial = fs::exists(partial_, ec);
  const std::string& found = partial ? partial_ : path_;
  if (!partial && !fs::exists(path_, ec))
    throw input_error("cannot resume: the output of the checkpointed run, '" + path_ + "' (or '" +
                      partial_ + "'), does not exist");
  for (const std::string& f : {partial_, tmp_})
    if (fs::exists(f, ec) && locked_by_another(f))
      throw output_error("cannot resume into '" + partial_ + "': another run is writing '" + f +
                         "'");
  h5::handle f = h5::open_file(found, false);
  if (H5Aexists(f, "magic") <= 0 || h5::read_attr_u64(f, "magic") != file_magic ||
      H5Aexists(f, "config") <= 0 || h5::read_attr_string(f, "config") != spec.config_text)
    throw input_error("cannot resume into '" + found +
                      "': it is not the output of the checkpointed run (another config)");
  source_ = found;
  std::remove(tmp_.c_str());
  impl_->file = h5::create_growing_file(tmp_);
}

hdf5_recorder::~hdf5_recorder() {
  if (done_) return;
  impl_.reset();
  std::remove(tmp_.c_str());
  // A resumed run's partial file, or one a checkpoint refers to, holds the output up to a
  // checkpoint, from which the run resumes.
  if (published_ && !resume_ && !keep_) std::remove(partial_.c_str());
}

void hdf5_recorder::publish_partial() {
  hid_t f = impl_->file;
  if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
    throw output_error("cannot flush '" + tmp_ + "'" + h5::system_reason(errno));
  h5::start_swmr(f, tmp_);
  rename_over(tmp_, partial_);
  published_ = true;
  impl_->lock_fd = hold_lock(partial_);
}

// What a killed run's file says of itself: the steps (and ms) that its datasets hold at least.
void hdf5_recorder::update_progress_attrs() {
  const uint64_t steps = impl_->pops.empty() ? 0 : impl_->pops.front().counts.rows();
  h5::update_attr(impl_->file, "steps", steps);
  h5::update_attr(impl_->file, "simulated_ms", static_cast<double>(steps) * impl_->dt);
}

void hdf5_recorder::begin(const experiment_spec& spec, const backend& b) {
  create_layout(spec, b);
  if (resume_) continue_resumed(spec, b);
  publish_partial();
}

void hdf5_recorder::create_layout(const experiment_spec& spec, const backend& b) {
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
  h5::attr(f, "steps", uint64_t{0});
  h5::attr(f, "simulated_ms", 0.0);

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
      if (p.is_source()) {
        write_source(g, p.source);
        impl_->pops.push_back(std::move(w));
        impl_->analyzers.push_back(analyzer_of(spec, p));
        continue;
      }
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
    impl_->analyzers.push_back(analyzer_of(spec, p));
  }
  impl_->analysis = spec.analysis;
}

void hdf5_recorder::continue_resumed(const experiment_spec& spec, const backend& b) {
  hid_t f = impl_->file;
  const checkpoint& c = *resume_;
  h5::handle src = h5::open_file(source_, false);
  // The run's identity (created_utc, ...) is the original's; backend and device this run's.
  h5::copy_root_attributes(src, f);
  h5::attr(f, "backend", b.name());
  h5::attr(f, "device", b.device());
  for (const char* stale : {"wall_s", "resumed_from_step"})
    if (H5Aexists(f, stale) > 0) H5Adelete(f, stale);
  h5::attr(f, "status", std::string("running"));
  h5::attr(f, "resumed_from_step", c.step);
  h5::attr(f, "steps", c.step);
  h5::attr(f, "simulated_ms", static_cast<double>(c.step) * spec.run.dt);
  // The rows the checkpoint counts, in blocks; the spikes also feed the statistics, in the order
  // the run wrote them.
  constexpr uint64_t block = uint64_t{1} << 20;
  for (size_t i = 0; i < spec.populations.size(); ++i) {
    const auto& p = spec.populations[i];
    const output_rows& r = c.rows[i];
    auto& w = impl_->pops[i];
    if (w.spikes) {
      auto g = h5::open_group(src, "spikes/" + p.name);
      check_rows(g, "timestamps", r.spikes);
      check_rows(g, "node_ids", r.spikes);
      for (uint64_t k = 0; k < r.spikes; k += block) {
        const uint64_t n = std::min(block, r.spikes - k);
        const auto t = h5::read_range<double>(g, "timestamps", k, n);
        const auto id = h5::read_range<uint64_t>(g, "node_ids", k, n);
        w.timestamps.append(t.data(), n);
        w.node_ids.append(id.data(), n);
        if (auto& a = impl_->analyzers[i]) a->add(t.data(), id.data(), n);
      }
    }
    auto g = h5::open_group(src, "activity/" + p.name);
    check_rows(g, "spikes_per_step", r.counts);
    for (uint64_t k = 0; k < r.counts; k += block) {
      const uint64_t n = std::min(block, r.counts - k);
      w.counts.append(h5::read_range<uint32_t>(g, "spikes_per_step", k, n).data(), n);
    }
    if (w.n_traces) {
      auto rg = h5::open_group(src, "report/" + p.name);
      check_rows(rg, "data", r.traces);
      const uint64_t rows_per_block = std::max<uint64_t>(1, block / w.n_traces);
      for (uint64_t k = 0; k < r.traces; k += rows_per_block) {
        const uint64_t n = std::min(rows_per_block, r.traces - k);
        w.traces.append(h5::read_rows(rg, "data", k, n, w.n_traces).data(), n);
      }
    }
  }
  flush_rows();
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
  flush_rows();
  // Rows first, then the attributes that count them: `steps` never exceeds what the file holds.
  if (H5Fflush(impl_->file, H5F_SCOPE_LOCAL) < 0)
    throw output_error("cannot flush '" + partial_ + "'" + h5::system_reason(errno));
  update_progress_attrs();
  if (H5Fflush(impl_->file, H5F_SCOPE_LOCAL) < 0)
    throw output_error("cannot flush '" + partial_ + "'" + h5::system_reason(errno));
  impl_->last_flush = std::chrono::steady_clock::now();
}

void hdf5_recorder::flush_rows() {
  for (auto& w : impl_->pops) {
    if (w.spikes) {
      w.timestamps.flush_pending();
      w.node_ids.flush_pending();
    }
    w.counts.flush_pending();
    if (w.n_traces) w.traces.flush_pending();
  }
}

void hdf5_recorder::finish(const run_summary& s) {
  flush();
  // The final file is written anew beside the partial one and renamed over FILE: a kill before
  // the rename leaves FILE.partial whole (and FILE, when resuming from it, as it was).
  // The partial file is closed first (which ends SWMR writing, in order) and read back: HDF5
  // 1.10.8 cannot copy a dataset whose chunk index it has in its cache from SWMR writing.
  impl_->pops.clear();
  impl_->file.reset();
  h5::handle src = h5::open_file(partial_, false);
  write_atomically(
      path_, [&](const std::string& tmp) { write_final_file(src, tmp, s); }, temporary_suffix);
  src.reset();
  std::remove(partial_.c_str());
  done_ = true;
}

void hdf5_recorder::write_final_file(int64_t src, const std::string& tmp, const run_summary& s) {
  h5::handle out;
  try {
    out = h5::copy_to_new_file(src, tmp, {"analysis", "sweep"});
  } catch (const output_error& e) {
    // FILE.partial holds the whole run (flushed and closed above): kept, not removed.
    keep_ = true;
    throw output_error(std::string(e.what()) + "; the run's spikes, traces and counts to its end " +
                       "are kept in '" + partial_ + "' (status running, no /analysis)");
  }
  hid_t f = out;
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
  if (on_finish_) on_finish_(f);
  h5::close_to_disk(out, tmp);
}

}  // namespace spikesim
