#include "app/log_panel.h"

#include <QFontDatabase>
#include <QTime>

namespace igpg::ui {

LogPanel::LogPanel(QWidget* parent) : QPlainTextEdit(parent) {
  setReadOnly(true);
  setMaximumBlockCount(10000);
  setLineWrapMode(QPlainTextEdit::NoWrap);
  setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  setPlaceholderText(tr("Messages of running jobs appear here."));
}

void LogPanel::appendLine(const QString& text) {
  appendPlainText(QTime::currentTime().toString(QStringLiteral("HH:mm:ss ")) + text);
}

void LogPanel::appendEvent(const QString& job, const ProgressEvent& event) {
  if (event.message.empty() && !event.finished) return;
  QString line = job.isEmpty() ? QString() : QStringLiteral("[%1] ").arg(job);
  const QString phase = QString::fromStdString(event.phase);
  if (!phase.isEmpty() && phase != job) line += phase + QStringLiteral(": ");
  if (!event.message.empty()) line += QString::fromStdString(event.message);
  else line += tr("done");
  appendLine(line);
}

}  // namespace igpg::ui
