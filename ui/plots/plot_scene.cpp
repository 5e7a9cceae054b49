#include "plots/plot_scene.h"

#include "common/error.h"
#include "common/files.h"

#include <qcustomplot.h>

#include <QImageWriter>

#include <algorithm>
#include <cmath>

namespace igpg::ui {

namespace {

// Tableau 10: ten hues that stay apart for the common colour-vision deficiencies.
QColor paletteColor(int slot) {
  static const char* const colors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                       "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
  return QColor(colors[slot % 10]);
}

const QColor kText(0x22, 0x22, 0x22);
const QColor kMuted(0x55, 0x55, 0x55);
const QColor kAxis(0x80, 0x80, 0x80);
const QColor kGrid(0xe6, 0xe6, 0xe6);

// PNGs are laid out at this width and scaled up to the requested size, so fonts and line
// widths keep the proportions they have on screen.
constexpr double kLayoutWidth = 800;
// Legend entries share one row up to roughly this many pixels, then wrap.
constexpr int kLegendRowWidth = 700;

QFont plotFont(const QCustomPlot& plot, double pointSize, bool bold = false) {
  QFont font = plot.font();
  font.setPointSizeF(pointSize);
  font.setBold(bold);
  return font;
}

QColor withAlpha(QColor color, double alpha) {
  color.setAlphaF(alpha);
  return color;
}

// A histogram outline over bin centres, drawn out to the outer bin edges and down to the
// baseline like matplotlib's histtype="step". QCPGraph's lsStepCenter alone stops half a
// bin short at both ends. The graph's data stay exactly the spec's bin centres and heights.
class HistogramGraph : public QCPGraph {
 public:
  HistogramGraph(QCPAxis* keyAxis, QCPAxis* valueAxis, double binWidth)
      : QCPGraph(keyAxis, valueAxis), binWidth_(binWidth) {}

 protected:
  // QCPGraph::draw hands the same pixel polyline to drawFill and then to drawLinePlot,
  // so extending it here shapes both the fill and the outline.
  void drawFill(QCPPainter* painter, QVector<QPointF>* lines) const override {
    if (!lines->isEmpty()) {
      const QCPAxis* key = keyAxis();
      const QCPAxis* value = valueAxis();
      const double base = value->coordToPixel(value->scaleType() == QCPAxis::stLinear ? 0.0 : value->range().lower);
      const QPointF first = lines->first(), last = lines->last();
      const double left = key->coordToPixel(key->pixelToCoord(first.x()) - binWidth_ / 2);
      const double right = key->coordToPixel(key->pixelToCoord(last.x()) + binWidth_ / 2);
      lines->prepend(QPointF(left, first.y()));
      lines->prepend(QPointF(left, base));
      lines->append(QPointF(right, last.y()));
      lines->append(QPointF(right, base));
    }
    QCPGraph::drawFill(painter, lines);
  }

 private:
  double binWidth_;
};

QVector<double> toQVector(const std::vector<double>& values) { return QVector<double>(values.begin(), values.end()); }

// Grows `range` by `fraction` of its size on both sides; a zero-size range gets a unit.
QCPRange padded(QCPRange range, double fraction) {
  if (range.size() == 0) return QCPRange(range.lower - 0.5, range.upper + 0.5);
  const double margin = range.size() * fraction;
  return QCPRange(range.lower - margin, range.upper + margin);
}

}  // namespace

PlotScene::PlotScene(QCustomPlot& plot, PlotSpec spec) : QObject(&plot), plot_(plot), spec_(std::move(spec)) {
  validatePlotSpec(spec_);
  plot_.setBackground(Qt::white);
  styleAxes();
  addTitleRows();
  // Reference lines first so that the data are drawn over them, but listed after the
  // series in the legend.
  for (const auto& line : spec_.lines) {
    auto* graph = new QCPGraph(plot_.xAxis, plot_.yAxis);
    const QColor color = line.color >= 0 ? paletteColor(line.color) : kAxis;
    graph->setPen(QPen(color, line.dashed ? 1.2 : 1.6, line.dashed ? Qt::DashLine : Qt::SolidLine));
    graph->setName(QString::fromStdString(line.label));
    graph->removeFromLegend();
    lines_.push_back(graph);
  }
  errorBars_.assign(spec_.series.size(), nullptr);
  for (size_t i = 0; i < spec_.series.size(); ++i) addSeries(i);
  for (auto* graph : lines_) graph->addToLegend();
  addLegendRow();
  connect(plot_.xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] { updateReferenceLines(); });
  setLogY(spec_.logY);
}

