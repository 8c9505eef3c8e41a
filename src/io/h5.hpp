// A small RAII layer over the HDF5 C API: owned identifiers, attributes, extendable datasets.
// Every failing call throws output_error (writing) or input_error (reading) naming the object.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace spikesim::h5 {

// Owns one HDF5 identifier and closes it with the matching H5*close.
class handle {
 public:
  handle() = default;
  handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  handle(const handle&) = delete;
  handle& operator=(const handle&) = delete;
  handle(handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  handle& operator=(handle&& o) noexcept;
  ~handle() { reset(); }
  void reset();
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = -1;
  herr_t (*close_)(hid_t) = nullptr;
};

// Silences HDF5's own error stack printing for the life of the object: we report errors ourselves.
class quiet_errors {
 public:
  quiet_errors();
  ~quiet_errors();

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// Both set up for crash safety (h5.cpp): flushed content survives a killed process.
handle create_file(const std::string& path);  // fails when the file exists
// Reading opens a killed run's growing file too (open for SWMR writing when its writer died).
handle open_file(const std::string& path, bool write);
// The growing output file of a run (hdf5_writer.cpp, docs/checkpoints.md): HDF5 1.10 format, for
// SWMR writing. start_swmr() switches an open one to SWMR writing: from then on every write
// leaves a file that a reader opens, with every flushed row; attributes can then only be
// rewritten (update_attr), not created.
handle create_growing_file(const std::string& path);
void start_swmr(hid_t file, const std::string& path);
// ": No space left on device" (or the quota or file size limit) for an errno that says the disk or
// a limit made a write fail; "" for any other (HDF5's own messages do not say).
std::string system_reason(int err);
// A new file `tmp` (as create_file) holding every top-level object of `src` except those in
// `skip`, and its root attributes; output_error, before anything is written, when the file system
// holding `tmp` has less free space than `src` takes. (HDF5 1.10.8's H5Ocopy cannot copy the chunk
// index of a growing file into another growing file: a resumed run appends the rows it keeps
// instead.)
handle copy_to_new_file(hid_t src, const std::string& tmp, const std::vector<std::string>& skip);
// Copies every root attribute of `src` to `dst`, replacing those of the same name (fixed-size
// types: all that spikesim writes).
void copy_root_attributes(hid_t src, hid_t dst);
// Flushes and closes `f` (the file `path`) and puts it on disk (fsync), so that renaming it into
// place (write_atomically) leaves the old file or the new one whole. output_error on failure.
void close_to_disk(handle& f, const std::string& path);
// fsync of a file by name; false (errno set) on failure.
bool sync_path(const std::string& path);
handle create_group(hid_t parent, const std::string& name);
handle open_group(hid_t parent, const std::string& name);
bool exists(hid_t parent, const std::string& path);

template <class T>
hid_t type_of();

void attr(hid_t obj, const std::string& name, const std::string& value);
void attr(hid_t obj, const std::string& name, double value);
void attr(hid_t obj, const std::string& name, uint64_t value);
void attr(hid_t obj, const std::string& name, const std::vector<uint32_t>& value);
void attr(hid_t obj, const std::string& name, uint32_t value);
// Rewrites the value of an existing scalar attribute in place (allowed while SWMR writing).
void update_attr(hid_t obj, const std::string& name, uint64_t value);
void update_attr(hid_t obj, const std::string& name, double value);
// An attribute of an HDF5 enumeration type (base int8) with these members, set to `value`.
void enum_attr(hid_t obj, const std::string& name,
               const std::vector<std::pair<std::string, int8_t>>& members, int8_t value);

std::string read_attr_string(hid_t obj, const std::string& name);
double read_attr_double(hid_t obj, const std::string& name);
uint64_t read_attr_u64(hid_t obj, const std::string& name);

// A dataset of rows of `cols` values that grows along its first dimension; cols = 0 makes it 1-D.
// Chunked; shuffled and deflate-compressed when `compress` (readers built without zlib, such as
// libsonata's wheel, need it off). Rows are kept in memory until they fill an HDF5
// chunk, which is then compressed and written once: writing a partly filled compressed chunk
// and later the full one would compress it twice and, in files that never reuse space
// (create_file), leave the first copy behind as dead space. flush_pending() writes the rows
// held back (for a flush that a killed run must find in the file).
template <class T>
class appendable {
 public:
  appendable() = default;
  appendable(hid_t parent, const std::string& name, uint64_t cols, uint64_t chunk_rows,
             bool compress = true);
  void append(const T* data, uint64_t rows);
  void flush_pending();
  uint64_t rows() const { return base_ + pending_rows(); }  // appended so far
  hid_t id() const { return ds_; }

 private:
  uint64_t pending_rows() const { return pending_.size() / (cols_ ? cols_ : 1); }
  // Writes `rows` rows starting at row `first`, extending the dataset as needed.
  void write_rows(uint64_t first, const T* data, uint64_t rows);

  handle ds_;
  uint64_t cols_ = 0;
  uint64_t chunk_rows_ = 1;
  uint64_t base_ = 0;       // row of pending_[0]: a chunk boundary
  uint64_t in_file_ = 0;    // the dataset's extent in the file, base_ <= in_file_
  std::vector<T> pending_;  // rows from base_ on, kept until their chunk is full
  std::string name_;
};

// Writes a whole 1-D dataset (contiguous, small) or a scalar.
template <class T>
void write_vector(hid_t parent, const std::string& name, const std::vector<T>& v);
void write_scalar(hid_t parent, const std::string& name, double v, const std::string& units);

// Reads a whole 1-D dataset, or rows [first, first + count) of it.
template <class T>
std::vector<T> read_vector(hid_t parent, const std::string& name);
template <class T>
std::vector<T> read_range(hid_t parent, const std::string& name, uint64_t first, uint64_t count);
// Rows [first, first + count) of a 2-D dataset of `cols` columns, row after row.
std::vector<float> read_rows(hid_t parent, const std::string& name, uint64_t first, uint64_t count,
                             uint64_t cols);
uint64_t dataset_length(hid_t parent, const std::string& name);

}  // namespace spikesim::h5
