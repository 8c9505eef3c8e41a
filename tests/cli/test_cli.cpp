// End to end: the spikesim program on real config files, its exit codes, and the HDF5 file it
// writes read back with the HDF5 library.
#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "io/h5.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

class cli : public scratch_dir_test {
 protected:
  cli() : scratch_dir_test("cli") {}
  std::string example(const std::string& f) const {
    return std::string(SPIKESIM_SOURCE_DIR) + "/examples/" + f;
  }
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
  {
    // SONATA's enumeration {none = 0, by_id = 1, by_time = 2}, not a string.
    h5::handle a(H5Aopen(spikes, "sorting", H5P_DEFAULT), H5Aclose);
    h5::handle type(H5Aget_type(a), H5Tclose);
    ASSERT_EQ(H5Tget_class(type), H5T_ENUM);
    int8_t v = -1;
    ASSERT_GE(H5Aread(a, type, &v), 0);
    char name[16] = {};
    ASSERT_GE(H5Tenum_nameof(type, &v, name, sizeof name), 0);
    EXPECT_STREQ(name, "by_time");
    for (const auto& [member, value] :
         std::vector<std::pair<const char*, int8_t>>{{"none", 0}, {"by_id", 1}, {"by_time", 2}}) {
      int8_t x = -1;
      EXPECT_GE(H5Tenum_valueof(type, member, &x), 0) << member;
      EXPECT_EQ(x, value) << member;
    }
  }
  {
    h5::handle a(H5Aopen(f, "version", H5P_DEFAULT), H5Aclose);
    uint32_t version[2] = {9, 9};
    H5Aread(a, H5T_NATIVE_UINT32, version);
    EXPECT_EQ(version[0], 0u);
    EXPECT_EQ(version[1], 2u);
  }
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
  // Per-step counts add up to the spikes, and a spike of step n is stamped (n + 1) dt exactly.
  auto activity = h5::open_group(f, "activity/eif");
  const auto counts = h5::read_vector<uint32_t>(activity, "spikes_per_step");
  EXPECT_EQ(counts.size(), 10000u);
  std::vector<double> stamps;
  for (size_t n = 0; n < counts.size(); ++n)
    for (uint32_t k = 0; k < counts[n]; ++k) stamps.push_back(static_cast<double>(n + 1) * 0.05);
  EXPECT_EQ(stamps, t);

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
  {
    // SONATA readers look for the units on mapping/time itself.
    h5::handle time(H5Dopen2(mapping, "time", H5P_DEFAULT), H5Dclose);
    EXPECT_EQ(h5::read_attr_string(time, "units"), "ms");
  }
  EXPECT_EQ(h5::read_vector<uint64_t>(mapping, "index_pointers").size(), 4u);

  // Parameters actually used, with units.
  auto params = h5::open_group(f, "parameters/eif");
  EXPECT_EQ(h5::read_attr_string(params, "model"), "eif");
  h5::handle vt(H5Dopen2(params, "V_T", H5P_DEFAULT), H5Dclose);
  EXPECT_EQ(h5::read_attr_string(vt, "units"), "mV");
}

