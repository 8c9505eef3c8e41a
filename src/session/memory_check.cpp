// The host-memory check before a run is built, and the message of an allocation that failed
// after it passed.
#include <algorithm>

#include <spikesim/connectivity.hpp>
#include <spikesim/environment.hpp>
#include <spikesim/format.hpp>
#include <spikesim/hdf5_writer.hpp>
#include <spikesim/session.hpp>

namespace spikesim {

memory_estimate check_host_memory(const experiment_spec& spec, const std::string& backend,
                                  bool analysis, int ranks) {
  if (backend == "cuda") return {};  // the CUDA backend checks device memory itself
  // Over ranks the CPU backend takes chunks longer than the shortest delay (max_chunk_steps).
  const uint64_t chunk = ranks > 1 ? chunk_steps_for(spec, ~uint64_t{0}) : chunk_steps_for(spec);
  const uint64_t per_rank = static_cast<uint64_t>(std::max(1, ranks));
  uint64_t need = estimate_state_bytes(spec, chunk) / per_rank;
  const uint64_t synapse_bytes =
      spec.projections.empty() ? 0 : estimate_connectivity(spec).peak_bytes / per_rank;
  uint64_t analysis_bytes = 0;
  if (analysis)
    for (const auto& p : spec.populations)
      if (p.record.spikes)
        analysis_bytes += spike_analyzer::memory_bytes(
            p.size, static_cast<uint64_t>(spec.run.tstop / spec.analysis.rate_bin) + 1);
  need += analysis_bytes + hdf5_recorder::buffer_bytes(spec);
  const memory_estimate e{need, available_ram()};
  // A margin, as sweep keeps: the estimate leaves out the program, the libraries and the page
  // cache the output needs, and a run using all of MemAvailable is killed by the kernel.
  const uint64_t usable = e.available / 4 * 3;
  if (e.available == 0 || need <= usable) return e;
  // The advice names what takes most of the memory.
  std::string advice;
  if (analysis_bytes > need / 2)
    advice = "; " + format_bytes(static_cast<double>(analysis_bytes)) +
             " of it for the spike-train statistics: analysis.enabled = false skips them";
  else if (synapse_bytes > need / 2)
    advice = "; " + format_bytes(static_cast<double>(synapse_bytes)) +
             " of it for the synapses (at their peak while built): reduce the indegree or p of "
             "the projections, or the population sizes";
  else
    advice = " (reduce population sizes or traces)";
  throw memory_error(
      std::string(ranks > 1 ? "each of the " + std::to_string(ranks) + " ranks needs about "
                            : "the run needs about ") +
      format_bytes(static_cast<double>(need)) + " of memory but only " +
      format_bytes(static_cast<double>(usable)) + " may be used (75% of the " +
      format_bytes(static_cast<double>(e.available)) + " available)" + advice);
}

std::string out_of_memory_message(const memory_estimate& e) {
  if (e.needed == 0) return "out of memory";
  return "out of memory: the run was estimated to need about " +
         format_bytes(static_cast<double>(e.needed)) + " and " +
         format_bytes(static_cast<double>(e.available)) + " was available when it started (" +
         format_bytes(static_cast<double>(available_ram())) +
         " now): another program took memory meanwhile, or the estimate fell short of what this "
         "run allocates";
}

}  // namespace spikesim
