// Checkpoints: the backend state round trip (in memory and through the checkpoint file), a run
// stopped by a signal and resumed, a run killed with SIGKILL (its file opens, holds whole flushed
// chunks, and resumes), and the refusals (another config, another version, not a checkpoint).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <spikesim/checkpoint.hpp>
#include <spikesim/hdf5_writer.hpp>

#include "io/h5.hpp"
#include "test_support.hpp"

namespace spikesim::testing {
namespace {

namespace fs = std::filesystem;

// Every kind of state a checkpoint must carry: OU input (eta), HH gates, Poisson drive, delta and
// exp synapses with drawn weights and delays (ring buffers, i_syn), refractory counters.
const char* state_config = R"(
[run]
dt = 0.1
tstop = 300.0
random_seed = 11
[population.e]
size = 400
model = "eif"
params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, V_T = -40.0, V_peak = -30.0, V_reset = -70.0, t_ref = 2.0 }
init = { V = { uniform = [-70.0, -50.0] } }
input = { I = 7.5, sigma = 3.0, tau_noise = 5.0 }
[population.h]
size = 50
model = "hh"
input = { I = 8.0, sigma = 1.0 }
[population.l]
size = 300
model = "lif"
params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }
init = { V = { uniform = [0.0, 20.0] } }
input = { poisson = { rate = 20.0, count = 1000, weight = 0.1 } }
[projection.el]
source = "e"
target = "l"
rule = "fixed_indegree"
indegree = 40
synapse = "exp"
tau_syn = 2.0
weight = { normal = [0.05, 0.02] }
delay = { uniform = [1.0, 3.0] }
[projection.le]
source = "l"
target = "e"
rule = "fixed_probability"
p = 0.05
weight = -0.2
delay = 1.5
)";

struct split_run {
  memory_recorder before, after;
  uint64_t stopped_at = 0;
};

void expect_same_spikes(const memory_recorder& full, const memory_recorder& a,
                        const memory_recorder& b) {
  ASSERT_EQ(full.populations.size(), a.populations.size());
  for (size_t p = 0; p < full.populations.size(); ++p) {
    population_chunk joined = a.populations[p];
    append(joined, b.populations[p]);
    EXPECT_GT(full.populations[p].spike_ids.size(), 0u) << "population " << p << " is silent";
    EXPECT_EQ(joined.spike_steps, full.populations[p].spike_steps) << "population " << p;
    EXPECT_EQ(joined.spike_ids, full.populations[p].spike_ids) << "population " << p;
    EXPECT_EQ(joined.counts, full.populations[p].counts) << "population " << p;
  }
}

class checkpoint_state : public backend_test {};

// The state after a stop, through save_state and (optionally) a checkpoint file, into a fresh
// backend, continues exactly as the uninterrupted run.
TEST_P(checkpoint_state, resumed_run_equals_uninterrupted_run) {
  const auto spec = spec_from(state_config);
  backend_options opt;
  opt.kind = backend_kind();
  memory_recorder full;
  {
    auto b = make_backend(spec, opt, nullptr);
    simulate(spec, *b, full);
  }
  for (const bool through_file : {false, true}) {
    SCOPED_TRACE(through_file ? "through a checkpoint file" : "in memory");
    std::atomic<bool> stop{false};
    run_options ro;
    ro.stop = &stop;
    ro.progress = [&](uint64_t done, uint64_t) { stop = done >= 1234; };
    std::vector<uint64_t> spikes_at_stop;
    uint64_t step_at_stop = 0;
    ro.checkpoint = [&](uint64_t step, const std::vector<uint64_t>& spikes) {
      step_at_stop = step;
      spikes_at_stop = spikes;
    };
    memory_recorder first, second;
    std::vector<state_array> state;
    {
      auto b = make_backend(spec, opt, nullptr);
      const auto s = simulate(spec, *b, first, ro);
      ASSERT_EQ(s.status, run_status::interrupted);
      ASSERT_GE(s.steps, 1234u);
      ASSERT_LT(s.steps, spec.run.steps());
      EXPECT_EQ(step_at_stop, s.steps) << "the checkpoint callback is not called at the stop";
      state = b->save_state();
    }
    if (through_file) {
      const std::string path = (fs::temp_directory_path() / "spikesim_state_test.ckpt").string();
      checkpoint c;
      c.step = step_at_stop;
      c.config_text = spec.config_text;
      c.simulator_version = simulator_version();
      for (const auto& p : spec.populations) c.populations.push_back(p.name);
      c.spikes = spikes_at_stop;
      c.rows.resize(spec.populations.size());
      for (auto& r : c.rows) r.counts = step_at_stop;  // one row of counts per step
      c.state = state;
      write_checkpoint(path, c);
      const checkpoint r = read_checkpoint(path);
      fs::remove(path);
      EXPECT_EQ(r.step, c.step);
      EXPECT_EQ(r.spikes, c.spikes);
      ASSERT_EQ(r.state.size(), state.size());
      for (size_t k = 0; k < state.size(); ++k) {
        EXPECT_EQ(r.state[k].name, state[k].name);
        EXPECT_EQ(r.state[k].type, state[k].type);
        EXPECT_EQ(r.state[k].bytes, state[k].bytes) << state[k].name;
      }
      state = r.state;
    }
    // The arrays that make this config's state non-trivial are all there.
    for (const char* name : {"population/e/eta", "population/h/m", "population/l/ring_exp",
                             "population/e/ring_delta", "population/l/i_syn"}) {
      bool found = false;
      for (const auto& a : state) found |= a.name == name;
      EXPECT_TRUE(found) << name;
    }
    auto b = make_backend(spec, opt, nullptr);
    b->restore_state(state);
    run_options rest;
    rest.start_step = step_at_stop;
    rest.start_spikes = spikes_at_stop;
    const auto s = simulate(spec, *b, second, rest);
    EXPECT_EQ(s.status, run_status::complete);
    EXPECT_EQ(s.steps, spec.run.steps());
    expect_same_spikes(full, first, second);
  }
}

