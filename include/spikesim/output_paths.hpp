// Checks on the files a run is about to write, before anything is written: an output never
// replaces one of the run's inputs or another of its outputs, and never anything but a regular
// file (a device node, a FIFO or a directory of the same name is left alone).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace spikesim {

// A file of a command and what it is to the command ("config", "output", "checkpoint"), which
// the messages name.
struct named_file {
  std::string role;
  std::string path;
};

// True when `a` and `b` name the same file: the same device and inode where both exist (hard
// links, symbolic links and other spellings of one file included), else the same absolute path
// once the symbolic links of its directories are resolved.
bool same_file(const std::string& a, const std::string& b);

// Throws output_error (exit 4) when `path` exists and is not a regular file (after symbolic
// links): the message names the file, its role and what it is.
void check_regular_output(const named_file& f);

// Throws output_error (exit 4) when an output is not a regular file (check_regular_output), is
// the same file as one of `inputs`, or is the same file as another of `outputs`; the message names
// both files and their roles.
void check_distinct_files(const std::vector<named_file>& inputs,
                          const std::vector<named_file>& outputs);

// The bytes free to this user on the file system that holds `path` (or would hold it: its
// directory's); false when that cannot be told.
bool free_bytes(const std::string& path, uint64_t& bytes);

// Why a write to `path` failed, when the disk is the cause: "the file system holding 'PATH' is
// full (N bytes free)", or empty when it is not (then the HDF5 message stands alone). Called
// where a write of `path` has failed, before anything is removed.
std::string disk_full_reason(const std::string& path);

// `what` (the message of a failed write of `path`) with the file named, the disk named when it
// is full and the file size limit when `err` (errno after the failure) says it was reached: the
// message of output_error for a write that failed.
std::string write_failure(const std::string& what, const std::string& path, int err);

}  // namespace spikesim
