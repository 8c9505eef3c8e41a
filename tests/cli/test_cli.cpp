// End to end: the spikesim program on real config files, its exit codes, and the HDF5 file it
// writes read back with the HDF5 library.
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "io/h5.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

struct cli_result {
  int code;
  std::string out;  // stdout and stderr together
};

cli_result spikesim_cli(const std::string& args) {
  const std::string cmd = std::string(SPIKESIM_EXE) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  cli_result r{-1, ""};
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) r.out.append(buf, n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

class cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("spikesim_cli_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  std::string example(const std::string& f) const {
    return std::string(SPIKESIM_SOURCE_DIR) + "/examples/" + f;
  }
  fs::path dir_;
};

TEST_F(cli, eif_pulse_example_writes_documented_layout) {
  const auto out = path("eif_pulse.h5");
  const auto r = spikesim_cli("run " + example("eif_pulse.toml") + " -o " + out + " --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("eif"), std::string::npos);
  EXPECT_NE(r.out.find("neuron-steps/s"), std::string::npos);
  ASSERT_TRUE(fs::exists(out));
  EXPECT_FALSE(fs::exists(out + ".partial"));

  h5::quiet_errors quiet;
  auto f = h5::open_file(out, false);
  EXPECT_EQ(h5::read_attr_u64(f, "magic"), 0x0A7Au);
  EXPECT_EQ(h5::read_attr_string(f, "simulator"), "spikesim");
  EXPECT_EQ(h5::read_attr_string(f, "status"), "complete");
  EXPECT_EQ(h5::read_attr_string(f, "backend"), "cpu");
  EXPECT_DOUBLE_EQ(h5::read_attr_double(f, "dt"), 0.05);
  EXPECT_DOUBLE_EQ(h5::read_attr_double(f, "tstop"), 500.0);
  EXPECT_EQ(h5::read_attr_u64(f, "random_seed"), 1u);
  EXPECT_NE(h5::read_attr_string(f, "config").find("eif"), std::string::npos);
  for (const char* a : {"simulator_version", "git_sha", "created_utc", "device"})
    EXPECT_FALSE(h5::read_attr_string(f, a).empty()) << a;

  // Spikes: the 6 nA neuron is silent, 8 and 12 nA fire only during the pulse.
  auto spikes = h5::open_group(f, "spikes/eif");
  EXPECT_EQ(h5::read_attr_string(spikes, "sorting"), "by_time");
  const auto t = h5::read_vector<double>(spikes, "timestamps");
  const auto ids = h5::read_vector<uint64_t>(spikes, "node_ids");
  ASSERT_EQ(t.size(), ids.size());
  ASSERT_GT(t.size(), 2u);
  for (size_t k = 0; k < t.size(); ++k) {
    EXPECT_NE(ids[k], 0u);
    EXPECT_GT(t[k], 100.0);
    EXPECT_LE(t[k], 405.0);
    if (k) EXPECT_LE(t[k - 1], t[k]);
  }
  {
    h5::handle ds(H5Dopen2(spikes, "timestamps", H5P_DEFAULT), H5Dclose);
    EXPECT_EQ(h5::read_attr_string(ds, "units"), "ms");
  }
  // Per-step counts add up to the spikes.
  auto activity = h5::open_group(f, "activity/eif");
  const auto counts = h5::read_vector<uint32_t>(activity, "spikes_per_step");
  EXPECT_EQ(counts.size(), 10000u);
  uint64_t total = 0;
  for (auto c : counts) total += c;
  EXPECT_EQ(total, t.size());

  // Traces: [T, 3] float32 in mV, one row per step, mapping as SONATA.
  auto report = h5::open_group(f, "report/eif");
  h5::handle data(H5Dopen2(report, "data", H5P_DEFAULT), H5Dclose);
  h5::handle space(H5Dget_space(data), H5Sclose);
  hsize_t dims[2];
  ASSERT_EQ(H5Sget_simple_extent_ndims(space), 2);
  H5Sget_simple_extent_dims(space, dims, nullptr);
  EXPECT_EQ(dims[0], 10000u);
  EXPECT_EQ(dims[1], 3u);
  EXPECT_EQ(h5::read_attr_string(data, "units"), "mV");
  h5::handle type(H5Dget_type(data), H5Tclose);
  EXPECT_EQ(H5Tget_class(type), H5T_FLOAT);
  EXPECT_EQ(H5Tget_size(type), 4u);
  auto mapping = h5::open_group(report, "mapping");
  EXPECT_EQ(h5::read_vector<uint64_t>(mapping, "node_ids"), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(h5::read_vector<double>(mapping, "time"), (std::vector<double>{0.0, 500.0, 0.05}));
  EXPECT_EQ(h5::read_vector<uint64_t>(mapping, "index_pointers").size(), 4u);

  // Parameters actually used, with units.
  auto params = h5::open_group(f, "parameters/eif");
  EXPECT_EQ(h5::read_attr_string(params, "model"), "eif");
  h5::handle vt(H5Dopen2(params, "V_T", H5P_DEFAULT), H5Dclose);
  EXPECT_EQ(h5::read_attr_string(vt, "units"), "mV");
}

TEST_F(cli, bad_configs_exit_2_and_leave_no_file) {
  const auto out = path("bad.h5");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--set run.dt=0", "run.dt"},
      {"--set population.eif.size=0", "population.eif.size"},
      {"--set population.eif.params.tau_m=-5", "population.eif.params.tau_m"},
      {"--set population.eif.record.traces=[0,3]", "population.eif.record.traces[1]"},
      {"--set population.eif.nonsense=1", "population.eif.nonsense"},
      {"--set run.tstop=0.01", "run.tstop"},
  };
  for (const auto& [args, key] : cases) {
    const auto r = spikesim_cli("run " + example("eif_pulse.toml") + " -o " + out + " " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(key), std::string::npos) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(out)) << args;
    EXPECT_FALSE(fs::exists(out + ".partial")) << args;
  }
}

