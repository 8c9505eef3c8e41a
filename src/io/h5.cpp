// The RAII layer over the HDF5 C API.
#include "io/h5.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spikesim/errors.hpp>

namespace spikesim::h5 {
namespace {

// The failed write's errno, where it is the disk or a limit (HDF5's own message does not say).
std::string system_reason(int err) {
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) return std::string(": ") + std::strerror(err);
  return "";
}

[[noreturn]] void write_fail(const std::string& what) {
  throw output_error("HDF5 error: cannot " + what + system_reason(errno));
}

// A file whose close fails (on a full disk) stays open in the library, and HDF5's exit handler
// then crashes closing it again (SIGSEGV in H5F__close_cb): the handler is not installed. Every
// file is closed by its handle before the program ends.
[[maybe_unused]] const bool no_exit_handler = H5dont_atexit() >= 0;
[[noreturn]] void read_fail(const std::string& what) {
  throw input_error("HDF5 error: cannot " + what);
}

hid_t check(hid_t id, const std::string& what) {
  if (id < 0) write_fail(what);
  return id;
}

}  // namespace

handle& handle::operator=(handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}

void handle::reset() {
  if (id_ >= 0 && close_) close_(id_);
  id_ = -1;
}

quiet_errors::quiet_errors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}
quiet_errors::~quiet_errors() {
  H5Eset_auto2(H5E_DEFAULT, func_, data_);
}

template <>
hid_t type_of<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t type_of<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t type_of<uint64_t>() {
  return H5T_NATIVE_UINT64;
}
template <>
hid_t type_of<uint32_t>() {
  return H5T_NATIVE_UINT32;
}

namespace {

// Crash safety: a run killed with SIGKILL must leave a file that opens, with every chunk that
// was flushed. Between two H5Fflush calls nothing may overwrite what the last flush put on
// disk: metadata stays in the cache (evictions off; the cache is flushed after every chunk, so
// it stays small), and freed space is never reused (file space strategy NONE: every allocation
// comes from the end of the file; the files only grow, and they are written once).
handle crash_safe_fapl() {
  handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  // The 1.8+ format (superblock 2) stores large attributes densely (the resolved config of a run
  // with per-neuron lists can exceed the 64 KiB of compact attribute storage) and keeps the file
  // space strategy in its superblock extension. Not the 1.10 format: its superblock 3 marks a
  // file open for writing, and the library then refuses to open a file whose writer was killed.
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST);
  H5AC_cache_config_t mdc;
  mdc.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  if (H5Pget_mdc_config(fapl, &mdc) >= 0) {
    mdc.evictions_enabled = false;
    mdc.incr_mode = H5C_incr__off;
    mdc.flash_incr_mode = H5C_flash_incr__off;
    mdc.decr_mode = H5C_decr__off;
    H5Pset_mdc_config(fapl, &mdc);
  }
  return fapl;
}

}  // namespace

handle create_file(const std::string& path) {
  // Exclusive creation: the caller has removed a stale file, and must never truncate one that a
  // run is writing.
  handle fapl = crash_safe_fapl();
  handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_file_space_strategy(fcpl, H5F_FSPACE_STRATEGY_NONE, 0, 1);
  return handle(
      check(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl, fapl), "create file '" + path + "'"),
      H5Fclose);
}

