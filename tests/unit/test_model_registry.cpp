// Unit tests for the registry of models (models/registry.hpp): every model's name, kind,
// parameter table and state, the dispatch of visit_model, and agreement with docs/models.md.
#include <spikesim/models/registry.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <spikesim/spec.hpp>

namespace spikesim {
namespace {

std::vector<model_kind> all_kinds() {
  std::vector<model_kind> kinds;
  for_each_model([&](auto tag) { kinds.push_back(kind_of<typename decltype(tag)::type>); });
  return kinds;
}

TEST(model_registry, kinds_are_the_places_in_the_list) {
  const std::vector<model_kind> kinds = all_kinds();
  ASSERT_EQ(kinds.size(), registered_models::size);
  for (uint32_t i = 0; i < kinds.size(); ++i) EXPECT_EQ(static_cast<uint32_t>(kinds[i]), i);
  static_assert(std::is_same_v<model_at<kind_of<hh_model>>, hh_model>);
  static_assert(std::is_same_v<model_of_params<rate_params>, rate_model>);
}

TEST(model_registry, names_are_unique_and_give_back_their_kind) {
  std::set<std::string> names;
  for (const model_kind k : all_kinds()) {
    const std::string name = model_name(k);
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(names.insert(name).second) << name;
    ASSERT_TRUE(model_kind_named(name).has_value()) << name;
    EXPECT_EQ(*model_kind_named(name), k) << name;
  }
  EXPECT_FALSE(model_kind_named("iaf_psc_alpha").has_value());
  EXPECT_FALSE(model_kind_named("").has_value());
}

TEST(model_registry, visit_model_calls_the_model_of_the_kind) {
  for (const model_kind k : all_kinds()) {
    const model_kind seen =
        visit_model(k, [](auto tag) { return kind_of<typename decltype(tag)::type>; });
    EXPECT_EQ(seen, k);
  }
}

// The config's parameters (spec.hpp) are the registry's: each model with parameters is the
// alternative of model_params at its kind, and its table names every parameter with a unit.
TEST(model_registry, models_with_parameters_have_a_table_and_their_alternative) {
  uint32_t with_params = 0;
  for_each_model([&](auto tag) {
    using M = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<typename M::params>) {
      using P = typename M::params;
      ++with_params;
      EXPECT_EQ(model_params(P{}).index(), static_cast<uint32_t>(kind_of<M>)) << M::name;
      EXPECT_TRUE((std::is_same_v<model_of_params<P>, M>)) << M::name;
      population_spec ps;
      ps.params = P{};
      EXPECT_EQ(ps.model_name(), M::name);
      for (const auto& f : param_table<P>::fields) {
        EXPECT_NE(f.key, nullptr);
        EXPECT_NE(f.unit, nullptr);
      }
      EXPECT_FALSE(check_params(P{}, 0.1)) << M::name << ": the defaults pass the checks";
    }
  });
  EXPECT_EQ(with_params, std::variant_size_v<model_params>);
}

TEST(model_registry, gates_have_names) {
  for (const model_kind k : all_kinds()) {
    for (uint32_t g = 0; g < model_gates(k); ++g) {
      ASSERT_NE(model_gate_name(k, g), nullptr);
      EXPECT_FALSE(std::string(model_gate_name(k, g)).empty());
    }
  }
  EXPECT_EQ(model_gates(kind_of<hh_model>), 3u);
  EXPECT_STREQ(model_gate_name(kind_of<hh_model>, 2), "n");
  EXPECT_EQ(model_gates(kind_of<lif_model>), 0u);
  EXPECT_TRUE(model_takes_input(kind_of<eif_model>));
  EXPECT_FALSE(model_takes_input(kind_of<rate_model>));
  EXPECT_FALSE(model_takes_input(kind_of<source_model>));
}

// docs/models.md has a section "... — `model = "NAME"`" per model with parameters, whose first
// table lists the keys of its parameter table in the same order (and, between them, only keys
// without a unit, which are not numbers: rate's transfer).
struct doc_section {
  std::vector<std::string> keys;         // in table order
  std::set<std::string> keys_with_unit;  // of those, the ones whose unit column is not empty
};

std::vector<std::pair<std::string, doc_section>> model_sections(std::istream& in) {
  std::vector<std::pair<std::string, doc_section>> sections;
  std::string line;
  bool in_table = false;
  while (std::getline(in, line)) {
    const size_t at = line.find("`model = \"");
    if (line.rfind("## ", 0) == 0) {
      in_table = false;
      if (at != std::string::npos) {
        const size_t b = at + 10, e = line.find('"', b);
        sections.push_back({line.substr(b, e - b), {}});
      } else {
        sections.push_back({"", {}});  // a section of no model: its tables are not read
      }
      continue;
    }
    if (sections.empty() || sections.back().first.empty()) continue;
    doc_section& s = sections.back().second;
    if (line.rfind("| key | unit |", 0) == 0 && s.keys.empty()) in_table = true;
    if (!in_table) continue;
    if (line.empty() || line[0] != '|') {
      in_table = false;
      continue;
    }
    if (line.rfind("| `", 0) != 0) continue;  // the header and its rule
    const size_t e = line.find('`', 3);
    const std::string key = line.substr(3, e - 3);
    const size_t unit_b = line.find('|', e) + 1, unit_e = line.find('|', unit_b);
    s.keys.push_back(key);
    if (line.substr(unit_b, unit_e - unit_b).find_first_not_of(' ') != std::string::npos)
      s.keys_with_unit.insert(key);
  }
  return sections;
}

TEST(model_registry, agrees_with_the_tables_of_docs_models) {
  std::ifstream in(std::string(SPIKESIM_SOURCE_DIR) + "/docs/models.md");
  ASSERT_TRUE(in) << "docs/models.md";
  std::vector<std::pair<std::string, doc_section>> sections = model_sections(in);
  std::vector<std::string> documented;
  for (const auto& s : sections)
    if (!s.first.empty()) documented.push_back(s.first);
  std::vector<std::string> registered;
  for_each_model([&](auto tag) {
    using M = typename decltype(tag)::type;
    if constexpr (!std::is_void_v<typename M::params>) {
      using P = typename M::params;
      registered.push_back(M::name);
      const doc_section* doc = nullptr;
      for (const auto& s : sections)
        if (s.first == M::name) doc = &s.second;
      ASSERT_NE(doc, nullptr) << M::name << " has no section in docs/models.md";
      std::vector<std::string> numeric, table;
      for (const std::string& k : doc->keys)
        if (doc->keys_with_unit.count(k)) numeric.push_back(k);
      for (const auto& f : param_table<P>::fields) table.push_back(f.key);
      EXPECT_EQ(numeric, table) << M::name << ": the keys with a unit in docs/models.md";
    }
  });
  EXPECT_EQ(documented, registered);
}

}  // namespace
}  // namespace spikesim