void PlotScene::styleAxes() {
  for (QCPAxis* axis : {plot_.xAxis, plot_.yAxis, plot_.xAxis2, plot_.yAxis2}) {
    axis->setBasePen(QPen(kAxis, 1));
    axis->setTickPen(QPen(kAxis, 1));
    axis->setSubTickPen(QPen(kAxis, 1));
    axis->setTickLengthIn(0);
    axis->setTickLengthOut(4);
    axis->setSubTickLengthIn(0);
    axis->setSubTickLengthOut(2);
    axis->setTickLabelColor(kText);
    axis->setLabelColor(kText);
    axis->setTickLabelFont(plotFont(plot_, 9));
    axis->setLabelFont(plotFont(plot_, 10));
    axis->grid()->setPen(QPen(kGrid, 1));
    axis->grid()->setZeroLinePen(Qt::NoPen);
    axis->grid()->setSubGridVisible(false);
  }
  // The top and right axes only close the frame.
  for (QCPAxis* axis : {plot_.xAxis2, plot_.yAxis2}) {
    axis->setVisible(true);
    axis->setTicks(false);
    axis->setTickLabels(false);
    axis->grid()->setVisible(false);
  }
  plot_.xAxis->setSubTicks(false);
  plot_.xAxis->setLabel(QString::fromStdString(spec_.xLabel));
  plot_.yAxis->setLabel(QString::fromStdString(spec_.yLabel));
}

void PlotScene::addTitleRows() {
  int row = 0;
  if (!spec_.title.empty()) {
    plot_.plotLayout()->insertRow(row);
    auto* title = new QCPTextElement(&plot_, QString::fromStdString(spec_.title), plotFont(plot_, 12, true));
    title->setTextColor(kText);
    title->setMargins(QMargins(0, 6, 0, 2));
    plot_.plotLayout()->addElement(row++, 0, title);
  }
  if (!spec_.annotations.empty()) {
    // Notes go above the axes rather than inside them, where they could hide data.
    QStringList notes;
    int length = 0;
    for (const auto& a : spec_.annotations) {
      notes << QString::fromStdString(a);
      length += notes.back().size() + 5;
    }
    const QString text = notes.join(length <= 110 ? QStringLiteral("   \u00b7   ") : QStringLiteral("\n"));
    plot_.plotLayout()->insertRow(row);
    auto* note = new QCPTextElement(&plot_, text, plotFont(plot_, 9));
    note->setTextColor(kMuted);
    note->setMargins(QMargins(0, 0, 0, 4));
    plot_.plotLayout()->addElement(row, 0, note);
  }
}

void PlotScene::addSeries(size_t index) {
  const PlotSeries& s = spec_.series[index];
  const QColor color = paletteColor(s.color >= 0 ? s.color : static_cast<int>(index));
  QCPAxis* x = plot_.xAxis;
  QCPAxis* y = plot_.yAxis;
  QCPAbstractPlottable* plottable = nullptr;
  switch (s.style) {
    case SeriesStyle::Bars: {
      auto* bars = new QCPBars(x, y);
      // Gaps between bars only while they are wide enough to show them.
      bars->setWidth(spec_.barWidth * (s.x.size() <= 64 ? 0.8 : 1.0));
      bars->setPen(Qt::NoPen);
      bars->setBrush(withAlpha(color, s.faded ? 0.35 : 0.9));
      plottable = bars;
      break;
    }
    case SeriesStyle::Step: {
      auto* graph = new HistogramGraph(x, y, spec_.barWidth);
      graph->setLineStyle(QCPGraph::lsStepCenter);
      graph->setPen(QPen(color, 1.6));
      graph->setBrush(withAlpha(color, 0.18));
      plottable = graph;
      break;
    }
    case SeriesStyle::Points: {
      // A curve keeps the points in the spec's order (a graph would sort them by x),
      // so a point's index is its model's index.
      auto* curve = new QCPCurve(x, y);
      curve->setLineStyle(QCPCurve::lsNone);
      curve->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(color.darker(130), 1),
                                             QBrush(withAlpha(color, 0.8)), 8));
      plottable = curve;
      break;
    }
    case SeriesStyle::Line:
    case SeriesStyle::LinePoints: {
      auto* graph = new QCPGraph(x, y);
      if (s.faded) {
        graph->setPen(QPen(withAlpha(color, 0.3), 1));
      } else {
        graph->setPen(QPen(color, 2));
      }
      if (s.style == SeriesStyle::LinePoints)
        graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(color, 1.5), QBrush(color), 6));
      plottable = graph;
      break;
    }
  }
  plottable->setName(QString::fromStdString(s.name));
  plottable->setAntialiasedFill(true);
  if (!s.inLegend) plottable->removeFromLegend();
  series_.push_back(plottable);
  if (!s.yError.empty()) {
    auto* errors = new QCPErrorBars(x, y);
    errors->setDataPlottable(plottable);
    errors->setPen(QPen(color, 1.2));
    errors->setWhiskerWidth(6);
    errors->removeFromLegend();
    errorBars_[index] = errors;
  }
  setSeriesData(index);
}

