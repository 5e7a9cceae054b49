#include "jobs/progress.h"

#include "common/error.h"

namespace igpg {

void CancelToken::throwIfCancelled(const std::string& where) const {
  if (cancelled()) throw Error(ErrorKind::Cancelled, where, "cancelled");
}

ProgressReporter::ProgressReporter(const JobControl& control, std::string phase, int64_t total,
                                   double minIntervalSeconds)
    : control_(control),
      phase_(std::move(phase)),
      total_(total),
      minInterval_(minIntervalSeconds),
      start_(std::chrono::steady_clock::now()),
      lastEmit_(start_ - std::chrono::hours(1)) {}

double ProgressReporter::elapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

ProgressEvent ProgressReporter::makeEvent(int64_t done) const {
  ProgressEvent e;
  e.phase = phase_;
  e.done = done;
  e.total = total_;
  e.elapsedSeconds = elapsedSeconds();
  // The rate is measured from the first update, so resumed jobs (that start at done > 0)
  // do not claim the skipped work was instantaneous.
  const int64_t base = startDone_ < 0 ? 0 : startDone_;
  if (total_ > 0 && done > base && done <= total_)
    e.etaSeconds = e.elapsedSeconds / double(done - base) * double(total_ - done);
  return e;
}

void ProgressReporter::update(int64_t done, std::vector<std::pair<std::string, double>> metrics,
                              std::string message) {
  if (startDone_ < 0) startDone_ = done;
  lastDone_ = done;
  if (!control_.progress) return;
  const auto now = std::chrono::steady_clock::now();
  if (message.empty() && std::chrono::duration<double>(now - lastEmit_).count() < minInterval_)
    return;
  lastEmit_ = now;
  ProgressEvent e = makeEvent(done);
  e.metrics = std::move(metrics);
  e.message = std::move(message);
  control_.progress(e);
}

void ProgressReporter::log(std::string message) {
  if (!control_.progress) return;
  ProgressEvent e = makeEvent(lastDone_);
  e.message = std::move(message);
  control_.progress(e);
}

void ProgressReporter::finish(std::vector<std::pair<std::string, double>> metrics,
                              std::string message) {
  if (!control_.progress) return;
  ProgressEvent e = makeEvent(total_ > 0 ? total_ : lastDone_);
  e.done = total_ > 0 ? total_ : lastDone_;
  e.etaSeconds = 0;
  e.finished = true;
  e.metrics = std::move(metrics);
  e.message = std::move(message);
  control_.progress(e);
}

}  // namespace igpg
