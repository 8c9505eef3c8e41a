// Checkpoint files: HDF5 with the run's identity as attributes and one dataset per state array.
#include <spikesim/checkpoint.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>

#include "io/h5.hpp"

namespace spikesim {
namespace {

constexpr uint32_t checkpoint_magic = 0x0A7B;

hid_t native_type(const std::string& t) {
  if (t == "f32") return H5T_NATIVE_FLOAT;
  if (t == "f64") return H5T_NATIVE_DOUBLE;
  if (t == "i32") return H5T_NATIVE_INT32;
  if (t == "i64") return H5T_NATIVE_INT64;
  if (t == "u64") return H5T_NATIVE_UINT64;
  return -1;
}

uint64_t type_size(const std::string& t) {
  return t == "f32" || t == "i32" ? 4 : 8;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) v.push_back(line);
  return v;
}

// Removes the temporary file of a checkpoint whose writing failed (a full disk): nothing is left
// but the previous checkpoint.
struct remove_unless_renamed {
  const std::string& tmp;
  bool renamed = false;
  ~remove_unless_renamed() {
    if (!renamed) std::remove(tmp.c_str());
  }
};

}  // namespace

void write_checkpoint(const std::string& path, const checkpoint& c) {
  const std::string tmp = path + ".tmp";
  std::remove(tmp.c_str());
  remove_unless_renamed cleanup{tmp};
  {
    h5::quiet_errors quiet;
    h5::handle f;
    try {
      f = h5::create_file(tmp);
    } catch (const output_error&) {
      throw output_error("cannot create checkpoint '" + tmp + "'");
    }
    h5::attr(f, "magic", checkpoint_magic);
    h5::attr(f, "format", checkpoint_format);
    h5::attr(f, "simulator_version", c.simulator_version);
    h5::attr(f, "git_sha", c.git_sha);
    h5::attr(f, "created_utc", c.created_utc);
    h5::attr(f, "backend", c.backend);
    h5::attr(f, "output", c.output);
    h5::attr(f, "step", c.step);
    h5::attr(f, "config", c.config_text);
    h5::attr(f, "populations", join(c.populations));
    std::vector<uint64_t> spikes = c.spikes, rs, rc, rt;
    for (const auto& r : c.rows) {
      rs.push_back(r.spikes);
      rc.push_back(r.counts);
      rt.push_back(r.traces);
    }
    auto out = h5::create_group(f, "output");
    h5::write_vector(out, "spikes", spikes);
    h5::write_vector(out, "spike_rows", rs);
    h5::write_vector(out, "count_rows", rc);
    h5::write_vector(out, "trace_rows", rt);
    std::vector<std::string> names;
    auto state = h5::create_group(f, "state");
    h5::handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl, 1);
    for (const auto& a : c.state) {
      const hid_t type = native_type(a.type);
      if (type < 0 || a.bytes.size() != a.count * type_size(a.type))
        throw error("checkpoint array '" + a.name + "' has an unknown type '" + a.type + "'",
                    exit_internal);
      hsize_t n = a.count;
      h5::handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
      h5::handle ds(H5Dcreate2(state, a.name.c_str(), type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
                    H5Dclose);
      if (!ds.valid() ||
          (n && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.bytes.data()) < 0))
        throw output_error("cannot write array '" + a.name + "' to checkpoint '" + tmp + "'");
      h5::attr(ds, "type", a.type);
      names.push_back(a.name);
    }
    h5::attr(f, "arrays", join(names));
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
      throw output_error("cannot write checkpoint '" + tmp + "'");
  }
  // On disk before the rename, so that a crash leaves the old checkpoint or the new one.
  const int fd = open(tmp.c_str(), O_RDONLY);
  if (fd < 0 || fsync(fd) != 0) {
    if (fd >= 0) close(fd);
    throw output_error("cannot write checkpoint '" + tmp + "': " + std::strerror(errno));
  }
  close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    throw output_error("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(errno));
  cleanup.renamed = true;
}

