// The temporary-name-and-rename of include/spikesim/atomic_output.hpp, for every file spikesim
// writes whole (the final output, analyze's file, checkpoints, model and merge output).
#include <spikesim/atomic_output.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <spikesim/errors.hpp>

namespace spikesim {
namespace {

// Removes the temporary file unless it was renamed into place: nothing of a failed write is left.
struct remove_unless_renamed {
  const std::string& temp;
  bool renamed = false;
  ~remove_unless_renamed() {
    if (!renamed) std::remove(temp.c_str());
  }
};

}  // namespace

void rename_over(const std::string& temp, const std::string& path) {
  if (std::rename(temp.c_str(), path.c_str()) != 0)
    throw output_error("cannot rename '" + temp + "' to '" + path + "': " + std::strerror(errno));
}

bool is_partial_name(const std::string& name) {
  const size_t n = std::strlen(partial_suffix);
  return name.size() > n && name.compare(name.size() - n, n, partial_suffix) == 0;
}

void write_atomically(const std::string& path,
                      const std::function<void(const std::string& temp)>& write,
                      const std::string& suffix) {
  const std::string temp = path + suffix;
  std::remove(temp.c_str());
  remove_unless_renamed cleanup{temp};
  write(temp);
  rename_over(temp, path);
  cleanup.renamed = true;
}

}  // namespace spikesim