handle open_file(const std::string& path, bool write) {
  handle fapl = write ? crash_safe_fapl() : handle(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  hid_t id = H5Fopen(path.c_str(), write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  if (id < 0) read_fail("open '" + path + "' as an HDF5 file");
  return handle(id, H5Fclose);
}

handle create_group(hid_t parent, const std::string& name) {
  return handle(check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "create group '" + name + "'"),
                H5Gclose);
}

handle open_group(hid_t parent, const std::string& name) {
  hid_t id = H5Gopen2(parent, name.c_str(), H5P_DEFAULT);
  if (id < 0) read_fail("open group '" + name + "'");
  return handle(id, H5Gclose);
}

bool exists(hid_t parent, const std::string& path) {
  // Check each level: H5Lexists fails on a path whose intermediate group is missing.
  std::string sofar;
  size_t pos = 0;
  while (pos != std::string::npos) {
    const size_t next = path.find('/', pos);
    sofar = path.substr(0, next);
    if (!sofar.empty() && H5Lexists(parent, sofar.c_str(), H5P_DEFAULT) <= 0) return false;
    pos = next == std::string::npos ? next : next + 1;
  }
  return true;
}

static void write_attr_raw(hid_t obj, const std::string& name, hid_t type, hid_t space,
                           const void* data) {
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  handle a(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                 "create attribute '" + name + "'"),
           H5Aclose);
  if (H5Awrite(a, type, data) < 0) write_fail("write attribute '" + name + "'");
}

void attr(hid_t obj, const std::string& name, const std::string& value) {
  handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type, value.empty() ? 1 : value.size());
  H5Tset_cset(type, H5T_CSET_UTF8);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  handle space(H5Screate(H5S_SCALAR), H5Sclose);
  write_attr_raw(obj, name, type, space, value.empty() ? "" : value.data());
}

void attr(hid_t obj, const std::string& name, double value) {
  handle space(H5Screate(H5S_SCALAR), H5Sclose);
  write_attr_raw(obj, name, H5T_NATIVE_DOUBLE, space, &value);
}

void attr(hid_t obj, const std::string& name, uint64_t value) {
  handle space(H5Screate(H5S_SCALAR), H5Sclose);
  write_attr_raw(obj, name, H5T_NATIVE_UINT64, space, &value);
}

void attr(hid_t obj, const std::string& name, uint32_t value) {
  handle space(H5Screate(H5S_SCALAR), H5Sclose);
  write_attr_raw(obj, name, H5T_NATIVE_UINT32, space, &value);
}

void attr(hid_t obj, const std::string& name, const std::vector<uint32_t>& value) {
  hsize_t n = value.size();
  handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  write_attr_raw(obj, name, H5T_NATIVE_UINT32, space, value.data());
}

void enum_attr(hid_t obj, const std::string& name,
               const std::vector<std::pair<std::string, int8_t>>& members, int8_t value) {
  handle type(check(H5Tenum_create(H5T_NATIVE_INT8), "create enum type of '" + name + "'"),
              H5Tclose);
  for (const auto& [member, v] : members)
    if (H5Tenum_insert(type, member.c_str(), &v) < 0) write_fail("define enum '" + name + "'");
  handle space(H5Screate(H5S_SCALAR), H5Sclose);
  write_attr_raw(obj, name, type, space, &value);
}

std::string read_attr_string(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) read_fail("find attribute '" + name + "'");
  handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
  handle type(H5Aget_type(a), H5Tclose);
  if (H5Tget_class(type) != H5T_STRING) read_fail("read attribute '" + name + "' as a string");
  if (H5Tis_variable_str(type) > 0) {
    char* s = nullptr;
    handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem, H5T_VARIABLE);
    if (H5Aread(a, mem, &s) < 0) read_fail("read attribute '" + name + "'");
    std::string r = s ? s : "";
    H5free_memory(s);
    return r;
  }
  const size_t n = H5Tget_size(type);
  std::string r(n, '\0');
  if (H5Aread(a, type, r.data()) < 0) read_fail("read attribute '" + name + "'");
  r.resize(r.find('\0') == std::string::npos ? n : r.find('\0'));
  return r;
}

double read_attr_double(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) read_fail("find attribute '" + name + "'");
  handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
  double v = 0;
  if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) < 0) read_fail("read attribute '" + name + "'");
  return v;
}

uint64_t read_attr_u64(hid_t obj, const std::string& name) {
  if (H5Aexists(obj, name.c_str()) <= 0) read_fail("find attribute '" + name + "'");
  handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
  uint64_t v = 0;
  if (H5Aread(a, H5T_NATIVE_UINT64, &v) < 0) read_fail("read attribute '" + name + "'");
  return v;
}

