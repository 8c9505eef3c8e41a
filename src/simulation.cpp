// The chunk loop shared by every front end: advance, record, report progress, stop on request.
#include <spikesim/simulation.hpp>

#include <algorithm>

#include <spikesim/errors.hpp>

namespace spikesim {

const char* to_string(run_status s) {
  switch (s) {
    case run_status::running:
      return "running";
    case run_status::complete:
      return "complete";
    case run_status::interrupted:
      return "interrupted";
    case run_status::failed:
      return "failed";
  }
  return "unknown";
}

uint64_t chunk_steps_for(const experiment_spec& spec, uint64_t longest, uint64_t neuron_steps) {
  if (spec.run.chunk_steps > 0) return std::min(spec.run.chunk_steps, longest);
  // Bound a chunk to ~neuron_steps (the backend's bound on its spike buffers), and to 1000
  // steps so that progress and output stay fluid.
  const uint64_t n = std::max<uint64_t>(1, spec.total_neurons());
  return std::min(std::clamp<uint64_t>(neuron_steps / n, 16, 1000), longest);
}

uint64_t chunk_steps_for(const experiment_spec& spec) {
  // With projections a chunk may not exceed the shortest delay: the spikes of a chunk are
  // delivered after it, and must arrive in a later chunk.
  return chunk_steps_for(spec, spec.min_delay_steps() > 0 ? spec.min_delay_steps() : ~uint64_t{0});
}

uint64_t chunk_steps_for(const experiment_spec& spec, const backend& b) {
  return chunk_steps_for(spec, b.max_chunk_steps(spec), b.chunk_neuron_steps());
}

void memory_recorder::begin(const experiment_spec& spec, const backend&) {
  populations.assign(spec.populations.size(), {});
}

void memory_recorder::write(const chunk_output& chunk) {
  for (size_t p = 0; p < chunk.populations.size(); ++p)
    append(populations[p], chunk.populations[p]);
}

void memory_recorder::finish(const run_summary& s) {
  summary = s;
}

run_summary simulate(const experiment_spec& spec, backend& b, recorder& rec,
                     const run_options& opt) {
  run_summary sum;
  sum.backend = b.name();
  sum.device = b.device();
  for (const auto& p : spec.populations) sum.populations.push_back({p.name, p.size, 0, 0.0});
  if (!opt.start_spikes.empty()) {
    if (opt.start_spikes.size() != sum.populations.size())
      throw error("simulate: start_spikes has " + std::to_string(opt.start_spikes.size()) +
                      " populations, the spec " + std::to_string(sum.populations.size()),
                  error_kind::internal);
    for (size_t p = 0; p < sum.populations.size(); ++p)
      sum.populations[p].spikes = opt.start_spikes[p];
  }

  const uint64_t total = spec.run.steps();
  // Checkpoints are taken at the end of a chunk: a chunk never spans more than one interval, so
  // that they come every checkpoint_every steps however long the backend's chunks may be.
  const uint64_t chunk = opt.checkpoint_every > 0
                             ? std::min(chunk_steps_for(spec, b), opt.checkpoint_every)
                             : chunk_steps_for(spec, b);
  rec.begin(spec, b);
  chunk_output out;
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t start = std::min(opt.start_step, total);
  const uint64_t events_at_start = b.network().synaptic_events;
  uint64_t done = start;
  sum.status = run_status::complete;
  auto spikes_so_far = [&] {
    std::vector<uint64_t> v;
    for (const auto& p : sum.populations) v.push_back(p.spikes);
    return v;
  };
  auto close = [&] {
    sum.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sum.steps = done;
    sum.simulated_ms = static_cast<double>(done) * spec.run.dt;
    const double secs = sum.simulated_ms / 1000.0;
    for (auto& p : sum.populations)
      p.mean_rate_hz = secs > 0 ? static_cast<double>(p.spikes) / (p.neurons * secs) : 0.0;
    // Speed figures count the steps of this call only.
    const uint64_t stepped = done - start;
    const double stepped_s = static_cast<double>(stepped) * spec.run.dt / 1000.0;
    sum.neuron_steps_per_s =
        sum.wall_s > 0 ? static_cast<double>(spec.total_neurons()) * stepped / sum.wall_s : 0.0;
    sum.real_time_factor = stepped_s > 0 ? sum.wall_s / stepped_s : 0.0;
    const network_stats net = b.network();
    sum.synapses = net.synapses;
    sum.synapse_bytes = net.synapse_bytes;
    sum.construction_s = net.construction_s;
    sum.synaptic_events = net.synaptic_events;
    sum.synaptic_events_per_s =
        sum.wall_s > 0 ? static_cast<double>(net.synaptic_events - events_at_start) / sum.wall_s
                       : 0.0;
    rec.finish(sum);
  };
  while (done < total) {
    const uint64_t n = std::min(chunk, total - done);
    try {
      b.advance(done, n, out);
    } catch (const numerical_error&) {
      // Keep what was simulated before the failing chunk: hours of valid output are not thrown
      // away because a neuron diverged at the end. The file is marked failed.
      sum.status = run_status::failed;
      close();
      throw;
    }
    done += n;
    for (size_t p = 0; p < out.populations.size(); ++p)
      sum.populations[p].spikes += out.populations[p].total_spikes;
    rec.write(out);
    if (opt.progress) opt.progress(done, total);
    if (opt.stop && opt.stop->load() && done < total) {
      sum.status = run_status::interrupted;
      if (opt.checkpoint) opt.checkpoint(done, spikes_so_far());
      break;
    }
    if (opt.checkpoint && opt.checkpoint_every > 0 && done < total &&
        done / opt.checkpoint_every > (done - n) / opt.checkpoint_every)
      opt.checkpoint(done, spikes_so_far());
  }
  close();
  return sum;
}

}  // namespace spikesim
