// End to end: `spikesim sweep` and `spikesim merge` on real files: point counts, the split over
// tasks, the merged table, refusals, a packed point against `spikesim run` of its own config,
// `analyze` on a pack file, a clean stop on SIGTERM, a task run again (complete files kept,
// unfinished ones run again, files of another sweep refused, --redo), and an interrupted pack
// resumed from its checkpoint.
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <spikesim/checkpoint.hpp>

#include "io/h5.hpp"
#include "io/sweep_file.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

// An f-I sweep of the reference EIF: 7 currents from 7.5 to 10.5 nA, 200 neurons each, 300 ms.
const char* fI_sweep =
    "[run]\ndt = 0.1\ntstop = 300.0\nrandom_seed = 5\n"
    "[population.eif]\nsize = 200\nmodel = \"eif\"\n"
    "params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, V_T = -40.0, "
    "V_peak = -30.0, V_reset = -70.0, t_ref = 2.0 }\n"
    "init = { V = { uniform = [-70.0, -50.0] } }\n"
    "input = { I = 5.0, sigma = 2.0 }\n"
    "[sweep]\n\"population.eif.input.I\" = { from = 7.5, to = 10.5, step = 0.5 }\n";

// Two points of a small E/I network with Poisson drive.
const char* network_sweep =
    "[run]\ndt = 0.1\ntstop = 150.0\nrandom_seed = 2\n"
    "[population.exc]\nsize = 400\nmodel = \"lif\"\n"
    "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }\n"
    "init = { V = { uniform = [0.0, 20.0] } }\n"
    "input = { poisson = { rate = 20.0, count = 1000, weight = 0.1 } }\n"
    "[population.inh]\nsize = 100\nmodel = \"lif\"\n"
    "params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }\n"
    "input = { poisson = { rate = 20.0, count = 1000, weight = 0.1 } }\n"
    "[projection.ee]\nsource = \"exc\"\ntarget = \"exc\"\nrule = \"fixed_indegree\"\n"
    "indegree = 40\nweight = 0.5\ndelay = 1.5\n"
    "[projection.ie]\nsource = \"inh\"\ntarget = \"exc\"\nrule = \"fixed_indegree\"\n"
    "indegree = 10\nweight = -2.5\ndelay = { uniform = [1.0, 2.0] }\n"
    "[sweep]\n\"projection.ie.weight\" = [-2.0, -3.0]\n";

class sweep_cli : public scratch_dir_test {
 protected:
  sweep_cli() : scratch_dir_test("sweep") {}
};

std::vector<std::string> h5_files(const std::string& dir) {
  std::vector<std::string> v;
  for (const auto& e : fs::directory_iterator(dir)) v.push_back(e.path().string());
  std::sort(v.begin(), v.end());
  return v;
}

sweep_file_info sweep_group(const std::string& file) {
  h5::quiet_errors quiet;
  auto f = h5::open_file(file, false);
  return read_sweep_group(f);
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::istringstream l(line);
    for (std::string c; std::getline(l, c, ',');) cells.push_back(c);
    rows.push_back(cells);
  }
  return rows;
}

struct spikes {
  std::vector<double> t;
  std::vector<uint64_t> ids;
};

spikes spikes_of(const std::string& file, const std::string& pop) {
  h5::quiet_errors quiet;
  auto f = h5::open_file(file, false);
  auto g = h5::open_group(f, "spikes/" + pop);
  return {h5::read_vector<double>(g, "timestamps"), h5::read_vector<uint64_t>(g, "node_ids")};
}

// The CLI with SLURM's array variables set for this one call.
cli_result with_slurm_array(const std::string& args, const std::string& id,
                            const std::string& count, const std::string& min) {
  setenv("SLURM_ARRAY_TASK_ID", id.c_str(), 1);
  setenv("SLURM_ARRAY_TASK_COUNT", count.c_str(), 1);
  setenv("SLURM_ARRAY_TASK_MIN", min.c_str(), 1);
  const auto r = spikesim_cli(args);
  unsetenv("SLURM_ARRAY_TASK_ID");
  unsetenv("SLURM_ARRAY_TASK_COUNT");
  unsetenv("SLURM_ARRAY_TASK_MIN");
  return r;
}