void PlotScene::setSeriesData(size_t index) {
  const PlotSeries& s = spec_.series[index];
  const QVector<double> x = toQVector(s.x), y = toQVector(s.y);
  QCPAbstractPlottable* plottable = series_[index];
  if (auto* bars = qobject_cast<QCPBars*>(plottable)) {
    bars->setData(x, y);
  } else if (auto* curve = qobject_cast<QCPCurve*>(plottable)) {
    curve->setData(x, y);
  } else if (auto* graph = qobject_cast<QCPGraph*>(plottable)) {
    graph->setData(x, y);
  }
  if (errorBars_[index]) errorBars_[index]->setData(toQVector(s.yError));
}

void PlotScene::addLegendRow() {
  QCPLegend* legend = plot_.legend;
  if (legend->itemCount() < 2) {
    legend->setVisible(false);  // one series needs no key; the axis label names it
    return;
  }
  // Below the axes, centred, never over the data.
  plot_.axisRect()->insetLayout()->take(legend);
  plot_.axisRect()->insetLayout()->simplify();
  legend->setVisible(true);
  legend->setBorderPen(Qt::NoPen);
  legend->setBrush(Qt::NoBrush);
  legend->setFont(plotFont(plot_, 9));
  legend->setTextColor(kText);
  legend->setIconSize(26, 12);
  legend->setColumnSpacing(18);
  legend->setRowSpacing(2);
  legend->setMargins(QMargins(4, 2, 4, 10));
  // As many columns as fit; entries fill rows left to right, so entry k is in column k % columns.
  const int entries = legend->itemCount();
  const auto rowWidth = [&](int columns) {
    std::vector<int> widths(static_cast<size_t>(columns), 0);
    for (int k = 0; k < entries; ++k) {
      int& width = widths[static_cast<size_t>(k % columns)];
      width = std::max(width, legend->item(k)->minimumOuterSizeHint().width());
    }
    int total = legend->columnSpacing() * (columns - 1);
    for (int width : widths) total += width;
    return total;
  };
  int columns = entries;
  while (columns > 1 && rowWidth(columns) > kLegendRowWidth) --columns;
  legend->setWrap(columns);
  legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
  legend->setMaximumSize(legend->minimumOuterSizeHint());

  auto* row = new QCPLayoutGrid;
  const int rowIndex = plot_.plotLayout()->rowCount();
  plot_.plotLayout()->addElement(rowIndex, 0, row);
  plot_.plotLayout()->setRowStretchFactor(rowIndex, 0.001);
  // Plain elements on both sides take the spare width and centre the legend (an empty
  // grid would not: its maximum width is zero, and that would cap the whole column).
  row->addElement(0, 0, new QCPLayoutElement(&plot_));
  row->addElement(0, 1, legend);
  row->addElement(0, 2, new QCPLayoutElement(&plot_));
}

void PlotScene::setSmoothing(double weight) {
  igpg::setSmoothing(spec_, weight);
  for (size_t i = 0; i < spec_.series.size(); ++i)
    if (spec_.series[i].smoothedFrom >= 0) setSeriesData(i);
}

void PlotScene::setLogY(bool logY) {
  spec_.logY = logY;
  QCPAxis* axis = plot_.yAxis;
  if (logY) {
    axis->setScaleType(QCPAxis::stLogarithmic);
    axis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    axis->setNumberFormat("eb");  // 10 with a superscript exponent
    axis->setNumberPrecision(0);
    axis->setSubTicks(true);
  } else {
    axis->setScaleType(QCPAxis::stLinear);
    axis->setTicker(QSharedPointer<QCPAxisTicker>::create());
    axis->setNumberFormat("gb");
    axis->setNumberPrecision(6);
    axis->setSubTicks(false);
  }
  plot_.yAxis2->setScaleType(axis->scaleType());
  fitView();
}

