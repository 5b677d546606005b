#include "mode_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tmk::analysis {

ModeFeatures modeFeatures(const KeyEstimate& key)
{
    ModeFeatures f {};
    for (int block = 0; block < 4; ++block)
        for (int i = 0; i < 12; ++i) f[block * 12 + i] = key.profile[block * 12 + (key.majorTonic + i) % 12];
    f[48] = (key.minorTonic - key.majorTonic + 12) % 12 == 9 ? 1.0 : 0.0;
    f[49] = key.modeMargin < 0.0 ? 1.0 : 0.0;
    return f;
}

const ModeModel& committedModeModel()
{
    static const ModeModel model = {
#include "mode_model.inc"
    };
    return model;
}

void applyModeModel(const ModeModel& model, KeyEstimate& key)
{
    if (model.empty()) return;
    key.mode = model.logit(modeFeatures(key)) >= 0.0 ? 0 : 1;
    key.tonic = key.mode == 1 ? key.majorTonic : key.minorTonic;
}

ModeModel fitModeModel(const std::vector<ModeFeatures>& songs, const std::vector<int>& minor, double lambda)
{
    std::vector<std::vector<double>> rows;
    for (const ModeFeatures& song : songs) rows.emplace_back(song.begin(), song.end());
    return fitLogistic(rows, minor, lambda);
}

std::string modeModelToInc(const ModeModel& model, const std::string& comment)
{
    return "// " + comment + "\n// {bias, {means}, {scales}, {weights}} over modeFeatures() (mode_model.h)\n"
        + logisticToInc(model);
}

} // namespace tmk::analysis
