#include "prior/prior_model.h"

#include "common/error.h"
#include "common/checkpoint.h"

#include <torch/torch.h>

namespace igpg {

nlohmann::json PriorModel::optionsToJson(const GPTOptions& o) {
  return {{"vocab_size", o.vocabSize}, {"context_length", o.contextLength}, {"layers", o.layers},
          {"heads", o.heads},          {"width", o.width},                  {"dropout", o.dropout},
          {"arch_dim", o.archDim},     {"dataset_dim", o.datasetDim},       {"structure_dim", o.structureDim},
          {"tokens_per_chunk", o.tokensPerChunk}, {"num_roles", o.numRoles}};
}

GPTOptions PriorModel::optionsFromJson(const nlohmann::json& j) {
  GPTOptions o;
  try {
    o.vocabSize = j.at("vocab_size").get<int64_t>();
    o.contextLength = j.at("context_length").get<int64_t>();
    o.layers = j.at("layers").get<int64_t>();
    o.heads = j.at("heads").get<int64_t>();
    o.width = j.at("width").get<int64_t>();
    o.dropout = j.at("dropout").get<double>();
    o.archDim = j.at("arch_dim").get<int64_t>();
    o.datasetDim = j.at("dataset_dim").get<int64_t>();
    o.structureDim = j.at("structure_dim").get<int64_t>();
    o.tokensPerChunk = j.at("tokens_per_chunk").get<int64_t>();
    o.numRoles = j.at("num_roles").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::Format, "prior config", std::string("malformed: ") + e.what());
  }
  return o;
}

PriorModel::PriorModel(GPTOptions options, PriorInfo info, torch::Device device)
    : options_(options), info_(std::move(info)), gpt_(options_), device_(device) {
  gpt_->to(device_);
}

void PriorModel::to(torch::Device device) {
  device_ = device;
  gpt_->to(device_);
}

static nlohmann::json infoToJson(const PriorInfo& info) {
  return {{"tokenizer_hash", info.tokenizerHash},
          {"arch_encoder", info.archEncoder},
          {"dataset_encoder", info.datasetEncoder},
          {"max_sequence_length", info.maxSequenceLength},
          {"extra", info.extra}};
}

void PriorModel::save(const std::string& path, const nlohmann::json& extra, const StateDict* training) const {
  CheckpointWrite w;
  w.kind = "igpg-prior";
  w.version = kPriorFormatVersion;
  w.sections = {{"config", optionsToJson(options_)}, {"info", infoToJson(info_)}};
  w.extra = extra;
  w.training = training;
  saveCheckpoint(path, *gpt_, w);
}

PriorModel PriorModel::load(const std::string& path, torch::Device device, StateDict* training,
                            nlohmann::json* extra) {
  CheckpointRead read(path, "igpg-prior", kPriorFormatVersion);
  const auto& info = read.section("info");
  PriorInfo pi;
  pi.tokenizerHash = info.value("tokenizer_hash", "");
  pi.archEncoder = info.value("arch_encoder", "");
  pi.datasetEncoder = info.value("dataset_encoder", "");
  pi.maxSequenceLength = info.value("max_sequence_length", int64_t(0));
  pi.extra = info.value("extra", nlohmann::json::object());
  PriorModel model(optionsFromJson(read.section("config")), pi, torch::kCPU);
  read.loadModule(*model.gpt_);
  if (training) *training = read.training();
  if (extra) *extra = read.extra();
  model.to(device);
  return model;
}

}  // namespace igpg