template <class T>
appendable<T>::appendable(hid_t parent, const std::string& name, uint64_t cols, uint64_t chunk_rows,
                          bool compress)
    : cols_(cols), chunk_rows_(chunk_rows), name_(name) {
  const int rank = cols == 0 ? 1 : 2;
  hsize_t dims[2] = {0, cols};
  hsize_t maxdims[2] = {H5S_UNLIMITED, cols};
  hsize_t chunk[2] = {chunk_rows, cols};
  handle space(H5Screate_simple(rank, dims, maxdims), H5Sclose);
  handle plist(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  H5Pset_chunk(plist, rank, chunk);
  if (compress) {
    H5Pset_shuffle(plist);
    H5Pset_deflate(plist, 1);
  }
  ds_ = handle(
      check(H5Dcreate2(parent, name.c_str(), type_of<T>(), space, H5P_DEFAULT, plist, H5P_DEFAULT),
            "create dataset '" + name + "'"),
      H5Dclose);
}

template <class T>
appendable<T> appendable<T>::open(hid_t parent, const std::string& name, uint64_t keep_rows) {
  appendable<T> a;
  a.name_ = name;
  a.ds_ = handle(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!a.ds_.valid()) read_fail("open dataset '" + name + "'");
  handle space(H5Dget_space(a.ds_), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space);
  hsize_t dims[2] = {0, 0};
  if (rank < 1 || rank > 2 || H5Sget_simple_extent_dims(space, dims, nullptr) < 0)
    read_fail("size dataset '" + name + "'");
  if (dims[0] < keep_rows)
    read_fail("continue dataset '" + name + "': it has " + std::to_string(dims[0]) +
              " rows, fewer than the " + std::to_string(keep_rows) + " the checkpoint counts");
  a.cols_ = rank == 2 ? dims[1] : 0;
  a.base_ = keep_rows;
  a.in_file_ = keep_rows;
  h5::handle plist(H5Dget_create_plist(a.ds_), H5Pclose);
  hsize_t chunk[2] = {1, 1};
  if (H5Pget_chunk(plist, 2, chunk) < 1) read_fail("read the chunk size of '" + name + "'");
  a.chunk_rows_ = chunk[0];
  hsize_t size[2] = {keep_rows, dims[1]};
  if (H5Dset_extent(a.ds_, size) < 0) write_fail("shrink dataset '" + name + "'");
  return a;
}

template <class T>
void appendable<T>::write_rows(uint64_t first, const T* data, uint64_t rows) {
  if (rows == 0) return;
  const int rank = cols_ == 0 ? 1 : 2;
  if (first + rows > in_file_) {
    hsize_t size[2] = {first + rows, cols_};
    if (H5Dset_extent(ds_, size) < 0) write_fail("extend dataset '" + name_ + "'");
  }
  handle file_space(H5Dget_space(ds_), H5Sclose);
  hsize_t start[2] = {first, 0};
  hsize_t count[2] = {rows, cols_};
  H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  handle mem_space(H5Screate_simple(rank, count, nullptr), H5Sclose);
  if (H5Dwrite(ds_, type_of<T>(), mem_space, file_space, H5P_DEFAULT, data) < 0)
    write_fail("write dataset '" + name_ + "'");
  // Counted only once written: after a failure the rows are written again.
  in_file_ = std::max(in_file_, first + rows);
}

template <class T>
void appendable<T>::append(const T* data, uint64_t rows) {
  const uint64_t width = cols_ ? cols_ : 1;
  pending_.insert(pending_.end(), data, data + rows * width);
  // Whole chunks go to the file (again from their first row, if a flush wrote part of one);
  // the rows past the last chunk boundary stay in memory.
  const uint64_t end = base_ + pending_rows();
  const uint64_t boundary = end / chunk_rows_ * chunk_rows_;
  if (boundary > base_) {
    const uint64_t n = boundary - base_;
    write_rows(base_, pending_.data(), n);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(n * width));
    base_ = boundary;
  }
}