checkpoint read_checkpoint(const std::string& path) {
  h5::quiet_errors quiet;
  if (access(path.c_str(), R_OK) != 0)
    throw input_error("cannot read checkpoint '" + path + "': " + std::strerror(errno));
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw input_error("'" + path + "' is not a spikesim checkpoint (not an HDF5 file)");
  h5::handle f = h5::open_file(path, false);
  if (H5Aexists(f, "magic") <= 0 || h5::read_attr_u64(f, "magic") != checkpoint_magic)
    throw input_error("'" + path + "' is not a spikesim checkpoint (no checkpoint magic)");
  checkpoint c;
  const uint64_t format = h5::read_attr_u64(f, "format");
  if (format != checkpoint_format)
    throw config_error("checkpoint '" + path + "' has format " + std::to_string(format) +
                       "; this spikesim reads format " + std::to_string(checkpoint_format));
  c.simulator_version = h5::read_attr_string(f, "simulator_version");
  c.git_sha = h5::read_attr_string(f, "git_sha");
  c.created_utc = h5::read_attr_string(f, "created_utc");
  c.backend = h5::read_attr_string(f, "backend");
  c.output = h5::read_attr_string(f, "output");
  c.step = h5::read_attr_u64(f, "step");
  c.config_text = h5::read_attr_string(f, "config");
  c.populations = split_lines(h5::read_attr_string(f, "populations"));
  auto out = h5::open_group(f, "output");
  c.spikes = h5::read_vector<uint64_t>(out, "spikes");
  const auto rs = h5::read_vector<uint64_t>(out, "spike_rows");
  const auto rc = h5::read_vector<uint64_t>(out, "count_rows");
  const auto rt = h5::read_vector<uint64_t>(out, "trace_rows");
  const size_t np = c.populations.size();
  if (c.spikes.size() != np || rs.size() != np || rc.size() != np || rt.size() != np)
    throw input_error("checkpoint '" + path + "' is damaged: /output does not have " +
                      std::to_string(np) + " populations");
  for (size_t p = 0; p < np; ++p) c.rows.push_back({rs[p], rc[p], rt[p]});
  auto state = h5::open_group(f, "state");
  for (const auto& name : split_lines(h5::read_attr_string(f, "arrays"))) {
    h5::handle ds(H5Dopen2(state, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!ds.valid())
      throw input_error("checkpoint '" + path + "' is damaged: array '" + name + "' is missing");
    state_array a;
    a.name = name;
    a.type = h5::read_attr_string(ds, "type");
    const hid_t type = native_type(a.type);
    h5::handle space(H5Dget_space(ds), H5Sclose);
    hsize_t n = 0;
    if (type < 0 || H5Sget_simple_extent_dims(space, &n, nullptr) != 1)
      throw input_error("checkpoint '" + path + "' is damaged: array '" + name + "'");
    a.count = n;
    a.bytes.resize(n * type_size(a.type));
    if (n && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.bytes.data()) < 0)
      throw input_error("cannot read array '" + name + "' of checkpoint '" + path + "'");
    c.state.push_back(std::move(a));
  }
  return c;
}

void check_checkpoint(const checkpoint& c, const experiment_spec& spec, const std::string& path) {
  if (c.simulator_version != simulator_version())
    throw config_error("checkpoint '" + path + "' was written by spikesim " + c.simulator_version +
                       " (" + c.git_sha + "); this is spikesim " + simulator_version() +
                       ": a run resumes only with the version that started it");
  if (c.config_text == spec.config_text) return;
  const auto a = split_lines(c.config_text), b = split_lines(spec.config_text);
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const std::string was = i < a.size() ? a[i] : "(end)";
  const std::string is = i < b.size() ? b[i] : "(end)";
  throw config_error("checkpoint '" + path +
                     "' belongs to another configuration: the resolved config differs at line " +
                     std::to_string(i + 1) + ": checkpoint has `" + was + "`, this run has `" + is +
                     "` (resume with the config and --set options the run started with)");
}

}  // namespace spikesim
