// The registry of models: the one list of the models that both backends, the population state and
// checkpoints know. A model is a type in its own header with its name, parameters (param_table),
// state, coefficients and step; its place in the list is its model_kind, and each backend chooses
// the code of a population's model once, through visit_model, outside its per-neuron loops.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include <spikesim/models/eif.hpp>
#include <spikesim/models/hh.hpp>
#include <spikesim/models/lif.hpp>
#include <spikesim/models/rate.hpp>
#include <spikesim/models/source.hpp>

namespace spikesim {

template <class... M>
struct model_list {
  static constexpr uint32_t size = sizeof...(M);
};

// Every model, once (a model added here is simulated by both backends). Models with parameters
// come first: their parameter structs, in this order, are the alternatives of model_params
// (spec.hpp), so that a population's alternative is its model_kind.
using registered_models = model_list<lif_model, eif_model, hh_model, rate_model, source_model>;

// A model's place in registered_models: what a population holds to name its model at run time.
enum class model_kind : uint32_t {};

namespace detail {

template <class M, class... R>
constexpr uint32_t model_index(model_list<R...>) {
  constexpr bool same[] = {std::is_same_v<M, R>...};
  for (uint32_t i = 0; i < sizeof...(R); ++i)
    if (same[i]) return i;
  return sizeof...(R);
}

template <uint32_t I, class... R>
auto model_at_index(model_list<R...>) -> std::tuple_element_t<I, std::tuple<R...>>;

// The variant of the parameter structs of the models M... that have parameters, in their order.
template <class V, class... M>
struct params_variant {
  using type = V;
};
template <class... P, class M, class... R>
struct params_variant<std::variant<P...>, M, R...>
    : params_variant<std::conditional_t<std::is_void_v<typename M::params>, std::variant<P...>,
                                        std::variant<P..., typename M::params>>,
                     R...> {};
template <class... M>
auto registered_params_of(model_list<M...>) -> typename params_variant<std::variant<>, M...>::type;

template <class P, class... R>
constexpr uint32_t params_index(model_list<R...>) {
  constexpr bool same[] = {std::is_same_v<P, typename R::params>...};
  for (uint32_t i = 0; i < sizeof...(R); ++i)
    if (same[i]) return i;
  return sizeof...(R);
}

}  // namespace detail

// The parameters of a population of one of the models with parameters (spec.hpp's
// model_params): a model's alternative of it is its place in the list.
using registered_params = decltype(detail::registered_params_of(registered_models{}));

namespace detail {
template <class... P>
constexpr bool params_come_first(std::variant<P...>*) {
  uint32_t i = 0;
  bool first = true;
  ((first = first && params_index<P>(registered_models{}) == i++), ...);
  return first;
}
}  // namespace detail
static_assert(detail::params_come_first(static_cast<registered_params*>(nullptr)),
              "models with parameters come first in registered_models");

// The kind of model M.
template <class M>
struct kind_of_model {
  static constexpr uint32_t index = detail::model_index<M>(registered_models{});
  static_assert(index < registered_models::size, "a model of registered_models");
  static constexpr model_kind value = static_cast<model_kind>(index);
};
template <class M>
inline constexpr model_kind kind_of = kind_of_model<M>::value;

// The model of a kind, and the model whose parameter struct is P.
template <model_kind K>
using model_at =
    decltype(detail::model_at_index<static_cast<uint32_t>(K)>(std::declval<registered_models>()));
template <class P>
using model_of_params =
    decltype(detail::model_at_index<detail::params_index<P>(registered_models{})>(
        std::declval<registered_models>()));

// A model as a value, for generic lambdas: `using M = typename decltype(tag)::type;`.
template <class M>
struct model_tag {
  using type = M;
};

// f(model_tag<M>{}) for the model M of kind k; every call returns the same type.
template <uint32_t I = 0, class F>
decltype(auto) visit_model(model_kind k, F&& f) {
  using M = model_at<static_cast<model_kind>(I)>;
  if constexpr (I + 1 == registered_models::size) {
    return f(model_tag<M>{});  // k is a kind of the list: the last one
  } else {
    if (static_cast<uint32_t>(k) == I) return f(model_tag<M>{});
    return visit_model<I + 1>(k, std::forward<F>(f));
  }
}

namespace detail {
template <class F, class... M>
void for_each_model(F& f, model_list<M...>) {
  (f(model_tag<M>{}), ...);
}
}  // namespace detail

// f(model_tag<M>{}) for every model M in the registry's order.
template <class F>
void for_each_model(F&& f) {
  detail::for_each_model(f, registered_models{});
}

inline const char* model_name(model_kind k) {
  return visit_model(k, [](auto tag) -> const char* { return decltype(tag)::type::name; });
}

// The kind of the model called `name`, or none.
inline std::optional<model_kind> model_kind_named(std::string_view name) {
  std::optional<model_kind> kind;
  for_each_model([&](auto tag) {
    using M = typename decltype(tag)::type;
    if (name == M::name) kind = kind_of<M>;
  });
  return kind;
}

// The state arrays a model holds beside u, ref and eta (the HH gates), and their names.
inline uint32_t model_gates(model_kind k) {
  return visit_model(k, [](auto tag) { return decltype(tag)::type::gates; });
}
inline const char* model_gate_name(model_kind k, uint32_t gate) {
  return visit_model(k, [gate](auto tag) -> const char* {
    using M = typename decltype(tag)::type;
    if constexpr (M::gates > 0)
      return M::gate_names[gate];
    else
      return nullptr;
  });
}

// Whether the model has parameters: a model of neurons, not a spike source.
inline bool model_has_params(model_kind k) {
  return visit_model(
      k, [](auto tag) { return !std::is_void_v<typename decltype(tag)::type::params>; });
}

// Whether synapse = "exp" may project onto the model's neurons.
inline bool model_exp_synapses(model_kind k) {
  return visit_model(k, [](auto tag) {
    using M = typename decltype(tag)::type;
    if constexpr (std::is_void_v<typename M::params>)
      return false;
    else
      return M::exp_synapses;
  });
}

// Whether the model takes synapses, Poisson input and noise (the config refuses them for the
// others).
inline bool model_takes_input(model_kind k) {
  return visit_model(k, [](auto tag) { return decltype(tag)::type::takes_input; });
}

}  // namespace spikesim
