// Codebook health: how often each code is used over a zoo, the perplexity of that usage
// (exp of its entropy: m for a uniformly used codebook, 1 for a single code) and the
// number of dead codes (never used).
#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace igpg {

struct CodebookStats {
  std::vector<int64_t> usage;  // one count per code
  double perplexity = 0;
  int64_t deadCodes = 0;
  int64_t tokens = 0;

  nlohmann::json toJson() const;
  static CodebookStats fromJson(const nlohmann::json& j);
};

// tokens: any shape of int64 code ids in [0, codebookSize).
CodebookStats codebookStats(const torch::Tensor& tokens, int64_t codebookSize);

}  // namespace igpg
