// The environment module: SLURM's array variables (malformed values, SLURM_ARRAY_TASK_MIN, the
// task that the options or the variables give), the defaults of a rank on a shared node, and the
// available memory.
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>

#include <spikesim/communicator.hpp>
#include <spikesim/environment.hpp>
#include <spikesim/errors.hpp>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

// Sets (or, for nullopt, unsets) environment variables for the test and restores them after.
class environment_test : public ::testing::Test {
 protected:
  void set(const std::string& name, std::optional<std::string> value) {
    if (!saved_.count(name)) {
      const char* old = std::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value)
      setenv(name.c_str(), value->c_str(), 1);
    else
      unsetenv(name.c_str());
  }
  void SetUp() override {
    for (const char* v : {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN"})
      set(v, std::nullopt);
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_)
      if (value)
        setenv(name.c_str(), value->c_str(), 1);
      else
        unsetenv(name.c_str());
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST_F(environment_test, env_number_reads_non_negative_integers_and_names_a_bad_value) {
  const char* v = "SLURM_ARRAY_TASK_ID";
  EXPECT_EQ(env_number(v), std::nullopt);  // unset
  set(v, "");
  EXPECT_EQ(env_number(v), std::nullopt);  // empty counts as unset
  set(v, "42");
  EXPECT_EQ(env_number(v), std::optional<uint64_t>(42));
  for (const char* bad : {"-1", "abc", "3x", "99999999999999999999"}) {
    set(v, bad);
    EXPECT_EQ(error_of<config_error>([&] { env_number(v); }),
              std::string("config error: environment variable SLURM_ARRAY_TASK_ID = '") + bad +
                  "': expected a non-negative integer");
  }
}

TEST_F(environment_test, a_task_is_one_of_one_without_options_or_slurm) {
  const task_assignment t = resolve_task(-1, -1);
  EXPECT_EQ(t.id, 0u);
  EXPECT_EQ(t.tasks, 1u);
}

TEST_F(environment_test, slurm_task_ids_count_from_the_array_minimum) {
  set("SLURM_ARRAY_TASK_COUNT", "4");
  set("SLURM_ARRAY_TASK_ID", "7");
  set("SLURM_ARRAY_TASK_MIN", "5");
  task_assignment t = resolve_task(-1, -1);
  EXPECT_EQ(t.id, 2u);
  EXPECT_EQ(t.tasks, 4u);
  // The options win over the variables.
  t = resolve_task(1, 3);
  EXPECT_EQ(t.id, 1u);
  EXPECT_EQ(t.tasks, 3u);
  set("SLURM_ARRAY_TASK_ID", "4");
  EXPECT_EQ(error_of<config_error>([] { resolve_task(-1, -1); }),
            "config error: SLURM_ARRAY_TASK_ID = 4 is below SLURM_ARRAY_TASK_MIN = 5");
}

TEST_F(environment_test, a_task_outside_the_count_names_where_each_value_came_from) {
  set("SLURM_ARRAY_TASK_COUNT", "3");
  set("SLURM_ARRAY_TASK_ID", "3");
  try {
    resolve_task(-1, -1);
    FAIL() << "task 3 of 3 accepted";
  } catch (const task_error& e) {
    EXPECT_EQ(e.reason, task_error::id_out_of_range);
    EXPECT_TRUE(e.id_from_slurm);
    EXPECT_TRUE(e.tasks_from_slurm);
    // Both from SLURM: the front-end's names appear only in the advice.
    EXPECT_EQ(e.text().render(neutral_setting_name),
              "config error: SLURM_ARRAY_TASK_ID = 3 is invalid: must be below "
              "SLURM_ARRAY_TASK_COUNT = 3 (task ids count from 0; a SLURM array must be "
              "contiguous, e.g. --array=0-2, or give task_id and num_tasks)");
  }
  try {
    resolve_task(5, -1);  // the id given, the count from SLURM
    FAIL() << "task 5 of 3 accepted";
  } catch (const task_error& e) {
    EXPECT_FALSE(e.id_from_slurm);
    EXPECT_EQ(e.text().render([](setting) { return std::string("ID"); }).substr(0, 60),
              "config error: ID = 5 is invalid: must be below SLURM_ARRAY_T");
  }
  set("SLURM_ARRAY_TASK_COUNT", "0");
  try {
    resolve_task(0, -1);
    FAIL() << "0 tasks accepted";
  } catch (const task_error& e) {
    EXPECT_EQ(e.reason, task_error::no_tasks);
    EXPECT_EQ(e.text().render(neutral_setting_name),
              "config error: SLURM_ARRAY_TASK_COUNT = 0: must be >= 1");
  }
  // The test binary names settings as the program does (test_message_text.cpp).
  EXPECT_EQ(error_of<task_error>([] { resolve_task(0, 0); }),
            "config error: --num-tasks = 0: must be >= 1");
  try {
    resolve_task(3, 3);
    FAIL() << "task 3 of 3 accepted";
  } catch (const task_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "config error: --task-id = 3 is invalid: must be below --num-tasks = 3 (task ids "
              "count from 0; a SLURM array must be contiguous, e.g. --array=0-2, or give "
              "--task-id and --num-tasks)");
  }
}

TEST_F(environment_test, ranks_share_a_node_only_when_there_are_several) {
  EXPECT_EQ(rank_default_device(1, 3), 0);  // one process: the device asked for, or 0
  EXPECT_EQ(rank_default_threads(1), 0);    // one rank on the node: OpenMP's default
  set("OMP_NUM_THREADS", "3");
  EXPECT_EQ(rank_default_threads(4), 0);  // OMP_NUM_THREADS decides
  set("OMP_NUM_THREADS", std::nullopt);
  // More ranks than cores: one thread each (0 where the launcher bound the process).
  EXPECT_LE(rank_default_threads(100000), 1);
}

TEST_F(environment_test, a_rank_takes_the_backend_it_is_given_or_its_share_of_the_node) {
  const communicator one;  // a test is not started by an MPI launcher: one rank
  ASSERT_EQ(one.ranks(), 1);
  backend_options o = rank_backend_options("cuda", 3, 2, true, one);
  EXPECT_EQ(o.kind, "cuda");
  EXPECT_EQ(o.threads, 3);
  EXPECT_EQ(o.device, 2);
  // One rank: the device given or its default, the threads OpenMP's default.
  o = rank_backend_options("cpu", 0, 1, false, one);
  EXPECT_EQ(o.threads, rank_default_threads(1));
  EXPECT_EQ(o.device, 1);
}

TEST(environment, available_ram_reads_meminfo) {
  // Linux has /proc/meminfo with MemAvailable; it is more than a MiB on any machine that builds
  // spikesim.
  EXPECT_GT(available_ram(), uint64_t{1} << 20);
}

}  // namespace
}  // namespace spikesim::testing
