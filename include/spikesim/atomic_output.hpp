// Output files that appear whole or not at all: written under a temporary name beside the file
// and renamed over it once complete, so that a kill or a failure at any instant leaves the file as
// it was or the new one whole (docs/checkpoints.md, "What a kill leaves").
#pragma once

#include <functional>
#include <string>

namespace spikesim {

// The temporary name of an output while it is written: FILE.partial.
inline constexpr const char* partial_suffix = ".partial";
// The temporary name of a file rewritten whole where FILE.partial is another file's name (the
// final file made from a run's partial output, /analysis added to a file, a checkpoint): FILE.tmp.
inline constexpr const char* temporary_suffix = ".tmp";

inline std::string partial_path(const std::string& path) {
  return path + partial_suffix;
}
inline std::string temporary_path(const std::string& path) {
  return path + temporary_suffix;
}
// Whether a file's name is that of an output still being written (NAME.partial, NAME not empty).
bool is_partial_name(const std::string& name);

// Renames `temp` over `path` (atomic within one file system). output_error "cannot rename 'TEMP'
// to 'PATH': REASON" on failure, `temp` then left to the caller.
void rename_over(const std::string& temp, const std::string& path);

// Writes `path` whole or not at all: removes a stale `path + suffix` (left by a killed writer),
// calls write(temp) with that name, which creates, fills and closes the file (and puts it on disk
// where it must survive a crash), then renames it over `path`. When `write` throws or the rename
// fails the temporary file is removed and `path` is left as it was: write's exception propagates,
// a failed rename throws output_error as rename_over() does.
void write_atomically(const std::string& path,
                      const std::function<void(const std::string& temp)>& write,
                      const std::string& suffix = partial_suffix);

}  // namespace spikesim
