// The checkpoint state of a population of the CUDA backend (the CPU's is cpu_backend::save_state
// and restore_state in src/cpu/population.cpp): the arrays of its current state copy, its exp
// currents and rings, under the CPU backend's names, so that either backend resumes the other's
// checkpoint.
#include <string>
#include <type_traits>

#include <spikesim/errors.hpp>

#include "population.cuh"

namespace spikesim::cuda {
namespace {

// Copies the array `name` of `st` into the `count` elements of `buffer`.
template <class V>
void load(const std::vector<state_array>& st, const std::string& name, device_buffer<V>& buffer,
          uint64_t count) {
  const std::vector<V> x = find_state_array(st, name).template as<V>();
  if (x.size() != count)
    throw input_error("checkpoint array '" + name + "' has " + std::to_string(x.size()) +
                      " values where " + std::to_string(count) + " were expected");
  if (count)
    SPIKESIM_CUDA_CHECK(
        cudaMemcpy(buffer.data(), x.data(), count * sizeof(V), cudaMemcpyHostToDevice));
}

}  // namespace

const state_array& find_state_array(const std::vector<state_array>& st, const std::string& name) {
  for (const auto& a : st)
    if (a.name == name) return a;
  throw input_error("checkpoint has no array '" + name + "'");
}

template <class T>
void save_population_state(const device_population<T>& p, std::vector<state_array>& st) {
  const std::string base = "population/" + p.name + "/";
  const int c = p.cur;
  st.push_back(state_array::of(base + "u", download(p.u[c], p.n)));
  st.push_back(state_array::of(base + "ref", download(p.ref[c], p.n)));
  if (p.noise == noise_kind::ou)
    st.push_back(state_array::of(base + "eta", download(p.eta[c], p.n)));
  for (uint32_t g = 0; g < model_gates(p.model); ++g)
    st.push_back(state_array::of(base + model_gate_name(p.model, g), download(p.gates[c][g], p.n)));
  for (uint32_t k = 0; k < p.exp_syn.ports; ++k)
    if (p.ring_exp[k].size())
      st.push_back(state_array::of(base + exp_current_name(k), download(p.i_syn[k][c], p.n)));
  if (p.ring_delta.size())
    st.push_back(state_array::of(base + "ring_delta", download(p.ring_delta, p.ring_delta.size())));
  for (uint32_t k = 0; k < p.exp_syn.ports; ++k)
    if (p.ring_exp[k].size())
      st.push_back(
          state_array::of(base + exp_ring_name(k), download(p.ring_exp[k], p.ring_exp[k].size())));
}

template <class T>
void restore_population_state(device_population<T>& p, const std::vector<state_array>& st) {
  const std::string base = "population/" + p.name + "/";
  const int c = p.cur;
  load(st, base + "u", p.u[c], p.n);
  load(st, base + "ref", p.ref[c], p.n);
  if (p.noise == noise_kind::ou) load(st, base + "eta", p.eta[c], p.n);
  for (uint32_t g = 0; g < model_gates(p.model); ++g)
    load(st, base + model_gate_name(p.model, g), p.gates[c][g], p.n);
  for (uint32_t k = 0; k < p.exp_syn.ports; ++k)
    if (p.ring_exp[k].size()) load(st, base + exp_current_name(k), p.i_syn[k][c], p.n);
  if (p.ring_delta.size()) load(st, base + "ring_delta", p.ring_delta, p.ring_delta.size());
  for (uint32_t k = 0; k < p.exp_syn.ports; ++k)
    if (p.ring_exp[k].size())
      load(st, base + exp_ring_name(k), p.ring_exp[k], p.ring_exp[k].size());
}

template void save_population_state<float>(const device_population<float>&,
                                           std::vector<state_array>&);
template void save_population_state<double>(const device_population<double>&,
                                            std::vector<state_array>&);
template void restore_population_state<float>(device_population<float>&,
                                              const std::vector<state_array>&);
template void restore_population_state<double>(device_population<double>&,
                                               const std::vector<state_array>&);

}  // namespace spikesim::cuda