// Sources hold no state but their place in a times list, which a resumed run finds from its
// step: a Poisson window and a times list that span the stop resume as the uninterrupted run.
TEST_P(checkpoint_state, resumed_run_with_sources_equals_uninterrupted_run) {
  const auto spec = spec_from(R"(
[run]
dt = 0.1
tstop = 250.0
chunk_steps = 100
[population.th]
size = 100
source = { poisson = { rate = 100.0, start = 100.0, stop = 200.0 } }
[population.rep]
size = 3
source = { times = [[0, 50.0], [1, 123.0], [2, 123.5], [0, 124.0], [1, 180.0], [2, 240.0]] }
[population.l]
size = 200
model = "lif"
params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }
input = { I = 19.0, sigma = 2.0 }
[projection.th_l]
source = "th"
target = "l"
rule = "fixed_total_number"
N = 2000
synapse = "exp"
tau_syn = 0.5
weight = 0.5
delay = 1.5
[projection.rep_l]
source = "rep"
target = "l"
rule = "all_to_all"
weight = 1.0
delay = 2.0
)");
  backend_options opt;
  opt.kind = backend_kind();
  memory_recorder full, first, second;
  simulate(spec, *make_backend(spec, opt, nullptr), full);
  std::atomic<bool> stop{false};
  run_options ro;
  ro.stop = &stop;
  ro.progress = [&](uint64_t done, uint64_t) { stop = done >= 1234; };
  run_options rest;
  ro.checkpoint = [&](uint64_t step, const std::vector<uint64_t>& spikes) {
    rest.start_step = step;
    rest.start_spikes = spikes;
  };
  std::vector<state_array> state;
  {
    auto b = make_backend(spec, opt, nullptr);
    ASSERT_EQ(simulate(spec, *b, first, ro).status, run_status::interrupted);
    state = b->save_state();
  }
  ASSERT_GT(rest.start_step, 1000u);
  ASSERT_LT(rest.start_step, 1800u);
  auto b = make_backend(spec, opt, nullptr);
  b->restore_state(state);
  EXPECT_EQ(simulate(spec, *b, second, rest).status, run_status::complete);
  expect_same_spikes(full, first, second);
}

TEST_P(checkpoint_state, restore_refuses_arrays_of_another_size) {
  const auto spec = spec_from(state_config);
  backend_options opt;
  opt.kind = backend_kind();
  auto b = make_backend(spec, opt, nullptr);
  auto state = b->save_state();
  auto small = spec_from(state_config, {"population.e.size=399"});
  auto b2 = make_backend(small, opt, nullptr);
  try {
    b2->restore_state(state);
    FAIL() << "a state of 400 neurons was restored into 399";
  } catch (const input_error& e) {
    EXPECT_NE(std::string(e.what()).find("population/e/u"), std::string::npos) << e.what();
  }
}

