#include "catalogue/records.h"

namespace igpg {

nlohmann::json toJson(const ModelRecord& m) {
  auto number = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  auto optional = [](int64_t v) { return v < 0 ? nlohmann::json() : nlohmann::json(v); };
  return {{"id", m.id},
          {"architecture", m.architecture},
          {"family", m.family},
          {"dataset", m.dataset},
          {"source", m.source},
          {"seed", optional(m.seed)},
          {"epoch", optional(m.epoch)},
          {"top1", number(m.top1)},
          {"top5", number(m.top5)},
          {"loss", number(m.loss)},
          {"num_params", m.numParams},
          {"blob_sha256", m.blobSha256},
          {"created_at", m.createdAt},
          {"metadata", m.metadata}};
}

}  // namespace igpg
