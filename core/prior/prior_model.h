// A trained prior and what it needs to be used: the GPT, which tokenizer its tokens come
// from (by checkpoint hash), which encoders made its conditioning vectors, and whether it
// conditions on the architecture, the dataset or both (the paper conditions on one alone
// when every model of the zoo shares the other).
#pragma once

#include "formats/state_dict.h"
#include "prior/gpt.h"

#include <nlohmann/json.hpp>

#include <string>

namespace igpg {

constexpr int kPriorFormatVersion = 1;

struct PriorInfo {
  std::string tokenizerHash;    // sha256 of the tokenizer checkpoint file the prior was trained on
  std::string archEncoder;      // encoder id ("builtin-arch-v1" or "torchscript:<sha256>")
  std::string datasetEncoder;
  int64_t maxSequenceLength = 0;  // longest training sequence (tokens)
  nlohmann::json extra = nlohmann::json::object();
};

class PriorModel {
 public:
  PriorModel(GPTOptions options, PriorInfo info, torch::Device device = torch::kCPU);

  GPT& gpt() { return gpt_; }
  const GPTOptions& options() const { return options_; }
  const PriorInfo& info() const { return info_; }
  PriorInfo& info() { return info_; }
  bool conditionsOnArchitecture() const { return options_.archDim > 0; }
  bool conditionsOnDataset() const { return options_.datasetDim > 0; }
  torch::Device device() const { return device_; }
  void to(torch::Device device);

  void save(const std::string& path, const nlohmann::json& extra = {}, const StateDict* training = nullptr) const;
  static PriorModel load(const std::string& path, torch::Device device = torch::kCPU, StateDict* training = nullptr,
                         nlohmann::json* extra = nullptr);

  static nlohmann::json optionsToJson(const GPTOptions& o);
  static GPTOptions optionsFromJson(const nlohmann::json& j);

 private:
  GPTOptions options_;
  PriorInfo info_;
  GPT gpt_;
  torch::Device device_;
};

}  // namespace igpg
