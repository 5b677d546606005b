// A steering report made from synthetic clips, for the report view's tests (test_steering_report*): three sliders
// at five values, 6 seeds x 2 prompts each, with deterministic "measurements":
//   energy      moves energy by 0.15 per unit and nothing else          -> every target met
//   tempo       moves tempo by 1 BPM per unit in 6 BPM of noise, and energy by 0.05 -> misses Spearman
//   popularity  latent (not measured); moves danceability by 0.1 per unit
// mode is constant, so its effects are undefined. Header-only.
#pragma once

#include <algorithm>
#include <cmath>

#include <QString>

#include "tastemaker/steering_report.h"

namespace tmk::test {

// Deterministic noise in [-1, 1) for clip i and column k.
inline double steeringNoise(int i, int k)
{
    const double x = std::sin(i * 12.9898 + k * 78.233 + 0.25) * 43758.5453;
    return 2.0 * (x - std::floor(x)) - 1.0;
}

inline SteeringReport syntheticSteeringReport()
{
    const std::vector<std::string>& columns = steeringColumns();
    const auto column = [&](const char* name) {
        return static_cast<size_t>(std::find(columns.begin(), columns.end(), name) - columns.begin());
    };
    SteeringEvalRun run;
    run.params.sliders = { "energy", "tempo", "popularity" };
    run.params.prompts = { "jazz", "folk" };
    run.params.values = { -1.0, -0.5, 0.0, 0.5, 1.0 };
    run.params.seeds = 6;
    run.params.durationSeconds = 8.0;
    run.params.bootstrapResamples = 400;
    int i = 0;
    for (const std::string& slider : run.params.sliders)
        for (double value : run.params.values)
            for (int64_t seed = 0; seed < run.params.seeds; ++seed)
                for (const std::string& prompt : run.params.prompts) {
                    std::vector<double> measured(columns.size());
                    for (size_t k = 0; k < columns.size(); ++k)
                        measured[k] = 0.5 + 0.04 * steeringNoise(i, static_cast<int>(k));
                    measured[column("tempo")] = 120.0 + 6.0 * steeringNoise(i, 99);
                    measured[column("loudness")] = -14.0 + steeringNoise(i, 98);
                    measured[column("mode")] = 1.0;
                    if (slider == "energy") measured[column("energy")] += 0.15 * value;
                    if (slider == "tempo") {
                        measured[column("tempo")] += 1.0 * value;
                        measured[column("energy")] += 0.05 * value;
                    }
                    if (slider == "popularity") measured[column("danceability")] += 0.1 * value;
                    run.clips.push_back({ slider, value, static_cast<uint64_t>(seed), prompt, measured });
                    ++i;
                }
    run.clipsPlanned = static_cast<int64_t>(run.clips.size());
    SteeringReportInfo info;
    info.model = "synthetic-fixture (no model)";
    info.bank = "synthetic-fixture (no bank)";
    info.sliderMetrics = { "popularity", "acousticness", "danceability", "energy", "instrumentalness", "liveness",
        "speechiness", "valence", "tempo" };
    return buildSteeringReport(run, info);
}

// Writes syntheticSteeringReport() into `dir`; "" on success, else the problem.
inline QString writeSyntheticSteeringReport(const QString& dir)
{
    Expected<void> written = writeSteeringReport(dir.toStdString(), syntheticSteeringReport());
    return written ? QString() : QString::fromStdString(written.error().message);
}

} // namespace tmk::test
