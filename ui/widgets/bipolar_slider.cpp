#include "widgets/bipolar_slider.h"

#include <algorithm>
#include <cmath>

#include <QAccessible>
#include <QAccessibleValueInterface>
#include <QAccessibleWidget>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>
#include <QWheelEvent>

#include "tastemaker/adapters.h"
#include "widgets/qt_text.h"
#include "widgets/theme.h"

namespace tmk::ui {

namespace {

// Values are kept on a 0.001 grid by the mouse and keys so that repeated steps do not drift.
double roundToGrid(double value, double grid)
{
    return std::round(value / grid) * grid;
}

// The slider as seen by screen readers: role Slider with a value interface.
class BipolarSliderAccessible : public QAccessibleWidget, public QAccessibleValueInterface {
public:
    explicit BipolarSliderAccessible(BipolarSlider* slider)
        : QAccessibleWidget(slider, QAccessible::Slider)
    {
    }
    void* interface_cast(QAccessible::InterfaceType type) override
    {
        if (type == QAccessible::ValueInterface) {
            return static_cast<QAccessibleValueInterface*>(this);
        }
        return QAccessibleWidget::interface_cast(type);
    }
    QString text(QAccessible::Text t) const override
    {
        if (t == QAccessible::Value) {
            return BipolarSlider::formatValue(slider()->value());
        }
        return QAccessibleWidget::text(t);
    }
    QVariant currentValue() const override { return slider()->value(); }
    void setCurrentValue(const QVariant& value) override { slider()->setValue(value.toDouble()); }
    QVariant maximumValue() const override { return slider()->maximum(); }
    QVariant minimumValue() const override { return slider()->minimum(); }
    QVariant minimumStepSize() const override { return BipolarSlider::kStep; }

private:
    BipolarSlider* slider() const { return static_cast<BipolarSlider*>(widget()); }
};

QAccessibleInterface* accessibleFactory(const QString& /*className*/, QObject* object)
{
    if (auto* slider = qobject_cast<BipolarSlider*>(object)) {
        return new BipolarSliderAccessible(slider);
    }
    return nullptr;
}

} // namespace

// Where everything is drawn; derived from the font so that the widget scales with it.
struct BipolarSlider::Layout {
    QRectF nameRow; // name (left) and value (right)
    QRectF groove; // the track
    QRectF labelRow; // pole labels
    double handleRadius = 0.0;
    double centreY = 0.0;
};

BipolarSlider::BipolarSlider(const tmk::MetricInfo& metric, QWidget* parent)
    : QWidget(parent)
    , m_metric(metric)
    , m_id(qs(metric.id))
{
    static const bool factoryInstalled = [] {
        QAccessible::installFactory(accessibleFactory);
        return true;
    }();
    Q_UNUSED(factoryInstalled);

    setObjectName(QStringLiteral("slider_") + m_id);
    setFocusPolicy(Qt::StrongFocus);
    setAttribute(Qt::WA_Hover);
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setAccessibleName(qs(metric.name));
    setAccessibleDescription(QStringLiteral("%1 (%2 to %3)")
                                 .arg(qs(metric.description), qs(metric.negativeLabel), qs(metric.positiveLabel)));
    updateToolTip();
}

BipolarSlider::~BipolarSlider() = default;

void BipolarSlider::setValue(double value)
{
    setValueInternal(value);
}

void BipolarSlider::setValueInternal(double value)
{
    if (!std::isfinite(value)) {
        return;
    }
    value = std::clamp(value, minimum(), maximum());
    if (std::abs(value) < 1e-12) {
        value = 0.0; // no "-0.00"
    }
    if (std::abs(value - m_value) < 1e-9) {
        return;
    }
    m_value = value;
    update();
    if (QAccessible::isActive()) {
        QAccessibleValueChangeEvent event(this, m_value);
        QAccessible::updateAccessibility(&event);
    }
    Q_EMIT valueChanged(m_id, m_value);
}

void BipolarSlider::setRange(double limit)
{
    if (!std::isfinite(limit) || limit <= 0.0) {
        return;
    }
    m_limit = std::min(limit, tmk::kSliderLimit);
    setValueInternal(m_value); // clamps
    updateGeometry();
    update();
}

double BipolarSlider::minimum() const
{
    return m_negativeAvailable ? -m_limit : 0.0;
}

double BipolarSlider::maximum() const
{
    return m_positiveAvailable ? m_limit : 0.0;
}

void BipolarSlider::setAvailable(bool available, const QString& reason)
{
    setSidesAvailable(available, available, available ? QString() : reason);
}

void BipolarSlider::setSidesAvailable(bool negative, bool positive, const QString& reason)
{
    m_negativeAvailable = negative;
    m_positiveAvailable = positive;
    m_reason = (negative && positive) ? QString() : reason;
    if (!negative && !positive && m_dragging) {
        m_dragging = false;
        Q_EMIT dragFinished(m_id);
    }
    setEnabled(negative || positive);
    setValueInternal(m_value); // clamps to the sides left
    updateToolTip();
    update();
}

void BipolarSlider::setMeasured(Measured measured, const QString& summary)
{
    if (measured == m_measured && summary == m_measuredSummary) return;
    m_measured = measured;
    m_measuredSummary = summary;
    updateToolTip();
    update();
}

QString BipolarSlider::formatValue(double value)
{
    if (std::abs(value) < 0.005) {
        return QStringLiteral("0.00");
    }
    return (value > 0 ? QStringLiteral("+") : QStringLiteral("\u2212")) + QString::number(std::abs(value), 'f', 2);
}

void BipolarSlider::updateToolTip()
{
    QString tip
        = QStringLiteral("%1: %2 \u2194 %3\n%4")
              .arg(qs(m_metric.name), qs(m_metric.negativeLabel), qs(m_metric.positiveLabel), qs(m_metric.description));
    if (!m_measuredSummary.isEmpty()) {
        tip += QStringLiteral("\n\n") + m_measuredSummary;
    }
    if (!m_reason.isEmpty()) {
        tip += QStringLiteral("\n\n") + m_reason;
    }
    setToolTip(tip);
}

BipolarSlider::Layout BipolarSlider::layout() const
{
    const QFontMetricsF fm(font());
    const double line = fm.height();
    const double pad = std::round(line * 0.35);
    Layout l;
    l.handleRadius = std::round(line * 0.5);
    const double sideInset = pad + l.handleRadius + 2.0;
    l.nameRow = QRectF(pad, pad, width() - 2 * pad, line);
    const double trackTop = l.nameRow.bottom() + pad * 0.6;
    l.centreY = trackTop + l.handleRadius + 2.0;
    const double grooveHeight = std::max(4.0, std::round(line * 0.28));
    l.groove = QRectF(sideInset, l.centreY - grooveHeight / 2, std::max(1.0, width() - 2 * sideInset), grooveHeight);
    QFont small = font();
    small.setPointSizeF(font().pointSizeF() > 0 ? font().pointSizeF() * 0.88 : 8.0);
    const double smallLine = QFontMetricsF(small).height();
    l.labelRow = QRectF(pad, l.centreY + l.handleRadius + 2.0 + pad * 0.4, width() - 2 * pad, smallLine);
    return l;
}

QRectF BipolarSlider::trackRect() const
{
    return layout().groove;
}

double BipolarSlider::valueAtX(double x) const
{
    const QRectF groove = trackRect();
    const double t = (x - groove.left()) / groove.width();
    const double value = -m_limit + std::clamp(t, 0.0, 1.0) * 2.0 * m_limit;
    return std::clamp(value, minimum(), maximum());
}

double BipolarSlider::xForValue(double value) const
{
    const QRectF groove = trackRect();
    const double t = (std::clamp(value, -m_limit, m_limit) + m_limit) / (2.0 * m_limit);
    return groove.left() + t * groove.width();
}

QSize BipolarSlider::sizeHint() const
{
    const QFontMetrics fm(font());
    const Layout l = layout();
    const int pad = qRound(fm.height() * 0.35);
    return QSize(fm.horizontalAdvance(QLatin1Char('M')) * 20, qRound(l.labelRow.bottom()) + pad);
}

QSize BipolarSlider::minimumSizeHint() const
{
    const QFontMetrics fm(font());
    return QSize(fm.horizontalAdvance(QLatin1Char('M')) * 10, sizeHint().height());
}

// ---- input ----

void BipolarSlider::mousePressEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton || !isEnabled()) {
        QWidget::mousePressEvent(event);
        return;
    }
    setFocus(Qt::MouseFocusReason);
    m_dragging = true;
    Q_EMIT dragStarted(m_id);
    double value = roundToGrid(valueAtX(event->position().x()), 0.01);
    if (std::abs(value) < kDetent) {
        value = 0.0;
    }
    setValueInternal(value);
    update();
    event->accept();
}