// output.compression: deflate (shuffle + deflate) by default, none for readers without zlib.
TEST_F(cli, output_compression_none_writes_unfiltered_datasets) {
  const auto filters = [](const std::string& file, const std::string& dataset) {
    h5::quiet_errors quiet;
    auto f = h5::open_file(file, false);
    h5::handle ds(H5Dopen2(f, dataset.c_str(), H5P_DEFAULT), H5Dclose);
    h5::handle plist(H5Dget_create_plist(ds), H5Pclose);
    return H5Pget_nfilters(plist);
  };
  const std::string args = "run " + example("eif_pulse.toml") + " --quiet --set run.tstop=50";
  ASSERT_EQ(spikesim_cli(args + " -o " + path("d.h5")).code, 0);
  ASSERT_EQ(spikesim_cli(args + " -o " + path("n.h5") + " --set output.compression=none").code, 0);
  for (const char* ds : {"spikes/eif/timestamps", "spikes/eif/node_ids", "report/eif/data",
                         "activity/eif/spikes_per_step"}) {
    EXPECT_EQ(filters(path("d.h5"), ds), 2) << ds;  // shuffle, deflate
    EXPECT_EQ(filters(path("n.h5"), ds), 0) << ds;
  }
  {
    // The same data either way.
    h5::quiet_errors quiet;
    auto d = h5::open_file(path("d.h5"), false);
    auto n = h5::open_file(path("n.h5"), false);
    EXPECT_EQ(h5::read_vector<double>(d, "spikes/eif/timestamps"),
              h5::read_vector<double>(n, "spikes/eif/timestamps"));
    EXPECT_EQ(h5::read_vector<uint64_t>(d, "spikes/eif/node_ids"),
              h5::read_vector<uint64_t>(n, "spikes/eif/node_ids"));
  }
  const auto r = spikesim_cli(args + " -o " + path("z.h5") + " --set output.compression=zstd");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("output.compression"), std::string::npos) << r.out;
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
  // A --set before the config file takes one value: the file is not swallowed by it.
  const auto r =
      spikesim_cli("run --set run.tstop=100 " + example("eif_pulse.toml") + " -o " + out +
                   " --set population.eif.record.traces=[1]" + " --threads 1 --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  h5::quiet_errors quiet;
  auto f = h5::open_file(out, false);
  EXPECT_DOUBLE_EQ(h5::read_attr_double(f, "tstop"), 100.0);
  EXPECT_NE(h5::read_attr_string(f, "device").find(", 1 thread"), std::string::npos)
      << "--threads 1 did not take effect";
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

// ------------------------------------------------------------------------ analysis and theory

// Reads a 1-D float64 dataset and an attribute of it.
std::vector<double> doubles(hid_t g, const std::string& name) {
  return h5::read_vector<double>(g, name);
}

bool same_with_nan(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i] || (std::isnan(a[i]) && std::isnan(b[i])))) return false;
  return true;
}

// A small noisy LIF run: 500 neurons for 1 s, analysed from 100 ms.
std::string small_lif_run(const std::string& out, const std::string& extra = "") {
  return "run " + std::string(SPIKESIM_SOURCE_DIR) + "/examples/lif_noise.toml -o " + out +
         " --set population.lif.size=500 --set run.tstop=1000 --set analysis.t_start=100" +
         " --set population.lif.record.traces=[] --quiet " + extra;
}

