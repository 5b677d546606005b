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

// `measured` null: no report, nothing said. A slider the report did not cover says so only when the report
// measured other adapters for it (retrained since).
MeasuredText describeMeasured(const tmk::MetricInfo& metric, const tmk::MeasuredSteering* measured);

} // namespace tmk::ui
