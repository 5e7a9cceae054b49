#include "plots/plot_view.h"

#include "common/error.h"
#include "common/files.h"
#include "plots/plot_scene.h"

#include <qcustomplot.h>

#include <QCheckBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QMessageBox>
#include <QRegularExpression>
#include <QSlider>
#include <QToolButton>
#include <QToolTip>
#include <QVBoxLayout>

#include <memory>

namespace igpg::ui {

namespace {

constexpr int kSmoothingSteps = 100;  // slider 0..99 is weight 0.00..0.99
constexpr double kTipDistance = 8;    // pixels from a point for its values to show

QToolButton* toolButton(const QString& text, const QString& tip, QWidget* parent) {
  auto* button = new QToolButton(parent);
  button->setText(text);
  button->setToolTip(tip);
  button->setAutoRaise(true);
  return button;
}

}  // namespace

PlotView::PlotView(QWidget* parent) : QWidget(parent) {
  layout_ = new QVBoxLayout(this);
  layout_->setContentsMargins(0, 0, 0, 0);
  layout_->setSpacing(2);

  auto* toolbar = new QHBoxLayout;
  toolbar->setContentsMargins(6, 2, 6, 0);
  logY_ = new QCheckBox(tr("Log y"), this);
  logY_->setObjectName("logY");
  logY_->setToolTip(tr("Logarithmic y axis"));
  toolbar->addWidget(logY_);

  smoothingControls_ = new QWidget(this);
  auto* smoothingLayout = new QHBoxLayout(smoothingControls_);
  smoothingLayout->setContentsMargins(12, 0, 0, 0);
  smoothingLayout->addWidget(new QLabel(tr("Smoothing"), smoothingControls_));
  smoothing_ = new QSlider(Qt::Horizontal, smoothingControls_);
  smoothing_->setObjectName("smoothing");
  smoothing_->setRange(0, kSmoothingSteps - 1);
  smoothing_->setFixedWidth(160);
  smoothing_->setToolTip(tr("Exponential moving average of the curves; the raw curves stay visible underneath"));
  smoothingLayout->addWidget(smoothing_);
  smoothingValue_ = new QLabel(smoothingControls_);
  smoothingValue_->setMinimumWidth(smoothingValue_->fontMetrics().horizontalAdvance("0.00") + 4);
  smoothingLayout->addWidget(smoothingValue_);
  toolbar->addWidget(smoothingControls_);
  toolbar->addStretch(1);

  auto* fit = toolButton(tr("Fit"), tr("Show all data (or double-click the plot)"), this);
  auto* png = toolButton(tr("PNG\u2026"), tr("Export the plot as it is shown to a PNG image"), this);
  auto* csv = toolButton(tr("CSV\u2026"), tr("Export every number of the plot to a CSV file"), this);
  png->setObjectName("exportPng");
  csv->setObjectName("exportCsv");
  toolbar->addWidget(fit);
  toolbar->addWidget(png);
  toolbar->addWidget(csv);
  layout_->addLayout(toolbar);

  connect(logY_, &QCheckBox::toggled, this, &PlotView::setLogY);
  connect(smoothing_, &QSlider::valueChanged, this,
          [this](int value) { setSmoothing(static_cast<double>(value) / kSmoothingSteps); });
  connect(fit, &QToolButton::clicked, this, &PlotView::resetView);
  connect(png, &QToolButton::clicked, this, &PlotView::choosePngFile);
  connect(csv, &QToolButton::clicked, this, &PlotView::chooseCsvFile);

  setSpec(PlotSpec{});
}

void PlotView::setSpec(const PlotSpec& spec) {
  // A fresh plot per spec: the scene lays out title, notes and legend around pristine axes.
  auto plot = std::make_unique<QCustomPlot>(this);
  scene_ = new PlotScene(*plot, spec);  // throws before anything shown changes
  if (plot_) {
    layout_->removeWidget(plot_);
    delete plot_;
  }
  plot_ = plot.release();
  plot_->setMinimumSize(320, 220);
  plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
  plot_->axisRect()->setRangeDrag(Qt::Horizontal | Qt::Vertical);
  plot_->axisRect()->setRangeZoom(Qt::Horizontal | Qt::Vertical);
  plot_->setContextMenuPolicy(Qt::CustomContextMenu);
  plot_->setMouseTracking(true);
  connect(plot_, &QWidget::customContextMenuRequested, this, &PlotView::showContextMenu);
  connect(plot_, &QCustomPlot::mouseMove, this, &PlotView::showPointTip);
  connect(plot_, &QCustomPlot::mouseDoubleClick, this, &PlotView::resetView);
  layout_->addWidget(plot_, 1);
  syncControls();
  plot_->replot();
}

const PlotSpec& PlotView::spec() const { return scene_->spec(); }

void PlotView::syncControls() {
  const PlotSpec& s = scene_->spec();
  const QSignalBlocker blockLog(logY_), blockSmoothing(smoothing_);
  logY_->setChecked(s.logY);
  smoothingControls_->setVisible(hasSmoothedSeries(s));
  smoothing_->setValue(static_cast<int>(std::lround(s.smoothing * kSmoothingSteps)));
  smoothingValue_->setText(QString::number(s.smoothing, 'f', 2));
}

void PlotView::setLogY(bool logY) {
  scene_->setLogY(logY);
  syncControls();
  plot_->replot();
}

void PlotView::setSmoothing(double weight) {
  scene_->setSmoothing(weight);
  syncControls();
  plot_->replot(QCustomPlot::rpQueuedReplot);  // slider drags coalesce into one repaint
}

void PlotView::resetView() {
  scene_->fitView();
  plot_->replot();
}

void PlotView::exportPng(const QString& path, int width, int height) {
  writePlotPng(*plot_, path, width, height);
  plot_->replot();  // the export laid the plot out at its own size
}

void PlotView::exportCsv(const QString& path) const { writeFileAtomic(path.toStdString(), plotSpecToCsv(spec())); }

QString PlotView::suggestedFileName(const QString& extension) const {
  QString name = QString::fromStdString(spec().title).toLower();
  name.replace(QRegularExpression("[^a-z0-9]+"), "_");
  name.remove(QRegularExpression("^_+|_+$"));
  return (name.isEmpty() ? QStringLiteral("plot") : name) + extension;
}

void PlotView::choosePngFile() {
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Export plot as PNG"), suggestedFileName(".png"), tr("PNG images (*.png)"));
  if (path.isEmpty()) return;
  try {
    // Twice the on-screen size: crisp on high-DPI screens and in documents, same layout.
    exportPng(path, std::max(16, 2 * plot_->width()), std::max(16, 2 * plot_->height()));
  } catch (const Error& e) {
    QMessageBox::warning(this, tr("Export failed"), QString::fromStdString(e.what()));
  }
}

void PlotView::chooseCsvFile() {
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Export plot data as CSV"), suggestedFileName(".csv"), tr("CSV files (*.csv)"));
  if (path.isEmpty()) return;
  try {
    exportCsv(path);
  } catch (const Error& e) {
    QMessageBox::warning(this, tr("Export failed"), QString::fromStdString(e.what()));
  }
}

void PlotView::showContextMenu(const QPoint& position) {
  QMenu menu(this);
  menu.addAction(tr("Fit to data"), this, &PlotView::resetView);
  QAction* log = menu.addAction(tr("Log y axis"));
  log->setCheckable(true);
  log->setChecked(spec().logY);
  connect(log, &QAction::toggled, this, &PlotView::setLogY);
  menu.addSeparator();
  menu.addAction(tr("Export PNG\u2026"), this, &PlotView::choosePngFile);
  menu.addAction(tr("Export CSV\u2026"), this, &PlotView::chooseCsvFile);
  menu.exec(plot_->mapToGlobal(position));
}

void PlotView::showPointTip(QMouseEvent* event) {
  if (event->buttons() != Qt::NoButton) return;  // dragging
  const QPointF position = event->position();
  const auto& plottables = scene_->seriesPlottables();
  double best = kTipDistance;
  QString text;
  for (size_t i = 0; i < plottables.size(); ++i) {
    QCPAbstractPlottable* plottable = plottables[i];
    QVariant details;
    const double distance = plottable->selectTest(position, false, &details);
    const QCPDataSelection hit = details.value<QCPDataSelection>();
    if (distance < 0 || distance >= best || hit.isEmpty()) continue;
    const int index = hit.dataRange().begin();
    const double x = plottable->interface1D()->dataMainKey(index);
    const double y = plottable->interface1D()->dataMainValue(index);
    // Graphs and bars sort their points by x; find the point in the spec by its values.
    const PlotSeries& s = scene_->spec().series[i];
    QString line = QString::fromStdString(s.name);
    for (size_t j = 0; j < s.x.size(); ++j) {
      if (s.x[j] != x || s.y[j] != y) continue;
      if (!s.pointLabels.empty()) line += QStringLiteral(": ") + QString::fromStdString(s.pointLabels[j]);
      line += QStringLiteral("\nx = %1\ny = %2").arg(x, 0, 'g', 6).arg(y, 0, 'g', 6);
      if (!s.yError.empty()) line += QStringLiteral(" \u00b1 %1").arg(s.yError[j], 0, 'g', 4);
      break;
    }
    best = distance;
    text = line;
  }
  if (text.isEmpty()) {
    QToolTip::hideText();
  } else {
    QToolTip::showText(plot_->mapToGlobal(position.toPoint()), text, plot_);
  }
}

}  // namespace igpg::ui
