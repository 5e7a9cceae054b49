// A progress bar with the phase, counts, elapsed time and ETA of a job, and a Cancel
// button: the Train and Generate pages show one for their job, the status bar one for
// whichever job of the window reported last.
#pragma once

#include "jobs/job_runner.h"

#include <QPointer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QToolButton;

namespace igpg::ui {

class JobProgress : public QWidget {
  Q_OBJECT
 public:
  explicit JobProgress(QWidget* parent = nullptr);

  // Follows this runner's jobs (several runners may be watched; the last active wins).
  void watch(JobRunner* runner);
  QProgressBar* bar() const { return bar_; }
  QLabel* label() const { return label_; }
  QToolButton* cancelButton() const { return cancel_; }
  // The text for one event: "train prior: 120 / 2,000 · 14 s · ETA 3 min 40 s".
  static QString describe(const ProgressEvent& event);

 private:
  void show(JobRunner* runner, const ProgressEvent& event);
  void end(JobRunner* runner, const JobOutcome& outcome);

  QProgressBar* bar_ = nullptr;
  QLabel* label_ = nullptr;
  QToolButton* cancel_ = nullptr;
  QPointer<JobRunner> current_;
};

}  // namespace igpg::ui
