#include "acoustic_net.h"

#include <algorithm>
#include <cstdio>

namespace tmk::analysis {

size_t AcousticNet::expectedWeights() const
{
    const size_t c = static_cast<size_t>(channels), k = kAcousticKernel;
    size_t total = 0, in = kMelBands;
    for (size_t l = 0; l < dilations.size(); ++l, in = c) total += c * in * k + c;
    return total + c + 1;
}

const AcousticNet& committedAcousticNet()
{
    static const AcousticNet net = {
#include "acoustic_net.inc"
    };
    return net;
}

std::vector<float> acousticNetInput(const FrameDescriptors& d, int& frames)
{
    frames = d.frames / kAcousticPool;
    std::vector<float> input(static_cast<size_t>(kMelBands) * std::max(frames, 0));
    if (frames <= 0) return input;
    double sum = 0.0;
    for (int t = 0; t < frames; ++t)
        for (int b = 0; b < kMelBands; ++b) {
            double level = 0.0;
            for (int i = 0; i < kAcousticPool; ++i) level += d.logMelDb[static_cast<size_t>(t * kAcousticPool + i)][b];
            const double db = std::max(level / kAcousticPool, kAcousticFloorDb);
            input[static_cast<size_t>(b) * frames + t] = static_cast<float>(db);
            sum += db;
        }
    const float mean = static_cast<float>(sum / (static_cast<double>(frames) * kMelBands));
    for (float& x : input) x = (x - mean) / 20.0f;
    return input;
}

namespace {

// One "same"-padded dilated convolution with bias and ReLU: in [inChannels][frames] -> out [outChannels][frames].
void convRelu(const float* weight, const float* bias, int inChannels, int outChannels, int dilation,
    const std::vector<float>& in, int frames, std::vector<float>& out)
{
    out.assign(static_cast<size_t>(outChannels) * frames, 0.0f);
    for (int o = 0; o < outChannels; ++o) {
        float* y = out.data() + static_cast<size_t>(o) * frames;
        std::fill(y, y + frames, bias[o]);
        for (int i = 0; i < inChannels; ++i) {
            const float* x = in.data() + static_cast<size_t>(i) * frames;
            const float* w = weight + (static_cast<size_t>(o) * inChannels + i) * kAcousticKernel;
            for (int k = 0; k < kAcousticKernel; ++k) {
                const int shift = (k - kAcousticKernel / 2) * dilation; // y[t] += w[k] x[t + shift]
                const int first = std::max(0, -shift), last = std::min(frames, frames - shift);
                for (int t = first; t < last; ++t) y[t] += w[k] * x[t + shift];
            }
        }
        for (int t = 0; t < frames; ++t) y[t] = std::max(y[t], 0.0f);
    }
}

} // namespace

double acousticNetLogit(const AcousticNet& net, std::span<const float> input, int frames)
{
    if (frames <= 0 || net.channels <= 0 || net.weights.size() != net.expectedWeights()
        || input.size() != static_cast<size_t>(kMelBands) * frames)
        return 0.0;
    std::vector<float> x(input.begin(), input.end()), y;
    const float* w = net.weights.data();
    int in = kMelBands;
    for (int dilation : net.dilations) {
        const float* bias = w + static_cast<size_t>(net.channels) * in * kAcousticKernel;
        convRelu(w, bias, in, net.channels, dilation, x, frames, y);
        w = bias + net.channels;
        in = net.channels;
        x.swap(y);
    }
    double sum = 0.0;
    for (int c = 0; c < net.channels; ++c) {
        double channel = 0.0;
        for (int t = 0; t < frames; ++t) channel += x[static_cast<size_t>(c) * frames + t];
        sum += w[c] * channel;
    }
    return sum / frames + w[net.channels];
}

std::string acousticNetToInc(const AcousticNet& net, const std::string& comment)
{
    std::string text
        = "// " + comment + "\n// {channels, {dilations}, {weights: each layer's [out][in][3] then bias; head}}\n";
    text += std::to_string(net.channels) + ", {";
    for (size_t i = 0; i < net.dilations.size(); ++i) text += (i ? ", " : "") + std::to_string(net.dilations[i]);
    text += "}, {\n";
    char buffer[32];
    for (size_t i = 0; i < net.weights.size(); ++i) {
        std::snprintf(buffer, sizeof buffer, "%.9g,", net.weights[i]);
        text += buffer;
        text += (i % 10 == 9 || i + 1 == net.weights.size()) ? "\n" : " ";
    }
    return text + "}\n";
}

} // namespace tmk::analysis
