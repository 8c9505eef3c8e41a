// write_atomically() and rename_over() (include/spikesim/atomic_output.hpp): the file appears only
// once written whole; a failed write leaves no temporary file and the old file as it was.
#include <spikesim/atomic_output.hpp>
#include <spikesim/errors.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

class atomic_output : public scratch_dir_test {
 protected:
  atomic_output() : scratch_dir_test("atomic") {}
  std::string read(const std::string& p) const {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
};

TEST_F(atomic_output, the_file_appears_when_written_whole_under_its_partial_name) {
  const std::string out = path("out.csv");
  write_atomically(out, [&](const std::string& temp) {
    EXPECT_EQ(temp, out + ".partial");
    EXPECT_FALSE(fs::exists(out));  // nothing under the final name while it is written
    std::ofstream(temp) << "a,b\n";
  });
  EXPECT_EQ(read(out), "a,b\n");
  EXPECT_FALSE(fs::exists(out + ".partial"));
}

TEST_F(atomic_output, an_existing_file_is_replaced_only_on_success) {
  const std::string out = write("out.h5", "old");
  write_atomically(
      out,
      [&](const std::string& temp) {
        EXPECT_EQ(temp, out + ".tmp");
        EXPECT_EQ(read(out), "old");
        std::ofstream(temp) << "new";
      },
      ".tmp");
  EXPECT_EQ(read(out), "new");
  EXPECT_FALSE(fs::exists(out + ".tmp"));
}

TEST_F(atomic_output, a_failed_write_leaves_no_partial_and_the_old_file_untouched) {
  const std::string out = write("out.h5", "old");
  EXPECT_THROW(write_atomically(out,
                                [&](const std::string& temp) {
                                  std::ofstream(temp) << "half";
                                  throw output_error("disk full");
                                }),
               output_error);
  EXPECT_EQ(read(out), "old");
  EXPECT_FALSE(fs::exists(out + ".partial"));
  // Any exception, not only spikesim's, and a file that did not exist stays absent.
  const std::string fresh = path("fresh.h5");
  EXPECT_THROW(write_atomically(fresh,
                                [&](const std::string& temp) {
                                  std::ofstream(temp) << "half";
                                  throw std::runtime_error("bug");
                                }),
               std::runtime_error);
  EXPECT_FALSE(fs::exists(fresh));
  EXPECT_FALSE(fs::exists(fresh + ".partial"));
}

TEST_F(atomic_output, a_stale_partial_of_a_killed_writer_is_removed_first) {
  const std::string out = path("out.csv");
  write("out.csv.partial", "stale");
  write_atomically(out, [&](const std::string& temp) {
    EXPECT_FALSE(fs::exists(temp));
    std::ofstream(temp, std::ios::app) << "fresh";
  });
  EXPECT_EQ(read(out), "fresh");
}

TEST_F(atomic_output, a_failed_rename_says_why_and_leaves_no_partial) {
  // A directory that is not empty cannot be replaced by a file.
  const std::string out = path("dir");
  fs::create_directory(out);
  write("dir/keep", "x");
  try {
    write_atomically(out, [&](const std::string& temp) { std::ofstream(temp) << "data"; });
    FAIL() << "no error";
  } catch (const output_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot rename '" + out + ".partial' to '" + out + "': Is a directory");
  }
  EXPECT_FALSE(fs::exists(out + ".partial"));
  EXPECT_EQ(read(out + "/keep"), "x");
}

TEST_F(atomic_output, rename_over_leaves_the_temporary_file_to_the_caller_on_failure) {
  const std::string temp = write("a.tmp", "data");
  EXPECT_THROW(rename_over(temp, path("missing_dir/a")), output_error);
  EXPECT_EQ(read(temp), "data");
  rename_over(temp, path("a"));
  EXPECT_EQ(read(path("a")), "data");
  EXPECT_FALSE(fs::exists(temp));
}

TEST(atomic_output_names, the_temporary_names_are_made_and_recognised_in_one_place) {
  EXPECT_EQ(partial_path("out/run.h5"), "out/run.h5.partial");
  EXPECT_EQ(temporary_path("run.h5.ckpt"), "run.h5.ckpt.tmp");
  EXPECT_TRUE(is_partial_name("points_0-3.h5.partial"));
  EXPECT_TRUE(is_partial_name(partial_path("x")));
  EXPECT_FALSE(is_partial_name(".partial"));  // a name without a file before the suffix
  EXPECT_FALSE(is_partial_name("run.h5"));
  EXPECT_FALSE(is_partial_name("run.partial.h5"));
  EXPECT_FALSE(is_partial_name("partial"));
}

}  // namespace
}  // namespace spikesim::testing
