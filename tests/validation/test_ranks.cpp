// A network spread over ranks, without MPI: R CPU backends in R threads, joined by an in-process
// rank_exchange, must give the spikes, counts and traces of one backend for the whole network
// (the cases, shared with the CUDA backend's tests, are in rank_cases.hpp); the partition and the
// sliced builds (population state, connectivity) are checked on their own.
#include "cpu/connectivity.hpp"
#include "population_state.hpp"
#include "rank_cases.hpp"

namespace spikesim::testing {
namespace {

TEST(ranks, partition_is_contiguous_balanced_and_complete) {
  const auto spec = spec_from(ranks_brunel);
  for (int ranks : {1, 2, 3, 4, 7, 600}) {
    uint64_t global = 0, smallest = ~uint64_t{0}, largest = 0;
    std::vector<uint64_t> next(spec.populations.size(), 0);
    for (int r = 0; r < ranks; ++r) {
      const auto s = partition_neurons(spec, r, ranks);
      ASSERT_EQ(s.size(), spec.populations.size());
      uint64_t mine = 0;
      for (size_t p = 0; p < s.size(); ++p) {
        if (s[p].size() == 0) continue;
        EXPECT_EQ(s[p].lo, next[p]) << ranks << " ranks, rank " << r;
        next[p] = s[p].hi;
        mine += s[p].size();
      }
      global += mine;
      smallest = std::min(smallest, mine);
      largest = std::max(largest, mine);
    }
    EXPECT_EQ(global, spec.total_neurons());
    for (size_t p = 0; p < next.size(); ++p) EXPECT_EQ(next[p], spec.populations[p].size);
    EXPECT_LE(largest - smallest, 1u) << ranks << " ranks";
  }
}

TEST(ranks, sliced_builds_are_slices_of_the_whole) {
  const auto spec = spec_from(ranks_brunel);
  for (const auto& q : spec.projections) {
    const csr_projection whole = build_projection(spec, q, 2);
    const neuron_slice sl{37, 250};
    const csr_projection part = build_projection(spec, q, 2, sl);
    ASSERT_EQ(part.row.size(), whole.row.size()) << q.name;
    for (uint64_t s = 0; s + 1 < whole.row.size(); ++s) {
      std::vector<uint64_t> expected, got;
      std::vector<int64_t> w_expected, w_got;
      for (uint64_t k = whole.row[s]; k < whole.row[s + 1]; ++k)
        if (whole.targets[k] >= sl.lo && whole.targets[k] < sl.hi) {
          expected.push_back(whole.targets[k] - sl.lo);
          w_expected.push_back(whole.weights.empty() ? whole.weight : whole.weights[k]);
          w_expected.push_back(whole.delays.empty() ? whole.delay : whole.delays[k]);
        }
      for (uint64_t k = part.row[s]; k < part.row[s + 1]; ++k) {
        got.push_back(part.targets[k]);
        w_got.push_back(part.weights.empty() ? part.weight : part.weights[k]);
        w_got.push_back(part.delays.empty() ? part.delay : part.delays[k]);
      }
      ASSERT_EQ(got, expected) << q.name << ", source " << s;
      ASSERT_EQ(w_got, w_expected) << q.name << ", source " << s;
    }
  }
  const auto& p = spec.populations[0];
  const auto whole = make_population_state<double>(spec, p);
  const auto part = make_population_state<double>(spec, p, {100, 300});
  ASSERT_EQ(part.u.size(), 200u);
  EXPECT_EQ(part.id_offset, 100u);
  for (uint64_t i = 0; i < 200; ++i) EXPECT_EQ(part.u[i], whole.u[100 + i]) << i;
}

TEST(ranks, network_over_ranks_gives_the_spikes_of_one_process) {
  expect_ranks_give_one_process("cpu", spec_from(ranks_brunel), {2, 3, 5});
}

TEST(ranks, populations_over_ranks_give_the_output_of_one_process) {
  expect_ranks_give_one_process("cpu", spec_from(ranks_populations), {3, 4});
}

TEST(ranks, checkpoint_over_ranks_is_that_of_one_process_and_resumes_on_any_number) {
  expect_checkpoints_over_ranks("cpu");
}

TEST(ranks, slice_state_refuses_arrays_that_do_not_fit_the_population) {
  const auto spec = spec_from(ranks_brunel);
  std::vector<state_array> st{state_array::of("population/exc/u", std::vector<double>(401))};
  EXPECT_THROW(slice_state(spec, st, 0, 2), input_error);
  st = {state_array::of("population/nobody/u", std::vector<double>(400))};
  EXPECT_THROW(slice_state(spec, st, 0, 2), input_error);
}

TEST(ranks, a_numerical_failure_on_one_rank_is_thrown_on_every_rank_with_its_rank) {
  expect_failure_on_every_rank("cpu");
}

// Over ranks the CPU backend takes chunks longer than the shortest delay D and integrates them in
// pieces of D / 2 steps, each piece's exchange running while the next piece is integrated.
// Chunks of any length, and a shortest delay of 2 steps (pieces of one step, whose spikes are
// delivered just before the step they arrive in), give the output of one process.
TEST(ranks, overlapped_pieces_of_any_chunk_give_the_output_of_one_process) {
  for (const char* chunk : {"run.chunk_steps=7", "run.chunk_steps=1000"})
    expect_ranks_give_one_process("cpu", spec_from(ranks_brunel, {chunk}), {2, 3});
  const auto spec = spec_from(ranks_brunel, {"projection.ee.delay=0.2", "projection.ei.delay=0.3",
                                             "projection.ie.delay=0.2", "projection.ii.delay=0.2"});
  ASSERT_EQ(spec.min_delay_steps(), 2u);
  EXPECT_EQ(chunk_steps_for(spec, make_on("cpu", spec)->max_chunk_steps(spec)), 1000u)
      << "one process: the automatic chunk, integrated in pieces of D";
  on_ranks(2, [&](int, rank_exchange& x) {
    EXPECT_EQ(chunk_steps_for(spec, make_on("cpu", spec, &x)->max_chunk_steps(spec)), 1000u)
        << "over ranks: the automatic chunk";
  });
  expect_ranks_give_one_process("cpu", spec, {2, 3});
}

// A failure in an overlapped piece: the failing rank stops after sending it, the others after
// integrating one more piece, and every rank throws it when that piece's exchange finishes.
TEST(ranks, a_numerical_failure_in_an_overlapped_piece_is_thrown_on_every_rank) {
  expect_failure_on_every_rank("cpu", R"(
[projection.aa]
source = "a"
target = "a"
rule = "all_to_all"
weight = 0.1
delay = 1.0
)");
}

TEST(ranks, auto_runs_every_rank_on_the_same_backend) {
  // The CUDA backend when every rank has its device, else the CPU on every rank: here a rank 1
  // whose device ordinal does not exist keeps rank 0 off its device too.
  const auto spec = spec_from(ranks_brunel);
  const bool device = cuda_built() && cuda_device_count() > 0;
  for (bool second_without : {false, true}) {
    std::vector<std::string> names(2), notices(2);
    on_ranks(2, [&](int r, rank_exchange& x) {
      backend_options opt;
      opt.kind = "auto";
      opt.threads = 1;
      opt.device = second_without && r == 1 ? 1000 : 0;
      opt.exchange = &x;
      names[r] = make_backend(spec, opt, &notices[r])->name();
    });
    const bool cuda = device && !second_without;
    for (int r = 0; r < 2; ++r) {
      EXPECT_EQ(names[r], cuda ? "cuda" : "cpu") << "rank " << r;
      EXPECT_EQ(notices[r].empty(), cuda) << "rank " << r << ": " << notices[r];
      // The first rank without a device is named: rank 0 when there is no device at all.
      if (cuda_built() && !cuda)
        EXPECT_NE(notices[r].find(device ? "rank 1 " : "rank 0 "), std::string::npos) << notices[r];
    }
  }
}

}  // namespace
}  // namespace spikesim::testing
