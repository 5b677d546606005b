// describeMeasured (see measured_steering.h).
#include "widgets/measured_steering.h"

#include <algorithm>
#include <cmath>

#include "widgets/qt_text.h"

namespace tmk::ui {

namespace {

// "+0.153", "\u22120.3" (a real minus sign), with `decimals` digits.
QString signedNumber(double value, int decimals)
{
    return (value < 0 ? QStringLiteral("\u2212") : QStringLiteral("+"))
        + QString::number(std::abs(value), 'f', decimals);
}

// A slider value as the grid names it: "\u22121", "+1", "+0.5".
QString gridValue(double value)
{
    return (value < 0 ? QStringLiteral("\u2212") : QStringLiteral("+")) + QString::number(std::abs(value), 'g', 3);
}

QString header(const tmk::MeasuredSteering& measured)
{
    return QObject::tr("Measured by this bank's steering report (%1 seeds \u00d7 %2 prompts, %3 s clips):")
        .arg(measured.seeds)
        .arg(measured.prompts)
        .arg(measured.seconds, 0, 'g', 3);
}

} // namespace

BipolarSlider::Measured measuredMark(const tmk::SteeringSliderReport& slider)
{
    using Measured = BipolarSlider::Measured;
    if (!slider.measurable || !slider.difference) return Measured::Unmeasured;
    const tmk::Estimate& difference = *slider.difference;
    if (difference.low && *difference.low > 0.0) return Measured::Moves;
    if (difference.high && *difference.high < 0.0) return Measured::Reversed;
    return Measured::NoEffect;
}

QString measuredBankLine(const tmk::MeasuredSteering& measured)
{
    int measurable = 0, moving = 0;
    for (const auto& [id, slider] : measured.sliders) {
        const BipolarSlider::Measured mark = measuredMark(slider);
        measurable += mark != BipolarSlider::Measured::Unmeasured;
        moving += mark == BipolarSlider::Measured::Moves;
    }
    return QObject::tr("steering report: %1 of %2 measurable sliders move their metric").arg(moving).arg(measurable);
}

MeasuredText describeMeasured(const tmk::MetricInfo& metric, const tmk::MeasuredSteering* measured)
{
    using Measured = BipolarSlider::Measured;
    if (measured == nullptr) return {};
    const QString name = qs(metric.name);
    const auto found = measured->sliders.find(metric.id);
    if (found == measured->sliders.end()) {
        if (std::find(measured->stale.begin(), measured->stale.end(), metric.id) == measured->stale.end()) return {};
        return { Measured::Unmeasured,
            QObject::tr("This bank's steering report measured other adapters for %1, which were retrained since. "
                        "Run Steering \u25b8 Steering report\u2026 to measure these.")
                .arg(name) };
    }
    const tmk::SteeringSliderReport& slider = found->second;
    if (!slider.measurable || !slider.difference) {
        QString text = QObject::tr("This bank's steering report cannot measure %1: the analyser has no measure of "
                                   "it in audio.")
                           .arg(name);
        if (slider.largestOffTarget)
            text += QObject::tr(" Of what it measures, this slider moves %1 the most.")
                        .arg(qs(*slider.largestOffTarget));
        return { Measured::Unmeasured, text };
    }
    const bool bpm = metric.id == "tempo";
    const int decimals = bpm ? 1 : 3;
    const tmk::Estimate& difference = *slider.difference;
    const QString unit = bpm ? QStringLiteral(" BPM") : QString();
    const Measured mark = measuredMark(slider);
    QString text = header(*measured) + QStringLiteral(" ")
        + QObject::tr("from %1 to %2 the clips' %3 changes by %4%5")
              .arg(gridValue(slider.lowValue), gridValue(slider.highValue), name.toLower(),
                  signedNumber(difference.value, decimals), unit);
    if (difference.low && difference.high)
        text += QObject::tr(" (95% interval %1 to %2)")
                    .arg(signedNumber(*difference.low, decimals), signedNumber(*difference.high, decimals));
    if (slider.standardisedEffect)
        text += QObject::tr(", an effect of d = %1").arg(signedNumber(slider.standardisedEffect->value, 2));
    text += QStringLiteral(". ");
    if (mark == Measured::Moves)
        text += QObject::tr("It moves its metric the right way.");
    else if (mark == Measured::Reversed)
        text += QObject::tr("It moves its metric the wrong way.");
    else
        text += QObject::tr("No effect was measurable.");
    if (mark == Measured::Moves && slider.interferenceRatio && slider.largestOffTarget)
        text += QObject::tr(" It moves %1 too, %2\u00d7 as much.")
                    .arg(qs(*slider.largestOffTarget))
                    .arg(*slider.interferenceRatio, 0, 'f', 2);
    return { mark, text };
}

} // namespace tmk::ui
