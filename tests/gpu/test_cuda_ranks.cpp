// The CUDA backend over ranks: R CUDA backends in R threads on the one device, joined by
// thread_exchange, give bit for bit the output and the checkpoints of one process of the CPU
// backend and of the CUDA backend (the cases of rank_cases.hpp, which validation/test_ranks.cpp
// runs on the CPU backend). These tests are named "<...>/cuda" (label gpu) and skip themselves
// without a device.
#include "rank_cases.hpp"

namespace spikesim::testing {
namespace {

class cuda_ranks : public backend_test {};

TEST_P(cuda_ranks, network_over_2_and_3_ranks_gives_the_output_of_one_process) {
  for (const char* prec : {"double", "float"}) {
    SCOPED_TRACE(prec);
    const auto spec = spec_from(ranks_brunel, {std::string("run.precision=\"") + prec + "\""});
    expect_ranks_give_one_process(backend_kind(), spec, {2, 3});
  }
}

TEST_P(cuda_ranks, network_in_chunks_shorter_than_the_delay_over_2_ranks) {
  // An exchange every 3 steps, each chunk's successor launched speculatively after it, and a
  // last short chunk (1499 = 499 x 3 + 2).
  const auto spec = spec_from(ranks_brunel, {"run.chunk_steps=3", "run.tstop=149.9"});
  ASSERT_EQ(chunk_steps_for(spec), 3u);
  ASSERT_EQ(spec.run.steps(), 1499u);
  expect_ranks_give_one_process(backend_kind(), spec, {2});
}

TEST_P(cuda_ranks, eif_and_hh_populations_over_3_and_4_ranks_give_the_output_of_one_process) {
  expect_ranks_give_one_process(backend_kind(), spec_from(ranks_populations), {3, 4});
}

TEST_P(cuda_ranks, checkpoint_over_ranks_is_the_cpus_and_resumes_on_any_number) {
  expect_checkpoints_over_ranks(backend_kind());
}

TEST_P(cuda_ranks, a_numerical_failure_on_one_rank_is_thrown_on_every_rank) {
  expect_failure_on_every_rank(backend_kind());
}

INSTANTIATE_TEST_SUITE_P(Gpu, cuda_ranks, ::testing::Values("cuda"), backend_name);

}  // namespace
}  // namespace spikesim::testing
