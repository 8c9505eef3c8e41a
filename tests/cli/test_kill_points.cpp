// Kill points: a short run, a resume and an analyze are each killed with SIGKILL at every write
// they make to a file (strace's fault injection on pwrite64, a real kill), and after each kill the
// files left must open, hold a prefix of the uninterrupted run, and resume to it bitwise
// (docs/checkpoints.md states the guarantee).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <spikesim/errors.hpp>

#include "io/h5.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

// A network small enough that a run makes a few hundred writes: spikes, per-step counts, traces,
// checkpoints every 10 ms (each one a flush of the output and a checkpoint file), /analysis.
// Chunks of 15 steps (the shortest delay), so that most writes fall in the simulation, between
// checkpoints, rather than in the final rewrite.
const char* kill_config = R"(
[run]
dt = 0.1
tstop = 40.0
chunk_steps = 15
random_seed = 5
[population.a]
size = 120
model = "lif"
params = { tau_m = 10.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }
init = { V = { uniform = [0.0, 20.0] } }
input = { I = 25.0, sigma = 4.0 }
record = { traces = [0, 1] }
[population.b]
size = 40
model = "lif"
params = { tau_m = 10.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }
input = { I = 22.0, sigma = 5.0 }
[projection.ab]
source = "a"
target = "b"
rule = "fixed_indegree"
indegree = 10
weight = 0.5
delay = 1.5
[analysis]
t_start = 5.0
)";

// Runs a shell command, returns its wait status.
int shell(const std::string& cmd) {
  return std::system(cmd.c_str());
}

bool have_strace() {
  return shell("strace -V > /dev/null 2>&1") == 0;
}

// The datasets of a run's file that the comparisons read.
struct file_content {
  std::vector<double> t_a, t_b;
  std::vector<uint64_t> id_a, id_b;
  std::vector<uint32_t> c_a, c_b;
  std::vector<float> traces;
  std::vector<double> rate_a, rate_b;  // /analysis (empty when absent)
  std::string status;
};

std::vector<float> read_2d(hid_t f, const std::string& name) {
  h5::handle ds(H5Dopen2(f, name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds.valid()) throw input_error("no dataset " + name);
  h5::handle space(H5Dget_space(ds), H5Sclose);
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space, dims, nullptr);
  std::vector<float> v(dims[0] * dims[1]);
  if (!v.empty() && H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)
    throw input_error("cannot read " + name);
  return v;
}

// Reads the file with the library's reader; throws when it does not open or a dataset is damaged.
file_content read_content(const std::string& file) {
  h5::quiet_errors quiet;
  auto f = h5::open_file(file, false);
  file_content c;
  c.status = h5::read_attr_string(f, "status");
  c.t_a = h5::read_vector<double>(f, "spikes/a/timestamps");
  c.t_b = h5::read_vector<double>(f, "spikes/b/timestamps");
  c.id_a = h5::read_vector<uint64_t>(f, "spikes/a/node_ids");
  c.id_b = h5::read_vector<uint64_t>(f, "spikes/b/node_ids");
  c.c_a = h5::read_vector<uint32_t>(f, "activity/a/spikes_per_step");
  c.c_b = h5::read_vector<uint32_t>(f, "activity/b/spikes_per_step");
  c.traces = read_2d(f, "report/a/data");
  if (h5::exists(f, "analysis/a/rate_hz")) {
    c.rate_a = h5::read_vector<double>(f, "analysis/a/rate_hz");
    c.rate_b = h5::read_vector<double>(f, "analysis/b/rate_hz");
  }
  return c;
}

template <class T>
bool is_prefix(const std::vector<T>& part, const std::vector<T>& full) {
  return part.size() <= full.size() && std::equal(part.begin(), part.end(), full.begin());
}

// Empty when `part` is a prefix of `full` (every growing dataset), else what differs.
std::string prefix_problem(const file_content& part, const file_content& full) {
  std::string p;
  if (!is_prefix(part.t_a, full.t_a) || !is_prefix(part.id_a, full.id_a)) p += " spikes/a";
  if (!is_prefix(part.t_b, full.t_b) || !is_prefix(part.id_b, full.id_b)) p += " spikes/b";
  if (!is_prefix(part.c_a, full.c_a) || !is_prefix(part.c_b, full.c_b)) p += " activity";
  if (!is_prefix(part.traces, full.traces)) p += " report/a/data";
  return p;
}

