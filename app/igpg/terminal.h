// Terminal rendering of ProgressEvents: a redrawn bar with ETA and metrics on a TTY,
// plain periodic lines otherwise (logs, CI).
#pragma once

#include "jobs/progress.h"

#include <string>

namespace igpg::cli {

ProgressCallback makeTerminalProgress();

// Ends a bar that is being redrawn so that the next message starts on a clean line.
void finishTerminalProgress();

std::string formatDuration(double seconds);

}  // namespace igpg::cli
