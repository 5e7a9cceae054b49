// A read-only, bounded log of job messages with timestamps, shared by the Train page and
// the window's Jobs dock.
#pragma once

#include "jobs/progress.h"

#include <QPlainTextEdit>

namespace igpg::ui {

class LogPanel : public QPlainTextEdit {
  Q_OBJECT
 public:
  explicit LogPanel(QWidget* parent = nullptr);
  void appendLine(const QString& text);
  // One line for events that carry a message or end a phase; plain progress is not logged.
  void appendEvent(const QString& job, const ProgressEvent& event);
};

}  // namespace igpg::ui
