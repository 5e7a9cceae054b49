#include "app/format.h"

#include <QDateTime>
#include <QLocale>
#include <QStringList>

#include <cmath>

namespace igpg::ui {

namespace {
const QString kUnknown = QStringLiteral("\u2013");
}

QString percentText(double fraction) {
  return std::isnan(fraction) ? kUnknown : QString::number(100.0 * fraction, 'f', 2);
}

QString countText(int64_t count, const QString& singular, const QString& plural) {
  return QLocale().toString(qlonglong(count)) + QLatin1Char(' ') + (count == 1 ? singular : plural);
}

QString numberText(double value) { return std::isnan(value) ? kUnknown : QString::number(value, 'g', 4); }

QString shapeText(const std::vector<int64_t>& shape) {
  if (shape.empty()) return QStringLiteral("scalar");
  QStringList parts;
  for (int64_t d : shape) parts << QString::number(d);
  return parts.join(QChar(0x00D7));
}

QString timeText(const std::string& isoUtc) {
  if (isoUtc.empty()) return {};
  const QDateTime t = QDateTime::fromString(QString::fromStdString(isoUtc), Qt::ISODate);
  return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss")) : QString::fromStdString(isoUtc);
}

QString durationText(double seconds) {
  if (seconds < 0 || std::isnan(seconds)) return kUnknown;
  if (seconds < 60) return QStringLiteral("%1 s").arg(seconds, 0, 'f', seconds < 10 ? 1 : 0);
  const auto total = static_cast<long long>(std::lround(seconds));
  if (total < 3600) return QStringLiteral("%1 min %2 s").arg(total / 60).arg(total % 60, 2, 10, QChar('0'));
  return QStringLiteral("%1 h %2 min").arg(total / 3600).arg((total % 3600) / 60, 2, 10, QChar('0'));
}

std::vector<float> tensorValues(const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous().reshape({-1});
  return std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
}

}  // namespace igpg::ui
