// BipolarSlider: pixel <-> value mapping, the centre detent, the value bubble, every key, double-click
// reset, ranges, availability (disabled / one side clamped) and accessibility (offscreen).
#include <cmath>

#include <QAccessible>
#include <QAccessibleValueInterface>
#include <QApplication>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QTest>

#include "qtest_registry.h"
#include "widgets/bipolar_slider.h"

using tmk::ui::BipolarSlider;

namespace {

tmk::MetricInfo energyMetric()
{
    tmk::MetricInfo metric;
    metric.id = "energy";
    metric.name = "Energy";
    metric.negativeLabel = "calm";
    metric.positiveLabel = "energetic";
    metric.description = "Perceived intensity and activity.";
    metric.source = "Spotify";
    return metric;
}

// One pixel of a 400-pixel track is 2/~370 of the range; values are also rounded to 0.01.
constexpr double kPixelTolerance = 0.012;

void sendMouse(QWidget& widget, QEvent::Type type, double x, Qt::MouseButtons buttons)
{
    const QPointF local(x, widget.height() / 2.0);
    const Qt::MouseButton button = type == QEvent::MouseMove ? Qt::NoButton : Qt::LeftButton;
    QMouseEvent event(type, local, widget.mapToGlobal(local), button, buttons, Qt::NoModifier);
    QApplication::sendEvent(&widget, &event);
}

void press(QWidget& widget, double x)
{
    sendMouse(widget, QEvent::MouseButtonPress, x, Qt::LeftButton);
}
void drag(QWidget& widget, double x)
{
    sendMouse(widget, QEvent::MouseMove, x, Qt::LeftButton);
}
void release(QWidget& widget, double x)
{
    sendMouse(widget, QEvent::MouseButtonRelease, x, Qt::NoButton);
}

// The x of `fraction` of the way along the track (0 = left end, 1 = right end).
double trackX(const BipolarSlider& slider, double fraction)
{
    const QRectF track = slider.trackRect();
    return track.left() + fraction * track.width();
}

} // namespace

class TestBipolarSlider : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void pressMapsPixelsToValues();
    void dragFollowsTheMouseAndSnapsAtTheDetent();
    void bubbleShowsWhileDraggingAndOnHover();
    void everyKey();
    void doubleClickResets();
    void setValueClampsAndSignalsOnlyChanges();
    void exaggeratedRange();
    void unavailableSliderIsDisabledWithItsReason();
    void oneMissingSideClampsToTheOther();
    void accessibility();
    void sizesFollowTheFont();
    void formatsValues();
};

void TestBipolarSlider::pressMapsPixelsToValues()
{
    BipolarSlider slider(energyMetric());
    slider.resize(400, slider.sizeHint().height());
    slider.show();
    QVERIFY(QTest::qWaitForWindowExposed(&slider));
    QCOMPARE(slider.metricId(), QString("energy"));
    QCOMPARE(slider.value(), 0.0);

    const struct {
        double fraction;
        double expected;
    } cases[] = {
        { 0.0, -1.0 },
        { 1.0, 1.0 },
        { 0.75, 0.5 },
        { 0.25, -0.5 },
        { 0.9, 0.8 },
        { 0.1, -0.8 },
        { 0.6, 0.2 },
    };
    for (const auto& c : cases) {
        press(slider, trackX(slider, c.fraction));
        release(slider, trackX(slider, c.fraction));
        QVERIFY2(std::abs(slider.value() - c.expected) <= kPixelTolerance,
            qPrintable(
                QString("fraction %1 gave %2, expected %3").arg(c.fraction).arg(slider.value()).arg(c.expected)));
    }
    // Beyond the track's ends the value stays at the limits.
    press(slider, 0.0);
    release(slider, 0.0);
    QCOMPARE(slider.value(), -1.0);
    press(slider, slider.width() - 1.0);
    release(slider, slider.width() - 1.0);
    QCOMPARE(slider.value(), 1.0);
    // The mapping helpers agree with each other.
    QVERIFY(std::abs(slider.valueAtX(slider.xForValue(0.37)) - 0.37) < 1e-9);
    QVERIFY(std::abs(slider.xForValue(0.0) - slider.trackRect().center().x()) < 1e-9);
}

