// Training the Analyser's acoustic-share network (engine/analysis/acoustic_net.h) with libtorch, for
// `tastemaker-cli analyse --fit-acoustic` (docs/analysis.md, "Acousticness"). Dev tooling: the app never
// trains it, it ships the committed weights.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <vector>

#include "analysis/acoustic_net.h"
#include "tastemaker/cancel.h"
#include "tastemaker/error.h"

namespace tmk {

// The world's parts, in this order (engine/world: Role without the voice).
inline constexpr int kAcousticRoles = 5; // chords, bass, lead, pad, drums

struct AcousticExample {
    std::vector<float> input; // analysis::acousticNetInput: [kMelBands][frames]
    int frames = 0;
    double share = 0.0; // acoustic parts / parts: the target
    std::array<int8_t, kAcousticRoles> parts {}; // -1 absent, 0 electronic, 1 acoustic (auxiliary targets)
};

struct AcousticTrainingOptions {
    int channels = 64;
    std::vector<int> dilations { 1, 2, 4, 8 };
    int epochs = 40;
    int cropFrames = 256; // random crops of about 8 s; evaluation reads whole songs
    int batch = 32;
    double learningRate = 2e-3; // AdamW; a quarter of it for the second half of the epochs
    double weightDecay = 1e-3;
    double partWeight = 0.5; // weight of the auxiliary per-part and presence losses
    uint64_t seed = 1;

    Expected<void> validate() const;
};

struct AcousticEpoch {
    int epoch = 0; // 1-based
    int epochs = 0;
    double loss = 0.0; // mean training loss of the epoch
    double accuracy = -1.0; // share >= 0.5 read right on the validation songs; -1 without them
};

// The share logit of each song, computed with libtorch's conv1d from the net's flat weights: the reference
// that the Analyser's own forward pass (acousticNetLogit) is tested against.
std::vector<double> acousticNetTorchLogits(const analysis::AcousticNet& net, const std::vector<AcousticExample>& songs);

// Trains from seeded random weights; deterministic for the same examples, options and thread count.
// `validation` may be empty. The result holds the head's share output only (acoustic_net.h).
Expected<analysis::AcousticNet> trainAcousticNet(const std::vector<AcousticExample>& train,
    const std::vector<AcousticExample>& validation, const AcousticTrainingOptions& options,
    const std::function<void(const AcousticEpoch&)>& onEpoch, const CancelToken* cancel = nullptr);

} // namespace tmk
