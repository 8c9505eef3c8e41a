// Checkpoint files: HDF5 with the run's identity as attributes and one dataset per state array.
#include <spikesim/checkpoint.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sstream>

#include <spikesim/atomic_output.hpp>
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

// A 1-D array with a Fletcher-32 checksum (chunked, as HDF5's filters need): read_checked()
// fails on any altered byte.
void write_checked(hid_t parent, const std::string& name, hid_t type, uint64_t count,
                   const void* data, hid_t lcpl, const std::string& file) {
  hsize_t n = count;
  h5::handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  h5::handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (n > 0) {
    const hsize_t chunk = std::min<hsize_t>(n, hsize_t{1} << 18);
    H5Pset_chunk(dcpl, 1, &chunk);
    H5Pset_fletcher32(dcpl);
  }
  h5::handle ds(H5Dcreate2(parent, name.c_str(), type, space, lcpl, dcpl, H5P_DEFAULT), H5Dclose);
  if (!ds.valid() || (n && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
    throw output_error("cannot write array '" + name + "' to checkpoint '" + file + "'");
}

void read_checked(hid_t ds, hid_t type, void* data, uint64_t n, const std::string& name,
                  const std::string& file) {
  if (n && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    throw input_error("checkpoint '" + file + "' is damaged: array '" + name +
                      "' cannot be read or fails its Fletcher-32 checksum");
}

std::vector<uint64_t> read_checked_u64(hid_t g, const std::string& name, const std::string& file) {
  h5::handle ds(H5Dopen2(g, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw input_error("checkpoint '" + file + "' is damaged: no '" + name + "'");
  h5::handle space(H5Dget_space(ds), H5Sclose);
  hsize_t n = 0;
  if (H5Sget_simple_extent_dims(space, &n, nullptr) != 1)
    throw input_error("checkpoint '" + file + "' is damaged: '" + name + "' is not a list");
  std::vector<uint64_t> v(n);
  read_checked(ds, H5T_NATIVE_UINT64, v.data(), n, name, file);
  return v;
}

// What a state array may hold: refractory counters are never negative, real state is finite and
// gates lie in [0, 1]. input_error naming the array, the neuron and the value otherwise.
void validate_array(const state_array& a, const std::string& file) {
  const auto leaf = a.name.substr(a.name.rfind('/') + 1);
  auto bad = [&](uint64_t i, const std::string& value, const std::string& why) {
    throw input_error("checkpoint '" + file + "' is damaged: " + a.name + "[" + std::to_string(i) +
                      "] = " + value + " " + why);
  };
  if (a.type == "i32") {
    const auto* v = reinterpret_cast<const int32_t*>(a.bytes.data());
    for (uint64_t i = 0; i < a.count; ++i)
      if (leaf == "ref" && v[i] < 0) bad(i, std::to_string(v[i]), "(a refractory count < 0)");
  } else if (a.type == "f32" || a.type == "f64") {
    const bool gate = leaf == "m" || leaf == "h" || leaf == "n";
    for (uint64_t i = 0; i < a.count; ++i) {
      double x = 0;
      if (a.type == "f32") {
        float f;
        std::memcpy(&f, a.bytes.data() + 4 * i, 4);
        x = f;
      } else {
        std::memcpy(&x, a.bytes.data() + 8 * i, 8);
      }
      if (!std::isfinite(x)) bad(i, std::to_string(x), "(not finite)");
      if (gate && !(x >= 0.0 && x <= 1.0)) bad(i, std::to_string(x), "(a gate outside [0, 1])");
    }
  }
}

// The checkpoint file `tmp`, whole and on disk.
void write_checkpoint_file(const std::string& tmp, const checkpoint& c) {
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
    for (const auto& [name, v] : {std::pair{"spikes", &spikes}, std::pair{"spike_rows", &rs},
                                  std::pair{"count_rows", &rc}, std::pair{"trace_rows", &rt}})
      write_checked(out, name, H5T_NATIVE_UINT64, v->size(), v->data(), H5P_DEFAULT, tmp);
    std::vector<std::string> names;
    auto state = h5::create_group(f, "state");
    h5::handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl, 1);
    for (const auto& a : c.state) {
      const hid_t type = native_type(a.type);
      if (type < 0 || a.bytes.size() != a.count * type_size(a.type))
        throw error("checkpoint array '" + a.name + "' has an unknown type '" + a.type + "'",
                    error_kind::internal);
      write_checked(state, a.name, type, a.count, a.bytes.data(), lcpl, tmp);
      h5::handle ds(H5Dopen2(state, a.name.c_str(), H5P_DEFAULT), H5Dclose);
      h5::attr(ds, "type", a.type);
      names.push_back(a.name);
    }
    h5::attr(f, "arrays", join(names));
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
      throw output_error("cannot write checkpoint '" + tmp + "'");
  }
  // On disk before the rename, so that a crash leaves the old checkpoint or the new one.
  if (!h5::sync_path(tmp))
    throw output_error("cannot write checkpoint '" + tmp + "': " + std::strerror(errno));
}

}  // namespace

void write_checkpoint(const std::string& path, const checkpoint& c) {
  write_atomically(
      path, [&](const std::string& tmp) { write_checkpoint_file(tmp, c); }, temporary_suffix);
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
  c.spikes = read_checked_u64(out, "spikes", path);
  const auto rs = read_checked_u64(out, "spike_rows", path);
  const auto rc = read_checked_u64(out, "count_rows", path);
  const auto rt = read_checked_u64(out, "trace_rows", path);
  const size_t np = c.populations.size();
  if (c.spikes.size() != np || rs.size() != np || rc.size() != np || rt.size() != np)
    throw input_error("checkpoint '" + path + "' is damaged: /output does not have " +
                      std::to_string(np) + " populations");
  for (size_t p = 0; p < np; ++p) {
    // One row of spike counts per step; the recorded spikes are among those counted.
    if (rc[p] != c.step || rs[p] > c.spikes[p])
      throw input_error("checkpoint '" + path + "' is damaged: population " + std::to_string(p) +
                        " has " + std::to_string(rc[p]) + " count rows and " +
                        std::to_string(rs[p]) + " spike rows at step " + std::to_string(c.step) +
                        " (" + std::to_string(c.spikes[p]) + " spikes)");
    c.rows.push_back({rs[p], rc[p], rt[p]});
  }
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
    read_checked(ds, type, a.bytes.data(), n, name, path);
    validate_array(a, path);
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
                     "` (resume with the config and " + setting::set +
                     " options the run started with)");
}

}  // namespace spikesim