TEST_F(cli, run_writes_analysis_and_analyze_recomputes_it) {
  const auto out = path("lif.h5");
  auto r = spikesim_cli(small_lif_run(out));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("analysis over [100, 1000) ms"), std::string::npos) << r.out;

  std::vector<double> rate, cv, lv;
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(out, false);
    auto a = h5::open_group(f, "analysis");
    EXPECT_NE(h5::read_attr_string(a, "settings").find("t_start = 100"), std::string::npos);
    EXPECT_EQ(h5::read_attr_string(a, "created_by"), "spikesim run");
    auto g = h5::open_group(f, "analysis/lif");
    EXPECT_EQ(h5::read_attr_u64(g, "n_neurons"), 500u);
    EXPECT_EQ(h5::read_attr_double(g, "t_start"), 100.0);
    EXPECT_EQ(h5::read_attr_double(g, "t_stop"), 1000.0);
    const auto pop = doubles(g, "population_rate");
    EXPECT_EQ(pop.size(), 900u);  // 1 ms bins
    h5::handle ds(H5Dopen2(g, "population_rate", H5P_DEFAULT), H5Dclose);
    EXPECT_EQ(h5::read_attr_string(ds, "units"), "Hz");
    EXPECT_EQ(h5::read_attr_double(ds, "bin"), 1.0);
    rate = doubles(g, "rate_hz");
    cv = doubles(g, "cv_isi");
    lv = doubles(g, "lv");
    EXPECT_EQ(rate.size(), 500u);
    EXPECT_EQ(cv.size(), 500u);
    EXPECT_EQ(lv.size(), 500u);
    EXPECT_EQ(h5::read_vector<uint64_t>(g, "spike_count").size(), 500u);
    EXPECT_EQ(doubles(g, "isi_mean").size(), 500u);
    EXPECT_EQ(doubles(g, "isi_sd").size(), 500u);
    for (const char* hist : {"rate_hist", "cv_hist"}) {
      auto hg = h5::open_group(g, hist);
      const auto counts = h5::read_vector<uint64_t>(hg, "counts");
      EXPECT_EQ(counts.size(), 50u) << hist;
      EXPECT_EQ(doubles(hg, "bin_edges").size(), 51u) << hist;
    }
    // Brunel's neuron at mu = 18, sigma = 5 mV fires at ~19 Hz (float, dt = 0.1 ms).
    const double mean_rate = h5::read_attr_double(g, "rate_mean");
    EXPECT_GT(mean_rate, 15.0);
    EXPECT_LT(mean_rate, 23.0);
    EXPECT_NEAR(h5::read_attr_double(g, "population_rate_mean"), mean_rate, 1e-9 * mean_rate);
    for (const char* attr : {"rate_median", "rate_p10", "rate_p90", "silent_fraction", "cv_mean",
                             "cv_median", "cv_p10", "cv_p90", "lv_mean", "fano_factor", "chi",
                             "chi_squared", "population_rate_sd", "fano_window", "rate_bin"})
      EXPECT_TRUE(std::isfinite(h5::read_attr_double(g, attr))) << attr;
    EXPECT_EQ(h5::read_attr_u64(g, "cv_min_spikes"), 3u);
    (void)h5::read_attr_u64(g, "n_cv_nan");
  }

  // Same settings: the same numbers, bit for bit.
  r = spikesim_cli("analyze " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("lif"), std::string::npos);
  EXPECT_NE(r.out.find("written to"), std::string::npos);
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(out, false);
    auto g = h5::open_group(f, "analysis/lif");
    EXPECT_TRUE(same_with_nan(doubles(g, "rate_hz"), rate));
    EXPECT_TRUE(same_with_nan(doubles(g, "cv_isi"), cv));
    EXPECT_TRUE(same_with_nan(doubles(g, "lv"), lv));
    EXPECT_EQ(h5::read_attr_string(h5::open_group(f, "analysis"), "created_by"),
              "spikesim analyze");
  }

  // Other settings: only /analysis changes.
  r = spikesim_cli(
      "analyze " + out +
      " --set analysis.rate_bin=5 --set analysis.t_start=200 --set analysis.cv_hist_bins=7");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("analysis over [200, 1000) ms"), std::string::npos) << r.out;
  h5::quiet_errors quiet;
  auto f = h5::open_file(out, false);
  auto g = h5::open_group(f, "analysis/lif");
  EXPECT_EQ(doubles(g, "population_rate").size(), 160u);
  h5::handle ds(H5Dopen2(g, "population_rate", H5P_DEFAULT), H5Dclose);
  EXPECT_EQ(h5::read_attr_double(ds, "bin"), 5.0);
  EXPECT_EQ(h5::read_vector<uint64_t>(h5::open_group(g, "cv_hist"), "counts").size(), 7u);
  EXPECT_NE(h5::read_attr_string(h5::open_group(f, "analysis"), "settings").find("rate_bin = 5"),
            std::string::npos);
  EXPECT_EQ(h5::read_attr_string(f, "status"), "complete");
  EXPECT_EQ(h5::read_attr_string(f, "config").find("rate_bin"), std::string::npos)
      << "the run's config is left as it was";
  const auto t = h5::read_vector<double>(h5::open_group(f, "spikes/lif"), "timestamps");
  uint64_t total = 0;
  for (auto c : h5::read_vector<uint32_t>(h5::open_group(f, "activity/lif"), "spikes_per_step"))
    total += c;
  EXPECT_EQ(t.size(), total);
}

TEST_F(cli, analyze_rejects_files_that_are_not_complete_runs_of_ours) {
  const auto good = path("good.h5");
  ASSERT_EQ(spikesim_cli(small_lif_run(good)).code, 0);

  auto expect_code = [&](const std::string& args, int code, const std::string& needle) {
    const auto r = spikesim_cli(args);
    EXPECT_EQ(r.code, code) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << args << "\n" << r.out;
  };
  expect_code("analyze " + path("missing.h5"), 3, "no such file");
  write("text.h5", "not an HDF5 file\n");
  expect_code("analyze " + path("text.h5"), 3, "not an HDF5 file");
  {
    h5::quiet_errors quiet;
    auto f = h5::create_file(path("foreign.h5"));
    h5::attr(f, "creator", std::string("someone else"));
  }
  expect_code("analyze " + path("foreign.h5"), 3, "not a spikesim run file (no magic");
  {
    // Another simulator's SONATA spikes, and a file with our magic but none of a run's metadata.
    h5::quiet_errors quiet;
    auto f = h5::create_file(path("sonata.h5"));
    auto g = h5::create_group(f, "spikes");
    auto p = h5::create_group(g, "pop");
    h5::write_vector<double>(p, "timestamps", {1.0, 2.0});
    h5::write_vector<uint64_t>(p, "node_ids", {0, 1});
    auto m = h5::create_file(path("magic_only.h5"));
    h5::attr(m, "magic", uint32_t{0x0A7A});
  }
  expect_code("analyze " + path("sonata.h5"), 3, "not a spikesim run file");
  expect_code("analyze " + path("magic_only.h5"), 3, "not a spikesim run file (no status");
  // Truncated: the first half of a real file.
  fs::copy_file(good, path("truncated.h5"));
  fs::resize_file(path("truncated.h5"), fs::file_size(good) / 2);
  expect_code("analyze " + path("truncated.h5"), 3, "truncated.h5");
  // The writer died: status stays "running".
  fs::copy_file(good, path("running.h5"));
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(path("running.h5"), true);
    h5::attr(f, "status", std::string("running"));
  }
  expect_code("analyze " + path("running.h5"), 3, "never finished");
  // Settings: only analysis keys, validated like the config.
  expect_code("analyze " + good + " --set run.dt=1", 2, "analyze changes only analysis.* keys");
  expect_code("analyze " + good + " --set analysis.rate_bin=0", 2, "analysis.rate_bin: 0 ms");
  expect_code("analyze " + good + " --set analysis.t_start=5000", 2, "analysis.t_start");
}

