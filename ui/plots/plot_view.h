// The studio's plot widget: any PlotSpec, drawn by the same PlotScene as the report's
// PNGs, with zoom (wheel) and pan (drag), double-click to fit, a log-y toggle, a
// smoothing slider for training curves (the raw curve stays visible underneath), a
// legend, values on hover, and PNG / CSV export from the toolbar or the context menu.
#pragma once

#include "evaluation/plot_spec.h"

#include <QWidget>

class QCheckBox;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QSlider;
class QVBoxLayout;

namespace igpg::ui {

class PlotScene;

class PlotView : public QWidget {
  Q_OBJECT
 public:
  explicit PlotView(QWidget* parent = nullptr);

  // Shows `spec`. Throws igpg::Error for an inconsistent spec and keeps the plot shown.
  void setSpec(const PlotSpec& spec);
  // The plot as shown: the spec with the view's current smoothing and y scale.
  const PlotSpec& spec() const;

  QCustomPlot* plot() const { return plot_; }
  PlotScene* scene() const { return scene_; }

  void setLogY(bool logY);
  // Moving-average weight in [0, 1) for the smoothed curves; the slider goes to 0.99.
  void setSmoothing(double weight);
  void resetView();

  // Both throw igpg::Error when the file cannot be written; neither leaves half a file.
  void exportPng(const QString& path, int width, int height);
  void exportCsv(const QString& path) const;

 private:
  void syncControls();
  void choosePngFile();
  void chooseCsvFile();
  QString suggestedFileName(const QString& extension) const;
  void showContextMenu(const QPoint& position);
  void showPointTip(QMouseEvent* event);

  QVBoxLayout* layout_ = nullptr;
  QCustomPlot* plot_ = nullptr;
  PlotScene* scene_ = nullptr;
  QCheckBox* logY_ = nullptr;
  QWidget* smoothingControls_ = nullptr;
  QSlider* smoothing_ = nullptr;
  QLabel* smoothingValue_ = nullptr;
};

}  // namespace igpg::ui