// A checkpoint whose bytes were altered, or whose values cannot be a state, is refused (exit 3)
// naming the array, instead of resuming to another result.
TEST(checkpoint_file, damaged_arrays_are_refused_naming_what_is_wrong) {
  const auto spec = spec_from(state_config);
  backend_options opt;
  opt.kind = "cpu";
  auto b = make_backend(spec, opt, nullptr);
  checkpoint c;
  c.config_text = spec.config_text;
  c.simulator_version = simulator_version();
  for (const auto& p : spec.populations) c.populations.push_back(p.name);
  c.spikes.assign(spec.populations.size(), 0);
  c.rows.resize(spec.populations.size());
  c.state = b->save_state();
  const std::string path =
      (fs::temp_directory_path() / ("spikesim_damaged_" + std::to_string(getpid()) + ".ckpt"))
          .string();
  auto expect_refused = [&](const std::string& needle) {
    try {
      read_checkpoint(path);
      ADD_FAILURE() << "a damaged checkpoint was read";
    } catch (const input_error& e) {
      EXPECT_EQ(e.kind(), error_kind::input);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    const auto r = spikesim_cli("run --resume " + path + " -o " + path + ".h5 --quiet");
    EXPECT_EQ(r.code, 3) << r.out;
    EXPECT_NE(r.out.find(needle), std::string::npos) << r.out;
  };
  // One byte of the membrane potentials changed on disk: the checksum fails.
  write_checkpoint(path, c);
  EXPECT_NO_THROW(read_checkpoint(path));
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(path, false);
    h5::handle ds(H5Dopen2(f, "state/population/e/u", H5P_DEFAULT), H5Dclose);
    h5::handle space(H5Dget_space(ds), H5Sclose);
    haddr_t addr = 0;
    hsize_t size = 0;
    ASSERT_GE(H5Dget_chunk_info(ds, space, 0, nullptr, nullptr, &addr, &size), 0);
    std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(addr + 17));
    char byte = 0;
    io.get(byte);
    io.seekp(static_cast<std::streamoff>(addr + 17));
    io.put(static_cast<char>(byte ^ 0x10));
  }
  expect_refused("population/e/u' cannot be read or fails its Fletcher-32 checksum");
  // A negative refractory count, written with a valid checksum.
  for (auto& a : c.state)
    if (a.name == "population/l/ref") {
      const int32_t bad = -3;
      std::memcpy(a.bytes.data() + 5 * sizeof bad, &bad, sizeof bad);
    }
  write_checkpoint(path, c);
  expect_refused("population/l/ref[5] = -3 (a refractory count < 0)");
  fs::remove(path);
}

SPIKESIM_INSTANTIATE_BACKENDS(checkpoint_state);

// ------------------------------------------------------------------------ the command line

class checkpoint_cli : public scratch_dir_test {
 protected:
  checkpoint_cli() : scratch_dir_test("ckpt") {}

  // A reduced Brunel network (2500 neurons, delta synapses, Poisson drive, traces) for `tstop`
  // ms; each run takes a few seconds, so a signal can reach it in the middle.
  static std::string brunel(const std::string& tstop) {
    return std::string(SPIKESIM_SOURCE_DIR) + "/examples/brunel.toml --set run.tstop=" + tstop +
           " --set population.exc.size=2000 --set population.inh.size=500" +
           " --set projection.ee.indegree=200 --set projection.ei.indegree=200" +
           " --set projection.ie.indegree=50 --set projection.ii.indegree=50" +
           " --set analysis.t_start=100 --threads 2";
  }
};

template <class T>
std::vector<T> read(const std::string& file, const std::string& dataset) {
  h5::quiet_errors quiet;
  auto f = h5::open_file(file, false);
  return h5::read_vector<T>(f, dataset);
}

std::vector<float> read_traces(const std::string& file, const std::string& pop) {
  h5::quiet_errors quiet;
  auto f = h5::open_file(file, false);
  h5::handle ds(H5Dopen2(f, ("report/" + pop + "/data").c_str(), H5P_DEFAULT), H5Dclose);
  h5::handle space(H5Dget_space(ds), H5Sclose);
  hsize_t dims[2] = {0, 0};
  H5Sget_simple_extent_dims(space, dims, nullptr);
  std::vector<float> v(dims[0] * dims[1]);
  if (!v.empty()) H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
  return v;
}