void TestBipolarSlider::dragFollowsTheMouseAndSnapsAtTheDetent()
{
    BipolarSlider slider(energyMetric());
    slider.resize(400, slider.sizeHint().height());
    slider.show();
    QSignalSpy changed(&slider, &BipolarSlider::valueChanged);
    QSignalSpy started(&slider, &BipolarSlider::dragStarted);
    QSignalSpy finished(&slider, &BipolarSlider::dragFinished);

    press(slider, trackX(slider, 0.5));
    QVERIFY(slider.isDragging());
    QCOMPARE(started.count(), 1);
    drag(slider, trackX(slider, 0.85)); // 0.7
    QVERIFY(std::abs(slider.value() - 0.7) <= kPixelTolerance);
    // 0.03 is inside the ±0.04 detent: it snaps to exactly 0.
    drag(slider, slider.xForValue(0.03));
    QCOMPARE(slider.value(), 0.0);
    drag(slider, slider.xForValue(-0.03));
    QCOMPARE(slider.value(), 0.0);
    // 0.1 is outside it.
    drag(slider, slider.xForValue(0.1));
    QVERIFY(std::abs(slider.value() - 0.1) <= kPixelTolerance);
    drag(slider, trackX(slider, 0.2)); // -0.6
    release(slider, trackX(slider, 0.2));
    QVERIFY(!slider.isDragging());
    QCOMPARE(finished.count(), 1);
    QVERIFY(std::abs(slider.value() + 0.6) <= kPixelTolerance);

    // Every emission carries the metric id and the value it moved to; the last is the final value.
    QVERIFY(changed.count() >= 4);
    QCOMPARE(changed.last().at(0).toString(), QString("energy"));
    QCOMPARE(changed.last().at(1).toDouble(), slider.value());

    // Moving without a pressed button does nothing.
    const double before = slider.value();
    sendMouse(slider, QEvent::MouseMove, trackX(slider, 0.9), Qt::NoButton);
    QCOMPARE(slider.value(), before);
}

void TestBipolarSlider::bubbleShowsWhileDraggingAndOnHover()
{
    BipolarSlider slider(energyMetric());
    slider.resize(400, slider.sizeHint().height());
    slider.show();
    QVERIFY(!slider.bubbleVisible());
    press(slider, trackX(slider, 0.8));
    QVERIFY(slider.bubbleVisible());
    drag(slider, trackX(slider, 0.9));
    QVERIFY(slider.bubbleVisible());
    // The bubble is painted: the widget looks different with it than without it.
    const QImage dragging = slider.grab().toImage();
    release(slider, trackX(slider, 0.9));
    QVERIFY(!slider.bubbleVisible());
    const QImage idle = slider.grab().toImage();
    QVERIFY(dragging != idle);

    const QPointF inside(10, 10);
    QEnterEvent enter(inside, inside, slider.mapToGlobal(inside));
    QApplication::sendEvent(&slider, &enter);
    QVERIFY(slider.bubbleVisible());
    QEvent leave(QEvent::Leave);
    QApplication::sendEvent(&slider, &leave);
    QVERIFY(!slider.bubbleVisible());
}

void TestBipolarSlider::everyKey()
{
    BipolarSlider slider(energyMetric());
    slider.show();
    QSignalSpy changed(&slider, &BipolarSlider::valueChanged);
    const auto key = [&](Qt::Key k, double expected) {
        QTest::keyClick(&slider, k);
        QVERIFY2(std::abs(slider.value() - expected) < 1e-9,
            qPrintable(QString("key %1 gave %2, expected %3").arg(k).arg(slider.value()).arg(expected)));
    };
    key(Qt::Key_Right, 0.05);
    key(Qt::Key_Up, 0.10);
    key(Qt::Key_Left, 0.05);
    key(Qt::Key_Down, 0.0);
    key(Qt::Key_PageUp, 0.25);
    key(Qt::Key_PageUp, 0.5);
    key(Qt::Key_PageDown, 0.25);
    key(Qt::Key_End, 1.0);
    key(Qt::Key_Right, 1.0); // clamped at the maximum
    key(Qt::Key_Home, -1.0);
    key(Qt::Key_PageDown, -1.0);
    key(Qt::Key_Delete, 0.0);
    slider.setValue(0.5);
    key(Qt::Key_Backspace, 0.0);
    slider.setValue(-0.5);
    key(Qt::Key_0, 0.0);
    // 20 steps right land on exactly 1 (no floating-point drift).
    for (int i = 0; i < 20; ++i) {
        QTest::keyClick(&slider, Qt::Key_Right);
    }
    QCOMPARE(slider.value(), 1.0);
    QVERIFY(changed.count() > 10);
    QCOMPARE(slider.focusPolicy(), Qt::StrongFocus);
}

