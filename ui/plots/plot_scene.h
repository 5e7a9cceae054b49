// The one piece of code that turns a PlotSpec into QCustomPlot graphs. The studio's
// PlotView and the report's offscreen renderer both draw through a PlotScene, so a
// figure in a report looks exactly like the same plot in the studio.
#pragma once

#include "evaluation/plot_spec.h"

#include <QObject>
#include <QString>

#include <vector>

class QCustomPlot;
class QCPAbstractPlottable;
class QCPErrorBars;
class QCPGraph;

namespace igpg::ui {

class PlotScene : public QObject {
  Q_OBJECT
 public:
  // Draws `spec` into `plot`, which must be fresh (as constructed): the scene adds the
  // title, notes and legend rows around the axis rect. Throws igpg::Error for an
  // inconsistent spec. The scene is a child of the plot and dies with it.
  PlotScene(QCustomPlot& plot, PlotSpec spec);

  const PlotSpec& spec() const { return spec_; }
  QCustomPlot& plot() const { return plot_; }

  // One plottable per spec series, in spec order: a QCPBars for Bars, a QCPGraph otherwise.
  const std::vector<QCPAbstractPlottable*>& seriesPlottables() const { return series_; }
  // One graph per reference line, resampled over the visible x range.
  const std::vector<QCPGraph*>& referenceGraphs() const { return lines_; }

  // Recomputes the smoothed series (PlotSpec's setSmoothing) and updates their graphs;
  // the view ranges stay as they are. Throws igpg::Error for a weight outside [0, 1).
  void setSmoothing(double weight);
  // Switches the y axis between linear and logarithmic and fits the view to the data.
  void setLogY(bool logY);
  // Ranges that show every point (and error bar) with a small margin.
  void fitView();

 private:
  void addTitleRows();
  void addSeries(size_t index);
  void setSeriesData(size_t index);
  void addLegendRow();
  void styleAxes();
  void updateReferenceLines();

  QCustomPlot& plot_;
  PlotSpec spec_;
  std::vector<QCPAbstractPlottable*> series_;
  std::vector<QCPErrorBars*> errorBars_;
  std::vector<QCPGraph*> lines_;
};

// Draws the plot as it stands into a PNG of exactly width x height pixels, atomically.
// Large images are drawn at a proportionally larger scale (like a high-DPI screen), so
// fonts and lines keep their proportions whatever the size. Throws igpg::Error(Io)
// when the file cannot be written, Error(Config) for a size outside 16..16384.
void writePlotPng(QCustomPlot& plot, const QString& path, int width, int height);

}  // namespace igpg::ui
