// Shared helpers of the test suite: specs from TOML text, runs in memory on a named backend, the
// spikesim program run on real files.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include <spikesim/backend.hpp>
#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/simulation.hpp>

namespace spikesim::testing {

// A test with a directory of its own, empty at the start and removed at the end:
// <tmp>/spikesim_<prefix>_<pid>_<test name>.
class scratch_dir_test : public ::testing::Test {
 protected:
  explicit scratch_dir_test(std::string prefix) : prefix_(std::move(prefix)) {}
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("spikesim_" + prefix_ + "_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Writes `text` to the file `name` of the directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
    return path(name);
  }
  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

inline experiment_spec spec_from(const std::string& toml,
                                 const std::vector<std::string>& sets = {}) {
  return parse_config(toml, "<test>", sets);
}

struct run_result {
  memory_recorder rec;
  run_summary summary;
  std::vector<std::vector<double>> final_v;  // per population
};

// The message of the E that `f` throws; empty when it throws none.
template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

inline run_result run_on(const std::string& kind, const experiment_spec& spec, int threads = 0) {
  backend_options opt;
  opt.kind = kind;
  opt.threads = threads;
  auto b = make_backend(spec, opt, nullptr);
  run_result r;
  r.summary = simulate(spec, *b, r.rec);
  for (uint32_t p = 0; p < spec.populations.size(); ++p) r.final_v.push_back(b->potentials(p));
  return r;
}

// Spike times (ms) of one neuron of population p.
inline std::vector<double> spike_times(const run_result& r, const experiment_spec& spec, size_t p,
                                       uint64_t id) {
  std::vector<double> t;
  const auto& d = r.rec.populations[p];
  for (size_t k = 0; k < d.spike_ids.size(); ++k)
    if (d.spike_ids[k] == id) t.push_back(static_cast<double>(d.spike_steps[k] + 1) * spec.run.dt);
  return t;
}

// The spikesim program run with `args` (the program built beside the tests), its exit code and
// its output.
struct cli_result {
  int code;
  std::string out;  // stdout and stderr together
};

// A shell command line (`sh -c`) run to its end, with its stdout and stderr, e.g. with a `ulimit`
// before the program; code -1 when killed.
inline cli_result shell(const std::string& cmd) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  cli_result r{-1, ""};
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline cli_result spikesim_cli(const std::string& args) {
  return shell(std::string(SPIKESIM_EXE) + " " + args);
}

// Starts `spikesim ARGS` in the background, its stdout and stderr to the file LOG; waitpid() it.
inline pid_t start_spikesim(const std::string& args, const std::string& log) {
  const std::string cmd = std::string(SPIKESIM_EXE) + " " + args + " > " + log + " 2>&1";
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

// Waits (10 s at most) until `file` exists, then `extra_ms` more: a run started by start_spikesim
// has then written past its first chunks.
inline void wait_for_file(const std::string& file, int extra_ms) {
  for (int i = 0; i < 400 && access(file.c_str(), F_OK) != 0; ++i) usleep(25000);
  usleep(extra_ms * 1000);
}

// SPIKESIM_REQUIRE_GPU=1 (set by tools/gpu-check.sh): a CUDA test without a usable device fails
// instead of skipping, so that a run on a GPU machine whose device was unusable never reads as
// a pass.
inline bool gpu_required() {
  const char* v = std::getenv("SPIKESIM_REQUIRE_GPU");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

// Parameterised over the backends; CUDA instances skip without a device instead of passing (or
// fail, with SPIKESIM_REQUIRE_GPU=1).
class backend_test : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() != "cuda" || (cuda_built() && cuda_device_count() > 0)) return;
    if (gpu_required())
      FAIL() << "no usable CUDA device and SPIKESIM_REQUIRE_GPU is set: " << cuda_status().error;
    GTEST_SKIP() << "no CUDA device: this GPU test did not run";
  }
  const std::string& backend_kind() const { return GetParam(); }
};

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace spikesim::testing

#define SPIKESIM_INSTANTIATE_BACKENDS(suite)                                  \
  INSTANTIATE_TEST_SUITE_P(Backends, suite, ::testing::Values("cpu", "cuda"), \
                           ::spikesim::testing::backend_name)