void BipolarSlider::mouseMoveEvent(QMouseEvent* event)
{
    if (!m_dragging) {
        QWidget::mouseMoveEvent(event);
        return;
    }
    double value = roundToGrid(valueAtX(event->position().x()), 0.01);
    if (std::abs(value) < kDetent) {
        value = 0.0;
    }
    setValueInternal(value);
    event->accept();
}

void BipolarSlider::mouseReleaseEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton && m_dragging) {
        m_dragging = false;
        update();
        Q_EMIT dragFinished(m_id);
        event->accept();
        return;
    }
    QWidget::mouseReleaseEvent(event);
}

void BipolarSlider::mouseDoubleClickEvent(QMouseEvent* event)
{
    if (event->button() != Qt::LeftButton || !isEnabled()) {
        QWidget::mouseDoubleClickEvent(event);
        return;
    }
    // The double-click replaces the second press: no drag starts, the value goes back to the centre.
    setValueInternal(0.0);
    event->accept();
}

void BipolarSlider::keyPressEvent(QKeyEvent* event)
{
    const auto step = [this](double delta) { setValueInternal(roundToGrid(m_value + delta, 0.001)); };
    switch (event->key()) {
    case Qt::Key_Left:
    case Qt::Key_Down:
        step(-kStep);
        break;
    case Qt::Key_Right:
    case Qt::Key_Up:
        step(kStep);
        break;
    case Qt::Key_PageUp:
        step(kPageStep);
        break;
    case Qt::Key_PageDown:
        step(-kPageStep);
        break;
    case Qt::Key_Home:
        setValueInternal(minimum());
        break;
    case Qt::Key_End:
        setValueInternal(maximum());
        break;
    case Qt::Key_Delete:
    case Qt::Key_Backspace:
    case Qt::Key_0:
        setValueInternal(0.0);
        break;
    default:
        QWidget::keyPressEvent(event);
        return;
    }
    event->accept();
}

