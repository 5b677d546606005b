// The acoustic-share network: a small dilated 1-D convolutional net over the log-mel frames that reads which
// share of a song's parts are acoustic instruments (docs/analysis.md, "Acousticness"). Torch-free inference;
// the weights are in acoustic_net.inc, written by `tastemaker-cli analyse --fit-acoustic`
// (engine/training/acoustic_net_training.cpp trains it with libtorch on a rendered world).
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "descriptors.h"
#include "tastemaker/error.h"

namespace tmk::analysis {

inline constexpr int kAcousticPool = 4; // log-mel frames averaged into one net frame (32 ms at 125 frames/s)
inline constexpr int kAcousticKernel = 3;
inline constexpr int kAcousticOutputs = 8; // trained outputs: 0 the song's share; 1-5 each part; 6-7 pad, drums
inline constexpr double kAcousticFloorDb = -100.0;

// Layers: conv(kMelBands -> channels, dilation d0), conv(channels -> channels, d1), ..., ReLU after each; then
// a 1x1 conv to the share logit, averaged over time. Weights are flat, layer by layer, PyTorch's layout:
// weight [out][in][kernel], then bias [out]; the head holds only output 0 (weight [channels], bias).
struct AcousticNet {
    int channels = 0;
    std::vector<int> dilations;
    std::vector<float> weights;

    // How many weights the shape needs (with the head's single output).
    size_t expectedWeights() const;
};

// The committed net (acoustic_net.inc).
const AcousticNet& committedAcousticNet();

// The net's input from the frames: kAcousticPool-frame means of the log-mel dB, floored at kAcousticFloorDb,
// minus the song's mean over every frame and band, divided by 20; laid out [kMelBands][frames]. `frames` is
// set to the pooled frame count (0 for a clip under kAcousticPool frames, with an empty input).
std::vector<float> acousticNetInput(const FrameDescriptors& d, int& frames);

// The share logit for an input of acousticNetInput's layout (0 for an empty input).
double acousticNetLogit(const AcousticNet& net, std::span<const float> input, int frames);

// The acoustic-share net's input for a file (read and resampled as analyseFile does), and its length.
struct AcousticInput {
    std::vector<float> input; // acousticNetInput's layout
    int frames = 0;
    double seconds = 0.0;
};
Expected<AcousticInput> acousticInputOfFile(const std::filesystem::path& path);

// The net as the text of acoustic_net.inc.
std::string acousticNetToInc(const AcousticNet& net, const std::string& comment);

} // namespace tmk::analysis
