// A run's life in the catalogue: created "running" with its config, per-step metrics
// buffered and written in batches (a transaction per metric would dominate a training
// step), and finished as "finished", "cancelled" or "failed" with a summary. Work done
// through guard() marks the run cancelled or failed (with the reason) when it throws.
#pragma once

#include "catalogue/catalogue.h"
#include "common/error.h"

#include <chrono>
#include <string>
#include <vector>

namespace igpg {

class RunRecorder {
 public:
  RunRecorder(Catalogue& catalogue, RunRecord run);
  ~RunRecorder();
  RunRecorder(const RunRecorder&) = delete;
  RunRecorder& operator=(const RunRecorder&) = delete;

  int64_t id() const { return id_; }
  void metric(int64_t step, const std::vector<std::pair<std::string, double>>& values);
  void flush();
  void setCheckpoint(const std::string& path);
  void finish(const nlohmann::json& summary);
  // Records why the run ended early.
  void abandon(const std::string& status, const std::string& reason);

  template <typename F>
  auto guard(F&& body) -> decltype(body()) {
    try {
      return body();
    } catch (const Error& e) {
      abandonQuietly(e.kind() == ErrorKind::Cancelled ? "cancelled" : "failed", e.what());
      throw;
    } catch (const std::exception& e) {
      abandonQuietly("failed", e.what());
      throw;
    }
  }

 private:
  void abandonQuietly(const std::string& status, const std::string& reason) noexcept;
  Catalogue& catalogue_;
  int64_t id_ = 0;
  bool done_ = false;
  std::vector<MetricPoint> pending_;
  std::chrono::steady_clock::time_point lastFlush_;
};

}  // namespace igpg
