// Same-file and file-type checks of the outputs of a run (include/spikesim/output_paths.hpp).
#include <spikesim/output_paths.hpp>

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <spikesim/errors.hpp>

namespace spikesim {
namespace {

// What a non-regular file is, for the message.
const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string absolute_path(const std::string& p) {
  std::error_code ec;
  const auto c = std::filesystem::weakly_canonical(std::filesystem::absolute(p, ec), ec);
  return ec ? p : c.lexically_normal().string();
}

std::string describe(const named_file& f) {
  return f.role + " '" + f.path + "'";
}

}  // namespace

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  const bool ea = stat(a.c_str(), &sa) == 0, eb = stat(b.c_str(), &sb) == 0;
  if (ea && eb) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  if (ea != eb) return false;
  return absolute_path(a) == absolute_path(b);
}

void check_regular_output(const named_file& f) {
  struct stat s {};
  if (stat(f.path.c_str(), &s) != 0 || S_ISREG(s.st_mode)) return;
  throw output_error("cannot write " + describe(f) + ": it is " + kind_of(s.st_mode) +
                     ", not a regular file (choose another file name)");
}

void check_distinct_files(const std::vector<named_file>& inputs,
                          const std::vector<named_file>& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const named_file& o = outputs[i];
    check_regular_output(o);
    for (const auto& in : inputs)
      if (same_file(o.path, in.path))
        throw output_error("cannot write " + describe(o) + ": it is the " + describe(in) +
                           " (an output never replaces an input: choose another file name)");
    for (size_t j = 0; j < i; ++j)
      if (same_file(o.path, outputs[j].path))
        throw output_error("cannot write " + describe(o) + ": it is also the " +
                           describe(outputs[j]) + " (choose two different file names)");
  }
}

bool free_bytes(const std::string& path, uint64_t& bytes) {
  const std::filesystem::path dir = std::filesystem::path(absolute_path(path)).parent_path();
  struct statvfs v {};
  if (dir.empty() || statvfs(dir.c_str(), &v) != 0) return false;
  bytes = static_cast<uint64_t>(v.f_bavail) * v.f_frsize;
  return true;
}

std::string disk_full_reason(const std::string& path) {
  uint64_t free = 0;
  // Full: less than one HDF5 chunk of spikes (4096 rows of 16 bytes) left to this user.
  if (!free_bytes(path, free) || free >= 65536) return "";
  return "the file system holding '" + path + "' is full (" + std::to_string(free) +
         " bytes free): free some space or write the output elsewhere";
}

std::string write_failure(const std::string& what, const std::string& path, int err) {
  std::string reason = disk_full_reason(path);
  if (reason.empty() && err == EFBIG)
    reason = "'" + path + "' reached the file size limit of this process (ulimit -f)";
  // The system said the disk or the quota is full though statvfs does not (yet) see it so.
  if (reason.empty() && (err == ENOSPC || err == EDQUOT) &&
      what.find(std::strerror(err)) == std::string::npos)
    reason = "writing '" + path + "': " + std::strerror(err);
  const bool named = what.find(path) != std::string::npos;
  return what + (named ? "" : " (writing '" + path + "')") + (reason.empty() ? "" : "; " + reason);
}

}  // namespace spikesim
