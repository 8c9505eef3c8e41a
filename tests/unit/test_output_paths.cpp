// The checks a run makes on its files before writing: same file by inode, non-regular files,
// the disk named in write failures; and the bound and probe of the CPU thread count.
#include <spikesim/backend.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/output_paths.hpp>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

class output_paths : public scratch_dir_test {
 protected:
  output_paths() : scratch_dir_test("paths") {}
};

TEST_F(output_paths, same_file_by_inode_and_by_resolved_name) {
  const auto a = write("a.toml", "x");
  const auto b = write("b.toml", "x");
  EXPECT_TRUE(same_file(a, a));
  EXPECT_FALSE(same_file(a, b));
  fs::create_hard_link(a, path("hard.toml"));
  EXPECT_TRUE(same_file(a, path("hard.toml")));
  fs::create_symlink(a, path("link.toml"));
  EXPECT_TRUE(same_file(path("link.toml"), a));
  // Another spelling of a file that does not exist yet.
  fs::create_directory(path("d"));
  EXPECT_TRUE(same_file(path("d/../new.h5"), path("new.h5")));
  EXPECT_FALSE(same_file(path("new.h5"), path("new.h5.ckpt")));
  EXPECT_FALSE(same_file(path("new.h5"), a));
}

std::string refusal(const std::vector<named_file>& in, const std::vector<named_file>& out) {
  try {
    check_distinct_files(in, out);
  } catch (const output_error& e) {
    EXPECT_EQ(e.kind(), error_kind::output);
    return e.what();
  }
  return "";
}

TEST_F(output_paths, an_output_that_is_an_input_or_another_output_is_refused) {
  const auto cfg = write("x.toml", "x");
  fs::create_hard_link(cfg, path("other_name.toml"));
  const auto msg = refusal({{"config", cfg}}, {{"output", path("other_name.toml")}});
  EXPECT_NE(msg.find("output '" + path("other_name.toml") + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("config '" + cfg + "'"), std::string::npos) << msg;
  const auto twice = refusal({}, {{"output", path("o.h5")}, {"checkpoint", path("o.h5")}});
  EXPECT_NE(twice.find("checkpoint '" + path("o.h5") + "'"), std::string::npos) << twice;
  EXPECT_EQ(refusal({{"config", cfg}}, {{"output", path("o.h5")}, {"checkpoint", path("o.ckpt")}}),
            "");
}

TEST_F(output_paths, an_output_that_is_not_a_regular_file_is_refused) {
  ASSERT_EQ(mkfifo(path("fifo").c_str(), 0600), 0);
  const auto msg = refusal({}, {{"output", path("fifo")}});
  EXPECT_NE(msg.find("a FIFO, not a regular file"), std::string::npos) << msg;
  fs::create_directory(path("dir.h5"));
  EXPECT_NE(refusal({}, {{"output", path("dir.h5")}}).find("a directory"), std::string::npos);
  EXPECT_NE(refusal({}, {{"output", "/dev/null"}}).find("a character device"), std::string::npos);
  EXPECT_EQ(refusal({}, {{"output", write("old.h5", "x")}}), "");  // an old output is replaced
}

TEST_F(output_paths, write_failures_name_the_file_and_a_size_limit) {
  const auto out = path("o.h5.partial");
  const auto plain = write_failure("HDF5 error: cannot write dataset 'node_ids'", out, EIO);
  EXPECT_EQ(plain, "HDF5 error: cannot write dataset 'node_ids' (writing '" + out + "')");
  EXPECT_NE(write_failure("x", out, EFBIG).find("file size limit of this process (ulimit -f)"),
            std::string::npos);
  EXPECT_EQ(disk_full_reason(out), "");  // the scratch directory is not full
}

TEST(threads, counts_out_of_bounds_are_usage_errors) {
  for (int n : {-1, max_threads + 1, 100000}) {
    try {
      check_threads(n);
      ADD_FAILURE() << n << " accepted";
    } catch (const config_error& e) {
      EXPECT_NE(std::string(e.what()).find("--threads = " + std::to_string(n)), std::string::npos);
    }
  }
  EXPECT_NO_THROW(check_threads(0));
  EXPECT_NO_THROW(check_threads(8));
}

TEST(threads, threads_the_system_cannot_create_are_a_memory_error) {
  // A child process with 1 GiB of address space cannot map 2000 thread stacks (8 MiB each
  // by default).
  const pid_t pid = fork();
  if (pid == 0) {
    rlimit as{1ull << 30, 1ull << 30};
    setrlimit(RLIMIT_AS, &as);
    try {
      check_threads(2000);
    } catch (const memory_error& e) {
      _exit(std::string(e.what()).find("cannot start 2000 CPU threads") != std::string::npos ? 7
                                                                                             : 3);
    } catch (...) {
      _exit(2);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

}  // namespace
}  // namespace spikesim::testing
