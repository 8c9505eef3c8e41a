// The RAII layer over the HDF5 C API.
#include "io/h5.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <spikesim/errors.hpp>
#include <spikesim/output_paths.hpp>

namespace spikesim::h5 {

std::string system_reason(int err) {
  if (err == ENOSPC || err == EDQUOT || err == EFBIG) return std::string(": ") + std::strerror(err);
  return "";
}

namespace {

[[noreturn]] void write_fail(const std::string& what) {
  throw output_error("HDF5 error: cannot " + what + system_reason(errno));
}

// Refuses to copy `src` into `tmp` when the file system holding `tmp` has less free space than
// `src` takes (the copy, compact, takes no more) and 1 MiB: HDF5 1.10.8's H5Ocopy dereferences a
// null pointer (in H5T_close_real) when a write fails during the copy, so a disk found full there
// would end the program with SIGSEGV instead of exit 4.
void require_space_for_copy(hid_t src, const std::string& tmp) {
  hsize_t size = 0;
  uint64_t free = 0;
  if (H5Fget_filesize(src, &size) < 0 || !free_bytes(tmp, free) || free >= size + (1u << 20))
    return;
  throw output_error("cannot write '" + tmp + "': the file system holding it is full (" +
                     std::to_string(free) + " bytes free; the file's final copy needs about " +
                     std::to_string(size) + " and 1 MiB to spare): free some space or write the " +
                     "output elsewhere");
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

static void write_attr_raw(hid_t obj, const std::string& name, hid_t type, hid_t space,
                           const void* data) {
  if (H5Aexists(obj, name.c_str()) > 0) H5Adelete(obj, name.c_str());
  handle a(check(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                 "create attribute '" + name + "'"),
           H5Aclose);
  if (H5Awrite(a, type, data) < 0) write_fail("write attribute '" + name + "'");
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

// Files written once and renamed into place (checkpoints, `spikesim model` output, the final
// output): the 1.8 format (superblock 2) stores large attributes densely (the resolved config of
// a run with per-neuron lists can exceed the 64 KiB of compact attribute storage) and keeps the
// file space strategy in its superblock extension; metadata stays in the cache until a flush
// (evictions off: nothing reaches the file half-way), and freed space is never reused.
handle crash_safe_fapl() {
  handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
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

// SWMR needs the 1.10 format (superblock 3, chunk indexes that SWMR can append to).
handle latest_fapl() {
  handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  return fapl;
}

handle no_reuse_fcpl() {
  handle fcpl(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
  H5Pset_file_space_strategy(fcpl, H5F_FSPACE_STRATEGY_NONE, 0, 1);
  return fcpl;
}

handle create_with(const std::string& path, hid_t fapl) {
  // Exclusive creation: the caller has removed a stale file, and must never truncate one that a
  // run is writing.
  handle fcpl = no_reuse_fcpl();
  return handle(
      check(H5Fcreate(path.c_str(), H5F_ACC_EXCL, fcpl, fapl), "create file '" + path + "'"),
      H5Fclose);
}

}  // namespace

handle create_file(const std::string& path) {
  return create_with(path, crash_safe_fapl());
}

handle create_growing_file(const std::string& path) {
  return create_with(path, latest_fapl());
}

void start_swmr(hid_t file, const std::string& path) {
  if (H5Fstart_swmr_write(file) < 0) write_fail("start SWMR writing of '" + path + "'");
}

handle open_file(const std::string& path, bool write) {
  handle fapl = write ? crash_safe_fapl() : handle(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  hid_t id = H5Fopen(path.c_str(), write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  if (id < 0 && !write) {
    // A growing file whose writer was killed is still marked open for SWMR writing: a SWMR
    // reader opens it (h5py: File(path, "r", swmr=True); or `h5clear -s` it first).
    handle swmr = latest_fapl();
    id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, swmr);
  }
  if (id < 0) read_fail("open '" + path + "' as an HDF5 file");
  return handle(id, H5Fclose);
}

bool sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return ok;
}

void copy_root_attributes(hid_t src, hid_t dst) {
  H5O_info_t info;
  if (H5Oget_info2(src, &info, H5O_INFO_NUM_ATTRS) < 0) read_fail("list the root attributes");
  for (hsize_t i = 0; i < info.num_attrs; ++i) {
    handle a(H5Aopen_by_idx(src, ".", H5_INDEX_NAME, H5_ITER_INC, i, H5P_DEFAULT, H5P_DEFAULT),
             H5Aclose);
    if (!a.valid()) read_fail("open root attribute " + std::to_string(i));
    const ssize_t len = H5Aget_name(a, 0, nullptr);
    std::string name(static_cast<size_t>(std::max<ssize_t>(len, 0)), '\0');
    H5Aget_name(a, name.size() + 1, name.data());
    handle type(H5Aget_type(a), H5Tclose);
    handle space(H5Aget_space(a), H5Sclose);
    if (H5Tdetect_class(type, H5T_VLEN) > 0 || H5Tis_variable_str(type) > 0)
      read_fail("copy attribute '" + name + "' (variable length)");
    const hssize_t n = H5Sget_simple_extent_npoints(space);
    std::vector<char> buf(H5Tget_size(type) * static_cast<size_t>(std::max<hssize_t>(n, 1)));
    if (H5Aread(a, type, buf.data()) < 0) read_fail("read attribute '" + name + "'");
    write_attr_raw(dst, name, type, space, buf.data());
  }
}

handle copy_to_new_file(hid_t src, const std::string& tmp, const std::vector<std::string>& skip) {
  require_space_for_copy(src, tmp);
  handle f = create_file(tmp);
  H5G_info_t g;
  if (H5Gget_info(src, &g) < 0) read_fail("list the groups of the file");
  for (hsize_t i = 0; i < g.nlinks; ++i) {
    const ssize_t len =
        H5Lget_name_by_idx(src, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (len < 0) read_fail("list the groups of the file");
    std::string name(static_cast<size_t>(len), '\0');
    H5Lget_name_by_idx(src, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size() + 1,
                       H5P_DEFAULT);
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    if (H5Ocopy(src, name.c_str(), f, name.c_str(), H5P_DEFAULT, H5P_DEFAULT) < 0)
      write_fail("copy '/" + name + "' to '" + tmp + "'");
  }
  copy_root_attributes(src, f);
  return f;
}

void close_to_disk(handle& f, const std::string& path) {
  if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) write_fail("flush '" + path + "'");
  f.reset();
  if (!sync_path(path))
    throw output_error("cannot write '" + path + "' to disk: " + std::strerror(errno));
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

namespace {
void update_attr_raw(hid_t obj, const std::string& name, hid_t type, const void* value) {
  handle a(check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute '" + name + "'"),
           H5Aclose);
  if (H5Awrite(a, type, value) < 0) write_fail("write attribute '" + name + "'");
}
}  // namespace

void update_attr(hid_t obj, const std::string& name, uint64_t value) {
  update_attr_raw(obj, name, H5T_NATIVE_UINT64, &value);
}
void update_attr(hid_t obj, const std::string& name, double value) {
  update_attr_raw(obj, name, H5T_NATIVE_DOUBLE, &value);
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

std::vector<float> read_rows(hid_t parent, const std::string& name, uint64_t first, uint64_t count,
                             uint64_t cols) {
  handle ds(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) read_fail("open dataset '" + name + "'");
  handle space(H5Dget_space(ds), H5Sclose);
  if (H5Sget_simple_extent_ndims(space) != 2) read_fail("read '" + name + "' as a 2-D dataset");
  std::vector<float> v(count * cols);
  if (v.empty()) return v;
  hsize_t start[2] = {first, 0}, n[2] = {count, cols};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, n, nullptr);
  handle mem(H5Screate_simple(2, n, nullptr), H5Sclose);
  if (H5Dread(ds, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, v.data()) < 0)
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
template std::vector<uint32_t> read_range<uint32_t>(hid_t, const std::string&, uint64_t, uint64_t);

}  // namespace spikesim::h5
