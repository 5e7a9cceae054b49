#include "jobs/job_progress.h"

#include "app/format.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QStyle>
#include <QToolButton>

namespace igpg::ui {

JobProgress::JobProgress(QWidget* parent) : QWidget(parent) {
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  bar_ = new QProgressBar(this);
  bar_->setRange(0, 1);
  bar_->setValue(0);
  bar_->setTextVisible(true);
  bar_->setMinimumWidth(160);
  bar_->hide();  // shown while a job runs
  label_ = new QLabel(tr("Idle"), this);
  label_->setObjectName(QStringLiteral("jobText"));
  label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  cancel_ = new QToolButton(this);
  cancel_->setObjectName(QStringLiteral("cancelJob"));
  cancel_->setIcon(style()->standardIcon(QStyle::SP_BrowserStop));
  cancel_->setText(tr("Cancel"));
  cancel_->setToolTip(tr("Cancel the running job (it stops at its next safe point)"));
  cancel_->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
  cancel_->setEnabled(false);
  layout->addWidget(bar_, 1);
  layout->addWidget(label_, 2);
  layout->addWidget(cancel_);
  connect(cancel_, &QToolButton::clicked, this, [this] {
    if (current_) current_->cancel();
    cancel_->setEnabled(false);
    label_->setText(tr("Cancelling %1\u2026").arg(current_ ? current_->jobName() : QString()));
  });
}

void JobProgress::watch(JobRunner* runner) {
  connect(runner, &JobRunner::started, this, [this, runner](const QString& name) {
    current_ = runner;
    bar_->show();
    bar_->setRange(0, 0);  // busy until the first count arrives
    label_->setText(tr("%1: starting\u2026").arg(name));
    cancel_->setEnabled(true);
  });
  connect(runner, &JobRunner::progress, this, [this, runner](const ProgressEvent& e) { show(runner, e); });
  connect(runner, &JobRunner::finished, this, [this, runner](const JobOutcome& o) { end(runner, o); });
}

QString JobProgress::describe(const ProgressEvent& e) {
  const QLocale locale;
  QString text = QString::fromStdString(e.phase);
  if (e.total > 0)
    text += QStringLiteral(": %1 / %2").arg(locale.toString(qlonglong(e.done)), locale.toString(qlonglong(e.total)));
  else if (e.done > 0)
    text += QStringLiteral(": %1").arg(locale.toString(qlonglong(e.done)));
  text += QStringLiteral(" \u00b7 %1").arg(durationText(e.elapsedSeconds));
  if (e.etaSeconds >= 0 && !e.finished) text += tr(" \u00b7 ETA %1").arg(durationText(e.etaSeconds));
  return text;
}

void JobProgress::show(JobRunner* runner, const ProgressEvent& e) {
  current_ = runner;
  if (e.total > 0) {
    bar_->setRange(0, 1000);
    bar_->setValue(int(1000.0 * double(std::min(e.done, e.total)) / double(e.total)));
  } else {
    bar_->setRange(0, 0);
  }
  if (!runner->isCancelling()) label_->setText(describe(e));
}

void JobProgress::end(JobRunner* runner, const JobOutcome& outcome) {
  if (current_ != runner) return;
  cancel_->setEnabled(false);
  bar_->hide();
  switch (outcome.status) {
    case JobOutcome::Finished:
      label_->setText(tr("%1: done in %2").arg(runner->jobName(), durationText(outcome.seconds)));
      break;
    case JobOutcome::Cancelled:
      label_->setText(tr("%1: cancelled").arg(runner->jobName()));
      break;
    case JobOutcome::Failed:
      label_->setText(tr("%1: failed").arg(runner->jobName()));
      label_->setToolTip(outcome.message);
      break;
  }
}

}  // namespace igpg::ui
