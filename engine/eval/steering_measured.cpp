// What a bank's own steering report measured of its sliders (tastemaker/steering_report.h, readMeasuredSteering),
// checked adapter by adapter against the bank as it is now.
#include <system_error>

#include "tastemaker/adapters.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/steering_report.h"

namespace tmk {

namespace fs = std::filesystem;

Expected<std::string> sliderAdapterFingerprints(const BankMetric& metric)
{
    std::string fingerprints;
    for (const fs::path& dir : { metric.positiveDir, metric.negativeDir })
        for (const char* name : { "adapter_config.json", "adapter_model.safetensors" }) {
            Expected<std::string> fingerprint = fileFingerprint(dir / name);
            if (!fingerprint) return fingerprint.error();
            fingerprints += (fingerprints.empty() ? "" : " ") + *fingerprint;
        }
    return fingerprints;
}

Expected<std::optional<MeasuredSteering>> readMeasuredSteering(const BankSummary& bank)
{
    const fs::path dir = bank.dir / "steering-report";
    std::error_code ec;
    if (!fs::is_regular_file(dir / "report.json", ec)) return std::optional<MeasuredSteering> {};
    Expected<SteeringReport> report = readSteeringReport(dir);
    if (!report) return report.error();
    MeasuredSteering measured;
    measured.reportDir = dir;
    measured.seeds = report->params.seeds;
    measured.prompts = report->params.prompts.size();
    measured.seconds = report->params.durationSeconds;
    for (const SteeringSliderReport& slider : report->sliders) {
        const BankMetric* metric = bank.find(slider.metric);
        if (metric == nullptr || !metric->hasPositive() || !metric->hasNegative()) continue;
        const auto recorded = report->info.adapters.find(slider.metric);
        Expected<std::string> now = sliderAdapterFingerprints(*metric);
        if (!now) return now.error();
        if (recorded == report->info.adapters.end() || recorded->second != *now)
            measured.stale.push_back(slider.metric);
        else
            measured.sliders.emplace(slider.metric, slider);
    }
    return std::optional<MeasuredSteering> { std::move(measured) };
}

} // namespace tmk
