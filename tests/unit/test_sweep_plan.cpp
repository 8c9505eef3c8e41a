// Sweep planning and the pack runner in the library: packs within a count and a memory budget,
// pack file names, the plan of a task against the files in its directory, the checkpoint a pack
// resumes from, and run_packs into a directory (interrupted, resumed, kept).
#include <atomic>
#include <filesystem>
#include <functional>

#include <spikesim/communicator.hpp>
#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/sweep.hpp>
#include <spikesim/sweep_run.hpp>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

const std::string base =
    "[run]\ndt = 0.1\ntstop = 20.0\nrandom_seed = 3\nchunk_steps = 50\n"
    "[population.eif]\nsize = 20\nmodel = \"eif\"\ninput = { I = 1.0, sigma = 1.0 }\n";

sweep_spec sweep_of(const std::string& table, const std::vector<std::string>& sets = {}) {
  return parse_sweep(base + table, "<test>", sets, {});
}

const sweep_spec four = sweep_of("[sweep]\n\"population.eif.input.I\" = [1.0, 2.0, 3.0, 4.0]\n");

std::vector<std::pair<uint64_t, uint64_t>> layout(const std::vector<pack_plan>& packs) {
  std::vector<std::pair<uint64_t, uint64_t>> v;
  for (const auto& p : packs) v.push_back({p.first, p.count});
  return v;
}
using pairs = std::vector<std::pair<uint64_t, uint64_t>>;

TEST(sweep_plan, packs_hold_consecutive_points_up_to_a_count_and_skip_done_ones) {
  const auto specs = task_specs(four, {0, 4});
  const std::vector<bool> none(4, false);
  EXPECT_EQ(layout(plan_packs(specs, 0, none, 0, 0)), (pairs{{0, 4}}));
  EXPECT_EQ(layout(plan_packs(specs, 0, none, 3, 0)), (pairs{{0, 3}, {3, 1}}));
  // A done point ends a pack; the first point index is that of specs[0].
  EXPECT_EQ(layout(plan_packs(specs, 10, {false, true, false, false}, 0, 0)),
            (pairs{{10, 1}, {12, 2}}));
  EXPECT_TRUE(plan_packs(specs, 0, {true, true, true, true}, 0, 0).empty());
  // Points that differ in their run settings never share a pack.
  const auto t = sweep_of("[sweep]\n\"run.tstop\" = [10.0, 20.0, 20.0]\n");
  EXPECT_EQ(layout(plan_packs(task_specs(t, {0, 3}), 0, {false, false, false}, 0, 0)),
            (pairs{{0, 1}, {1, 2}}));
}

TEST(sweep_plan, packs_stay_within_the_memory_budget) {
  const auto specs = task_specs(four, {0, 4});
  const point_cost c = cost_of(specs[0]);
  EXPECT_GT(c.fixed, 0.0);
  EXPECT_GT(c.per_step, 0.0);
  const double one = c.fixed + c.per_step * 50;  // run.chunk_steps = 50
  const std::vector<bool> none(4, false);
  EXPECT_EQ(layout(plan_packs(specs, 0, none, 0, 2.5 * one)), (pairs{{0, 2}, {2, 2}}));
  EXPECT_EQ(layout(plan_packs(specs, 0, none, 0, 1.5 * one)),
            (pairs{{0, 1}, {1, 1}, {2, 1}, {3, 1}}));
  // A point alone always makes a pack, however small the budget.
  EXPECT_EQ(plan_packs(specs, 0, none, 0, 1.0).size(), 4u);
}

// A front-end that holds the config in memory: its text is the sweep, `config` only a name.
TEST(sweep_plan, a_request_with_config_text_reads_no_file) {
  sweep_request r;
  r.config = "held in memory";
  r.config_text =
      "[run]\ndt = 0.1\ntstop = 10.0\n[population.p]\nsize = 2\nmodel = \"lif\"\n"
      "[sweep]\n\"population.p.size\" = [2, 3, 4]\n";
  r.sweeps = {"run.tstop=10,20"};
  const sweep_spec s = load_sweep(r);
  EXPECT_EQ(s.points(), 6u);
  r.config_text = "[run\n";
  try {
    load_sweep(r);
    ADD_FAILURE() << "no config_error";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("held in memory:1"), std::string::npos) << e.what();
  }
}