TEST_F(cli, analyze_warns_about_an_interrupted_file_and_analyses_what_is_there) {
  const auto out = path("cut.h5");
  ASSERT_EQ(spikesim_cli(small_lif_run(out)).code, 0);
  {
    // As if stopped after 600 of the 10000 steps: everything after the steps attribute is
    // ignored.
    h5::quiet_errors quiet;
    auto f = h5::open_file(out, true);
    h5::attr(f, "status", std::string("interrupted"));
    h5::attr(f, "steps", uint64_t{6000});
  }
  const auto r = spikesim_cli("analyze " + out);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("warning"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("interrupted"), std::string::npos) << r.out;
  h5::quiet_errors quiet;
  auto f = h5::open_file(out, false);
  auto g = h5::open_group(f, "analysis/lif");
  EXPECT_DOUBLE_EQ(h5::read_attr_double(g, "t_stop"), 600.0);
  EXPECT_EQ(doubles(g, "population_rate").size(), 500u);
}

TEST_F(cli, populations_without_spikes_are_not_analysed) {
  const auto out = path("nospikes.h5");
  auto r = spikesim_cli(small_lif_run(out, "--set population.lif.record.spikes=false"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = spikesim_cli("analyze " + out + " --no-write");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("spikes not recorded"), std::string::npos) << r.out;
  h5::quiet_errors quiet;
  auto f = h5::open_file(out, false);
  EXPECT_FALSE(h5::exists(f, "analysis/lif"));
}

TEST_F(cli, theory_lif_and_config) {
  auto r =
      spikesim_cli("theory lif --mu 15 --sigma 5 --tau-m 20 --theta 20 --v-reset 10 --t-ref 2");
  ASSERT_EQ(r.code, 0) << r.out;
  // Siegert at (mu, sigma) = (15, 5) mV: 9.4608 Hz, CV 0.814757.
  EXPECT_NE(r.out.find("9.4608"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0.814757"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mean ISI"), std::string::npos) << r.out;
  r = spikesim_cli("theory lif --mu 15 --sigma 5 --dt 0.1");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("8.8212"), std::string::npos) << r.out;  // dt-corrected
  for (const auto& [args, flag] : std::vector<std::pair<std::string, std::string>>{
           {"--mu 15 --sigma 5 --tau-m 0", "--tau-m = 0 ms"},
           {"--mu 15 --sigma -1", "--sigma = -1 mV"},
           {"--mu 15 --sigma 5 --v-reset 25", "--v-reset = 25 mV"},
           {"--mu 15 --sigma 5 --t-ref -2", "--t-ref = -2 ms"},
           {"--mu 15 --sigma 5 --dt -1", "--dt"},
           {"--sigma 5", "--mu"}}) {
    r = spikesim_cli("theory lif " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(flag), std::string::npos) << args << "\n" << r.out;
  }
  r = spikesim_cli("theory " + example("lif_noise.toml"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("19.6203"), std::string::npos) << r.out;  // mu = 18, sigma = 5
  r = spikesim_cli("theory " + example("lif_noise.toml") +
                   " --set population.lif.input.I={from=10.0,to=20.0}");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("11 evenly spaced"), std::string::npos) << r.out;
  r = spikesim_cli("theory " + example("eif_pulse.toml"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("skipped"), std::string::npos) << r.out;
  r = spikesim_cli("theory " + path("nope.toml"));
  EXPECT_EQ(r.code, 3) << r.out;
}

}  // namespace
}  // namespace spikesim::testing
