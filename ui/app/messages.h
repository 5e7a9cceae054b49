// Messages the user can act on, shown without blocking the event loop (window-modal
// boxes opened with open(), not exec()), so that running jobs keep reporting meanwhile.
#pragma once

#include "jobs/job_runner.h"

#include <QString>

class QWidget;

namespace igpg::ui {

// "Import failed" with the core's message (what and where) and the hint below it.
void showJobFailure(QWidget* parent, const QString& title, const JobOutcome& outcome);
// The same for an exception caught in the GUI thread (call inside a catch block).
void showCurrentException(QWidget* parent, const QString& title);
void showInformation(QWidget* parent, const QString& title, const QString& text);

}  // namespace igpg::ui