TEST_F(sweep_cli, count_tasks_and_merge_table) {
  const auto cfg = write("fI.toml", fI_sweep);
  auto r = spikesim_cli("sweep --count " + cfg);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "7\n");
  EXPECT_EQ(spikesim_cli("sweep --count " + cfg + " --sweep population.eif.input.sigma=1,2").out,
            "14\n");

  // Three tasks; the last through SLURM's variables, as task 6 of an array --array=4-6.
  const auto out = path("out");
  for (int t = 0; t < 2; ++t) {
    r = spikesim_cli("sweep " + cfg + " -o " + out + " --num-tasks 3 --task-id " +
                     std::to_string(t) + " --backend cpu -q");
    ASSERT_EQ(r.code, 0) << r.out;
  }
  r = with_slurm_array("sweep " + cfg + " -o " + out + " --backend cpu -q", "6", "3", "4");
  ASSERT_EQ(r.code, 0) << r.out;
  // Balanced contiguous blocks (3, 2, 2 points), every point exactly once.
  EXPECT_EQ(h5_files(out), (std::vector<std::string>{out + "/points_0-2.h5", out + "/points_3-4.h5",
                                                     out + "/points_5-6.h5"}));
  std::vector<uint64_t> seen;
  for (const auto& f : h5_files(out)) {
    const auto s = sweep_group(f);
    EXPECT_EQ(s.points, 7u);
    EXPECT_EQ(s.num_tasks, 3u);
    EXPECT_EQ(s.keys, (std::vector<std::string>{"population.eif.input.I"}));
    seen.insert(seen.end(), s.point.begin(), s.point.end());
    for (size_t i = 0; i < s.point.size(); ++i) {
      EXPECT_DOUBLE_EQ(s.values[0][i], 7.5 + 0.5 * static_cast<double>(s.point[i]));
      EXPECT_EQ(s.seed[i], 5 + s.point[i]);
    }
  }
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(sweep_group(out + "/points_5-6.h5").task_id, 2u);

  // The merged table: one row per point, the rate rising with the current, CVs defined.
  r = spikesim_cli("merge " + out + " -o " + path("fI.csv"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(fs::exists(path("fI.csv.partial")));
  std::ifstream in(path("fI.csv"));
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(spikesim_cli("merge " + out).out, text);  // printed when there is no -o
  const auto rows = csv_rows(text);
  ASSERT_EQ(rows.size(), 8u);
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < rows[0].size(); ++i) col[rows[0][i]] = i;
  for (const char* c : {"point", "population.eif.input.I", "population", "neurons", "rate_mean_hz",
                        "cv_mean", "cv_defined_fraction"})
    ASSERT_TRUE(col.count(c)) << c;
  double last_rate = -1;
  for (size_t k = 1; k < rows.size(); ++k) {
    const auto& row = rows[k];
    EXPECT_EQ(row[col["point"]], std::to_string(k - 1));
    EXPECT_DOUBLE_EQ(std::stod(row[col["population.eif.input.I"]]), 7.5 + 0.5 * (k - 1));
    EXPECT_EQ(row[col["population"]], "eif");
    EXPECT_EQ(row[col["neurons"]], "200");
    const double rate = std::stod(row[col["rate_mean_hz"]]);
    EXPECT_GT(rate, last_rate) << "point " << k - 1;
    last_rate = rate;
    if (k > 2) {
      const double cv = std::stod(row[col["cv_mean"]]);
      EXPECT_GT(cv, 0.0);
      EXPECT_LT(cv, 1.5);
      EXPECT_GT(std::stod(row[col["cv_defined_fraction"]]), 0.9);
    }
  }
  EXPECT_GT(last_rate, 20.0);
}

