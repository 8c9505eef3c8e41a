// End to end: a run never replaces its inputs or anything but a regular file, refuses thread
// counts it cannot have, and fails cleanly (a message, exit 4, nothing half-written) on a full
// disk or at the file size limit; small command-line and message cases.
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>

#include "io/h5.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

const char* small_run =
    "[run]\ndt = 0.1\ntstop = 50\n"
    "[population.a]\nsize = 10\nmodel = \"lif\"\ninput = { I = 12.0 }\n"
    "record = { traces = [0, 3], trace_every = 2 }\n";

class output_safety : public scratch_dir_test {
 protected:
  output_safety() : scratch_dir_test("safety") {}
  static std::string slurp(const std::string& file) {
    std::ifstream in(file);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // The names in the scratch directory.
  std::vector<std::string> names() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir_)) v.push_back(e.path().filename().string());
    std::sort(v.begin(), v.end());
    return v;
  }
};

TEST_F(output_safety, an_output_or_checkpoint_naming_the_config_is_refused) {
  const auto cfg = write("x.toml", small_run);
  for (const std::string opts : {"-o " + cfg, "--set output.file='" + cfg + "'",
                                 "-o " + path("o.h5") + " --checkpoint " + cfg}) {
    SCOPED_TRACE(opts);
    const auto r = spikesim_cli("run " + cfg + " " + opts + " -q");
    EXPECT_EQ(r.code, 4) << r.out;
    EXPECT_NE(r.out.find("it is the config '" + cfg + "'"), std::string::npos) << r.out;
    EXPECT_EQ(slurp(cfg), small_run);
  }
  // The same file under another name (a hard link) is the same file.
  fs::create_hard_link(cfg, path("alias.toml"));
  const auto r = spikesim_cli("run " + path("alias.toml") + " -o " + cfg + " -q");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_EQ(slurp(cfg), small_run);
  EXPECT_EQ(names(), (std::vector<std::string>{"alias.toml", "x.toml"}));
}

TEST_F(output_safety, a_checkpoint_naming_the_output_is_refused) {
  const auto cfg = write("x.toml", small_run);
  const auto out = path("o.h5");
  ASSERT_EQ(spikesim_cli("run " + cfg + " -o " + out + " -q").code, 0);
  const std::string before = slurp(out);
  const auto r = spikesim_cli("run " + cfg + " -o " + out + " --checkpoint " + out + " -q");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("it is also the output"), std::string::npos) << r.out;
  EXPECT_EQ(slurp(out), before);
  EXPECT_EQ(names(), (std::vector<std::string>{"o.h5", "x.toml"}));
}

TEST_F(output_safety, an_output_that_is_not_a_regular_file_is_left_alone) {
  const auto cfg = write("x.toml", small_run);
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  const auto r = spikesim_cli("run " + cfg + " -o " + path("fifo") + " -q");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("a FIFO, not a regular file"), std::string::npos) << r.out;
  struct stat s {};
  ASSERT_EQ(stat(path("fifo").c_str(), &s), 0);
  EXPECT_TRUE(S_ISFIFO(s.st_mode));
  EXPECT_EQ(names(), (std::vector<std::string>{"fifo", "x.toml"}));
}

TEST_F(output_safety, thread_counts_are_bounded_and_thread_failures_reported) {
  const auto cfg = write("x.toml", small_run);
  for (const char* n : {"32768", "100000"}) {
    const auto r = spikesim_cli("run " + cfg + " -o " + path("o.h5") + " --threads " + n + " -q");
    EXPECT_EQ(r.code, 2) << r.out;
    EXPECT_NE(r.out.find("--threads"), std::string::npos) << r.out;
  }
  // 3000 threads do not fit in 3 GB of address space: exit 7, and no partial file.
  const auto r = shell("ulimit -v 3000000; " + std::string(SPIKESIM_EXE) + " run " + cfg + " -o " +
                       path("o.h5") + " --threads 3000 -q");
  EXPECT_EQ(r.code, 7) << r.out;
  EXPECT_NE(r.out.find("cannot start 3000 CPU threads"), std::string::npos) << r.out;
  EXPECT_EQ(names(), (std::vector<std::string>{"x.toml"}));
}

