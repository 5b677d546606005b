// One metric's bipolar slider: the metric's name and value on top, a horizontal track from -limit to
// +limit with a centre detent at 0, and the two pole labels under the track's ends. The part of the track
// between the centre and the handle is filled in the accent colour. A value bubble shows above the handle
// on hover and while dragging.
//
// Mouse: press or drag anywhere on the track moves the handle there (values within kDetent of 0 snap to 0);
// double-click resets to 0; the wheel steps by kStep. Keyboard (the widget takes focus by Tab or click and
// draws a focus ring): Left/Down -kStep, Right/Up +kStep, PageDown/PageUp -/+kPageStep, Home = minimum,
// End = maximum, Delete / Backspace / 0 = 0.
//
// Availability: setAvailable(false, reason) disables the slider, forces it to 0 and puts the reason in its
// tooltip. setSidesAvailable(negative, positive, reason) clamps it to the sides the adapter bank has (a
// missing side clamps that half of the range to 0).
#pragma once

#include <QString>
#include <QWidget>

#include "tastemaker/metrics.h"

namespace tmk::ui {

class BipolarSlider : public QWidget {
    Q_OBJECT

public:
    static constexpr double kDetent = 0.04; // |value| below this snaps to 0 while dragging
    static constexpr double kStep = 0.05; // arrow keys and the wheel
    static constexpr double kPageStep = 0.25; // PageUp / PageDown
    static constexpr double kDefaultLimit = 1.0;

    explicit BipolarSlider(const tmk::MetricInfo& metric, QWidget* parent = nullptr);
    ~BipolarSlider() override;

    const QString& metricId() const { return m_id; }
    const tmk::MetricInfo& metric() const { return m_metric; }

    double value() const { return m_value; }
    // Clamped to [minimum(), maximum()]; emits valueChanged only when the value changes.
    void setValue(double value);

    // The track runs from -limit to +limit; limit is clamped to (0, tmk::kSliderLimit] ("exaggerate" is 2).
    // A value outside the new range is clamped (and valueChanged emitted).
    void setRange(double limit);
    double limit() const { return m_limit; }
    // The reachable range: [-limit, +limit] narrowed by setSidesAvailable / setAvailable.
    double minimum() const;
    double maximum() const;

    // false: disabled, value forced to 0, `reason` as the tooltip. true: both sides enabled again.
    void setAvailable(bool available, const QString& reason = {});
    // One side missing: the slider stays enabled but is clamped to the present side; `reason` (which side
    // is missing) is shown in the tooltip. Both false is setAvailable(false, reason).
    void setSidesAvailable(bool negative, bool positive, const QString& reason = {});
    bool isAvailable() const { return m_negativeAvailable || m_positiveAvailable; }
    bool negativeAvailable() const { return m_negativeAvailable; }
    bool positiveAvailable() const { return m_positiveAvailable; }
    const QString& unavailableReason() const { return m_reason; }

    // What the open bank's steering report measured of this slider, as a mark after the name and a paragraph
    // in the tooltip: Moves (the +1 against -1 difference has the right sign and its 95% interval excludes 0:
    // a filled dot), NoEffect (the interval holds 0: a hollow ring), Reversed (the interval excludes 0 on the
    // wrong side: a hollow ring in the error colour), Unmeasured (no report, a metric without an audio measure,
    // or adapters retrained since: no mark; `summary` may still say why).
    enum class Measured { Unmeasured, Moves, NoEffect, Reversed };
    void setMeasured(Measured measured, const QString& summary);
    Measured measured() const { return m_measured; }
    const QString& measuredSummary() const { return m_measuredSummary; }

    bool isDragging() const { return m_dragging; }
    // Whether the value bubble is showing (hover or drag).
    bool bubbleVisible() const { return m_dragging || m_hovered; }
    // "+0.70", "-1.00", "0.00".
    static QString formatValue(double value);

    // Geometry, in widget coordinates (also used by the tests).
    QRectF trackRect() const; // the groove
    double valueAtX(double x) const; // the value under x (clamped to the range; no detent)
    double xForValue(double value) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    void valueChanged(const QString& metricId, double value);
    void dragStarted(const QString& metricId);
    void dragFinished(const QString& metricId);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void enterEvent(QEnterEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void focusInEvent(QFocusEvent* event) override;
    void focusOutEvent(QFocusEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    struct Layout;
    Layout layout() const;
    void setValueInternal(double value);
    void updateToolTip();
    void paintTrack(QPainter& painter, const Layout& geometry) const;
    void paintHandle(QPainter& painter, const Layout& geometry) const;
    void paintBubble(QPainter& painter, const Layout& geometry) const;
    void paintLabels(QPainter& painter, const Layout& geometry) const;
    void paintMeasuredMark(QPainter& painter, const Layout& geometry, double nameWidth) const;

    tmk::MetricInfo m_metric;
    QString m_id;
    double m_value = 0.0;
    double m_limit = kDefaultLimit;
    bool m_negativeAvailable = true;
    bool m_positiveAvailable = true;
    QString m_reason;
    Measured m_measured = Measured::Unmeasured;
    QString m_measuredSummary;
    bool m_dragging = false;
    bool m_hovered = false;
};

} // namespace tmk::ui