void TestBipolarSlider::doubleClickResets()
{
    BipolarSlider slider(energyMetric());
    slider.resize(400, slider.sizeHint().height());
    slider.show();
    QVERIFY(QTest::qWaitForWindowExposed(&slider));
    slider.setValue(0.7);
    const QPoint onHandle(qRound(slider.xForValue(0.7)), qRound(slider.trackRect().center().y()));
    QTest::mouseDClick(&slider, Qt::LeftButton, Qt::NoModifier, onHandle);
    QCOMPARE(slider.value(), 0.0);
    QVERIFY(!slider.isDragging());
}

void TestBipolarSlider::setValueClampsAndSignalsOnlyChanges()
{
    BipolarSlider slider(energyMetric());
    QSignalSpy changed(&slider, &BipolarSlider::valueChanged);
    slider.setValue(0.3);
    QCOMPARE(changed.count(), 1);
    slider.setValue(0.3);
    QCOMPARE(changed.count(), 1);
    slider.setValue(5.0);
    QCOMPARE(slider.value(), 1.0);
    slider.setValue(-5.0);
    QCOMPARE(slider.value(), -1.0);
    slider.setValue(std::nan(""));
    QCOMPARE(slider.value(), -1.0);
    QCOMPARE(changed.count(), 3);
}

void TestBipolarSlider::exaggeratedRange()
{
    BipolarSlider slider(energyMetric());
    slider.resize(400, slider.sizeHint().height());
    slider.show();
    slider.setRange(2.0);
    QCOMPARE(slider.limit(), 2.0);
    slider.setValue(1.5);
    QCOMPARE(slider.value(), 1.5);
    press(slider, trackX(slider, 0.0));
    release(slider, trackX(slider, 0.0));
    QCOMPARE(slider.value(), -2.0);
    press(slider, trackX(slider, 0.75));
    release(slider, trackX(slider, 0.75));
    QVERIFY(std::abs(slider.value() - 1.0) <= 2 * kPixelTolerance);
    slider.setRange(5.0); // capped at tmk::kSliderLimit
    QCOMPARE(slider.limit(), 2.0);
    slider.setValue(1.5);
    QSignalSpy changed(&slider, &BipolarSlider::valueChanged);
    slider.setRange(1.0); // narrowing clamps the value, and says so
    QCOMPARE(slider.value(), 1.0);
    QCOMPARE(changed.count(), 1);
}

void TestBipolarSlider::unavailableSliderIsDisabledWithItsReason()
{
    BipolarSlider slider(energyMetric());
    slider.resize(400, slider.sizeHint().height());
    slider.show();
    slider.setValue(0.6);
    const QString reason = "The bank demo has no adapters for Energy";
    slider.setAvailable(false, reason);
    QVERIFY(!slider.isEnabled());
    QVERIFY(!slider.isAvailable());
    QCOMPARE(slider.value(), 0.0);
    QVERIFY(slider.toolTip().contains(reason));
    QCOMPARE(slider.unavailableReason(), reason);
    // Neither the mouse nor the keyboard nor setValue moves it.
    QTest::mouseClick(
        &slider, Qt::LeftButton, Qt::NoModifier, QPoint(qRound(trackX(slider, 0.9)), slider.height() / 2));
    QTest::keyClick(&slider, Qt::Key_End);
    slider.setValue(0.5);
    QCOMPARE(slider.value(), 0.0);

    slider.setAvailable(true);
    QVERIFY(slider.isEnabled());
    QVERIFY(!slider.toolTip().contains(reason));
    QVERIFY(slider.toolTip().contains("calm"));
    slider.setValue(0.5);
    QCOMPARE(slider.value(), 0.5);
}

