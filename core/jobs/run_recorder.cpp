#include "jobs/run_recorder.h"


namespace igpg {

RunRecorder::RunRecorder(Catalogue& catalogue, RunRecord run)
    : catalogue_(catalogue), lastFlush_(std::chrono::steady_clock::now()) {
  run.status = "running";
  id_ = catalogue_.createRun(run);
}

RunRecorder::~RunRecorder() {
  if (!done_) abandonQuietly("failed", "ended without finishing");
}

void RunRecorder::abandonQuietly(const std::string& status, const std::string& reason) noexcept {
  try {
    abandon(status, reason);
  } catch (...) {
    // Recording the failure failed too (e.g. the catalogue is locked): the run stays
    // "running", which the run listings show; the original error is what matters.
    done_ = true;
  }
}

void RunRecorder::metric(int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  for (const auto& [name, value] : values) pending_.push_back({step, name, value});
  if (std::chrono::steady_clock::now() - lastFlush_ > std::chrono::seconds(2)) flush();
}

void RunRecorder::flush() {
  if (!pending_.empty()) catalogue_.addMetrics(id_, pending_);
  pending_.clear();
  lastFlush_ = std::chrono::steady_clock::now();
}

void RunRecorder::setCheckpoint(const std::string& path) { catalogue_.setRunCheckpoint(id_, path); }

void RunRecorder::finish(const nlohmann::json& summary) {
  flush();
  catalogue_.finishRun(id_, "finished", summary);
  done_ = true;
}

void RunRecorder::abandon(const std::string& status, const std::string& reason) {
  flush();
  catalogue_.finishRun(id_, status, {{"reason", reason}});
  done_ = true;
}

}  // namespace igpg