// Empty when the two files hold bitwise the same run, else what differs.
std::string equal_problem(const file_content& a, const file_content& full) {
  std::string p;
  if (a.t_a != full.t_a || a.id_a != full.id_a || a.t_b != full.t_b || a.id_b != full.id_b)
    p += " spikes";
  if (a.c_a != full.c_a || a.c_b != full.c_b) p += " activity";
  if (a.traces != full.traces) p += " traces";
  if (a.rate_a != full.rate_a || a.rate_b != full.rate_b) p += " analysis";
  if (a.status != "complete") p += " status=" + a.status;
  return p;
}

class kill_points : public scratch_dir_test {
 protected:
  kill_points() : scratch_dir_test("kill") {}

  void SetUp() override {
    scratch_dir_test::SetUp();
    if (!have_strace()) GTEST_SKIP() << "strace is not installed (tools/bootstrap.sh installs it)";
    write("k.toml", kill_config);
    const auto r = spikesim_cli(run_args("full.h5"));
    ASSERT_EQ(r.code, 0) << r.out;
    full_ = read_content(path("full.h5"));
    ASSERT_GT(full_.t_a.size(), 200u);
    ASSERT_GT(full_.t_b.size(), 20u);
    ASSERT_FALSE(full_.rate_a.empty());
  }

  std::string run_args(const std::string& out) const {
    return "run " + path("k.toml") + " -o " + path(out) + " --threads 1 --quiet";
  }
  std::string ckpt_run_args(const std::string& out) const {
    return run_args(out) + " --checkpoint-every 10";
  }

  // `spikesim ARGS` under strace: the writes it makes (pwrite64 calls), or, with kill_at = N,
  // killed by SIGKILL (or sent `signal`) on entering its N-th write.
  int traced(const std::string& args, int kill_at, const std::string& signal = "KILL") const {
    const std::string log = path("strace.log");
    std::string cmd = "cd " + dir_.string() + " && strace -f -qq -o " + log + " -e trace=pwrite64";
    if (kill_at > 0)
      cmd += " -e inject=pwrite64:signal=" + signal + ":when=" + std::to_string(kill_at);
    cmd += " " + std::string(SPIKESIM_EXE) + " " + args + " > " + path("out.log") + " 2>&1";
    shell(cmd);
    if (kill_at > 0) return 0;
    int writes = 0;
    std::ifstream in(log);
    for (std::string line; std::getline(in, line);)
      if (line.find("pwrite64(") != std::string::npos) ++writes;
    return writes;
  }

  void clear(const std::string& out) const {
    for (const char* ext : {"", ".partial", ".ckpt", ".ckpt.tmp", ".tmp"})
      fs::remove(path(out + ext));
  }

  // After a kill: the file left (FILE, else FILE.partial) opens and holds a prefix of the
  // uninterrupted run, and when a checkpoint is there, --resume completes it bitwise. Returns
  // what went wrong, empty when nothing did.
  std::string check_killed(const std::string& out) const {
    const std::string file = path(out), partial = file + ".partial", ckpt = file + ".ckpt";
    const bool has_ckpt = fs::exists(ckpt);
    std::string left = fs::exists(file) ? file : fs::exists(partial) ? partial : "";
    if (left.empty()) return has_ckpt ? "a checkpoint but no output file" : "";
    try {
      const file_content c = read_content(left);
      const std::string p = prefix_problem(c, full_);
      if (!p.empty()) return left + " is not a prefix of the run:" + p;
    } catch (const std::exception& e) {
      return left + " does not open or read: " + e.what();
    }
    if (!has_ckpt) return "";
    const auto r = spikesim_cli(run_args(out) + " --resume " + ckpt);
    if (r.code != 0) return "--resume failed (exit " + std::to_string(r.code) + "): " + r.out;
    try {
      const std::string p = equal_problem(read_content(file), full_);
      if (!p.empty()) return "the resumed file differs from the uninterrupted run:" + p;
    } catch (const std::exception& e) {
      return "the resumed file does not read: " + std::string(e.what());
    }
    return "";
  }