TEST(sweep_plan, pack_file_names_have_the_digits_of_the_last_point) {
  EXPECT_EQ(pack_file(3, 7, 100), "points_03-07.h5");
  EXPECT_EQ(pack_file(0, 0, 1), "points_0-0.h5");
  uint64_t a = 0, b = 0;
  ASSERT_TRUE(parse_pack_name("points_03-07.h5", a, b));
  EXPECT_EQ(a, 3u);
  EXPECT_EQ(b, 7u);
  EXPECT_FALSE(parse_pack_name("points_03-07.h5.partial", a, b));
  EXPECT_FALSE(parse_pack_name("points_03.h5", a, b));
  EXPECT_FALSE(parse_pack_name("other.h5", a, b));
}

TEST(sweep_plan, a_plan_crosses_to_other_ranks_as_numbers) {
  task_plan t;
  t.task = 2;
  t.tasks = 5;
  t.range = {8, 4};
  t.kept_points = 1;
  t.kept_files = 1;
  t.packs = {{8, 2}, {11, 1}};
  const task_plan u = task_plan::decode(t.encode());
  EXPECT_EQ(u.task, 2u);
  EXPECT_EQ(u.tasks, 5u);
  EXPECT_EQ(u.range.first, 8u);
  EXPECT_EQ(u.range.count, 4u);
  EXPECT_EQ(u.kept_points, 1u);
  EXPECT_EQ(u.kept_files, 1u);
  EXPECT_EQ(layout(u.packs), layout(t.packs));
}

class sweep_dir : public scratch_dir_test {
 protected:
  sweep_dir() : scratch_dir_test("sweep_plan") {}
  sweep_request request(int64_t task = 0, int64_t tasks = 1) const {
    sweep_request r;
    r.task_id = task;
    r.num_tasks = tasks;
    return r;
  }
  task_plan plan(const sweep_request& r, const sweep_spec& s = four) {
    std::vector<experiment_spec> specs;
    return plan_task(r, s, path("out"), 0, specs);
  }
  // run_packs of task `task` of `tasks` into out/, stopping after `chunks` chunks when given.
  sweep_totals run(const sweep_request& r, int chunks = -1) {
    sweep_task t;
    t.sweep = four;
    t.dir = path("out");
    t.plan = plan_task(r, t.sweep, t.dir, 0, t.specs);
    prepare_directory(t.plan, t.dir);
    backend_options opt;
    opt.kind = "cpu";
    opt.threads = 1;
    std::atomic<bool> stop{false};
    int seen = 0;
    sweep_hooks h;
    h.session.stop = &stop;
    h.session.quiet = true;
    h.session.report = [this](const std::string& line) { reports_.push_back(line); };
    h.session.progress = [&](uint64_t, uint64_t) {
      if (++seen == chunks) stop = true;
    };
    return run_packs(t, r, opt, comm_, h);
  }
  communicator comm_;
  std::vector<std::string> reports_;
};

TEST_F(sweep_dir, a_task_plans_its_share_and_refuses_what_it_may_not_replace) {
  task_plan t = plan(request(1, 3));  // 4 points over 3 tasks: 0-1, 2, 3
  EXPECT_EQ(t.range.first, 2u);
  EXPECT_EQ(t.range.count, 1u);
  EXPECT_EQ(layout(t.packs), (pairs{{2, 1}}));
  EXPECT_FALSE(fs::exists(path("out")));  // planning writes nothing
  // A file named after a pack that is not a file of this sweep is not replaced...
  fs::create_directories(path("out"));
  write("out/points_2-2.h5", "not a sweep file");
  try {
    plan(request(1, 3));
    FAIL() << "a foreign file was to be replaced";
  } catch (const pack_file_error& e) {
    EXPECT_EQ(e.reason, pack_file_error::foreign);
    EXPECT_EQ(e.path, path("out/points_2-2.h5"));
    EXPECT_EQ(e.kind(), error_kind::output);
    EXPECT_NE(std::string(e.what()).find("; it is not replaced: remove it, choose another -o, or "
                                         "give --redo to replace it"),
              std::string::npos);
    EXPECT_NE(e.text().render(neutral_setting_name).find("choose another output, or give redo"),
              std::string::npos);
  }
  // ... unless the task is redone; and other tasks' files are not looked at.
  sweep_request redo = request(1, 3);
  redo.redo = true;
  EXPECT_EQ(plan(redo).packs.size(), 1u);
  EXPECT_EQ(plan(request(0, 3)).packs.size(), 1u);
  // A directory that is a file.
  write("file", "");
  std::vector<experiment_spec> specs;
  EXPECT_THROW(plan_task(request(), four, path("file"), 0, specs), output_error);
  // output.overwrite = false keeps any file.
  const sweep_spec keep = sweep_of("[sweep]\n\"population.eif.input.I\" = [1.0, 2.0, 3.0, 4.0]\n",
                                   {"output.overwrite=false"});
  try {
    plan(request(1, 3), keep);
    FAIL() << "output.overwrite = false was ignored";
  } catch (const pack_file_error& e) {
    EXPECT_EQ(e.reason, pack_file_error::overwrite_off);
    EXPECT_NE(std::string(e.what()).find(
                  "exists and output.overwrite = false; remove it or choose another -o"),
              std::string::npos);
  }
}

