#include "app/icons.h"

#include <QIconEngine>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace igpg::ui {

namespace {

const QColor kBlue(0x1f, 0x5f, 0xa8);
const QColor kOrange(0xe8, 0x84, 0x1a);
const QColor kGrey(0x4a, 0x4f, 0x57);

// Everything is drawn on a 64 x 64 grid, scaled to the requested size.
void paintIcon(QPainter& p, StudioIcon which) {
  p.setRenderHint(QPainter::Antialiasing);
  switch (which) {
    case StudioIcon::Application: {
      p.setPen(Qt::NoPen);
      p.setBrush(kBlue);
      p.drawRoundedRect(QRectF(2, 2, 60, 60), 12, 12);
      p.setBrush(Qt::white);
      const double heights[] = {10, 20, 32, 38, 28, 16, 8};
      for (int i = 0; i < 7; ++i) p.drawRect(QRectF(9 + i * 6.6, 52 - heights[i], 5, heights[i]));
      p.setPen(QPen(kOrange, 4.5, Qt::SolidLine, Qt::RoundCap));
      p.drawLine(QPointF(10, 54), QPointF(54, 10));
      break;
    }
    case StudioIcon::Zoo:
      p.setPen(Qt::NoPen);
      for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 3; ++c) {
          p.setBrush(r == 1 && c == 1 ? kOrange : kBlue);
          p.drawRoundedRect(QRectF(6 + c * 18, 6 + r * 18, 15, 15), 3, 3);
        }
      break;
    case StudioIcon::Train: {
      p.setPen(QPen(kGrey, 3, Qt::SolidLine, Qt::RoundCap));
      p.drawLine(QPointF(8, 6), QPointF(8, 56));
      p.drawLine(QPointF(8, 56), QPointF(58, 56));
      QPainterPath loss;
      loss.moveTo(12, 10);
      loss.cubicTo(18, 40, 28, 46, 56, 48);
      p.setPen(QPen(kBlue, 5, Qt::SolidLine, Qt::RoundCap));
      p.drawPath(loss);
      break;
    }
    case StudioIcon::Generate: {
      QPainterPath star;
      const QPointF c(26, 30);
      for (int i = 0; i < 8; ++i) {
        const double radius = i % 2 ? 7 : 22;
        const double angle = i * 3.14159265 / 4;
        const QPointF pt(c.x() + radius * std::sin(angle), c.y() - radius * std::cos(angle));
        i ? star.lineTo(pt) : star.moveTo(pt);
      }
      star.closeSubpath();
      p.setPen(Qt::NoPen);
      p.setBrush(kOrange);
      p.drawPath(star);
      p.setBrush(kBlue);
      for (int r = 0; r < 3; ++r) p.drawRoundedRect(QRectF(46, 12 + r * 16, 12, 12), 2, 2);
      break;
    }
    case StudioIcon::Analyze: {
      p.setPen(QPen(kGrey, 3, Qt::SolidLine, Qt::RoundCap));
      p.drawLine(QPointF(8, 6), QPointF(8, 56));
      p.drawLine(QPointF(8, 56), QPointF(58, 56));
      p.setPen(QPen(kOrange, 3, Qt::DashLine, Qt::RoundCap));
      p.drawLine(QPointF(12, 52), QPointF(56, 8));
      p.setPen(Qt::NoPen);
      p.setBrush(kBlue);
      const QPointF points[] = {{18, 44}, {25, 40}, {30, 30}, {38, 27}, {44, 20}, {50, 14}, {22, 34}};
      for (const QPointF& pt : points) p.drawEllipse(pt, 4, 4);
      break;
    }
  }
}

class PaintedIconEngine : public QIconEngine {
 public:
  explicit PaintedIconEngine(StudioIcon which) : which_(which) {}
  void paint(QPainter* painter, const QRect& rect, QIcon::Mode mode, QIcon::State) override {
    painter->save();
    painter->translate(rect.topLeft());
    painter->scale(rect.width() / 64.0, rect.height() / 64.0);
    if (mode == QIcon::Disabled) painter->setOpacity(0.4);
    paintIcon(*painter, which_);
    painter->restore();
  }
  QPixmap pixmap(const QSize& size, QIcon::Mode mode, QIcon::State state) override {
    QPixmap pixmap(size);
    pixmap.fill(Qt::transparent);
    QPainter painter(&pixmap);
    paint(&painter, QRect(QPoint(0, 0), size), mode, state);
    return pixmap;
  }
  QIconEngine* clone() const override { return new PaintedIconEngine(which_); }

 private:
  StudioIcon which_;
};

}  // namespace

QIcon studioIcon(StudioIcon which) { return QIcon(new PaintedIconEngine(which)); }

}  // namespace igpg::ui