TEST_F(cli, missing_config_exits_3) {
  const auto r = spikesim_cli("run " + path("nope.toml") + " -o " + path("x.h5"));
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("nope.toml"), std::string::npos);
}

TEST_F(cli, unwritable_output_exits_4_before_simulating) {
  const auto r =
      spikesim_cli("run " + example("eif_pulse.toml") + " -o " + path("no_such_dir/out.h5"));
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("no_such_dir"), std::string::npos);
  EXPECT_EQ(r.out.find("neuron-steps/s"), std::string::npos) << "simulated before failing";
}

TEST_F(cli, cuda_backend_without_device_exits_5) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  const auto r =
      spikesim_cli("run " + example("eif_pulse.toml") + " -o " + path("x.h5") + " --backend cuda");
  EXPECT_EQ(r.code, 5) << r.out;
  EXPECT_FALSE(fs::exists(path("x.h5")));
}

TEST_F(cli, auto_backend_falls_back_with_notice) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  const auto r = spikesim_cli("run " + example("eif_pulse.toml") + " -o " + path("x.h5"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("CPU backend"), std::string::npos) << r.out;
}

TEST_F(cli, set_overrides_and_threads) {
  const auto out = path("o.h5");
  const auto r = spikesim_cli("run " + example("eif_pulse.toml") + " -o " + out +
                              " --set run.tstop=100 --set population.eif.record.traces=[1]" +
                              " --threads 1 --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  h5::quiet_errors quiet;
  auto f = h5::open_file(out, false);
  EXPECT_DOUBLE_EQ(h5::read_attr_double(f, "tstop"), 100.0);
  auto m = h5::open_group(f, "report/eif/mapping");
  EXPECT_EQ(h5::read_vector<uint64_t>(m, "node_ids"), (std::vector<uint64_t>{1}));
}

TEST_F(cli, sigint_marks_file_interrupted_and_exits_75) {
  const auto out = path("long.h5");
  // A run long enough to be interrupted: 2e4 neurons for 100 s of simulated time.
  const std::string cmd = std::string(SPIKESIM_EXE) + " run " + example("lif_noise.toml") + " -o " +
                          out + " --set population.lif.size=20000 --set run.tstop=1e5" +
                          " --quiet > " + path("log") + " 2>&1";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + cmd).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait until the run has started writing, then interrupt it.
  for (int i = 0; i < 200 && !fs::exists(out + ".partial"); ++i) usleep(50000);
  usleep(500000);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 75);
  ASSERT_TRUE(fs::exists(out));
  h5::quiet_errors quiet;
  auto f = h5::open_file(out, false);
  EXPECT_EQ(h5::read_attr_string(f, "status"), "interrupted");
  const uint64_t steps = h5::read_attr_u64(f, "steps");
  EXPECT_GT(steps, 0u);
  EXPECT_LT(steps, 1000000u);
  auto activity = h5::open_group(f, "activity/lif");
  EXPECT_EQ(h5::dataset_length(activity, "spikes_per_step"), steps);
}

TEST_F(cli, default_experiment_runs) {
  const auto r = spikesim_cli("run -o " + path("d.h5") + " --set run.tstop=50 --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(path("d.h5")));
}

TEST_F(cli, info_and_bench) {
  auto r = spikesim_cli("info");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("CPU backend"), std::string::npos);
  r = spikesim_cli("bench --n 1000 --tstop 10 --threads 1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\"neuron_steps_per_s\""), std::string::npos);
}

}  // namespace
}  // namespace spikesim::testing
