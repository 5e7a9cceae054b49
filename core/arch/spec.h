// Architecture SPECs: what a user writes to name a network, and the canonical forms
// the rest of the system keys on.
//
// A SPEC is a preset or family name ("resnet20", "tinycnn", "mlp") or a JSON object with
// a `family` (a family or a preset to start from) and that family's fields:
//   {"family": "resnet", "blocks": [4, 4, 4], "width": 32}
//   {"family": "resnet20", "num_classes": 100}
// Fields the dataset determines (in_channels, input_size, in_features, num_classes) are
// taken from the dataset when the SPEC leaves them out, and checked against it when it
// states them. Resolving also builds the network's Program, so an architecture that does
// not fit the data is an Error(Config) before any training.
//
// The description ("resnet20 layers: [3, 3, 3], width: 16, in_channels: 1, num_classes: 10")
// is what the generator is conditioned on (the paper's Table 7 and Remark 1): it states
// every field that changes the weights, always in the family's field order, so the same
// network written two ways gives the same text and different networks different texts.
#pragma once

#include "arch/program.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace igpg::arch {

// The shape of a dataset's samples and its number of classes.
struct DataShape {
  int64_t channels = 1;
  int64_t height = 28;
  int64_t width = 28;
  int64_t classes = 10;
};

enum class FieldType {
  Int,        // positive integer
  IntList,    // list of positive integers
  Number,     // positive real number
  Bool,
  Choice,     // one of FieldDef::choices
  LayerList,  // VGG configuration: positive integers (conv widths) and "M" (max pool)
};

// Which DataShape entry fills a field the SPEC leaves out.
enum class DataField { None, Channels, InputSize, Features, Classes };

struct FieldDef {
  std::string name;
  FieldType type = FieldType::Int;
  nlohmann::json defaultValue;     // null: taken from the data, or computed by the family
  std::string help;
  DataField data = DataField::None;
  std::vector<std::string> choices;  // Choice
  size_t length = 0;                 // IntList: exact length when > 0
  size_t minLength = 1;              // IntList: shortest list accepted
  std::string label;                 // the word used in descriptions when it differs from name
};

struct Family {
  std::string name;
  std::string summary;
  std::vector<FieldDef> fields;
  // Fills defaults that depend on other fields (e.g. mobilenetv2's final_layer_channels).
  std::function<void(nlohmann::json& fields)> completeDefaults;
  std::function<std::string(const nlohmann::json& fields)> displayName;
  std::function<Program(const nlohmann::json& fields, const InputShape& input)> build;
};

struct Preset {
  std::string name;
  std::string family;
  nlohmann::json fields;  // the fields that differ from the family defaults
  std::string summary;
};

const std::vector<Family>& families();
const std::vector<Preset>& presets();
const Family* findFamily(const std::string& name);
const Preset* findPreset(const std::string& name);

// A SPEC resolved against a dataset: complete fields, names and the network Program.
class ArchSpec {
 public:
  const std::string& family() const { return family_; }
  const nlohmann::json& fields() const { return fields_; }   // every field, data fields included
  const DataShape& data() const { return data_; }
  const std::string& name() const { return name_; }          // "resnet20", "mlp_256x128_tanh"
  const std::string& description() const { return description_; }
  const std::string& canonicalJson() const { return canonicalJson_; }  // one line, sorted keys
  const Program& program() const { return program_; }
  int64_t parameterCount() const { return program_.parameterCount(); }

 private:
  friend ArchSpec resolveSpecJson(const nlohmann::json& spec, const DataShape& data);
  std::string family_;
  nlohmann::json fields_;
  DataShape data_;
  std::string name_;
  std::string description_;
  std::string canonicalJson_;
  Program program_;
};

// Throws Error(Config) naming the field ("field blocks", "field family", "spec") for
// malformed JSON, unknown families, presets or fields, wrong types, non-positive sizes,
// data fields that contradict the dataset, and networks that do not fit it.
ArchSpec resolveSpec(const std::string& spec, const DataShape& data);
ArchSpec resolveSpecJson(const nlohmann::json& spec, const DataShape& data);

// "[3, 3, 3]", "[64, 'M', 128]", "0.5", "true": a field value as descriptions write it.
std::string describeValue(const FieldDef& field, const nlohmann::json& value);

}  // namespace igpg::arch