void TestBipolarSlider::oneMissingSideClampsToTheOther()
{
    BipolarSlider slider(energyMetric());
    slider.resize(400, slider.sizeHint().height());
    slider.show();
    slider.setValue(-0.5);
    const QString reason = "no \"calm\" adapter";
    slider.setSidesAvailable(false, true, reason);
    QVERIFY(slider.isEnabled());
    QCOMPARE(slider.value(), 0.0); // was on the missing side
    QCOMPARE(slider.minimum(), 0.0);
    QCOMPARE(slider.maximum(), 1.0);
    QVERIFY(slider.toolTip().contains(reason));
    press(slider, trackX(slider, 0.0));
    release(slider, trackX(slider, 0.0));
    QCOMPARE(slider.value(), 0.0);
    QTest::keyClick(&slider, Qt::Key_End);
    QCOMPARE(slider.value(), 1.0);
    QTest::keyClick(&slider, Qt::Key_Home);
    QCOMPARE(slider.value(), 0.0);

    slider.setSidesAvailable(true, false, "no \"energetic\" adapter");
    QCOMPARE(slider.maximum(), 0.0);
    QTest::keyClick(&slider, Qt::Key_Home);
    QCOMPARE(slider.value(), -1.0);
    QTest::keyClick(&slider, Qt::Key_PageUp);
    QTest::keyClick(&slider, Qt::Key_PageUp);
    QTest::keyClick(&slider, Qt::Key_PageUp);
    QTest::keyClick(&slider, Qt::Key_PageUp);
    QTest::keyClick(&slider, Qt::Key_PageUp);
    QCOMPARE(slider.value(), 0.0);
}

void TestBipolarSlider::accessibility()
{
    BipolarSlider slider(energyMetric());
    slider.show();
    QCOMPARE(slider.accessibleName(), QString("Energy"));
    QVERIFY(slider.accessibleDescription().contains("calm"));
    QAccessibleInterface* iface = QAccessible::queryAccessibleInterface(&slider);
    QVERIFY(iface != nullptr);
    QCOMPARE(iface->role(), QAccessible::Slider);
    QAccessibleValueInterface* value = iface->valueInterface();
    QVERIFY(value != nullptr);
    slider.setValue(0.4);
    QCOMPARE(value->currentValue().toDouble(), 0.4);
    QCOMPARE(value->maximumValue().toDouble(), 1.0);
    QCOMPARE(value->minimumValue().toDouble(), -1.0);
    value->setCurrentValue(-0.25);
    QCOMPARE(slider.value(), -0.25);
    QCOMPARE(iface->text(QAccessible::Value), BipolarSlider::formatValue(-0.25));
}

void TestBipolarSlider::sizesFollowTheFont()
{
    BipolarSlider slider(energyMetric());
    QFont font = slider.font();
    font.setPointSizeF(10);
    slider.setFont(font);
    const QSize normal = slider.sizeHint();
    font.setPointSizeF(20);
    slider.setFont(font);
    const QSize big = slider.sizeHint();
    QVERIFY2(
        big.height() > normal.height() * 3 / 2, qPrintable(QString("%1 -> %2").arg(normal.height()).arg(big.height())));
    QVERIFY(big.width() > normal.width() * 3 / 2);
}

void TestBipolarSlider::formatsValues()
{
    QCOMPARE(BipolarSlider::formatValue(0.0), QString("0.00"));
    QCOMPARE(BipolarSlider::formatValue(0.7), QString("+0.70"));
    QCOMPARE(BipolarSlider::formatValue(-1.0), QString::fromUtf8("\u22121.00"));
    QCOMPARE(BipolarSlider::formatValue(0.001), QString("0.00"));
}

TM_QTEST(TestBipolarSlider);
#include "test_bipolar_slider.moc"