void PlotScene::fitView() {
  // From the spec rather than from the plottables: QCPBars always count their zero
  // baseline, which has no place on a log axis, and error bars reach below zero.
  QCPRange xRange, yRange;
  bool haveX = false, haveY = false;
  const auto include = [](QCPRange& range, bool& have, double lower, double upper) {
    if (!std::isfinite(lower) || !std::isfinite(upper)) return;
    range = have ? QCPRange(std::min(range.lower, lower), std::max(range.upper, upper)) : QCPRange(lower, upper);
    have = true;
  };
  for (const auto& s : spec_.series) {
    // Bars and histogram steps are drawn half a bin to either side of their x.
    const bool wide = s.style == SeriesStyle::Bars || s.style == SeriesStyle::Step;
    const double halfWidth = wide ? spec_.barWidth / 2 : 0.0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      include(xRange, haveX, s.x[i] - halfWidth, s.x[i] + halfWidth);
      const double error = s.yError.empty() || !std::isfinite(s.yError[i]) ? 0.0 : s.yError[i];
      if (!spec_.logY) {
        include(yRange, haveY, s.y[i] - error, s.y[i] + error);
      } else if (s.y[i] > 0) {
        include(yRange, haveY, s.y[i] - error > 0 ? s.y[i] - error : s.y[i], s.y[i] + error);
      }
    }
  }
  if (!haveX) xRange = QCPRange(0, 1);

  const bool baselineAtZero = spec_.kind == PlotKind::Histogram || spec_.kind == PlotKind::Bars;
  // A little room beside the outer bars, so their edges do not merge into the frame.
  xRange = padded(xRange, baselineAtZero ? 0.01 : 0.03);
  if (spec_.logY) {
    if (!haveY) yRange = QCPRange(0.1, 10);
    const double margin = yRange.upper > yRange.lower ? std::pow(yRange.upper / yRange.lower, 0.05) : 2.0;
    yRange = QCPRange(yRange.lower / margin, yRange.upper * margin);
  } else if (!haveY) {
    yRange = QCPRange(0, 1);
  } else if (baselineAtZero && yRange.lower >= 0) {
    yRange = QCPRange(0, yRange.upper > 0 ? yRange.upper * 1.05 : 1);
  } else {
    yRange = padded(yRange, 0.05);
  }
  if (spec_.sameRangeXY && !spec_.logY) {
    xRange.expand(yRange);
    yRange = xRange;
  }
  plot_.xAxis->setRange(xRange);
  plot_.yAxis->setRange(yRange);
  updateReferenceLines();
}

void PlotScene::updateReferenceLines() {
  const QCPRange range = plot_.xAxis->range();
  // Two points draw a straight line on linear axes; on a log y axis a line y = ax + b is
  // curved, so it is sampled.
  const int samples = spec_.logY ? 256 : 2;
  for (size_t i = 0; i < lines_.size(); ++i) {
    QVector<double> x(samples), y(samples);
    for (int j = 0; j < samples; ++j) {
      x[j] = range.lower + range.size() * j / (samples - 1);
      y[j] = spec_.lines[i].slope * x[j] + spec_.lines[i].intercept;
    }
    lines_[i]->setData(x, y, true);
  }
}

void writePlotPng(QCustomPlot& plot, const QString& path, int width, int height) {
  const std::string file = path.toStdString();
  if (width < 16 || height < 16 || width > 16384 || height > 16384)
    fail(ErrorKind::Config, file,
         "image size must be 16 to 16384 pixels a side, got " + std::to_string(width) + "x" + std::to_string(height));
  const double scale = std::max(1.0, width / kLayoutWidth);
  QImage image(width, height, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::white);
  // 96 dpi, the reference of the layout; fonts are sized in points against it.
  image.setDotsPerMeterX(3780);
  image.setDotsPerMeterY(3780);
  {
    QCPPainter painter(&image);
    if (scale > 1) {
      painter.setMode(QCPPainter::pmNonCosmetic);  // lines scale with the text
      painter.scale(scale, scale);
    }
    plot.toPainter(&painter, static_cast<int>(std::ceil(width / scale)), static_cast<int>(std::ceil(height / scale)));
  }
  TemporaryFile temporary(file);
  QImageWriter writer(QString::fromStdString(temporary.path()), "png");
  if (!writer.write(image)) fail(ErrorKind::Io, file, "cannot write PNG: " + writer.errorString().toStdString());
  temporary.commit();
}

}  // namespace igpg::ui