std::string status_of(const std::string& file) {
  h5::quiet_errors quiet;
  auto f = h5::open_file(file, false);
  return h5::read_attr_string(f, "status");
}

// Everything a run writes per step, and the statistics, are the same in both files.
void expect_same_output(const std::string& a, const std::string& b) {
  for (const std::string pop : {"exc", "inh"}) {
    SCOPED_TRACE(pop);
    const auto ta = read<double>(a, "spikes/" + pop + "/timestamps");
    EXPECT_GT(ta.size(), 1000u);
    EXPECT_EQ(ta, read<double>(b, "spikes/" + pop + "/timestamps"));
    EXPECT_EQ(read<uint64_t>(a, "spikes/" + pop + "/node_ids"),
              read<uint64_t>(b, "spikes/" + pop + "/node_ids"));
    EXPECT_EQ(read<uint32_t>(a, "activity/" + pop + "/spikes_per_step"),
              read<uint32_t>(b, "activity/" + pop + "/spikes_per_step"));
    EXPECT_EQ(read<double>(a, "analysis/" + pop + "/rate_hz"),
              read<double>(b, "analysis/" + pop + "/rate_hz"));
    EXPECT_EQ(read<double>(a, "analysis/" + pop + "/population_rate"),
              read<double>(b, "analysis/" + pop + "/population_rate"));
  }
  EXPECT_EQ(read_traces(a, "exc"), read_traces(b, "exc"));
  EXPECT_EQ(status_of(b), "complete");
}

TEST_F(checkpoint_cli, signals_write_a_checkpoint_and_resume_gives_the_same_output) {
  const auto full = path("full.h5");
  auto r = spikesim_cli("run " + brunel("5000") + " -o " + full + " --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(fs::exists(full + ".ckpt")) << "a complete run leaves no checkpoint";

  int k = 0;
  for (const int sig : {SIGUSR1, SIGTERM}) {
    SCOPED_TRACE(sig == SIGUSR1 ? "SIGUSR1" : "SIGTERM");
    const auto out = path("part" + std::to_string(k++) + ".h5");
    const pid_t pid =
        start_spikesim("run " + brunel("5000") + " -o " + out + " --quiet", path("log"));
    wait_for_file(out + ".partial", 800);
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 75) << "the run ended before the signal: make it longer";
    ASSERT_TRUE(fs::exists(out));
    ASSERT_TRUE(fs::exists(out + ".ckpt")) << "no checkpoint on " << sig;
    EXPECT_EQ(status_of(out), "interrupted");
    const checkpoint c = read_checkpoint(out + ".ckpt");
    EXPECT_GT(c.step, 0u);
    EXPECT_LT(c.step, 50000u);
    // The file and the checkpoint agree: the activity has exactly the checkpoint's steps.
    EXPECT_EQ(read<uint32_t>(out, "activity/exc/spikes_per_step").size(), c.step);

    r = spikesim_cli("run " + brunel("5000") + " --resume " + out + ".ckpt --quiet");
    ASSERT_EQ(r.code, 0) << r.out;
    expect_same_output(full, out);
    EXPECT_FALSE(fs::exists(out + ".ckpt")) << "the checkpoint outlived the completed run";
  }
}

