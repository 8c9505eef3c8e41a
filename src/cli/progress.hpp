// The progress display of `run` and `sweep`: a bar on a terminal, a plain line at most every 10 s
// otherwise (logs of batch jobs).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace spikesim::cli {

class progress_meter {
 public:
  explicit progress_meter(bool enabled, std::string label = "")
      : enabled_(enabled),
        tty_(isatty(STDERR_FILENO)),
        label_(label.empty() ? label : label + ": ") {}
  void operator()(uint64_t done, uint64_t total) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double frac = total ? static_cast<double>(done) / total : 1.0;
    if (tty_) {
      if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
      const int width = 40;
      const int fill = static_cast<int>(frac * width);
      std::fprintf(stderr, "\r%s[%s%s] %5.1f%%  %.1f s", label_.c_str(),
                   std::string(fill, '#').c_str(), std::string(width - fill, ' ').c_str(),
                   100.0 * frac, elapsed);
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      // Every 10 s, and once at the end so that a log shows the run completed.
      if (done < total && now - last_ < std::chrono::seconds(10)) return;
      std::fprintf(stderr, "%sprogress: %.1f%% (%llu of %llu steps) after %.0f s\n", label_.c_str(),
                   100.0 * frac, static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total), elapsed);
    }
    std::fflush(stderr);
    last_ = now;
  }

 private:
  bool enabled_, tty_;
  std::string label_;  // "NAME: " before each line, or empty
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

}  // namespace spikesim::cli
