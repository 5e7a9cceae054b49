#include "arch/spec.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>

namespace igpg::arch {

namespace {

// Larger sizes are typos, and would only fail later as a failed allocation.
constexpr int64_t kMaxSize = int64_t(1) << 20;

std::string fieldWhere(const std::string& name) { return "field " + name; }

std::string expectation(const FieldDef& f) {
  switch (f.type) {
    case FieldType::Int: return "a positive integer";
    case FieldType::IntList:
      if (f.length) return "a list of " + std::to_string(f.length) + " positive integers";
      return f.minLength == 0 ? "a list of positive integers (may be empty)" : "a non-empty list of positive integers";
    case FieldType::Number: return "a positive number";
    case FieldType::Bool: return "true or false";
    case FieldType::Choice: {
      std::string s = "one of";
      for (const auto& c : f.choices) s += " \"" + c + "\"";
      return s;
    }
    case FieldType::LayerList: return "a list of positive integers (conv widths) and \"M\" (max pool)";
  }
  return "?";
}

bool isSize(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>() >= 1 && v.get<uint64_t>() <= uint64_t(kMaxSize);
  if (v.is_number_integer()) return v.get<int64_t>() >= 1 && v.get<int64_t>() <= kMaxSize;
  return false;
}

// Returns the value in normal form (int64 sizes, double numbers) or throws naming the field.
nlohmann::json validateField(const FieldDef& f, const nlohmann::json& v) {
  auto bad = [&]() { fail(ErrorKind::Config, fieldWhere(f.name), "expected " + expectation(f) + ", got " + v.dump()); };
  switch (f.type) {
    case FieldType::Int:
      if (!isSize(v)) bad();
      return v.get<int64_t>();
    case FieldType::IntList: {
      if (!v.is_array() || v.size() < f.minLength || (f.length && v.size() != f.length)) bad();
      nlohmann::json out = nlohmann::json::array();
      for (const auto& e : v) {
        if (!isSize(e)) bad();
        out.push_back(e.get<int64_t>());
      }
      return out;
    }
    case FieldType::Number: {
      if (!v.is_number()) bad();
      const double d = v.get<double>();
      if (!std::isfinite(d) || d <= 0 || d > double(kMaxSize)) bad();
      return d;
    }
    case FieldType::Bool:
      if (!v.is_boolean()) bad();
      return v;
    case FieldType::Choice:
      if (!v.is_string() || std::find(f.choices.begin(), f.choices.end(), v.get<std::string>()) == f.choices.end())
        bad();
      return v;
    case FieldType::LayerList: {
      if (!v.is_array()) bad();
      nlohmann::json out = nlohmann::json::array();
      bool anyConv = false;
      for (const auto& e : v) {
        if (e.is_string() && e.get<std::string>() == "M") {
          out.push_back("M");
        } else if (isSize(e)) {
          out.push_back(e.get<int64_t>());
          anyConv = true;
        } else {
          bad();
        }
      }
      if (!anyConv) bad();
      return out;
    }
  }
  return v;
}

std::string knownNames() {
  std::string s = "families:";
  for (const auto& f : families()) s += " " + f.name;
  s += "; presets:";
  for (const auto& p : presets()) s += " " + p.name;
  return s;
}

int64_t dataValue(const FieldDef& f, const DataShape& d) {
  switch (f.data) {
    case DataField::Channels: return d.channels;
    case DataField::Features: return d.channels * d.height * d.width;
    case DataField::Classes: return d.classes;
    case DataField::InputSize:
    case DataField::None: break;
  }
  return 0;
}

// Fills a data field from the dataset, or checks the value the SPEC states against it.
void resolveDataField(const FieldDef& f, nlohmann::json& fields, const DataShape& d) {
  if (f.data == DataField::InputSize) {
    const nlohmann::json actual = {d.height, d.width};
    if (!fields.contains(f.name)) {
      fields[f.name] = actual;
    } else if (fields[f.name] != actual) {
      fail(ErrorKind::Config, fieldWhere(f.name),
           "the spec says " + describeValue(f, fields[f.name]) + " but the dataset's images are " +
               std::to_string(d.height) + "x" + std::to_string(d.width));
    }
    return;
  }
  const int64_t actual = dataValue(f, d);
  if (!fields.contains(f.name)) {
    fields[f.name] = actual;
    return;
  }
  const int64_t stated = fields[f.name].get<int64_t>();
  if (stated == actual) return;
  std::string what;
  switch (f.data) {
    case DataField::Channels: what = "images with " + std::to_string(actual) + " channel(s)"; break;
    case DataField::Features:
      what = "samples of " + std::to_string(d.channels) + "x" + std::to_string(d.height) + "x" +
             std::to_string(d.width) + " = " + std::to_string(actual) + " values";
      break;
    default: what = std::to_string(actual) + " classes"; break;
  }
  fail(ErrorKind::Config, fieldWhere(f.name),
       "the spec says " + std::to_string(stated) + " but the dataset has " + what);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

}  // namespace

const Family* findFamily(const std::string& name) {
  for (const auto& f : families())
    if (f.name == name) return &f;
  return nullptr;
}

const Preset* findPreset(const std::string& name) {
  for (const auto& p : presets())
    if (p.name == name) return &p;
  return nullptr;
}

std::string describeValue(const FieldDef& field, const nlohmann::json& value) {
  switch (field.type) {
    case FieldType::Int: return std::to_string(value.get<int64_t>());
    case FieldType::Number:
    case FieldType::Bool: return value.dump();  // shortest round-trip number: 0.5, 1.0
    case FieldType::Choice: return value.get<std::string>();
    case FieldType::IntList:
    case FieldType::LayerList: {
      std::string s = "[";
      for (size_t i = 0; i < value.size(); ++i) {
        if (i) s += ", ";
        s += value[i].is_string() ? "'" + value[i].get<std::string>() + "'" : std::to_string(value[i].get<int64_t>());
      }
      return s + "]";
    }
  }
  return value.dump();
}

ArchSpec resolveSpec(const std::string& spec, const DataShape& data) {
  const std::string text = trim(spec);
  if (text.empty()) fail(ErrorKind::Config, "spec", "empty; give a preset name or a JSON object");
  if (text[0] != '{') {
    if (text.find_first_of(" \t\"[]{}:,") != std::string::npos)
      fail(ErrorKind::Config, "spec", "'" + text + "' is neither a preset name nor a JSON object");
    return resolveSpecJson(nlohmann::json{{"family", text}}, data);
  }
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    fail(ErrorKind::Config, "spec", std::string("malformed JSON: ") + e.what());
  }
  return resolveSpecJson(parsed, data);
}

namespace {

void withDefaults(const Family& family, nlohmann::json& fields) {
  for (const auto& f : family.fields)
    if (!fields.contains(f.name) && !f.defaultValue.is_null()) fields[f.name] = f.defaultValue;
  if (family.completeDefaults) family.completeDefaults(fields);
}

// A preset's name when the fields are that preset's (the dataset's fields aside), else the
// family's name for them: a name must never be a preset's that builds another network, or
// `--arch NAME` copied from a table would silently generate for a different architecture.
std::string nameOf(const Family& family, const nlohmann::json& fields) {
  for (const Preset& preset : presets()) {
    if (preset.family != family.name) continue;
    nlohmann::json own = preset.fields;
    withDefaults(family, own);
    const bool same = std::all_of(family.fields.begin(), family.fields.end(), [&](const FieldDef& f) {
      return f.data != DataField::None || own.value(f.name, nlohmann::json()) == fields.value(f.name, nlohmann::json());
    });
    if (same) return preset.name;
  }
  return family.displayName(fields);
}

}  // namespace

ArchSpec resolveSpecJson(const nlohmann::json& spec, const DataShape& data) {
  if (!spec.is_object()) fail(ErrorKind::Config, "spec", "expected a JSON object with a \"family\"");
  if (data.channels < 1 || data.height < 1 || data.width < 1 || data.classes < 1)
    fail(ErrorKind::Config, "dataset", "sample shape and class count must be positive");
  if (!spec.contains("family")) fail(ErrorKind::Config, fieldWhere("family"), "missing; " + knownNames());
  if (!spec["family"].is_string()) fail(ErrorKind::Config, fieldWhere("family"), "expected a name, got " + spec["family"].dump());
  const std::string requested = spec["family"].get<std::string>();

  const Family* family = findFamily(requested);
  nlohmann::json given = nlohmann::json::object();
  if (!family) {
    const Preset* preset = findPreset(requested);
    if (!preset) fail(ErrorKind::Config, fieldWhere("family"), "unknown family or preset '" + requested + "'; " + knownNames());
    family = findFamily(preset->family);
    given = preset->fields;
  }
  for (const auto& [key, value] : spec.items()) {
    if (key == "family") continue;
    given[key] = value;
  }

  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [key, value] : given.items()) {
    auto f = std::find_if(family->fields.begin(), family->fields.end(), [&](const FieldDef& d) { return d.name == key; });
    if (f == family->fields.end()) {
      std::string known;
      for (const auto& d : family->fields) known += (known.empty() ? "" : ", ") + d.name;
      fail(ErrorKind::Config, fieldWhere(key), "not a field of family " + family->name + " (its fields: " + known + ")");
    }
    fields[key] = validateField(*f, value);
  }
  withDefaults(*family, fields);
  for (const auto& f : family->fields)
    if (f.data != DataField::None) resolveDataField(f, fields, data);

  ArchSpec out;
  out.family_ = family->name;
  out.data_ = data;
  out.program_ = family->build(fields, InputShape{data.channels, data.height, data.width});
  out.name_ = nameOf(*family, fields);
  out.description_ = out.name_;
  for (size_t i = 0; i < family->fields.size(); ++i) {
    const FieldDef& f = family->fields[i];
    out.description_ += std::string(i ? ", " : " ") + (f.label.empty() ? f.name : f.label) + ": " +
                        describeValue(f, fields[f.name]);
  }
  nlohmann::json canonical = fields;
  canonical["family"] = family->name;
  out.canonicalJson_ = canonical.dump();
  out.fields_ = std::move(fields);
  return out;
}

}  // namespace igpg::arch