TEST_F(sweep_cli, merge_refuses_missing_or_repeated_points_and_bad_files) {
  const auto cfg = write("fI.toml", std::string(fI_sweep) + "");
  const auto out = path("out");
  for (int t : {0, 2}) {
    const auto r = spikesim_cli("sweep " + cfg + " -o " + out + " --num-tasks 3 --task-id " +
                                std::to_string(t) + " --set run.tstop=50 --backend cpu -q");
    ASSERT_EQ(r.code, 0) << r.out;
  }
  auto r = spikesim_cli("merge " + out + " -o " + path("s.csv"));
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("points 3-4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("task 1 of 3"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("s.csv")));
  EXPECT_FALSE(fs::exists(path("s.csv.partial")));

  // The same file twice.
  fs::create_directories(path("copy"));
  fs::copy_file(out + "/points_0-2.h5", path("copy/points_0-2.h5"));
  r = spikesim_cli("merge " + out + " " + path("copy"));
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("more than one file: points 0-2"), std::string::npos) << r.out;

  // Files of another sweep, a file that is not HDF5, and no file at all.
  const auto other = path("other");
  r = spikesim_cli("sweep " + cfg + " -o " + other + " --num-tasks 3 --task-id 1 " +
                   "--set run.tstop=60 --backend cpu -q");
  ASSERT_EQ(r.code, 0) << r.out;
  r = spikesim_cli("merge " + out + " " + other);
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("different sweeps"), std::string::npos) << r.out;
  write("junk.h5", "not hdf5\n");
  r = spikesim_cli("merge " + path("junk.h5"));
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("junk.h5"), std::string::npos) << r.out;
  EXPECT_EQ(spikesim_cli("merge " + path("none")).code, 3);
}

TEST_F(sweep_cli, a_packed_point_equals_run_of_its_own_config) {
  for (const std::string seeds : {"distinct", "same"}) {
    for (const char* base : {fI_sweep, network_sweep}) {
      const std::string net = base == network_sweep ? "net" : "fI";
      const auto cfg =
          write(net + seeds + ".toml", std::string(base) + "seeds = \"" + seeds + "\"\n");
      const auto out = path(net + seeds);
      auto r =
          spikesim_cli("sweep " + cfg + " -o " + out + " --backend cpu -q --set run.tstop=150");
      ASSERT_EQ(r.code, 0) << r.out;
      const auto files = h5_files(out);
      ASSERT_EQ(files.size(), 1u);
      const auto s = sweep_group(files[0]);
      const uint64_t k = 1;
      ASSERT_GT(s.point.size(), k);
      const auto cfg_k = write("point.toml", s.config[k]);
      r = spikesim_cli("run " + cfg_k + " -o " + path("alone.h5") + " --backend cpu -q");
      ASSERT_EQ(r.code, 0) << r.out;
      for (const std::string pop : {"eif", "exc", "inh"}) {
        if ((pop == "eif") == (base == network_sweep)) continue;
        const auto packed = spikes_of(files[0], pop + "@1");
        const auto alone = spikes_of(path("alone.h5"), pop);
        EXPECT_GT(alone.t.size(), 50u) << net << " " << seeds << " " << pop;
        EXPECT_EQ(packed.t, alone.t) << net << " " << seeds << " " << pop;
        EXPECT_EQ(packed.ids, alone.ids) << net << " " << seeds << " " << pop;
      }
      // The points differ from each other.
      const std::string first = base == network_sweep ? "exc" : "eif";
      EXPECT_NE(spikes_of(files[0], first + "@0").ids, spikes_of(files[0], first + "@1").ids);
    }
  }
}