TEST_F(checkpoint_cli, sigkill_leaves_a_readable_file_that_resumes) {
  const auto full = path("full.h5");
  auto r = spikesim_cli("run " + brunel("5000") + " -o " + full + " --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto exc_full = read<uint32_t>(full, "activity/exc/spikes_per_step");
  const auto t_full = read<double>(full, "spikes/exc/timestamps");

  const auto out = path("killed.h5");
  const pid_t pid = start_spikesim(
      "run " + brunel("5000") + " -o " + out + " --checkpoint-every 100 --quiet", path("log"));
  wait_for_file(out + ".ckpt", 300);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run ended before the kill: make it longer";
  ASSERT_TRUE(fs::exists(out + ".partial"));
  EXPECT_FALSE(fs::exists(out));

  // The HDF5 library opens the killed file, and it holds whole chunks (of 1000 steps, the
  // automatic length for 2500 neurons), equal to the beginning of the uninterrupted run.
  EXPECT_EQ(status_of(out + ".partial"), "running");
  const auto counts = read<uint32_t>(out + ".partial", "activity/exc/spikes_per_step");
  ASSERT_GT(counts.size(), 0u);
  ASSERT_LT(counts.size(), exc_full.size());
  EXPECT_EQ(counts.size() % 1000, 0u);
  EXPECT_TRUE(std::equal(counts.begin(), counts.end(), exc_full.begin()));
  const auto t = read<double>(out + ".partial", "spikes/exc/timestamps");
  ASSERT_LE(t.size(), t_full.size());
  EXPECT_TRUE(std::equal(t.begin(), t.end(), t_full.begin()));
  const checkpoint c = read_checkpoint(out + ".ckpt");
  // Every 100 ms = 1000 steps: at the end of a chunk.
  EXPECT_EQ(c.step % 1000, 0u);
  EXPECT_GE(c.step, 1000u);
  EXPECT_LE(c.step, counts.size());
  {
    // The attributes docs/output.md lists are there: the steps the file holds at least.
    h5::quiet_errors quiet;
    auto f = h5::open_file(out + ".partial", false);
    const uint64_t steps = h5::read_attr_u64(f, "steps");
    EXPECT_GE(steps, c.step);
    EXPECT_LE(steps, counts.size());
    EXPECT_DOUBLE_EQ(h5::read_attr_double(f, "simulated_ms"), static_cast<double>(steps) * 0.1);
  }

  r = spikesim_cli("run " + brunel("5000") + " --resume " + out + ".ckpt --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  expect_same_output(full, out);
  EXPECT_FALSE(fs::exists(out + ".partial"));
}

TEST_F(checkpoint_cli, refuses_other_config_other_version_and_other_files) {
  const auto out = path("p.h5");
  const pid_t pid =
      start_spikesim("run " + brunel("5000") + " -o " + out + " --quiet", path("log"));
  wait_for_file(out + ".partial", 500);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_EQ(WEXITSTATUS(status), 75);
  const auto ckpt = out + ".ckpt";
  ASSERT_TRUE(fs::exists(ckpt));

  // Another configuration: exit 2, naming the line that differs.
  auto r = spikesim_cli("run " + brunel("5000") + " --set projection.ee.weight=0.2 --resume " +
                        ckpt + " --quiet");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("belongs to another configuration"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("weight = 0.2"), std::string::npos) << r.out;
  EXPECT_EQ(status_of(out), "interrupted") << "a refused resume touched the output";

  // Another version: exit 2.
  const auto other = path("other.ckpt");
  fs::copy_file(ckpt, other);
  {
    h5::quiet_errors quiet;
    auto f = h5::open_file(other, true);
    h5::attr(f, "simulator_version", std::string("0.0.0-other"));
  }
  r = spikesim_cli("run " + brunel("5000") + " --resume " + other + " --quiet");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("0.0.0-other"), std::string::npos) << r.out;

  // Not a checkpoint (a run's output), and a missing file: exit 3.
  r = spikesim_cli("run " + brunel("5000") + " --resume " + out + " --quiet");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("not a spikesim checkpoint"), std::string::npos) << r.out;
  r = spikesim_cli("run --resume " + path("missing.ckpt"));
  EXPECT_EQ(r.code, 3) << r.out;

  // The finished output of another run named by -o: refused (exit 3), and left as it was.
  r = spikesim_cli("run " + brunel("200") + " -o " + path("other.h5") + " --quiet");
  ASSERT_EQ(r.code, 0) << r.out;
  r = spikesim_cli("run --resume " + ckpt + " -o " + path("other.h5") + " --quiet");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("not the output of the checkpointed run"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(path("other.h5")));
  EXPECT_FALSE(fs::exists(path("other.h5.partial")));
  EXPECT_EQ(status_of(path("other.h5")), "complete");

  // Without CONFIG the checkpoint's own config is used; the output is gone: exit 3, named.
  fs::rename(out, path("moved.h5"));
  r = spikesim_cli("run --resume " + ckpt + " --quiet");
  EXPECT_EQ(r.code, 3) << r.out;
  EXPECT_NE(r.out.find("does not exist"), std::string::npos) << r.out;
  // ... and with the output back in place (-o names it), it completes.
  r = spikesim_cli("run --resume " + ckpt + " -o " + path("moved.h5") + " --quiet");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(status_of(path("moved.h5")), "complete");

  r = spikesim_cli("run " + brunel("200") + " -o " + path("x.h5") + " --checkpoint-every -5");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--checkpoint-every"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("x.h5")));
}

}  // namespace
}  // namespace spikesim::testing
