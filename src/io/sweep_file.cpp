// /sweep of a pack file: written after the simulation into the finished file, read back by
// `spikesim merge` and `spikesim analyze`. Strings are variable-length UTF-8, as h5py reads them.
#include "io/sweep_file.hpp"

#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/sweep.hpp>

#include "io/h5.hpp"

namespace spikesim {
namespace {

h5::handle string_type() {
  h5::handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, H5T_VARIABLE);
  H5Tset_cset(type, H5T_CSET_UTF8);
  return type;
}

std::vector<const char*> pointers(const std::vector<std::string>& v) {
  std::vector<const char*> p;
  p.reserve(v.size());
  for (const auto& s : v) p.push_back(s.c_str());
  return p;
}

void write_strings(hid_t parent, const std::string& name, const std::vector<std::string>& v) {
  const auto type = string_type();
  hsize_t n = v.size();
  h5::handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  h5::handle ds(
      H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose);
  const auto p = pointers(v);
  if (!ds.valid() || (n && H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()) < 0))
    throw output_error("HDF5 error: cannot write dataset '/sweep/" + name + "'");
}

void write_strings_attr(hid_t obj, const std::string& name, const std::vector<std::string>& v) {
  const auto type = string_type();
  hsize_t n = v.size();
  h5::handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  h5::handle a(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const auto p = pointers(v);
  if (!a.valid() || (n && H5Awrite(a, type, p.data()) < 0))
    throw output_error("HDF5 error: cannot write attribute '/sweep." + name + "'");
}

// Copies variable-length strings out of HDF5's buffers and frees them.
std::vector<std::string> take(std::vector<char*>& raw, hid_t type, hid_t space) {
  std::vector<std::string> v;
  v.reserve(raw.size());
  for (char* s : raw) v.emplace_back(s ? s : "");
  if (!raw.empty()) H5Dvlen_reclaim(type, space, H5P_DEFAULT, raw.data());
  return v;
}

std::vector<std::string> read_strings(hid_t parent, const std::string& name) {
  h5::handle ds(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw input_error("no dataset /sweep/" + name);
  h5::handle space(H5Dget_space(ds), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  const auto type = string_type();
  std::vector<char*> raw(n > 0 ? static_cast<size_t>(n) : 0);
  if (n > 0 && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0)
    throw input_error("cannot read /sweep/" + name + " as strings");
  return take(raw, type, space);
}

std::vector<std::string> read_strings_attr(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) throw input_error("no attribute /sweep." + name);
  h5::handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
  h5::handle space(H5Aget_space(a), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  const auto type = string_type();
  std::vector<char*> raw(n > 0 ? static_cast<size_t>(n) : 0);
  if (n > 0 && H5Aread(a, type, raw.data()) < 0)
    throw input_error("cannot read attribute /sweep." + name + " as strings");
  return take(raw, type, space);
}

}  // namespace

void write_sweep_group(hid_t file, const sweep_file_info& s) {
  auto g = h5::create_group(file, "sweep");
  h5::attr(g, "mode", s.mode);
  h5::attr(g, "seeds", s.seeds);
  h5::attr(g, "id", s.id);
  write_strings_attr(g, "keys", s.keys);
  h5::attr(g, "points", s.points);
  h5::attr(g, "task_id", s.task_id);
  h5::attr(g, "num_tasks", s.num_tasks);
  h5::write_vector<uint64_t>(g, "point", s.point);
  h5::write_vector<uint64_t>(g, "seed", s.seed);
  auto values = h5::create_group(g, "values");
  for (size_t i = 0; i < s.keys.size(); ++i)
    h5::write_vector<double>(values, s.keys[i], s.values[i]);
  write_strings(g, "config", s.config);
  write_strings(g, "population", s.population);
  h5::write_vector<uint64_t>(g, "population_point", s.population_point);
}

sweep_file_info read_sweep_group(hid_t file) {
  if (!h5::exists(file, "sweep"))
    throw input_error("no /sweep group: not a file of spikesim sweep");
  auto g = h5::open_group(file, "sweep");
  sweep_file_info s;
  s.mode = h5::read_attr_string(g, "mode");
  s.seeds = h5::read_attr_string(g, "seeds");
  s.id = h5::read_attr_string(g, "id");
  s.keys = read_strings_attr(g, "keys");
  s.points = h5::read_attr_u64(g, "points");
  s.task_id = h5::read_attr_u64(g, "task_id");
  s.num_tasks = h5::read_attr_u64(g, "num_tasks");
  s.point = h5::read_vector<uint64_t>(g, "point");
  s.seed = h5::read_vector<uint64_t>(g, "seed");
  auto values = h5::open_group(g, "values");
  for (const auto& k : s.keys) s.values.push_back(h5::read_vector<double>(values, k));
  s.config = read_strings(g, "config");
  s.population = read_strings(g, "population");
  s.population_point = h5::read_vector<uint64_t>(g, "population_point");
  const size_t n = s.point.size();
  bool ok = s.seed.size() == n && s.config.size() == n &&
            s.population_point.size() == s.population.size();
  for (const auto& v : s.values) ok = ok && v.size() == n;
  if (!ok) throw input_error("/sweep: its datasets differ in length");
  for (uint64_t k : s.point)
    if (k >= s.points)
      throw input_error("/sweep/point holds " + std::to_string(k) + " but the sweep has " +
                        std::to_string(s.points) + " points");
  return s;
}

h5::handle open_pack_file(const std::string& path) {
  h5::quiet_errors quiet;
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0)
    throw input_error("cannot read '" + path + "': not an HDF5 file, or truncated or corrupt");
  return h5::handle(id, H5Fclose);
}

pack_file_header read_pack_header(hid_t file) {
  h5::quiet_errors quiet;
  if (H5Aexists(file, "magic") <= 0 || h5::read_attr_u64(file, "magic") != file_magic)
    throw input_error("not a spikesim output file (no magic attribute 0x0A7A)");
  pack_file_header h;
  h.status = h5::read_attr_string(file, "status");
  h.config = h5::read_attr_string(file, "config");
  h.simulator_version = h5::read_attr_string(file, "simulator_version");
  h.sweep = read_sweep_group(file);
  return h;
}

experiment_spec packed_spec_of(const sweep_file_info& s, const std::string& source,
                               const std::vector<std::string>& overrides) {
  std::vector<experiment_spec> points;
  points.reserve(s.point.size());
  for (size_t i = 0; i < s.point.size(); ++i)
    points.push_back(
        parse_config(s.config[i], source + ":sweep/config[" + std::to_string(i) + "]", overrides));
  experiment_spec spec = pack_points(points, s.point);
  if (spec.populations.size() != s.population.size())
    throw input_error("/sweep/population lists " + std::to_string(s.population.size()) +
                      " populations, the configs of its points " +
                      std::to_string(spec.populations.size()));
  for (size_t i = 0; i < s.population.size(); ++i)
    if (spec.populations[i].name != s.population[i])
      throw input_error("/sweep/population[" + std::to_string(i) + "] is '" + s.population[i] +
                        "', the configs of its points give '" + spec.populations[i].name + "'");
  return spec;
}

}  // namespace spikesim
