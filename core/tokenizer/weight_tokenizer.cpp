#include "tokenizer/weight_tokenizer.h"

#include "common/error.h"
#include "common/checkpoint.h"

#include <torch/torch.h>

namespace igpg {

nlohmann::json TokenizerConfig::toJson() const {
  return {{"chunk_size", vq.chunkSize},     {"tokens_per_chunk", vq.tokensPerChunk},
          {"codebook_size", vq.codebookSize}, {"code_dim", vq.codeDim},
          {"hidden", vq.hidden},             {"res_blocks", vq.resBlocks},
          {"num_roles", vq.numRoles},        {"role_dim", vq.roleDim},
          {"dense_hidden", vq.denseHidden},  {"vectorization", vectorizationName(vectorization)}};
}

TokenizerConfig TokenizerConfig::fromJson(const nlohmann::json& j) {
  TokenizerConfig c;
  try {
    c.vq.chunkSize = j.at("chunk_size").get<int64_t>();
    c.vq.tokensPerChunk = j.at("tokens_per_chunk").get<int64_t>();
    c.vq.codebookSize = j.at("codebook_size").get<int64_t>();
    c.vq.codeDim = j.at("code_dim").get<int64_t>();
    c.vq.hidden = j.at("hidden").get<int64_t>();
    c.vq.resBlocks = j.at("res_blocks").get<int64_t>();
    c.vq.numRoles = j.at("num_roles").get<int64_t>();
    c.vq.roleDim = j.at("role_dim").get<int64_t>();
    c.vq.denseHidden = j.value("dense_hidden", int64_t(0));  // absent before the dense decoder existed
    c.vectorization = parseVectorization(j.at("vectorization").get<std::string>());
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Format, "tokenizer config", std::string("malformed: ") + e.what());
  }
  return c;
}

WeightTokenizer::WeightTokenizer(TokenizerConfig config, WeightNormalizer normalizer, torch::Device device)
    : config_(std::move(config)), normalizer_(std::move(normalizer)), model_(config_.vq), device_(device) {
  model_->to(device_);
}

void WeightTokenizer::to(torch::Device device) {
  device_ = device;
  model_->to(device_);
}

ChunkPlan WeightTokenizer::plan(const WeightLayout& layout) const {
  return ChunkPlan(layout, config_.vectorization, config_.vq.chunkSize);
}

int64_t WeightTokenizer::sequenceLength(const WeightLayout& layout) const {
  return plan(layout).numChunks() * config_.vq.tokensPerChunk;
}

ChunkedWeights WeightTokenizer::chunkNormalized(const StateDict& weights, const WeightLayout& layout) const {
  return plan(layout).chunk(normalizer_.normalize(flattenWeights(weights, layout), layout));
}

torch::Tensor WeightTokenizer::encode(const StateDict& weights, const WeightLayout& layout) {
  torch::NoGradGuard noGrad;
  model_->eval();
  auto chunks = chunkNormalized(weights, layout);
  auto tokens = model_->tokenize(chunks.values.to(device_), chunks.roles.to(device_));  // (n, l)
  return tokens.reshape({-1}).to(torch::kCPU);
}

std::vector<StateDict> WeightTokenizer::decode(const torch::Tensor& tokens, const WeightLayout& layout) {
  torch::NoGradGuard noGrad;
  model_->eval();
  const ChunkPlan p = plan(layout);
  const int64_t length = p.numChunks() * config_.vq.tokensPerChunk;
  auto t = tokens.dim() == 1 ? tokens.unsqueeze(0) : tokens;
  if (t.dim() != 2 || t.size(1) != length)
    fail(ErrorKind::Mismatch, "tokens",
         "expected " + std::to_string(length) + " tokens for this architecture, got " + std::to_string(t.size(-1)));
  if (t.numel() > 0 && (t.min().item<int64_t>() < 0 || t.max().item<int64_t>() >= config_.vq.codebookSize))
    fail(ErrorKind::Mismatch, "tokens", "token ids outside the codebook of " + std::to_string(config_.vq.codebookSize));
  const int64_t samples = t.size(0);
  auto skeleton = p.skeleton();
  auto roles = skeleton.roles.to(device_).repeat({samples, 1});                       // (S*n, K)
  auto idx = t.to(device_).reshape({samples * p.numChunks(), config_.vq.tokensPerChunk});  // (S*n, l)
  auto values = model_->decodeIndices(idx, roles).to(torch::kCPU);                    // (S*n, K)
  values = values.reshape({samples, p.numChunks(), p.chunkSize()});
  std::vector<StateDict> out;
  for (int64_t s = 0; s < samples; ++s)
    out.push_back(unflattenWeights(normalizer_.denormalize(p.unchunk(values[s]), layout), layout));
  return out;
}

void WeightTokenizer::save(const std::string& path, const nlohmann::json& extra, const StateDict* training) const {
  CheckpointWrite w;
  w.kind = "igpg-tokenizer";
  w.version = kTokenizerFormatVersion;
  w.sections = {{"config", config_.toJson()}, {"normalization", normalizer_.toJson()}};
  w.extra = extra;
  w.training = training;
  saveCheckpoint(path, *model_, w);
}

WeightTokenizer WeightTokenizer::load(const std::string& path, torch::Device device, StateDict* training,
                                      nlohmann::json* extra) {
  CheckpointRead read(path, "igpg-tokenizer", kTokenizerFormatVersion);
  WeightTokenizer tok(TokenizerConfig::fromJson(read.section("config")),
                      WeightNormalizer::fromJson(read.section("normalization")), torch::kCPU);
  read.loadModule(*tok.model_);
  if (training) *training = read.training();
  if (extra) *extra = read.extra();
  tok.to(device);
  return tok;
}

}  // namespace igpg
