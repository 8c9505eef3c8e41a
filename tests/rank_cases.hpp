// The tests of a network spread over ranks, written once for both backends: R backends of one
// kind in R threads, joined by thread_exchange, against one process of the CPU backend (the
// reference) and of the same kind. validation/test_ranks.cpp runs them on the CPU backend,
// gpu/test_cuda_ranks.cpp on the CUDA backend.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "parity.hpp"
#include "rank_threads.hpp"
#include "test_support.hpp"

namespace spikesim::testing {

// Runs fn(rank, exchange) in `ranks` threads joined by one thread_group; no rank may throw.
template <class F>
void on_ranks(int ranks, F fn) {
  thread_group group(ranks);
  std::vector<std::string> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r) {
    threads.emplace_back([&, r] {
      try {
        thread_exchange x(group, r);
        fn(r, x);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < ranks; ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
}

// A backend of `kind` (cpu: one thread; cuda: device 0), over ranks with `x`.
inline std::unique_ptr<backend> make_on(const std::string& kind, const experiment_spec& spec,
                                        rank_exchange* x = nullptr) {
  backend_options opt;
  opt.kind = kind;
  opt.threads = 1;
  opt.exchange = x;
  return make_backend(spec, opt, nullptr);
}

// Every rank's recorder; all of them must hold the whole network's output.
inline std::vector<memory_recorder> run_on_ranks(const std::string& kind,
                                                 const experiment_spec& spec, int ranks) {
  std::vector<memory_recorder> recs(ranks);
  on_ranks(ranks, [&](int r, rank_exchange& x) {
    auto b = make_on(kind, spec, &x);
    EXPECT_EQ(b->name(), kind);
    simulate(spec, *b, recs[r]);
  });
  return recs;
}

// The whole output of one process (`a`) and of `what` (`b`), bit for bit; a failure names the
// first difference (parity.hpp).
inline void expect_same_output(const experiment_spec& spec, const memory_recorder& a,
                               const memory_recorder& b, const std::string& what) {
  EXPECT_TRUE(same_output(spec, a.populations, b.populations, {"one process", what}));
}

// A small Brunel network: delta and exp synapses, fixed in-degree without multapses, fixed
// probability and all-to-all projections, drawn weights and delays, Poisson drive, traces.
inline const char* const ranks_brunel = R"(
[run]
dt = 0.1
tstop = 150.0
random_seed = 3
[population.exc]
size = 400
model = "lif"
params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }
init = { V = { uniform = [0.0, 20.0] } }
input = { poisson = { rate = 20.0, count = 1000, weight = 0.1 } }
record = { traces = [0, 133, 134, 399] }
[population.inh]
size = 101
model = "lif"
params = { tau_m = 20.0, E_L = 0.0, R_m = 1.0, V_th = 20.0, V_reset = 10.0, t_ref = 2.0 }
init = { V = { uniform = [0.0, 20.0] } }
input = { poisson = { rate = 20.0, count = 1000, weight = 0.1 } }
[projection.ee]
source = "exc"
target = "exc"
rule = "fixed_indegree"
indegree = 40
weight = 0.1
delay = { uniform = [1.0, 2.0] }
autapses = false
multapses = false
[projection.ei]
source = "exc"
target = "inh"
rule = "fixed_probability"
p = 0.1
weight = { normal = [0.1, 0.02] }
delay = 1.5
[projection.ie]
source = "inh"
target = "exc"
rule = "fixed_indegree"
indegree = 10
weight = -0.5
delay = 1.5
synapse = "exp"
tau_syn = 2.0
[projection.ii]
source = "inh"
target = "inh"
rule = "all_to_all"
weight = -0.05
delay = 1.5
)";

// EIF with OU noise, a ramped current and a ramped pulse; an HH population, which one of three
// ranks holds alone; traces on both sides of the slice boundaries.
inline const char* const ranks_populations = R"(
[run]
dt = 0.05
tstop = 100.0
random_seed = 11
[population.eif]
size = 1000
model = "eif"
params = { tau_m = 10.0, E_L = -70.0, R_m = 4.0, delta_T = 1.0, V_T = -50.0, V_peak = -30.0, V_reset = -70.0, t_ref = 1.0 }
init = { V = { uniform = [-70.0, -55.0] } }
input = { I = { from = 2.0, to = 8.0 }, sigma = 2.0, tau_noise = 5.0, pulses = [ { start = 20.0, stop = 40.0, amplitude = { from = 0.0, to = 1.0 } } ] }
record = { traces = [0, 369, 370, 739, 740, 999], trace_every = 3 }
[population.hh]
size = 110
model = "hh"
input = { I = { from = 5.0, to = 15.0 }, sigma = 1.0 }
record = { traces = [5, 109] }
)";

// `spec` over each number of ranks in `ranks` gives, on every rank, the output of one process of
// the CPU backend and of one process of `kind`.
inline void expect_ranks_give_one_process(const std::string& kind, const experiment_spec& spec,
                                          const std::vector<int>& ranks) {
  const auto one = run_on("cpu", spec, 1);
  ASSERT_GT(one.rec.populations[0].total_spikes, 100u);
  if (kind != "cpu")
    expect_same_output(spec, one.rec, run_on(kind, spec).rec, "one process of " + kind);
  for (int n : ranks) {
    const auto recs = run_on_ranks(kind, spec, n);
    for (int r = 0; r < n; ++r)
      expect_same_output(spec, one.rec, recs[r],
                         std::to_string(n) + " ranks of " + kind + ", rank " + std::to_string(r));
  }
}

inline std::map<std::string, const state_array*> by_name(const std::vector<state_array>& st) {
  std::map<std::string, const state_array*> m;
  for (const auto& a : st) m[a.name] = &a;
  return m;
}

inline void expect_same_state(const std::vector<state_array>& a, const std::vector<state_array>& b,
                              const std::string& what) {
  const auto x = by_name(a), y = by_name(b);
  ASSERT_EQ(x.size(), y.size()) << what;
  for (const auto& [name, p] : x) {
    ASSERT_TRUE(y.count(name)) << what << ": " << name;
    const state_array* q = y.at(name);
    EXPECT_EQ(p->type, q->type) << what << ": " << name;
    EXPECT_EQ(p->count, q->count) << what << ": " << name;
    EXPECT_TRUE(p->bytes == q->bytes) << what << ": " << name << " differs";
  }
}

// What `full` recorded from step `from` on (from a multiple of every trace_every).
inline population_chunk tail(const population_chunk& full, uint64_t from, uint64_t trace_every) {
  population_chunk t;
  for (size_t k = 0; k < full.spike_steps.size(); ++k)
    if (full.spike_steps[k] >= from) {
      t.spike_steps.push_back(full.spike_steps[k]);
      t.spike_ids.push_back(full.spike_ids[k]);
    }
  t.counts.assign(full.counts.begin() + static_cast<std::ptrdiff_t>(from), full.counts.end());
  for (const uint32_t c : t.counts) t.total_spikes += c;
  const uint64_t row = (from + trace_every - 1) / trace_every;
  t.trace_rows = full.trace_rows - row;
  const uint64_t per_row = full.trace_rows ? full.traces.size() / full.trace_rows : 0;
  t.traces.assign(full.traces.begin() + static_cast<std::ptrdiff_t>(row * per_row),
                  full.traces.end());
  return t;
}

// For both networks (their state has every kind of array: delta and exp rings with drawn delays,
// exp currents, Poisson drive; OU input, HH gates, ramps, pulses): a checkpoint saved over 2 and
// 3 ranks of `kind` holds on rank 0 the state of one CPU process, bitwise, and nothing on the
// others; resumed from the 2-rank state on one process and on 3 ranks of `kind`, and from the
// one-process state on 4, it gives the rest of the run of one process.
inline void expect_checkpoints_over_ranks(const std::string& kind) {
  for (const char* config : {ranks_brunel, ranks_populations}) {
    const auto spec = spec_from(config, {"run.chunk_steps=50"});
    const uint64_t at = 600;  // a multiple of every chunk and trace_every: the step saved at
    ASSERT_EQ(at % chunk_steps_for(spec), 0u);
    std::vector<state_array> one_state;
    memory_recorder one;
    {
      auto b = make_on("cpu", spec);
      run_options ro;
      ro.checkpoint_every = at;
      ro.checkpoint = [&](uint64_t step, const std::vector<uint64_t>&) {
        if (step == at) one_state = b->save_state();
      };
      simulate(spec, *b, one, ro);
    }
    ASSERT_FALSE(one_state.empty());

    std::vector<state_array> saved_on_2;
    for (int ranks : {2, 3}) {
      std::vector<std::vector<state_array>> st(ranks);
      on_ranks(ranks, [&](int r, rank_exchange& x) {
        auto b = make_on(kind, spec, &x);
        memory_recorder rec;
        run_options ro;
        ro.checkpoint_every = at;
        ro.checkpoint = [&](uint64_t step, const std::vector<uint64_t>&) {
          if (step == at) st[r] = b->save_state();
        };
        simulate(spec, *b, rec, ro);
      });
      expect_same_state(st[0], one_state, std::to_string(ranks) + " ranks of " + kind);
      for (int r = 1; r < ranks; ++r) EXPECT_TRUE(st[r].empty()) << "rank " << r;
      if (ranks == 2) saved_on_2 = st[0];
    }

    auto expect_tail = [&](const memory_recorder& rec, const std::string& what) {
      ASSERT_EQ(rec.populations.size(), spec.populations.size());
      for (size_t p = 0; p < spec.populations.size(); ++p) {
        const auto& ps = spec.populations[p];
        EXPECT_TRUE(same_population_output(ps, tail(one.populations[p], at, ps.record.trace_every),
                                           rec.populations[p], {"one process", what}, at));
      }
    };
    run_options from;
    from.start_step = at;
    {
      auto b = make_on(kind, spec);
      b->restore_state(saved_on_2);
      memory_recorder rec;
      simulate(spec, *b, rec, from);
      expect_tail(rec, "2 ranks -> 1 process of " + kind);
    }
    for (auto [ranks, state] : {std::pair{3, &saved_on_2}, std::pair{4, &one_state}}) {
      std::vector<memory_recorder> recs(ranks);
      on_ranks(ranks, [&, state = state](int r, rank_exchange& x) {
        auto b = make_on(kind, spec, &x);
        b->restore_state(*state);
        simulate(spec, *b, recs[r], from);
      });
      for (int r = 0; r < ranks; ++r)
        expect_tail(recs[r], "-> " + std::to_string(ranks) + " ranks of " + kind + ", rank " +
                                 std::to_string(r));
    }
  }
}

// The rate units of "z" (all on the last of 2 ranks) overflow when the pulse starts at 20 ms:
// every rank throws the failure after the same chunk, naming rank 1, with all_ranks set, and
// has recorded the chunks before it. `more` is added to the config.
inline void expect_failure_on_every_rank(const std::string& kind, const std::string& more = "") {
  const auto spec = spec_from(std::string(R"(
[run]
dt = 0.1
tstop = 50.0
chunk_steps = 50
[population.a]
size = 30
model = "lif"
params = { tau_m = 20.0, E_L = -65.0, R_m = 10.0, V_th = -50.0, V_reset = -65.0, t_ref = 2.0 }
input = { I = 1.8 }
[population.z]
size = 10
model = "rate"
params = { gain = 1e300, I_max = 1e300 }
input = { I = 0.0, pulses = [ { start = 20.0, stop = 30.0, amplitude = 1e300 } ] }
)") + more);
  std::vector<std::string> what(2);
  std::vector<uint64_t> steps(2, 0);
  std::vector<int> all_ranks(2, -1);
  on_ranks(2, [&](int r, rank_exchange& x) {
    auto b = make_on(kind, spec, &x);
    memory_recorder rec;
    try {
      simulate(spec, *b, rec);
    } catch (const numerical_error& e) {
      what[r] = e.what();
      all_ranks[r] = e.all_ranks;
    }
    for (const auto& p : rec.populations) steps[r] = p.counts.size();
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(what[r].rfind("rank 1: numerical failure", 0), 0u) << "rank " << r << ": " << what[r];
    EXPECT_NE(what[r].find("'z'"), std::string::npos) << what[r];
    EXPECT_EQ(all_ranks[r], 1) << "rank " << r;
    EXPECT_EQ(steps[r], 200u) << "rank " << r << ": the chunks before the failing one are recorded";
  }
}

}  // namespace spikesim::testing