TEST_F(sweep_dir, an_interrupted_pack_resumes_and_complete_files_are_kept) {
  // Stopped after the first chunk of its first pack: the file is kept, marked interrupted, with
  // its checkpoint.
  sweep_totals s = run(request(), 1);
  EXPECT_TRUE(s.interrupted);
  EXPECT_EQ(s.done_points, 0u);
  EXPECT_EQ(s.files, 1u);
  const std::string file = path("out/points_0-3.h5"), ckpt = file + ".ckpt";
  EXPECT_TRUE(fs::exists(file));
  ASSERT_TRUE(fs::exists(ckpt));
  EXPECT_EQ(s.interrupted_file, file + " is marked interrupted, its checkpoint is " + ckpt);
  // The plan runs the unfinished pack again, and its checkpoint serves it.
  EXPECT_EQ(layout(plan(request()).packs), (pairs{{0, 4}}));
  std::vector<experiment_spec> specs = task_specs(four, {0, 4});
  experiment_spec packed = pack_points(specs, {0, 1, 2, 3});
  packed.config_text = four.config_text;
  packed.run.seed = four.base_seed;
  std::vector<std::string> refused;
  const auto remember = [&](const std::string& why) { refused.push_back(why); };
  ASSERT_TRUE(pack_checkpoint(ckpt, packed, file, remember).has_value());
  EXPECT_TRUE(refused.empty());
  // Run to its end: resumed, complete, its checkpoint gone.
  s = run(request());
  EXPECT_FALSE(s.interrupted);
  EXPECT_EQ(s.done_points, 4u);
  EXPECT_FALSE(fs::exists(ckpt));
  EXPECT_TRUE(reports_.empty());  // quiet, and nothing refused
  // Complete files of this sweep are kept: nothing left to run.
  const task_plan t = plan(request());
  EXPECT_EQ(t.kept_points, 4u);
  EXPECT_EQ(t.kept_files, 1u);
  EXPECT_TRUE(t.packs.empty());
  const found_file f = examine(file, four, {0, 4}, specs);
  EXPECT_EQ(f.kind, found_file::complete);
  EXPECT_EQ(f.point, (std::vector<uint64_t>{0, 1, 2, 3}));
  // Of another sweep: foreign, and why.
  const sweep_spec other = sweep_of("[sweep]\n\"population.eif.input.I\" = [5.0, 6.0, 7.0, 8.0]\n");
  const found_file g = examine(file, other, {0, 4}, task_specs(other, {0, 4}));
  EXPECT_EQ(g.kind, found_file::foreign);
  EXPECT_EQ(g.reason, found_file::other_sweep);
  EXPECT_EQ(g.why, "it holds sweep " + four.id + ", this is sweep " + other.id);
}

TEST_F(sweep_dir, a_checkpoint_of_another_pack_or_without_its_output_is_refused_and_removed) {
  run(request(), 1);
  const std::string file = path("out/points_0-3.h5"), ckpt = file + ".ckpt";
  ASSERT_TRUE(fs::exists(ckpt));
  std::vector<std::string> refused;
  const auto remember = [&](const std::string& why) { refused.push_back(why); };
  // Another pack: points 0-1 alone.
  std::vector<experiment_spec> specs = task_specs(four, {0, 2});
  experiment_spec half = pack_points(specs, {0, 1});
  half.config_text = four.config_text;
  fs::copy_file(ckpt, path("copy.ckpt"));
  EXPECT_FALSE(pack_checkpoint(ckpt, half, path("out/points_0-1.h5"), remember).has_value());
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0], "it is of another pack of points");
  EXPECT_FALSE(fs::exists(ckpt));  // removed: the pack runs from its beginning
  // The right pack, but its output is gone.
  specs = task_specs(four, {0, 4});
  experiment_spec packed = pack_points(specs, {0, 1, 2, 3});
  packed.config_text = four.config_text;
  fs::remove(file);
  EXPECT_FALSE(pack_checkpoint(path("copy.ckpt"), packed, file, remember).has_value());
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[1], "the output it continues is gone");
  // No checkpoint: nothing to say.
  EXPECT_FALSE(pack_checkpoint(path("none.ckpt"), packed, file, remember).has_value());
  EXPECT_EQ(refused.size(), 2u);
}

}  // namespace
}  // namespace spikesim::testing
