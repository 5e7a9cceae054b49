#include "tokenizer/codebook_stats.h"

#include <torch/torch.h>

#include <cmath>

namespace igpg {

CodebookStats codebookStats(const torch::Tensor& tokens, int64_t codebookSize) {
  CodebookStats s;
  auto counts = torch::bincount(tokens.reshape({-1}).to(torch::kCPU, torch::kInt64), {}, codebookSize);
  s.usage.assign(counts.data_ptr<int64_t>(), counts.data_ptr<int64_t>() + counts.numel());
  s.tokens = tokens.numel();
  double entropy = 0;
  for (int64_t c : s.usage) {
    if (c == 0) {
      ++s.deadCodes;
      continue;
    }
    const double p = double(c) / double(s.tokens);
    entropy -= p * std::log(p);
  }
  s.perplexity = s.tokens > 0 ? std::exp(entropy) : 0;
  return s;
}

nlohmann::json CodebookStats::toJson() const {
  return {{"usage", usage}, {"perplexity", perplexity}, {"dead_codes", deadCodes}, {"tokens", tokens}};
}

CodebookStats CodebookStats::fromJson(const nlohmann::json& j) {
  CodebookStats s;
  s.usage = j.value("usage", std::vector<int64_t>{});
  s.perplexity = j.value("perplexity", 0.0);
  s.deadCodes = j.value("dead_codes", int64_t(0));
  s.tokens = j.value("tokens", int64_t(0));
  return s;
}

}  // namespace igpg
