// The merge of a sweep's files, without files: the task that owns a point (task_of against
// task_points), point ranges and their text, and the coverage check that names the missing and
// repeated points and the tasks that should have written them.
#include <spikesim/errors.hpp>
#include <spikesim/sweep.hpp>
#include <spikesim/sweep_merge.hpp>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

TEST(sweep_merge, task_of_is_the_task_whose_points_hold_the_point) {
  for (uint64_t n : {1, 2, 7, 10, 1000, 1001})
    for (uint64_t m : {1, 2, 3, 7, 16}) {
      if (m > n) continue;  // tasks without points own none
      for (uint64_t t = 0; t < m; ++t) {
        const point_range r = task_points(n, t, m);
        for (uint64_t k = r.first; k < r.first + r.count; ++k)
          ASSERT_EQ(task_of(n, m, k), t) << "point " << k << " of " << n << " over " << m;
      }
    }
  // 10 points over 4 tasks: 3, 3, 2, 2.
  EXPECT_EQ(task_of(10, 4, 5), 1u);
  EXPECT_EQ(task_of(10, 4, 6), 2u);
  EXPECT_EQ(task_of(10, 4, 9), 3u);
}

TEST(sweep_merge, ranges_join_consecutive_points_and_their_text_is_short) {
  const point_ranges r = to_ranges({0, 1, 2, 5, 7, 8});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], (std::pair<uint64_t, uint64_t>{0, 2}));
  EXPECT_EQ(r[1], (std::pair<uint64_t, uint64_t>{5, 5}));
  EXPECT_EQ(describe(r), "0-2, 5, 7-8");
  EXPECT_EQ(describe(r, 2), "0-2, 5, and 1 more ranges");
  EXPECT_TRUE(to_ranges({}).empty());
}

sweep_file_points file_of(const std::string& path, std::vector<uint64_t> points, uint64_t total,
                          uint64_t tasks, const std::string& id = "abc") {
  return {path, id, total, tasks, std::move(points)};
}

std::string coverage_error(const std::vector<sweep_file_points>& files) {
  return error_of<input_error>([&] { check_coverage(files); });
}

TEST(sweep_merge, coverage_accepts_every_point_once_in_any_order) {
  EXPECT_EQ(coverage_error({file_of("b.h5", {3, 2}, 4, 2), file_of("a.h5", {0, 1}, 4, 2)}), "");
}

TEST(sweep_merge, coverage_names_missing_points_and_the_tasks_that_own_them) {
  // 10 points over 4 tasks (0-2, 3-5, 6-7, 8-9): points 3-7 missing are tasks 1 and 2's.
  const std::string e =
      coverage_error({file_of("a.h5", {0, 1, 2}, 10, 4), file_of("d.h5", {8, 9}, 10, 4)});
  EXPECT_EQ(e,
            "cannot merge: the sweep has 10 points; missing from the files given: points 3-7 "
            "(tasks 1, 2 of 4: did they run?)");
  // One point missing, of one task.
  EXPECT_EQ(coverage_error({file_of("a.h5", {0, 2}, 3, 1)}),
            "cannot merge: the sweep has 3 points; missing from the files given: point 1 (task 0 "
            "of 1: did it run?)");
  // Files of different splits: no task is named.
  EXPECT_EQ(coverage_error({file_of("a.h5", {0}, 3, 3), file_of("b.h5", {1}, 3, 1)}),
            "cannot merge: the sweep has 3 points; missing from the files given: point 2");
}

TEST(sweep_merge, coverage_names_repeated_points_and_two_files_holding_them) {
  const std::string e =
      coverage_error({file_of("a.h5", {0, 1}, 3, 1), file_of("b.h5", {1, 2}, 3, 1)});
  EXPECT_EQ(e,
            "cannot merge: the sweep has 3 points; in more than one file: point 1 (point 1 in "
            "'a.h5' and 'b.h5'; was the sweep run twice into one directory?)");
}

TEST(sweep_merge, coverage_refuses_files_of_different_sweeps) {
  EXPECT_NE(coverage_error({file_of("a.h5", {0}, 2, 1), file_of("b.h5", {1}, 2, 1, "def")})
                .find("belong to different sweeps (ids abc and def)"),
            std::string::npos);
  EXPECT_NE(coverage_error({file_of("a.h5", {0}, 2, 1), file_of("b.h5", {1}, 3, 1)})
                .find("disagree on the number of points"),
            std::string::npos);
}

}  // namespace
}  // namespace spikesim::testing
