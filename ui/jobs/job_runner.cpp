#include "jobs/job_runner.h"

#include "common/error.h"

#include <c10/util/Exception.h>

#include <QCoreApplication>
#include <QThread>

#include <mutex>
#include <optional>

namespace igpg::ui {

namespace {

QString hintFor(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Catalogue:
      return QCoreApplication::translate("JobRunner",
                                         "Another program (the igpg command line?) may be writing to the catalogue: "
                                         "try again in a moment, or open another catalogue.");
    case ErrorKind::Format:
    case ErrorKind::Unsafe:
      return QCoreApplication::translate("JobRunner",
                                         "Only safetensors, PyTorch (.pt/.pth state dicts) and TorchScript weight "
                                         "files can be read; leave this file out or convert it.");
    case ErrorKind::Mismatch:
      return QCoreApplication::translate("JobRunner",
                                         "The weights do not fit: choose the architecture and dataset they were "
                                         "trained for.");
    case ErrorKind::NotFound:
      return QCoreApplication::translate("JobRunner", "Check the name or the path, or refresh the catalogue.");
    case ErrorKind::Io:
      return QCoreApplication::translate("JobRunner", "Check the file's permissions and the free disk space.");
    case ErrorKind::Device:
      return QCoreApplication::translate("JobRunner", "Choose the CPU as the device (toolbar), or check the GPU.");
    case ErrorKind::Usage:
    case ErrorKind::Config:
      return QCoreApplication::translate("JobRunner", "Correct the highlighted setting and start again.");
    case ErrorKind::Cancelled:
    case ErrorKind::Internal:
      break;
  }
  return {};
}

}  // namespace

JobOutcome outcomeOfCurrentException() {
  JobOutcome o;
  o.status = JobOutcome::Failed;
  try {
    throw;
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::Cancelled) {
      o.status = JobOutcome::Cancelled;
      return o;
    }
    o.message = QString::fromStdString(e.what());
    o.hint = hintFor(e.kind());
  } catch (const c10::Error& e) {
    o.message = QString::fromStdString(e.what_without_backtrace());
    o.hint = QCoreApplication::translate("JobRunner",
                                         "LibTorch refused the operation (often memory or device trouble).");
  } catch (const std::exception& e) {
    o.message = QString::fromStdString(e.what());
  } catch (...) {
    o.message = QCoreApplication::translate("JobRunner", "unknown error");
  }
  return o;
}

// Progress crossing from the worker to the runner's thread: the latest plain update
// waits here while one is already queued, so a job reporting every microsecond costs
// the event loop one event at a time.
struct JobRunner::Mailbox {
  std::mutex mutex;
  std::optional<ProgressEvent> pending;
};

void JobWorker::run() {
  QElapsedTimer timer;
  timer.start();
  JobOutcome outcome;
  try {
    work_(control_);
  } catch (...) {
    outcome = outcomeOfCurrentException();
  }
  outcome.seconds = double(timer.nsecsElapsed()) * 1e-9;
  emit done(outcome);
}

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
  qRegisterMetaType<igpg::ProgressEvent>();
  qRegisterMetaType<igpg::ui::JobOutcome>();
}

JobRunner::~JobRunner() {
  // No signals from here: whoever listened may be half destroyed already.
  if (!thread_) return;
  control_.cancel.cancel();
  thread_->quit();
  thread_->wait();
  delete worker_;
  delete thread_;
}

bool JobRunner::start(const QString& name, Work work, Then then) {
  if (isRunning()) return false;
  name_ = name;
  then_ = std::move(then);
  control_ = JobControl{};
  auto mailbox = std::make_shared<Mailbox>();
  mailbox_ = mailbox;
  control_.progress = [mailbox, runner = this](const ProgressEvent& event) {
    const bool always = event.finished || !event.message.empty();
    if (!always) {
      std::lock_guard<std::mutex> lock(mailbox->mutex);
      const bool queued = mailbox->pending.has_value();
      mailbox->pending = event;
      if (queued) return;
    }
    // The runner outlives the thread (its destructor waits), so it is a valid context;
    // calls still queued when it dies are dropped with it.
    QMetaObject::invokeMethod(
        runner,
        [runner, mailbox, event, always] {
          if (always) {
            emit runner->progress(event);
            return;
          }
          std::optional<ProgressEvent> latest;
          {
            std::lock_guard<std::mutex> lock(mailbox->mutex);
            latest.swap(mailbox->pending);
          }
          if (latest) emit runner->progress(*latest);
        },
        Qt::QueuedConnection);
  };

  thread_ = new QThread;
  thread_->setObjectName(QStringLiteral("job: ") + name);
  worker_ = new JobWorker(std::move(work), control_);
  worker_->moveToThread(thread_);
  connect(thread_, &QThread::started, worker_, &JobWorker::run);
  connect(worker_, &JobWorker::done, this, &JobRunner::onWorkerDone, Qt::QueuedConnection);
  thread_->start();
  emit started(name);
  return true;
}

void JobRunner::cancel() {
  if (isRunning()) control_.cancel.cancel();
}

void JobRunner::cancelAndWait() {
  if (!isRunning()) return;
  control_.cancel.cancel();
  thread_->quit();  // the loop ends once run() has returned
  thread_->wait();
  // The worker's done() is queued for this object by now: deliver it (and the progress
  // before it) so that listeners see how the job ended.
  QCoreApplication::sendPostedEvents(this, QEvent::MetaCall);
}

void JobRunner::onWorkerDone(const JobOutcome& outcome) {
  if (!thread_) return;
  thread_->quit();
  thread_->wait();
  delete worker_;  // its thread has ended; deleting it here is safe
  delete thread_;
  worker_ = nullptr;
  thread_ = nullptr;
  mailbox_.reset();
  // Taken out first: `then` may start the next job of this runner.
  const Then then = std::move(then_);
  then_ = nullptr;
  emit finished(outcome);
  if (then) then(outcome);
}

}  // namespace igpg::ui
