#include "widgets/waveform_view.h"

#include <algorithm>
#include <cmath>

#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

#include "widgets/theme.h"

namespace tmk::ui {

namespace {

QString clockText(double seconds)
{
    const int whole = static_cast<int>(std::floor(std::max(0.0, seconds)));
    return QStringLiteral("%1:%2").arg(whole / 60).arg(whole % 60, 2, 10, QLatin1Char('0'));
}

} // namespace

WaveformView::WaveformView(QWidget* parent)
    : QWidget(parent)
    , m_emptyText(tr("No clip selected"))
{
    setObjectName(QStringLiteral("waveformView"));
    setFocusPolicy(Qt::StrongFocus);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    setAccessibleName(tr("Waveform"));
    setCursor(Qt::PointingHandCursor);
}

WaveformView::~WaveformView() = default;

void WaveformView::setAudio(std::vector<float> samples, int sampleRate)
{
    m_peakMin.clear();
    m_peakMax.clear();
    m_partialCount = 0;
    m_sampleCount = 0;
    m_sampleRate = std::max(0, sampleRate);
    m_playheadSeconds = 0.0;
    if (m_sampleRate > 0) {
        addPeaks(samples);
    }
    update();
}

void WaveformView::appendAudio(std::span<const float> samples)
{
    if (m_sampleRate <= 0 || samples.empty()) {
        return;
    }
    addPeaks(samples);
    update();
}

// Extends the min/max summary; the last peak may be partial and is completed by the next call.
void WaveformView::addPeaks(std::span<const float> samples)
{
    for (const float raw : samples) {
        const float s = std::isfinite(raw) ? std::clamp(raw, -1.0f, 1.0f) : 0.0f;
        if (m_partialCount == 0) {
            m_peakMin.push_back(s);
            m_peakMax.push_back(s);
        } else {
            m_peakMin.back() = std::min(m_peakMin.back(), s);
            m_peakMax.back() = std::max(m_peakMax.back(), s);
        }
        m_partialCount = (m_partialCount + 1) % kSamplesPerPeak;
    }
    m_sampleCount += static_cast<long long>(samples.size());
}

void WaveformView::setExpectedDuration(double seconds)
{
    m_expectedSeconds = std::isfinite(seconds) ? std::max(0.0, seconds) : 0.0;
    update();
}

void WaveformView::clear()
{
    setAudio({}, 0);
    m_expectedSeconds = 0.0;
}

double WaveformView::durationSeconds() const
{
    return m_sampleRate > 0 ? static_cast<double>(m_sampleCount) / m_sampleRate : 0.0;
}

double WaveformView::displayedSeconds() const
{
    return std::max(durationSeconds(), m_expectedSeconds);
}

void WaveformView::setPlayhead(double seconds)
{
    if (!std::isfinite(seconds)) {
        return;
    }
    seconds = std::max(0.0, seconds);
    if (seconds == m_playheadSeconds) {
        return;
    }
    m_playheadSeconds = seconds;
    update();
}

QRectF WaveformView::waveRect() const
{
    const QFontMetricsF fm(font());
    const double pad = std::round(fm.height() * 0.5);
    // The bottom strip holds the time labels.
    return QRectF(pad, pad, std::max(1.0, width() - 2 * pad), std::max(1.0, height() - 2 * pad - fm.height()));
}

double WaveformView::secondsAtX(double x) const
{
    const QRectF area = waveRect();
    const double t = std::clamp((x - area.left()) / area.width(), 0.0, 1.0);
    return std::min(t * displayedSeconds(), durationSeconds());
}

double WaveformView::xForSeconds(double seconds) const
{
    const QRectF area = waveRect();
    const double span = displayedSeconds();
    if (span <= 0.0) {
        return area.left();
    }
    return area.left() + std::clamp(seconds / span, 0.0, 1.0) * area.width();
}

QSize WaveformView::sizeHint() const
{
    const QFontMetrics fm(font());
    return QSize(fm.horizontalAdvance(QLatin1Char('M')) * 40, fm.height() * 6);
}

QSize WaveformView::minimumSizeHint() const
{
    const QFontMetrics fm(font());
    return QSize(fm.horizontalAdvance(QLatin1Char('M')) * 10, fm.height() * 4);
}

void WaveformView::mousePressEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton && hasAudio()) {
        Q_EMIT seekRequested(secondsAtX(event->position().x()));
        event->accept();
        return;
    }
    QWidget::mousePressEvent(event);
}