template <class T>
void appendable<T>::flush_pending() {
  // Only what the file lacks; the rows stay pending, so that their chunk is written whole, from
  // memory, when it is full.
  const uint64_t width = cols_ ? cols_ : 1;
  const uint64_t end = base_ + pending_rows();
  if (end > in_file_)
    write_rows(in_file_, pending_.data() + (in_file_ - base_) * width, end - in_file_);
}

template <class T>
void write_vector(hid_t parent, const std::string& name, const std::vector<T>& v) {
  hsize_t n = v.size();
  handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  handle ds(check(H5Dcreate2(parent, name.c_str(), type_of<T>(), space, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT),
                  "create dataset '" + name + "'"),
            H5Dclose);
  if (n && H5Dwrite(ds, type_of<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    write_fail("write dataset '" + name + "'");
}

void write_scalar(hid_t parent, const std::string& name, double v, const std::string& units) {
  handle space(H5Screate(H5S_SCALAR), H5Sclose);
  handle ds(check(H5Dcreate2(parent, name.c_str(), H5T_NATIVE_DOUBLE, space, H5P_DEFAULT,
                             H5P_DEFAULT, H5P_DEFAULT),
                  "create dataset '" + name + "'"),
            H5Dclose);
  if (H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
    write_fail("write dataset '" + name + "'");
  if (!units.empty()) attr(ds, "units", units);
}

uint64_t dataset_length(hid_t parent, const std::string& name) {
  handle ds(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) read_fail("open dataset '" + name + "'");
  handle space(H5Dget_space(ds), H5Sclose);
  hsize_t dims[2] = {0, 0};
  if (H5Sget_simple_extent_dims(space, dims, nullptr) < 0) read_fail("size dataset '" + name + "'");
  return dims[0];
}

template <class T>
std::vector<T> read_range(hid_t parent, const std::string& name, uint64_t first, uint64_t count) {
  handle ds(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) read_fail("open dataset '" + name + "'");
  handle space(H5Dget_space(ds), H5Sclose);
  if (H5Sget_simple_extent_ndims(space) != 1) read_fail("read '" + name + "' as a 1-D dataset");
  std::vector<T> v(count);
  if (count == 0) return v;
  hsize_t start = first, n = count;
  H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nullptr, &n, nullptr);
  handle mem(H5Screate_simple(1, &n, nullptr), H5Sclose);
  if (H5Dread(ds, type_of<T>(), mem, space, H5P_DEFAULT, v.data()) < 0)
    read_fail("read dataset '" + name + "'");
  return v;
}

template <class T>
std::vector<T> read_vector(hid_t parent, const std::string& name) {
  return read_range<T>(parent, name, 0, dataset_length(parent, name));
}

template class appendable<double>;
template class appendable<float>;
template class appendable<uint64_t>;
template class appendable<uint32_t>;
template void write_vector<double>(hid_t, const std::string&, const std::vector<double>&);
template void write_vector<uint64_t>(hid_t, const std::string&, const std::vector<uint64_t>&);
template void write_vector<uint32_t>(hid_t, const std::string&, const std::vector<uint32_t>&);
template std::vector<double> read_vector<double>(hid_t, const std::string&);
template std::vector<float> read_vector<float>(hid_t, const std::string&);
template std::vector<uint64_t> read_vector<uint64_t>(hid_t, const std::string&);
template std::vector<uint32_t> read_vector<uint32_t>(hid_t, const std::string&);
template std::vector<double> read_range<double>(hid_t, const std::string&, uint64_t, uint64_t);
template std::vector<uint64_t> read_range<uint64_t>(hid_t, const std::string&, uint64_t, uint64_t);

}  // namespace spikesim::h5
