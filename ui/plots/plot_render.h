// Offscreen rendering of a PlotSpec to PNG, for the report writer. It draws through the
// same PlotScene as the studio's PlotView, so a report figure is the studio's plot.
#pragma once

#include "evaluation/plot_spec.h"

#include <QString>

namespace igpg::ui {

// Draws `spec` into a PNG of exactly width x height pixels without showing a window
// (works under QT_QPA_PLATFORM=offscreen). Needs a QApplication and the GUI thread;
// offscreenPlotRenderer() takes care of both. Throws igpg::Error for an inconsistent
// spec, a bad size or a file that cannot be written; never leaves half a file.
void renderPlotSpecToPng(const PlotSpec& spec, const QString& path, int width, int height);

// The PlotRenderer the app hands to the report writer. Callable from any thread: from a
// worker it runs on the GUI thread and waits (the GUI thread must be running its event
// loop). Without any application (the command line) it first creates an offscreen
// QApplication, so call it from the main thread there.
PlotRenderer offscreenPlotRenderer();

}  // namespace igpg::ui
