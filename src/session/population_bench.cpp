// The population benchmark (population_bench.hpp).
#include <spikesim/population_bench.hpp>

#include <iomanip>
#include <sstream>

#include <spikesim/config_loader.hpp>
#include <spikesim/session.hpp>

namespace spikesim {
namespace {

// Counts spikes without keeping them.
class counting_recorder : public recorder {
 public:
  void begin(const experiment_spec&, const backend&) override {}
  void write(const chunk_output& c) override {
    for (const auto& p : c.populations) spikes += p.total_spikes;
  }
  void finish(const run_summary&) override {}
  uint64_t spikes = 0;
};

}  // namespace

std::string population_bench_config(const population_bench& b) {
  std::ostringstream o;
  o << std::setprecision(17);
  o << "[run]\ndt = " << b.dt << "\ntstop = " << b.tstop << "\nrandom_seed = 1\nprecision = \""
    << b.precision << "\"\n[population.bench]\nsize = " << b.neurons << "\nmodel = \"" << b.model
    << "\"\n";
  if (b.model == "eif")
    o << "input = { I = { from = 6.0, to = 9.0 }, sigma = " << b.sigma << " }\n";
  else
    o << "input = { I = { from = 9.0, to = 12.0 }, sigma = " << b.sigma << " }\n";
  return o.str();
}

population_bench_result run_population_bench(const population_bench& b,
                                             const backend_options& opt) {
  population_bench_result r;
  r.spec = parse_config(population_bench_config(b), "<bench>", b.sets);
  check_host_memory(r.spec, opt.kind, false);
  auto backend = make_backend(r.spec, opt, nullptr);
  counting_recorder rec;
  r.summary = simulate(r.spec, *backend, rec);
  r.spikes = rec.spikes;
  r.chunk_steps = chunk_steps_for(r.spec, *backend);
  return r;
}

}  // namespace spikesim