void BipolarSlider::wheelEvent(QWheelEvent* event)
{
    // Only a focused slider takes the wheel, so that scrolling the panel does not move sliders by accident.
    if (!hasFocus() || !isEnabled()) {
        event->ignore();
        return;
    }
    const double notches = event->angleDelta().y() / 120.0;
    if (notches != 0.0) {
        setValueInternal(roundToGrid(m_value + notches * kStep, 0.001));
    }
    event->accept();
}

void BipolarSlider::enterEvent(QEnterEvent* event)
{
    m_hovered = true;
    update();
    QWidget::enterEvent(event);
}

void BipolarSlider::leaveEvent(QEvent* event)
{
    m_hovered = false;
    update();
    QWidget::leaveEvent(event);
}

void BipolarSlider::focusInEvent(QFocusEvent* event)
{
    update();
    QWidget::focusInEvent(event);
}

void BipolarSlider::focusOutEvent(QFocusEvent* event)
{
    if (m_dragging) {
        m_dragging = false;
        Q_EMIT dragFinished(m_id);
    }
    update();
    QWidget::focusOutEvent(event);
}

void BipolarSlider::changeEvent(QEvent* event)
{
    if (event->type() == QEvent::FontChange || event->type() == QEvent::StyleChange) {
        updateGeometry();
    }
    QWidget::changeEvent(event);
}

