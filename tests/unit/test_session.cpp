// The run session: the checkpoint interval, the host-memory check, and what prepare_run decides
// and refuses before anything is written (the checkpoint a run resumes from, the files it writes).
#include <cmath>
#include <functional>
#include <limits>

#include <spikesim/checkpoint.hpp>
#include <spikesim/communicator.hpp>
#include <spikesim/config_loader.hpp>
#include <spikesim/errors.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/session.hpp>

#include "test_support.hpp"

namespace spikesim::testing {
namespace {

TEST(session, checkpoint_interval_is_in_steps_and_at_least_one) {
  EXPECT_EQ(checkpoint_interval_steps(0.0, 0.1), 0u);  // only when stopped
  EXPECT_EQ(checkpoint_interval_steps(1.0, 0.1), 10u);
  EXPECT_EQ(checkpoint_interval_steps(25.0, 0.05), 500u);
  EXPECT_EQ(checkpoint_interval_steps(0.01, 0.1), 1u);          // shorter than a step: every step
  EXPECT_EQ(checkpoint_interval_steps(1e-12, 0.1), 1u);         // even within rounding of none
  EXPECT_EQ(checkpoint_interval_steps(1.0 + 1e-12, 0.1), 10u);  // on the grid up to rounding
}

TEST(session, a_bad_checkpoint_interval_carries_its_value_for_the_front_end) {
  for (double bad : {-1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    try {
      checkpoint_interval_steps(bad, 0.1);
      FAIL() << bad << " ms accepted";
    } catch (const checkpoint_interval_error& e) {
      EXPECT_EQ(e.kind(), error_kind::config);
      EXPECT_TRUE(e.every_ms == bad || std::isnan(bad));
      EXPECT_EQ(e.text().render([](setting) { return std::string("EVERY"); }),
                "config error: EVERY = " + std::to_string(bad) +
                    " ms is invalid: must be > 0 (simulated time between checkpoints)");
      EXPECT_EQ(std::string(e.what()).find("config error: --checkpoint-every = "), 0u);
    }
  }
}

TEST(session, host_memory_check_refuses_what_does_not_fit_and_names_the_share_of_a_rank) {
  const std::string big = "[population.p]\nsize = 4000000000\nmodel = \"lif\"\n";
  const experiment_spec spec = spec_from(big);
  // The CUDA backend checks its device's memory itself.
  EXPECT_EQ(check_host_memory(spec, "cuda", true).needed, 0u);
  const std::string one = error_of<memory_error>([&] { check_host_memory(spec, "cpu", false); });
  EXPECT_EQ(one.rfind("the run needs about ", 0), 0u) << one;
  EXPECT_NE(one.find("may be used (75% of the "), std::string::npos) << one;
  const std::string four =
      error_of<memory_error>([&] { check_host_memory(spec, "cpu", false, 4); });
  EXPECT_EQ(four.rfind("each of the 4 ranks needs about ", 0), 0u) << four;
  // A small run passes and says what it needs.
  const memory_estimate e = check_host_memory(spec_from(default_config_text()), "cpu", true);
  EXPECT_GT(e.needed, 0u);
  EXPECT_GT(e.available, e.needed);
}

TEST(session, an_out_of_memory_message_says_what_was_estimated) {
  EXPECT_EQ(out_of_memory_message({}), "out of memory");
  const std::string m = out_of_memory_message({2048, 4096});
  EXPECT_EQ(m.rfind("out of memory: the run was estimated to need about 2.0 KiB and 4.0 KiB was "
                    "available when it started (",
                    0),
            0u)
      << m;
}

class run_session : public scratch_dir_test {
 protected:
  run_session() : scratch_dir_test("session") {}

  // A checkpoint at step 0 of `spec`'s run into `output` (no state: prepare_run does not read it).
  std::string write_checkpoint_of(const experiment_spec& spec, const std::string& output,
                                  std::vector<std::string> populations = {}) {
    checkpoint c;
    c.config_text = spec.config_text;
    c.simulator_version = simulator_version();
    c.output = output;
    if (populations.empty())
      for (const auto& p : spec.populations) populations.push_back(p.name);
    c.populations = populations;
    c.spikes.assign(populations.size(), 0);
    c.rows.assign(populations.size(), {});
    const std::string file = path("run.ckpt");
    write_checkpoint(file, c);
    return file;
  }
  communicator comm_;
};

TEST_F(run_session, a_fresh_run_checkpoints_beside_its_output) {
  run_request r;
  r.output = path("out.h5");
  r.checkpoint_every_ms = 5.0;
  const run_plan p = prepare_run(r, comm_);
  EXPECT_FALSE(p.resuming);
  EXPECT_EQ(p.spec.output.file, path("out.h5"));
  EXPECT_EQ(p.checkpoint_path, path("out.h5.ckpt"));
  EXPECT_EQ(p.checkpoint_every, checkpoint_interval_steps(5.0, p.spec.run.dt));
  EXPECT_GT(p.memory.needed, 0u);
  r.checkpoint = path("elsewhere.ckpt");
  EXPECT_EQ(prepare_run(r, comm_).checkpoint_path, path("elsewhere.ckpt"));
}

TEST_F(run_session, a_run_never_writes_the_file_it_reads) {
  run_request r;
  r.config = write("exp.toml", default_config_text());
  r.output = r.config;
  EXPECT_NE(error_of<error>([&] { prepare_run(r, comm_); }), "");
  r.output = path("out.h5");
  r.checkpoint = r.config;
  EXPECT_NE(error_of<error>([&] { prepare_run(r, comm_); }), "");
}

TEST_F(run_session, a_config_given_as_text_is_parsed_with_its_overrides_and_named) {
  run_request r;
  r.config_text = "[run]\ndt = 0.1\ntstop = 20.0\n[population.p]\nsize = 7\nmodel = \"lif\"\n";
  r.sets = {"population.p.size=9"};
  r.output = path("text.h5");
  const run_plan p = prepare_run(r, comm_);
  ASSERT_EQ(p.spec.populations.size(), 1u);
  EXPECT_EQ(p.spec.populations[0].size, 9u);
  EXPECT_EQ(p.spec.run.tstop, 20.0);
  // Messages name the text "<string>", or the name the front-end gives it; no file is read.
  run_request bad = r;
  bad.config_text = "[run\n";
  EXPECT_NE(error_of<config_error>([&] { prepare_run(bad, comm_); }).find("<string>:1"),
            std::string::npos);
  bad.config = path("absent.toml");
  EXPECT_NE(error_of<config_error>([&] { prepare_run(bad, comm_); }).find("absent.toml:1"),
            std::string::npos);
  r.config = path("absent.toml");
  r.sets = {};
  EXPECT_EQ(prepare_run(r, comm_).spec.populations[0].size, 7u);
}

TEST_F(run_session, a_resume_takes_the_checkpoints_config_output_and_file) {
  const experiment_spec spec = parse_config(default_config_text(), "<default>");
  run_request r;
  r.resume = write_checkpoint_of(spec, path("kept.h5"));
  const run_plan p = prepare_run(r, comm_);
  EXPECT_TRUE(p.resuming);
  EXPECT_EQ(p.spec.config_text, spec.config_text);
  EXPECT_EQ(p.spec.output.file, path("kept.h5"));  // the checkpoint's output
  EXPECT_EQ(p.checkpoint_path, r.resume);          // rewritten as the run goes on
  r.output = path("other.h5");
  EXPECT_EQ(prepare_run(r, comm_).spec.output.file, path("other.h5"));
}

TEST_F(run_session, a_resume_refuses_another_config_and_a_damaged_population_list) {
  const experiment_spec spec = parse_config(default_config_text(), "<default>");
  run_request r;
  r.resume = write_checkpoint_of(spec, path("kept.h5"));
  r.sets = {"run.tstop=123"};
  const std::string other = error_of<config_error>([&] { prepare_run(r, comm_); });
  EXPECT_NE(other.find("belongs to another configuration"), std::string::npos) << other;
  r.sets.clear();
  r.resume = write_checkpoint_of(spec, path("kept.h5"), {"a", "b", "c", "d", "e"});
  EXPECT_EQ(error_of<input_error>([&] { prepare_run(r, comm_); }),
            "checkpoint '" + r.resume + "' is damaged: it lists 5 populations, the config " +
                std::to_string(spec.populations.size()));
}

}  // namespace
}  // namespace spikesim::testing