void WaveformView::mouseMoveEvent(QMouseEvent* event)
{
    if ((event->buttons() & Qt::LeftButton) && hasAudio()) {
        Q_EMIT seekRequested(secondsAtX(event->position().x()));
        event->accept();
        return;
    }
    QWidget::mouseMoveEvent(event);
}

void WaveformView::keyPressEvent(QKeyEvent* event)
{
    if (!hasAudio()) {
        QWidget::keyPressEvent(event);
        return;
    }
    switch (event->key()) {
    case Qt::Key_Left:
        Q_EMIT seekRequested(std::max(0.0, m_playheadSeconds - 1.0));
        break;
    case Qt::Key_Right:
        Q_EMIT seekRequested(std::min(durationSeconds(), m_playheadSeconds + 1.0));
        break;
    case Qt::Key_Home:
        Q_EMIT seekRequested(0.0);
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    event->accept();
}

void WaveformView::paintEvent(QPaintEvent* /*event*/)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QPalette& pal = palette();
    const QRectF frame = QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5);
    const double radius = QFontMetricsF(font()).height() * 0.5;
    painter.setPen(QPen(hasFocus() ? accentColor(pal) : grooveColor(pal), hasFocus() ? 1.5 : 1.0));
    painter.setBrush(pal.color(QPalette::Base));
    painter.drawRoundedRect(frame, radius, radius);

    if (!hasAudio()) {
        painter.setPen(mutedTextColor(pal));
        painter.drawText(rect(), Qt::AlignCenter, m_emptyText);
        return;
    }
    const QRectF area = waveRect();
    paintWave(painter, area);
    paintTimeLabels(painter, area);

    const double x = xForSeconds(m_playheadSeconds);
    painter.setPen(QPen(pal.color(QPalette::WindowText), 1.5));
    painter.drawLine(QPointF(x, area.top() - 2), QPointF(x, area.bottom() + 2));
}

// One vertical bar per device-independent pixel column, from the min to the max of the peaks it covers;
// the played part is drawn in the accent colour.
void WaveformView::paintWave(QPainter& painter, const QRectF& area) const
{
    const QPalette& pal = palette();
    const double midY = area.center().y();
    const double halfHeight = area.height() / 2;
    painter.setPen(QPen(grooveColor(pal), 1.0));
    painter.drawLine(QPointF(area.left(), midY), QPointF(area.right(), midY));

    const double peaksPerSecond = static_cast<double>(m_sampleRate) / kSamplesPerPeak;
    const double span = displayedSeconds();
    const int columns = std::max(1, static_cast<int>(area.width()));
    const double playX = xForSeconds(m_playheadSeconds);
    const QColor played = accentColor(pal);
    const QColor unplayed = mutedTextColor(pal);
    const auto peakCount = static_cast<long long>(m_peakMin.size());
    for (int c = 0; c < columns; ++c) {
        const auto first = static_cast<long long>(span * c / columns * peaksPerSecond);
        auto last = static_cast<long long>(span * (c + 1) / columns * peaksPerSecond);
        if (first >= peakCount) {
            break;
        }
        last = std::clamp(last, first + 1, peakCount);
        float lo = 0.0f;
        float hi = 0.0f;
        for (long long p = first; p < last; ++p) {
            lo = std::min(lo, m_peakMin[static_cast<size_t>(p)]);
            hi = std::max(hi, m_peakMax[static_cast<size_t>(p)]);
        }
        const double x = area.left() + c + 0.5;
        painter.setPen(QPen(x <= playX ? played : unplayed, 1.0));
        painter.drawLine(QPointF(x, midY - hi * halfHeight - 0.5), QPointF(x, midY - lo * halfHeight + 0.5));
    }
}

void WaveformView::paintTimeLabels(QPainter& painter, const QRectF& area) const
{
    QFont small = font();
    small.setPointSizeF(font().pointSizeF() > 0 ? font().pointSizeF() * 0.85 : 8.0);
    painter.setFont(small);
    painter.setPen(mutedTextColor(palette()));
    const QRectF labels(area.left(), area.bottom() + 2, area.width(), QFontMetricsF(small).height());
    painter.drawText(labels, Qt::AlignLeft | Qt::AlignVCenter, clockText(m_playheadSeconds));
    painter.drawText(labels, Qt::AlignRight | Qt::AlignVCenter, clockText(durationSeconds()));
}

} // namespace tmk::ui