// ---- painting ----

void BipolarSlider::paintEvent(QPaintEvent* /*event*/)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const Layout l = layout();
    const QPalette& pal = palette();
    const QRectF frame = QRectF(rect()).adjusted(1.0, 1.0, -1.0, -1.0);
    const double radius = l.handleRadius * 0.8;
    if ((m_hovered || m_dragging) && isEnabled()) {
        QColor hover = accentColor(pal);
        hover.setAlphaF(0.08f);
        painter.setPen(Qt::NoPen);
        painter.setBrush(hover);
        painter.drawRoundedRect(frame, radius, radius);
    }
    if (hasFocus()) {
        painter.setPen(QPen(accentColor(pal), 1.5));
        painter.setBrush(Qt::NoBrush);
        painter.drawRoundedRect(frame, radius, radius);
    }
    paintLabels(painter, l);
    paintTrack(painter, l);
    paintHandle(painter, l);
    if (bubbleVisible() && isEnabled()) {
        paintBubble(painter, l);
    }
}

void BipolarSlider::paintLabels(QPainter& painter, const Layout& l) const
{
    const QPalette& pal = palette();
    QFont nameFont = font();
    nameFont.setWeight(QFont::DemiBold);
    painter.setFont(nameFont);
    painter.setPen(pal.color(QPalette::WindowText));
    painter.drawText(l.nameRow, Qt::AlignLeft | Qt::AlignVCenter, qs(m_metric.name));
    paintMeasuredMark(painter, l, QFontMetricsF(nameFont).horizontalAdvance(qs(m_metric.name)));

    painter.setFont(font());
    painter.setPen(m_value != 0.0 && isEnabled() ? accentColor(pal) : mutedTextColor(pal));
    painter.drawText(l.nameRow, Qt::AlignRight | Qt::AlignVCenter, formatValue(m_value));

    QFont small = font();
    small.setPointSizeF(font().pointSizeF() > 0 ? font().pointSizeF() * 0.88 : 8.0);
    painter.setFont(small);
    const QColor muted = mutedTextColor(pal);
    const QColor active = pal.color(QPalette::WindowText);
    painter.setPen(m_value < 0 ? active : muted);
    painter.drawText(l.labelRow, Qt::AlignLeft | Qt::AlignVCenter, qs(m_metric.negativeLabel));
    painter.setPen(m_value > 0 ? active : muted);
    painter.drawText(l.labelRow, Qt::AlignRight | Qt::AlignVCenter, qs(m_metric.positiveLabel));
}

void BipolarSlider::paintMeasuredMark(QPainter& painter, const Layout& l, double nameWidth) const
{
    if (m_measured == Measured::Unmeasured) return;
    const QPalette& pal = palette();
    const double r = std::max(2.5, std::round(l.nameRow.height() * 0.17));
    const QPointF centre(l.nameRow.left() + nameWidth + 3.0 * r, l.nameRow.center().y());
    const QColor colour = m_measured == Measured::Moves ? accentColor(pal)
        : m_measured == Measured::Reversed              ? QColor(0xc6, 0x28, 0x28)
                                                        : mutedTextColor(pal);
    painter.save();
    painter.setPen(m_measured == Measured::Moves ? Qt::NoPen : QPen(colour, 1.3));
    painter.setBrush(m_measured == Measured::Moves ? QBrush(colour) : QBrush(Qt::NoBrush));
    painter.drawEllipse(centre, r, r);
    painter.restore();
}

