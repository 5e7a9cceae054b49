// The one adapter between the core's long operations and the widgets. A job is any
// function taking a JobControl (an import, a zoo build, a training, a generation); the
// runner executes it in a worker object on a thread of its own, turns the JobControl's
// progress callbacks into queued Qt signals, and catches what the job throws at the
// worker boundary, so that a bad file or a locked catalogue becomes a message rather
// than a crash. Cancelling trips the job's CancelToken; destroying the runner cancels
// and waits, so no thread outlives the window that started it.
#pragma once

#include "jobs/progress.h"

#include <QElapsedTimer>
#include <QMetaType>
#include <QObject>
#include <QString>

#include <functional>
#include <memory>

class QThread;

namespace igpg::ui {

// How a job ended.
struct JobOutcome {
  enum Status { Finished, Failed, Cancelled };
  Status status = Finished;
  QString message;  // Failed: the error as the core worded it (naming the file, tensor, field)
  QString hint;     // Failed: what the user can do about it, when there is something
  double seconds = 0;
  bool ok() const { return status == Finished; }
};

// Turns whatever a job threw (igpg::Error, c10::Error, any std::exception) into an
// outcome; call it inside a catch block.
JobOutcome outcomeOfCurrentException();

class JobWorker;

class JobRunner : public QObject {
  Q_OBJECT
 public:
  using Work = std::function<void(const JobControl& job)>;
  using Then = std::function<void(const JobOutcome& outcome)>;

  explicit JobRunner(QObject* parent = nullptr);
  ~JobRunner() override;  // cancels a running job and waits for its thread

  bool isRunning() const { return thread_ != nullptr; }
  bool isCancelling() const { return isRunning() && control_.cancel.cancelled(); }
  const QString& jobName() const { return name_; }

  // Runs `work` on a new thread, then `then` on the runner's thread (after finished()),
  // where the caller picks up what the work left in the variables it captured. Returns
  // false, and starts nothing, while another job of this runner is still running (one
  // job at a time per runner).
  bool start(const QString& name, Work work, Then then = {});
  // Asks the running job to stop at its next safe point; finished() follows.
  void cancel();
  // Cancels and blocks until the thread has ended (for shutdown; the UI prefers cancel()).
  void cancelAndWait();

 signals:
  void started(const QString& name);
  // Delivered on the runner's thread. Plain progress updates are coalesced (only the
  // latest reaches the queue), events with a message or `finished` always arrive.
  void progress(const igpg::ProgressEvent& event);
  void finished(const igpg::ui::JobOutcome& outcome);

 private:
  struct Mailbox;
  void onWorkerDone(const JobOutcome& outcome);

  QThread* thread_ = nullptr;
  JobWorker* worker_ = nullptr;
  JobControl control_;
  QString name_;
  Then then_;
  std::shared_ptr<Mailbox> mailbox_;
};

// Runs one job inside its thread; the runner owns it.
class JobWorker : public QObject {
  Q_OBJECT
 public:
  JobWorker(JobRunner::Work work, JobControl control) : work_(std::move(work)), control_(std::move(control)) {}
  void run();

 signals:
  void done(const igpg::ui::JobOutcome& outcome);

 private:
  JobRunner::Work work_;
  JobControl control_;
};

}  // namespace igpg::ui

Q_DECLARE_METATYPE(igpg::ProgressEvent)
Q_DECLARE_METATYPE(igpg::ui::JobOutcome)
