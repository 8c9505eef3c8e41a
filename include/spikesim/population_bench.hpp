// The benchmark of `spikesim bench`: an uncoupled population with white noise and a current ramp
// from silence to tens of Hz, simulated with spike recording on (spikes gathered and counted, not
// written: what the benchmark must not measure is disk speed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <spikesim/backend.hpp>
#include <spikesim/simulation.hpp>
#include <spikesim/spec.hpp>

namespace spikesim {

struct population_bench {
  std::string model = "eif";  // lif or eif
  uint64_t neurons = 100000;
  double tstop = 100.0, dt = 0.1;  // ms
  std::string precision = "float";
  double sigma = 2.0;             // mV, white noise
  std::vector<std::string> sets;  // config overrides, key.path=value
};

// The experiment as a config: the reference neuron with the ramp of benchmarks/brian2_eif.py, so
// that both simulators do the same work.
std::string population_bench_config(const population_bench& b);

struct population_bench_result {
  experiment_spec spec;
  run_summary summary;
  uint64_t spikes = 0;       // recorded
  uint64_t chunk_steps = 0;  // of the backend's automatic chunk
};
// Checks the host memory (check_host_memory), then simulates the benchmark on the backend `opt`.
population_bench_result run_population_bench(const population_bench& b, const backend_options& opt);

}  // namespace spikesim
