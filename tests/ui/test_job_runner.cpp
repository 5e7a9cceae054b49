// The one adapter between long core work and the widgets: progress arrives on the GUI
// thread as queued signals (coalesced, never blocking the event loop), cancelling trips
// the job's CancelToken, errors become outcomes with the core's message, and neither a
// finished nor a destroyed runner leaves a thread behind.
#include "igpg_test.h"

#include "common/error.h"
#include "jobs/job_progress.h"
#include "jobs/job_runner.h"

#include <c10/util/Exception.h>

#include <QLabel>
#include <QProgressBar>
#include <QSignalSpy>
#include <QThread>
#include <QTimer>
#include <QToolButton>
#include <QtTest/QtTest>

#include <atomic>
#include <chrono>
#include <thread>

using igpg::JobControl;
using igpg::ProgressEvent;
using igpg::ui::JobOutcome;
using igpg::ui::JobRunner;

namespace {

// A fake long job: reports every millisecond until cancelled (or `steps` are done).
JobRunner::Work countingJob(int64_t steps, std::atomic<QThread*>* ranOn = nullptr) {
  return [steps, ranOn](const JobControl& job) {
    if (ranOn) *ranOn = QThread::currentThread();
    igpg::ProgressReporter progress(job, "count", steps, 0.0);
    for (int64_t i = 1; i <= steps; ++i) {
      job.cancel.throwIfCancelled("count");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      progress.update(i, {{"loss", 1.0 / double(i)}});
    }
    progress.finish({}, "counted");
  };
}

JobOutcome runToEnd(JobRunner& runner, const QString& name, JobRunner::Work work) {
  QSignalSpy finished(&runner, &JobRunner::finished);
  if (!runner.start(name, std::move(work))) throw std::runtime_error("runner busy");
  if (!finished.wait(20000)) throw std::runtime_error("job did not finish");
  return finished.takeFirst().at(0).value<JobOutcome>();
}

}  // namespace

class JobRunnerTest : public QObject {
  Q_OBJECT
 private slots:
  void initTestCase() { QLocale::setDefault(QLocale(QLocale::English, QLocale::UnitedStates)); }
  void progressArrivesOnTheGuiThread();
  void cancelStopsTheJobWithoutBlocking();
  void errorsBecomeOutcomes();
  void oneJobAtATime();
  void thenRunsAfterFinished();
  void destroyingARunnerCancelsAndJoins();
  void progressWidgetFollowsTheJob();
};

void JobRunnerTest::progressArrivesOnTheGuiThread() {
  JobRunner runner;
  std::atomic<QThread*> ranOn{nullptr};
  std::vector<ProgressEvent> events;
  QThread* deliveredOn = nullptr;
  connect(&runner, &JobRunner::progress, this, [&](const ProgressEvent& e) {
    events.push_back(e);
    deliveredOn = QThread::currentThread();
  });
  const JobOutcome outcome = runToEnd(runner, "count", countingJob(200, &ranOn));
  QVERIFY(outcome.ok());
  QVERIFY(outcome.seconds > 0);
  QVERIFY(ranOn.load() != nullptr && ranOn.load() != QThread::currentThread());
  QCOMPARE(deliveredOn, QThread::currentThread());
  QVERIFY(!runner.isRunning());
  // 200 reports (one a millisecond) were coalesced: fewer arrive, in order, and the last
  // one, which carries a message and the end of the phase, always does.
  QVERIFY(!events.empty());
  QVERIFY(events.size() <= 201);
  for (size_t i = 1; i < events.size(); ++i) QVERIFY(events[i].done >= events[i - 1].done);
  QVERIFY(events.back().finished);
  QCOMPARE(events.back().message, std::string("counted"));
  QCOMPARE(events.back().done, int64_t(200));
}

void JobRunnerTest::cancelStopsTheJobWithoutBlocking() {
  JobRunner runner;
  QSignalSpy finished(&runner, &JobRunner::finished);
  QVERIFY(runner.start("endless", countingJob(1000000)));
  QVERIFY(runner.isRunning());
  // The event loop keeps turning while the job runs: a timer fires many times.
  int ticks = 0;
  QTimer timer;
  connect(&timer, &QTimer::timeout, [&] { ++ticks; });
  timer.start(5);
  QTRY_VERIFY_WITH_TIMEOUT(ticks >= 10, 5000);
  QVERIFY(runner.isRunning());
  runner.cancel();
  QVERIFY(runner.isCancelling());
  QVERIFY(finished.wait(5000));
  QCOMPARE(finished.first().at(0).value<JobOutcome>().status, JobOutcome::Cancelled);
  QVERIFY(!runner.isRunning());
}