TEST_F(sweep_cli, refusals_exit_2_and_write_nothing) {
  const auto cfg = write("fI.toml", fI_sweep);
  auto r = spikesim_cli("run " + cfg + " -o " + path("x.h5"));
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("spikesim sweep"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("x.h5")));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--sweep population.eif.input.I=1,2", "swept twice"},
      {"--set population.eif.input.sigma=-1", "population.eif.input.sigma"},
      {"--sweep population.eif.size=100,0", "sweep point 1"},
      {"--num-tasks 2 --task-id 2", "--task-id = 2"},
      {"--sweep run.tstop=1:2:0", "step = 0 ms"},
  };
  for (const auto& [args, expect] : cases) {
    r = spikesim_cli("sweep " + cfg + " -o " + path("out") + " " + args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
    EXPECT_NE(r.out.find(expect), std::string::npos) << args << "\n" << r.out;
    EXPECT_FALSE(fs::exists(path("out"))) << args;
  }
  r = with_slurm_array("sweep " + cfg + " -o " + path("out"), "3", "3", "");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("SLURM_ARRAY_TASK_ID = 3"), std::string::npos) << r.out;
  EXPECT_EQ(spikesim_cli("sweep " + path("missing.toml")).code, 3);
}

TEST_F(sweep_cli, analyze_reads_a_pack_file) {
  const auto cfg = write("fI.toml", fI_sweep);
  auto r = spikesim_cli("sweep " + cfg + " -o " + path("out") + " --pack 4 --backend cpu -q");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto files = h5_files(path("out"));
  ASSERT_EQ(files.size(), 2u);  // 7 points, at most 4 per pack
  r = spikesim_cli("analyze " + files[1] + " --set analysis.t_start=100");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* pop : {"eif@4", "eif@5", "eif@6"})
    EXPECT_NE(r.out.find(pop), std::string::npos) << r.out;
  h5::quiet_errors quiet;
  auto f = h5::open_file(files[1], false);
  auto a = h5::open_group(f, "analysis/eif@6");
  EXPECT_DOUBLE_EQ(h5::read_attr_double(a, "t_start"), 100.0);
  EXPECT_EQ(h5::read_attr_string(f, "status"), "complete");
}

TEST_F(sweep_cli, sigterm_stops_after_the_current_pack_with_exit_75) {
  // One point per pack, each long enough to be caught running.
  const auto cfg = write("fI.toml", fI_sweep);
  const auto out = path("out");
  const pid_t pid = start_spikesim("sweep " + cfg + " -o " + out +
                                       " --pack 1 --backend cpu -q --set run.tstop=20000 --set " +
                                       "population.eif.size=2000",
                                   path("log"));
  ASSERT_GE(pid, 0);
  wait_for_file(out + "/points_0-0.h5.partial", 300);
  // The pack grows as FILE.partial (never FILE.partial.partial), a file a reader opens.
  EXPECT_TRUE(fs::exists(out + "/points_0-0.h5.partial"));
  EXPECT_FALSE(fs::exists(out + "/points_0-0.h5.partial.partial"));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 75);
  const auto files = h5_files(out);
  // The remaining packs were not started; the interrupted one has its checkpoint.
  ASSERT_EQ(files, (std::vector<std::string>{out + "/points_0-0.h5", out + "/points_0-0.h5.ckpt"}));
  h5::quiet_errors quiet;
  {
    auto f = h5::open_file(files[0], false);
    EXPECT_EQ(h5::read_attr_string(f, "status"), "interrupted");
    EXPECT_EQ(read_sweep_group(f).point, (std::vector<uint64_t>{0}));
  }
  const auto r = spikesim_cli("merge " + out);
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("interrupted"), std::string::npos) << r.out;
}

// What shows that a file was not rewritten: the same inode (a pack is written under another name
// and renamed over the old file) and the same modification time.
struct file_identity {
  ino_t inode = 0;
  int64_t mtime_ns = 0;
  bool operator==(const file_identity& o) const {
    return inode == o.inode && mtime_ns == o.mtime_ns;
  }
};