  // Kills `args` at every write (a stride above `most` writes, so the test stays short), after
  // `prepare` set the files up; counts the kill points after which check() found a problem.
  template <class Prepare, class Check>
  void every_write(const std::string& what, const std::string& args, Prepare prepare, Check check,
                   int most = 150) {
    prepare();
    const int writes = traced(args, 0);
    ASSERT_GT(writes, 10) << what << ": too few writes to test";
    const int stride = std::max(1, (writes + most - 1) / most);
    int tried = 0, failed = 0;
    std::string first;
    for (int n = 1; n <= writes + 1; n += (n < 40 || n > writes - 40) ? 1 : stride) {
      prepare();
      traced(args, n);
      const std::string p = check();
      ++tried;
      if (!p.empty()) {
        ++failed;
        if (failed <= 5) ADD_FAILURE() << what << ": killed at write " << n << ": " << p;
      }
    }
    std::cout << what << ": " << writes << " writes, " << tried << " kill points, " << failed
              << " failed\n";
    EXPECT_EQ(failed, 0) << what << ": " << failed << " of " << tried << " kill points failed";
  }

  file_content full_;
};

TEST_F(kill_points, a_run_killed_at_any_write_leaves_a_file_that_opens_and_resumes) {
  every_write(
      "run", ckpt_run_args("r.h5"), [&] { clear("r.h5"); }, [&] { return check_killed("r.h5"); });
}

TEST_F(kill_points, a_resume_killed_at_any_write_leaves_a_file_that_opens_and_resumes) {
  // The states a resume starts from: a killed run (FILE.partial) and a run stopped by a signal
  // (FILE, interrupted), each with its checkpoint, made by strace at a fixed write.
  const int writes = traced(ckpt_run_args("s.h5"), 0);
  for (const std::string sig : {"KILL", "USR1"}) {
    SCOPED_TRACE(sig);
    clear("s.h5");
    traced(ckpt_run_args("s.h5"), writes / 2, sig);
    const std::string kept = sig == "KILL" ? ".partial" : "";
    ASSERT_TRUE(fs::exists(path("s.h5.ckpt"))) << "no checkpoint to resume from";
    ASSERT_TRUE(fs::exists(path("s.h5" + kept))) << "no output to resume";
    fs::copy_file(path("s.h5.ckpt"), path("saved.ckpt"), fs::copy_options::overwrite_existing);
    fs::copy_file(path("s.h5" + kept), path("saved.h5"), fs::copy_options::overwrite_existing);
    auto prepare = [&] {
      clear("s.h5");
      fs::copy_file(path("saved.ckpt"), path("s.h5.ckpt"));
      fs::copy_file(path("saved.h5"), path("s.h5" + kept));
    };
    every_write("resume after " + sig, run_args("s.h5") + " --resume " + path("s.h5.ckpt"), prepare,
                [&] { return check_killed("s.h5"); });
  }
}

TEST_F(kill_points, an_analyze_killed_at_any_write_leaves_the_file_whole) {
  auto prepare = [&] {
    fs::copy_file(path("full.h5"), path("a.h5"), fs::copy_options::overwrite_existing);
  };
  auto check = [&]() -> std::string {
    try {
      // The file is the run's, with its old /analysis or the new one, never a damaged one.
      const file_content c = read_content(path("a.h5"));
      file_content same = c;
      same.rate_a = full_.rate_a;
      same.rate_b = full_.rate_b;
      std::string p = equal_problem(same, full_);
      if (c.rate_a.size() != full_.rate_a.size()) p += " /analysis is missing or damaged";
      if (!p.empty()) return "the analysed file differs:" + p;
    } catch (const std::exception& e) {
      return "the analysed file does not read: " + std::string(e.what());
    }
    const auto r = spikesim_cli("analyze " + path("a.h5") + " --set analysis.t_start=2");
    if (r.code != 0) return "analyze again failed (exit " + std::to_string(r.code) + "): " + r.out;
    return "";
  };
  every_write("analyze", "analyze " + path("a.h5") + " --set analysis.t_start=2", prepare, check);
}

}  // namespace
}  // namespace spikesim::testing