void JobRunnerTest::errorsBecomeOutcomes() {
  JobRunner runner;
  JobOutcome o = runToEnd(runner, "bad file", [](const JobControl&) {
    igpg::fail(igpg::ErrorKind::Format, "/data/w.pt", "not a weight file");
  });
  QCOMPARE(o.status, JobOutcome::Failed);
  QCOMPARE(o.message, QString("/data/w.pt: not a weight file"));
  QVERIFY(!o.hint.isEmpty());  // says which formats are read

  o = runToEnd(runner, "locked", [](const JobControl&) {
    igpg::fail(igpg::ErrorKind::Catalogue, "/c.db", "locked by another writer");
  });
  QVERIFY(o.hint.contains("catalogue"));

  o = runToEnd(runner, "torch", [](const JobControl&) { TORCH_CHECK(false, "shape mismatch in matmul"); });
  QCOMPARE(o.status, JobOutcome::Failed);
  QVERIFY2(o.message.contains("shape mismatch in matmul"), qPrintable(o.message));
  QVERIFY(!o.message.contains("Exception raised from"));  // no backtrace for the user

  o = runToEnd(runner, "std", [](const JobControl&) { throw std::runtime_error("plain failure"); });
  QCOMPARE(o.message, QString("plain failure"));
}

void JobRunnerTest::oneJobAtATime() {
  JobRunner runner;
  QSignalSpy finished(&runner, &JobRunner::finished);
  QVERIFY(runner.start("first", countingJob(1000000)));
  QVERIFY(!runner.start("second", countingJob(1)));
  QCOMPARE(runner.jobName(), QString("first"));
  runner.cancel();
  QVERIFY(finished.wait(5000));
  QVERIFY(runner.start("second", countingJob(1)));
  QVERIFY(finished.wait(5000));
}

void JobRunnerTest::thenRunsAfterFinished() {
  JobRunner runner;
  QStringList order;
  auto result = std::make_shared<int>(0);
  connect(&runner, &JobRunner::finished, this, [&] { order << "finished"; });
  QVERIFY(runner.start(
      "compute", [result](const JobControl&) { *result = 42; },
      [&, result](const JobOutcome& o) {
        order << QString("then %1 %2").arg(o.ok()).arg(*result);
        QVERIFY(!runner.isRunning());  // the next job could start from here
      }));
  QTRY_COMPARE_WITH_TIMEOUT(order.size(), 2, 5000);
  QCOMPARE(order, (QStringList{"finished", "then 1 42"}));
}

void JobRunnerTest::destroyingARunnerCancelsAndJoins() {
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  {
    JobRunner runner;
    QVERIFY(runner.start("endless", [cancelled](const JobControl& job) {
      while (!job.cancel.cancelled()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      *cancelled = true;
    }));
    QTest::qWait(20);
  }  // the destructor cancels, then waits for the thread
  QVERIFY(cancelled->load());

  JobRunner runner;
  QSignalSpy finished(&runner, &JobRunner::finished);
  QVERIFY(runner.start("endless", countingJob(1000000)));
  runner.cancelAndWait();  // for shutdown: returns with the outcome delivered
  QVERIFY(!runner.isRunning());
  QCOMPARE(finished.size(), 1);
  QCOMPARE(finished.first().at(0).value<JobOutcome>().status, JobOutcome::Cancelled);
}

void JobRunnerTest::progressWidgetFollowsTheJob() {
  JobRunner runner;
  igpg::ui::JobProgress widget;
  widget.watch(&runner);
  QVERIFY(!widget.cancelButton()->isEnabled());
  QVERIFY(!widget.bar()->isVisibleTo(&widget));  // no bar while idle
  QVERIFY(runner.start("count", countingJob(1000000)));
  QVERIFY(widget.cancelButton()->isEnabled());
  QVERIFY(widget.bar()->isVisibleTo(&widget));
  QTRY_VERIFY_WITH_TIMEOUT(widget.bar()->maximum() == 1000 && widget.label()->text().startsWith("count: "), 5000);
  QVERIFY(widget.label()->text().contains(" / 1,000,000"));
  QSignalSpy finished(&runner, &JobRunner::finished);
  widget.cancelButton()->click();
  QVERIFY(finished.wait(5000));
  QCOMPARE(widget.label()->text(), QString("count: cancelled"));
  QVERIFY(!widget.cancelButton()->isEnabled());
  QVERIFY(!widget.bar()->isVisibleTo(&widget));

  ProgressEvent e;
  e.phase = "train prior";
  e.done = 120;
  e.total = 2000;
  e.elapsedSeconds = 14;
  e.etaSeconds = 220;
  QCOMPARE(igpg::ui::JobProgress::describe(e), QString("train prior: 120 / 2,000 \u00b7 14 s \u00b7 ETA 3 min 40 s"));
}

QTEST_MAIN(JobRunnerTest)
#include "test_job_runner.moc"
