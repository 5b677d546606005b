// What the open bank's steering report measured of one slider, in words and as the slider's mark
// (BipolarSlider::Measured). Plain data in, text out: the slider panel shows it in each slider's tooltip.
#pragma once

#include <QString>

#include "tastemaker/metrics.h"
#include "tastemaker/steering_report.h"
#include "widgets/bipolar_slider.h"

namespace tmk::ui {

struct MeasuredText {
    BipolarSlider::Measured mark = BipolarSlider::Measured::Unmeasured;
    QString summary; // empty when there is nothing to say (no report)
};

// The mark a measured slider gets: Moves when the +1 against -1 difference's 95% interval lies above 0, Reversed
// when below, NoEffect otherwise; Unmeasured for a latent slider (no audio measure).
BipolarSlider::Measured measuredMark(const tmk::SteeringSliderReport& slider);

// One line for the bank's label: "steering report: 5 of 8 measurable sliders move their metric".
QString measuredBankLine(const tmk::MeasuredSteering& measured);

// `measured` null: no report, nothing said. A slider the report did not cover says so only when the report
// measured other adapters for it (retrained since).
MeasuredText describeMeasured(const tmk::MetricInfo& metric, const tmk::MeasuredSteering* measured);

} // namespace tmk::ui
