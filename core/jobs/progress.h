// Progress reporting and cancellation for long work (zoo building, training,
// generation, evaluation). The same callback drives the CLI's progress bar and the
// studio's progress widget; see llama.cpp's progress_callback for the idea.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace igpg {

struct ProgressEvent {
  std::string phase;        // e.g. "train tokenizer", "build zoo"
  int64_t done = 0;         // units finished (steps, models, samples)
  int64_t total = 0;        // 0 when unknown
  double elapsedSeconds = 0;
  double etaSeconds = -1;   // < 0 when unknown
  std::string message;      // free text for a log panel ("model 3/40: tinycnn on digits")
  std::vector<std::pair<std::string, double>> metrics;  // latest loss, accuracy, ...
  bool finished = false;    // the last event of a phase
};

using ProgressCallback = std::function<void(const ProgressEvent&)>;

// Shared flag: copies observe the same cancellation. Cheap to pass by value.
class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() const { flag_->store(true); }
  bool cancelled() const { return flag_->load(); }
  // Throws Error(ErrorKind::Cancelled) when cancelled; call at safe points.
  void throwIfCancelled(const std::string& where = {}) const;

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

// What every long operation takes: where to report and how to learn it should stop.
struct JobControl {
  ProgressCallback progress;  // may be empty
  CancelToken cancel;
};

// Turns step counts into ProgressEvents with elapsed time and ETA, rate-limited so that a
// tight loop does not flood a terminal or an event queue.
class ProgressReporter {
 public:
  ProgressReporter(const JobControl& control, std::string phase, int64_t total,
                   double minIntervalSeconds = 0.1);

  void update(int64_t done, std::vector<std::pair<std::string, double>> metrics = {},
              std::string message = {});
  void log(std::string message);  // always delivered
  void finish(std::vector<std::pair<std::string, double>> metrics = {}, std::string message = {});
  void setTotal(int64_t total) { total_ = total; }
  double elapsedSeconds() const;
  const CancelToken& cancel() const { return control_.cancel; }

 private:
  ProgressEvent makeEvent(int64_t done) const;
  JobControl control_;
  std::string phase_;
  int64_t total_;
  int64_t startDone_ = -1;
  double minInterval_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point lastEmit_;
  int64_t lastDone_ = 0;
};

}  // namespace igpg