TEST_F(output_safety, a_failed_allocation_says_what_was_needed_and_available) {
  // About 2 GB of state passes the estimate (the machine has more) but not a 1.5 GB address
  // space: the allocation fails after the check.
  const auto cfg = write("x.toml", std::string(small_run) +
                                       "[population.big]\nsize = 100000000\n"
                                       "model = \"lif\"\n");
  const auto r = shell("ulimit -v 1500000; " + std::string(SPIKESIM_EXE) + " run " + cfg + " -o " +
                       path("o.h5") + " --set analysis.enabled=false --threads 1 -q");
  if (r.out.find("may be used") != std::string::npos) GTEST_SKIP() << "not enough memory here";
  EXPECT_EQ(r.code, 7) << r.out;
  EXPECT_NE(r.out.find("estimated to need about"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("was available when it started"), std::string::npos) << r.out;
  EXPECT_EQ(names(), (std::vector<std::string>{"x.toml"}));
}

// 4·10^12 synapses (16 TiB and more) on any machine: refused before anything is built, and the
// advice names the synapses, not the neurons and traces.
TEST_F(output_safety, a_network_too_big_for_memory_names_its_synapses) {
  const auto cfg = write("big.toml",
                         "[run]\ntstop = 10\n[population.e]\nsize = 4000000\nmodel = \"lif\"\n"
                         "input = { I = 12.0 }\n[projection.ee]\nsource = \"e\"\ntarget = \"e\"\n"
                         "rule = \"fixed_indegree\"\nindegree = 1000000\nweight = 0.1\n"
                         "delay = 1.5\n");
  const auto r = spikesim_cli("run " + cfg + " -o " + path("o.h5") + " -q");
  EXPECT_EQ(r.code, 7) << r.out;
  EXPECT_NE(r.out.find("for the synapses"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("reduce the indegree"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("traces"), std::string::npos) << r.out;
  EXPECT_EQ(names(), (std::vector<std::string>{"big.toml"}));
}

TEST_F(output_safety, the_file_size_limit_fails_with_a_message) {
  const auto cfg = write("x.toml", std::string(small_run) + "[population.b]\nsize = 3000\n" +
                                       "model = \"lif\"\ninput = { I = 12.0 }\n");
  const auto r = shell("ulimit -f 100; " + std::string(SPIKESIM_EXE) + " run " + cfg + " -o " +
                       path("o.h5") + " --set run.tstop=20000 -q");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("ulimit -f"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(path("o.h5.partial")), std::string::npos) << r.out;
  EXPECT_EQ(names(), (std::vector<std::string>{"x.toml"}));
}

// A 120 KiB file system (tmpfs, mounted as root; skipped where that is not allowed).
class full_disk : public output_safety {
 protected:
  void SetUp() override {
    output_safety::SetUp();
    fs::create_directory(path("disk"));
    if (mount("tmpfs", path("disk").c_str(), "tmpfs", 0, "size=120k") != 0)
      GTEST_SKIP() << "cannot mount a small tmpfs here (not root?): the full-disk test did not run";
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) umount(path("disk").c_str());
    output_safety::TearDown();
  }
  bool mounted_ = false;
};

TEST_F(full_disk, fails_with_exit_4_naming_the_full_disk_and_no_temporary_checkpoint) {
  const auto cfg = write("x.toml", std::string(small_run) + "[population.b]\nsize = 3000\n" +
                                       "model = \"lif\"\ninput = { I = 12.0 }\n");
  for (const std::string ckpt : {"", " --checkpoint-every 500"}) {
    SCOPED_TRACE(ckpt);
    const auto r = spikesim_cli("run " + cfg + " -o " + path("disk/o.h5") +
                                " --set run.tstop=20000 -q" + ckpt);
    EXPECT_EQ(r.code, 4) << r.out;  // not 139 (SIGSEGV in HDF5's exit handler)
    EXPECT_NE(r.out.find("the file system holding '" + path("disk/o.h5")), std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("is full"), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(path("disk/o.h5.ckpt.tmp")));
    EXPECT_FALSE(fs::exists(path("disk/o.h5")));
    // Without a checkpoint nothing is left; with one, the partial file it refers to.
    EXPECT_EQ(fs::exists(path("disk/o.h5.partial")), !ckpt.empty());
    for (const auto& e : fs::directory_iterator(path("disk"))) fs::remove(e.path());
  }
}

// A run that fits but whose final copy does not (less than it and 1 MiB free at the end): exit 4
// before the copy, where HDF5 would crash on a failed write, and the partial file, whole, kept.
TEST_F(full_disk, a_final_copy_that_does_not_fit_keeps_the_whole_partial_file) {
  const auto cfg = write("x.toml", small_run);
  const auto r = spikesim_cli("run " + cfg + " -o " + path("disk/o.h5") + " -q");
  EXPECT_EQ(r.code, 4) << r.out;
  EXPECT_NE(r.out.find("final copy needs about"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("are kept in '" + path("disk/o.h5.partial") + "'"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(path("disk/o.h5")));
  EXPECT_FALSE(fs::exists(path("disk/o.h5.tmp")));
  h5::quiet_errors quiet;
  auto f = h5::open_file(path("disk/o.h5.partial"), false);
  EXPECT_EQ(h5::read_attr_u64(f, "steps"), 500u);  // every step of the run
}

// The same full disk where no file system can be mounted (CI's containers): strace makes every
// write from the N-th on fail with ENOSPC, at the file's first flush (N = 3) and later, in the
// checkpoint's writes or the flushes after them (N = 40). Not injected: a failure within the final
// copy (h5::copy_to_new_file), where HDF5 1.10.8's H5Ocopy crashes on a failed write; a disk
// already full there is refused before the copy (the full_disk test).
TEST_F(output_safety, writes_failing_with_enospc_fail_with_exit_4_and_leave_no_temporary_file) {
  if (shell("strace -V > /dev/null 2>&1").code != 0)
    GTEST_SKIP() << "strace is not installed (tools/bootstrap.sh installs it)";
  const auto cfg = write("x.toml", std::string(small_run) + "[population.b]\nsize = 3000\n" +
                                       "model = \"lif\"\ninput = { I = 12.0 }\n");
  for (const std::string ckpt : {"", " --checkpoint-every 500"}) {
    for (const int from : {3, 40}) {
      SCOPED_TRACE(ckpt + ", ENOSPC from write " + std::to_string(from));
      const auto r = shell(
          "strace -f -o /dev/null -e trace=pwrite64,write -e inject=pwrite64:error="
          "ENOSPC:when=" +
          std::to_string(from) + "+ " + SPIKESIM_EXE + " run " + cfg + " -o " + path("o.h5") +
          " --set run.tstop=5000 -q" + ckpt);
      EXPECT_EQ(r.code, 4) << r.out;  // not 139 (SIGSEGV in HDF5's exit handler)
      EXPECT_NE(r.out.find("No space left on device"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find(path("o.h5")), std::string::npos) << r.out;
      EXPECT_FALSE(fs::exists(path("o.h5.ckpt.tmp")));
      EXPECT_FALSE(fs::exists(path("o.h5")));
      for (const auto& n : names())
        if (n != "x.toml") fs::remove(path(n));
    }
  }
}

TEST_F(output_safety, the_hint_after_an_interrupt_resumes_with_nothing_else) {
  // Started with a --set override and -o: the printed command alone must continue the run.
  const auto cfg = write("x.toml", small_run);
  const auto out = path("o.h5");
  const pid_t pid = start_spikesim(
      "run " + cfg + " -o " + out + " --set population.a.size=200000 --set run.tstop=100000 -q",
      path("log"));
  wait_for_file(out + ".partial", 300);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 75) << slurp(path("log"));
  const std::string log = slurp(path("log"));
  const std::string hint = "continue with: spikesim run --resume " + out + ".ckpt\n";
  ASSERT_NE(log.find(hint), std::string::npos) << log;
  // The hint's command, run as printed, is accepted (stopped again at once: the run is long).
  const pid_t again = start_spikesim("run --resume " + out + ".ckpt -q", path("log2"));
  wait_for_file(path("log2"), 300);
  kill(again, SIGTERM);
  waitpid(again, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 75) << slurp(path("log2"));
  EXPECT_NE(slurp(path("log2")).find("resum"), std::string::npos);
}

TEST_F(output_safety, small_command_line_cases_are_refused_with_their_reason) {
  const auto cfg = write("x.toml", small_run);
  struct refusal {
    std::string args;
    int code;
    std::string says;
  };
  const std::vector<refusal> cases = {
      {"run " + dir_.string() + "/", 3, "'" + dir_.string() + "/': it is a directory"},
      {"run " + cfg + " --checkpoint-every 0", 2, "--checkpoint-every: must be a number > 0"},
      {"run " + cfg + " -o ''", 2, "--output: must name a file"},
      {"frobnicate", 2, "unknown command 'frobnicate'"},
      {"sweep " + cfg + " --pack 0", 2, "--pack: must be a number > 0, not '0'"},
  };
  for (const auto& c : cases) {
    const auto r = spikesim_cli(c.args + " -q");
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << "\n" << r.out;
    EXPECT_LT(r.out.size(), 400u) << c.args << "\n" << r.out;
  }
  EXPECT_EQ(names(), (std::vector<std::string>{"x.toml"}));
}

}  // namespace
}  // namespace spikesim::testing