file_identity identity_of(const std::string& file) {
  struct stat st {};
  if (stat(file.c_str(), &st) != 0) return {};
  return {st.st_ino, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::map<std::string, file_identity> identities(const std::string& dir) {
  std::map<std::string, file_identity> m;
  for (const auto& f : h5_files(dir)) m[fs::path(f).filename().string()] = identity_of(f);
  return m;
}

void set_root_attr(const std::string& file, const std::string& name, const std::string& value) {
  h5::quiet_errors quiet;
  auto f = h5::open_file(file, true);
  h5::attr(f, name, value);
}

TEST_F(sweep_cli, a_task_run_again_keeps_its_complete_files) {
  const auto cfg = write("fI.toml", fI_sweep);
  const auto out = path("out");
  const std::string cmd =
      "sweep " + cfg + " -o " + out + " --pack 3 --set run.tstop=50 --backend cpu -q";
  auto r = spikesim_cli(cmd);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::vector<std::string> names{"points_0-2.h5", "points_3-5.h5", "points_6-6.h5"};
  auto before = identities(out);
  ASSERT_EQ(before.size(), 3u);
  for (const auto& n : names) ASSERT_TRUE(before.count(n)) << n;

  // Everything is complete: nothing runs, no file is touched, and the output says how to redo.
  r = spikesim_cli(cmd);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("3 complete files"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--redo"), std::string::npos) << r.out;
  for (const auto& n : names) EXPECT_EQ(r.out.find(n + ":"), std::string::npos) << r.out;
  EXPECT_EQ(identities(out), before);

  // A file deleted: only its pack runs.
  fs::remove(out + "/points_3-5.h5");
  r = spikesim_cli(cmd);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("points_3-5.h5: 3 points"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("points_0-2.h5:"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("points_6-6.h5:"), std::string::npos) << r.out;
  auto after = identities(out);
  EXPECT_EQ(after["points_0-2.h5"], before["points_0-2.h5"]);
  EXPECT_EQ(after["points_6-6.h5"], before["points_6-6.h5"]);
  ASSERT_EQ(after.size(), 3u);
  EXPECT_EQ(sweep_group(out + "/points_3-5.h5").point, (std::vector<uint64_t>{3, 4, 5}));

  // An interrupted file runs again; the complete ones are kept.
  set_root_attr(out + "/points_6-6.h5", "status", "interrupted");
  before = identities(out);
  r = spikesim_cli(cmd);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("points_6-6.h5: 1 point"), std::string::npos) << r.out;
  after = identities(out);
  EXPECT_EQ(after["points_0-2.h5"], before["points_0-2.h5"]);
  EXPECT_EQ(after["points_3-5.h5"], before["points_3-5.h5"]);
  EXPECT_FALSE(after["points_6-6.h5"] == before["points_6-6.h5"]);
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(out + "/points_6-6.h5", false);
    EXPECT_EQ(h5::read_attr_string(f, "status"), "complete");
  }

  // The points count, not the file names: another packing finds every point done.
  before = identities(out);
  r = spikesim_cli("sweep " + cfg + " -o " + out + " --pack 2 --set run.tstop=50 --backend cpu -q");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("hold 7 of the 7 points"), std::string::npos) << r.out;
  EXPECT_EQ(identities(out), before);

  // An unfinished file of another packing (the plan depends on the memory available): its points
  // run again in this packing's packs, and it goes, with its checkpoint, so that merge accepts
  // the directory.
  set_root_attr(out + "/points_3-5.h5", "status", "interrupted");
  std::ofstream(out + "/points_3-5.h5.ckpt") << "stale";
  before = identities(out);
  r = spikesim_cli("sweep " + cfg + " -o " + out + " --pack 2 --set run.tstop=50 --backend cpu");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("points_3-5.h5: an unfinished file of this sweep from another pack layout"),
            std::string::npos)
      << r.out;
  after = identities(out);
  EXPECT_FALSE(after.count("points_3-5.h5"));
  EXPECT_FALSE(fs::exists(out + "/points_3-5.h5.ckpt"));
  EXPECT_EQ(after["points_0-2.h5"], before["points_0-2.h5"]);
  EXPECT_EQ(after["points_6-6.h5"], before["points_6-6.h5"]);
  EXPECT_EQ(sweep_group(out + "/points_3-4.h5").point, (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(sweep_group(out + "/points_5-5.h5").point, (std::vector<uint64_t>{5}));
  EXPECT_EQ(spikesim_cli("merge " + out).code, 0);
  fs::remove(out + "/points_3-4.h5");
  fs::remove(out + "/points_5-5.h5");
  r = spikesim_cli(cmd);
  ASSERT_EQ(r.code, 0) << r.out;
  before = identities(out);

  // --redo runs and replaces every pack.
  r = spikesim_cli(cmd + " --redo");
  ASSERT_EQ(r.code, 0) << r.out;
  after = identities(out);
  ASSERT_EQ(after.size(), 3u);
  for (const auto& n : names) {
    EXPECT_NE(r.out.find(n + ":"), std::string::npos) << r.out;
    EXPECT_FALSE(after[n] == before[n]) << n;
  }
  EXPECT_EQ(spikesim_cli("merge " + out).code, 0);
}

TEST_F(sweep_cli, a_file_that_is_not_of_this_sweep_is_refused_unless_redo) {
  const auto cfg = write("fI.toml", fI_sweep);
  const auto out = path("out");
  const std::string cmd = "sweep " + cfg + " -o " + out + " --pack 4 --backend cpu -q";
  auto r = spikesim_cli(cmd + " --set run.tstop=50");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto before = identities(out);
  ASSERT_EQ(before.size(), 2u);

  // Another config into the same directory: exit 4 before anything is written.
  r = spikesim_cli(cmd + " --set run.tstop=60");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("is not a file of this sweep"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("another config"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--redo"), std::string::npos) << r.out;
  EXPECT_EQ(identities(out), before);
  EXPECT_FALSE(fs::exists(out + "/points_0-3.h5.partial"));

  // A complete file of this sweep written by another version of spikesim, and a file that is
  // not HDF5, are refused too.
  set_root_attr(out + "/points_4-6.h5", "simulator_version", "0.0.1");
  r = spikesim_cli(cmd + " --set run.tstop=50");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("written by spikesim 0.0.1"), std::string::npos) << r.out;
  std::ofstream(out + "/points_4-6.h5", std::ios::trunc) << "not hdf5\n";
  r = spikesim_cli(cmd + " --set run.tstop=50");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("not an HDF5 file"), std::string::npos) << r.out;
  EXPECT_EQ(identity_of(out + "/points_0-3.h5"), before.at("points_0-3.h5"));

  // --redo replaces them with files of this sweep.
  r = spikesim_cli(cmd + " --set run.tstop=60 --redo");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const auto& f : h5_files(out)) {
    h5::quiet_errors quiet;
    auto h = h5::open_file(f, false);
    EXPECT_NE(h5::read_attr_string(h, "config").find("tstop = 60"), std::string::npos) << f;
    EXPECT_EQ(h5::read_attr_string(h, "status"), "complete") << f;
  }
  EXPECT_EQ(spikesim_cli("merge " + out).code, 0);
}

template <class T>
std::vector<T> read(const std::string& file, const std::string& dataset) {
  h5::quiet_errors quiet;
  auto f = h5::open_file(file, false);
  return h5::read_vector<T>(f, dataset);
}

// Spikes, counts, statistics and /sweep of every point of two files of the pack 0-6 agree.
void expect_same_pack(const std::string& a, const std::string& b) {
  for (int k = 0; k < 7; ++k) {
    SCOPED_TRACE(b + ": point " + std::to_string(k));
    const std::string pop = "eif@" + std::to_string(k);
    const auto sa = spikes_of(a, pop), sb = spikes_of(b, pop);
    EXPECT_GT(sa.t.size(), 1000u);
    EXPECT_EQ(sa.t, sb.t);
    EXPECT_EQ(sa.ids, sb.ids);
    EXPECT_EQ(read<uint32_t>(a, "activity/" + pop + "/spikes_per_step"),
              read<uint32_t>(b, "activity/" + pop + "/spikes_per_step"));
    EXPECT_EQ(read<double>(a, "analysis/" + pop + "/rate_hz"),
              read<double>(b, "analysis/" + pop + "/rate_hz"));
  }
  EXPECT_EQ(sweep_group(b).point, sweep_group(a).point);
  EXPECT_EQ(sweep_group(b).config, sweep_group(a).config);
  h5::quiet_errors quiet;
  auto f = h5::open_file(b, false);
  EXPECT_EQ(h5::read_attr_string(f, "status"), "complete");
}

TEST_F(sweep_cli, an_interrupted_pack_resumes_from_its_checkpoint) {
  // One pack of 7 points, 20 s: long enough for a signal to reach it in the middle.
  const auto cfg = write("fI.toml", fI_sweep);
  const std::string args = " --pack 7 --set run.tstop=20000 --backend cpu --threads 2 -q";
  const auto ref = path("ref");
  auto r = spikesim_cli("sweep " + cfg + " -o " + ref + args);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string file = "/points_0-6.h5";
  EXPECT_FALSE(fs::exists(ref + file + ".ckpt")) << "a complete pack leaves no checkpoint";

  // SIGUSR1: the pack writes a checkpoint beside its file, marked interrupted.
  const auto out = path("out");
  pid_t pid = start_spikesim("sweep " + cfg + " -o " + out + args, path("log"));
  wait_for_file(out + file + ".partial", 400);
  kill(pid, SIGUSR1);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 75) << "the sweep ended before the signal: make it longer";
  ASSERT_TRUE(fs::exists(out + file + ".ckpt"));
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(out + file, false);
    EXPECT_EQ(h5::read_attr_string(f, "status"), "interrupted");
  }
  const checkpoint c = read_checkpoint(out + file + ".ckpt");
  EXPECT_GT(c.step, 0u);
  EXPECT_LT(c.step, 200000u);
  EXPECT_EQ(read<uint32_t>(out + file, "activity/eif@3/spikes_per_step").size(), c.step);
  // A copy whose checkpoint is of another version cannot serve: its pack runs from the start.
  const auto other = path("other");
  fs::copy(out, other);
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(other + file + ".ckpt", true);
    h5::attr(f, "simulator_version", std::string("0.0.1"));
  }

  // The same command again continues the pack and writes the uninterrupted file.
  r = spikesim_cli("sweep " + cfg + " -o " + out + args + " --quiet=false");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resumes at t = "), std::string::npos) << r.out;
  expect_same_pack(ref + file, out + file);
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(out + file, false);
    EXPECT_EQ(h5::read_attr_u64(f, "resumed_from_step"), c.step);
  }
  EXPECT_FALSE(fs::exists(out + file + ".ckpt")) << "the checkpoint outlived the complete pack";
  EXPECT_EQ(h5_files(out), (std::vector<std::string>{out + file}));
  EXPECT_EQ(spikesim_cli("merge " + out).code, 0);

  r = spikesim_cli("sweep " + cfg + " -o " + other + args);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("0.0.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("runs from the beginning"), std::string::npos) << r.out;
  expect_same_pack(ref + file, other + file);
  EXPECT_FALSE(fs::exists(other + file + ".ckpt"));

  // Killed (SIGKILL) after a checkpoint of --checkpoint-every: the pack continues its partial
  // file from the last checkpoint.
  const auto killed = path("killed");
  pid = start_spikesim("sweep " + cfg + " -o " + killed + args + " --checkpoint-every 500",
                       path("log"));
  wait_for_file(killed + file + ".ckpt", 200);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the sweep ended before the kill: make it longer";
  // A killed pack leaves FILE.partial, as a killed run does.
  ASSERT_TRUE(fs::exists(killed + file + ".partial"));
  EXPECT_FALSE(fs::exists(killed + file + ".partial.partial"));
  EXPECT_FALSE(fs::exists(killed + file));
  r = spikesim_cli("sweep " + cfg + " -o " + killed + args + " --checkpoint-every 500");
  ASSERT_EQ(r.code, 0) << r.out;
  expect_same_pack(ref + file, killed + file);
  EXPECT_FALSE(fs::exists(killed + file + ".ckpt"));
  EXPECT_FALSE(fs::exists(killed + file + ".partial"));
}

}  // namespace
}  // namespace spikesim::testing