void BipolarSlider::paintTrack(QPainter& painter, const Layout& l) const
{
    const QPalette& pal = palette();
    const QRectF& g = l.groove;
    const double r = g.height() / 2;
    painter.setPen(Qt::NoPen);
    painter.setBrush(grooveColor(pal));
    painter.drawRoundedRect(g, r, r);

    // A side the bank lacks is hatched.
    const double centreX = xForValue(0.0);
    const auto hatch = [&](const QRectF& part) {
        QColor c = mutedTextColor(pal);
        c.setAlphaF(0.5f);
        painter.setBrush(QBrush(c, Qt::BDiagPattern));
        painter.drawRoundedRect(part, r, r);
    };
    if (isEnabled() && !m_negativeAvailable) {
        hatch(QRectF(QPointF(g.left(), g.top()), QPointF(centreX, g.bottom())));
    }
    if (isEnabled() && !m_positiveAvailable) {
        hatch(QRectF(QPointF(centreX, g.top()), QPointF(g.right(), g.bottom())));
    }

    // Ticks: the centre detent, and ±1 when exaggerated.
    const QColor tick = mutedTextColor(pal);
    painter.setPen(QPen(tick, 1.5, Qt::SolidLine, Qt::RoundCap));
    const double tickHalf = l.handleRadius * 0.85;
    painter.drawLine(QPointF(centreX, l.centreY - tickHalf), QPointF(centreX, l.centreY + tickHalf));
    if (m_limit > 1.0) {
        painter.setPen(QPen(tick, 1.0, Qt::SolidLine, Qt::RoundCap));
        for (double v : { -1.0, 1.0 }) {
            const double x = xForValue(v);
            painter.drawLine(QPointF(x, l.centreY - tickHalf * 0.6), QPointF(x, l.centreY + tickHalf * 0.6));
        }
    }

    if (m_value != 0.0) {
        const double x = xForValue(m_value);
        const QRectF fill(QPointF(std::min(x, centreX), g.top()), QPointF(std::max(x, centreX), g.bottom()));
        painter.setPen(Qt::NoPen);
        painter.setBrush(accentColor(pal));
        painter.drawRoundedRect(fill, r, r);
    }
}

void BipolarSlider::paintHandle(QPainter& painter, const Layout& l) const
{
    const QPalette& pal = palette();
    const QPointF centre(xForValue(m_value), l.centreY);
    const double r = l.handleRadius * (m_dragging ? 1.0 : 0.85);
    if (hasFocus() && isEnabled()) {
        QColor halo = accentColor(pal);
        halo.setAlphaF(0.3f);
        painter.setPen(Qt::NoPen);
        painter.setBrush(halo);
        painter.drawEllipse(centre, r + 3.0, r + 3.0);
    }
    QColor face = isDark(pal) ? QColor(0xec, 0xec, 0xf0) : QColor(Qt::white);
    QColor rim = m_value != 0.0 ? accentColor(pal) : mutedTextColor(pal);
    if (!isEnabled()) {
        face = grooveColor(pal);
        rim = mutedTextColor(pal);
    }
    painter.setPen(QPen(rim, 2.0));
    painter.setBrush(face);
    painter.drawEllipse(centre, r, r);
}

void BipolarSlider::paintBubble(QPainter& painter, const Layout& l) const
{
    const QPalette& pal = palette();
    QFont bold = font();
    bold.setWeight(QFont::DemiBold);
    painter.setFont(bold);
    const QFontMetricsF fm(bold);
    const QString text = formatValue(m_value);
    const double padX = fm.height() * 0.4;
    const double w = fm.horizontalAdvance(text) + 2 * padX;
    const double h = fm.height() * 1.15;
    const double x = std::clamp(xForValue(m_value) - w / 2, 1.0, width() - w - 1.0);
    const QRectF bubble(x, l.centreY - l.handleRadius - h - 2.0, w, h);
    painter.setPen(Qt::NoPen);
    painter.setBrush(accentColor(pal));
    painter.drawRoundedRect(bubble, h / 3, h / 3);
    painter.setPen(pal.color(QPalette::HighlightedText));
    painter.drawText(bubble, Qt::AlignCenter, text);
}

} // namespace tmk::ui
