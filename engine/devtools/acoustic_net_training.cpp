#include "tastemaker/devtools/acoustic_net_training.h"

#include <algorithm>
#include <cmath>
#include <random>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/binary_cross_entropy_with_logits.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/conv1d.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/stack.h>
#include <ATen/ops/tensor.h>

#include "training/optimizer.h"

namespace tmk {

namespace {

using analysis::kAcousticKernel;
using analysis::kAcousticOutputs;
using analysis::kMelBands;

const at::TensorOptions kF32 = at::TensorOptions().dtype(at::kFloat);

// The trainable net: each layer's conv weight [C][in][3] and bias [C], then the head [kAcousticOutputs][C][1].
struct Layers {
    std::vector<at::Tensor> weights, biases;
    std::vector<int> dilations;
    at::Tensor headWeight, headBias;

    std::vector<at::Tensor> parameters() const
    {
        std::vector<at::Tensor> all;
        for (size_t i = 0; i < weights.size(); ++i) all.insert(all.end(), { weights[i], biases[i] });
        all.insert(all.end(), { headWeight, headBias });
        return all;
    }

    at::Tensor forward(at::Tensor x) const // [B, kMelBands, T] -> [B, outputs] (time-averaged logits)
    {
        for (size_t i = 0; i < weights.size(); ++i)
            x = at::relu(at::conv1d(x, weights[i], biases[i], 1, dilations[i], dilations[i]));
        return at::conv1d(x, headWeight, headBias).mean(2);
    }
};

// PyTorch's Conv1d initialisation: weight and bias uniform within 1/sqrt(in * kernel).
Layers initialLayers(const AcousticTrainingOptions& options)
{
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    at::NoGradGuard noGrad;
    auto uniform = [&](std::vector<int64_t> shape, int64_t fanIn) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(fanIn));
        return at::empty(shape, kF32).uniform_(-bound, bound, generator).set_requires_grad(true);
    };
    Layers net;
    net.dilations = options.dilations;
    int64_t in = kMelBands;
    for (size_t i = 0; i < options.dilations.size(); ++i, in = options.channels) {
        net.weights.push_back(uniform({ options.channels, in, kAcousticKernel }, in * kAcousticKernel));
        net.biases.push_back(uniform({ options.channels }, in * kAcousticKernel));
    }
    net.headWeight = uniform({ kAcousticOutputs, options.channels, 1 }, options.channels);
    net.headBias = uniform({ kAcousticOutputs }, options.channels);
    return net;
}

// The flat layout of analysis::AcousticNet (only the head's share output).
analysis::AcousticNet exportNet(const Layers& layers, int channels)
{
    analysis::AcousticNet net;
    net.channels = channels;
    net.dilations = layers.dilations;
    auto append = [&](const at::Tensor& t) {
        const at::Tensor c = t.detach().contiguous();
        const float* p = c.data_ptr<float>();
        net.weights.insert(net.weights.end(), p, p + c.numel());
    };
    for (size_t i = 0; i < layers.weights.size(); ++i) {
        append(layers.weights[i]);
        append(layers.biases[i]);
    }
    append(layers.headWeight[0]);
    append(layers.headBias.narrow(0, 0, 1));
    return net;
}

// The inverse of exportNet for the share output (the other head rows are zero).
Layers importNet(const analysis::AcousticNet& net)
{
    Layers layers;
    layers.dilations = net.dilations;
    const float* p = net.weights.data();
    auto take = [&](std::vector<int64_t> shape) {
        at::Tensor t = at::empty(shape, kF32);
        std::copy(p, p + t.numel(), t.data_ptr<float>());
        p += t.numel();
        return t;
    };
    int64_t in = kMelBands;
    for (size_t i = 0; i < net.dilations.size(); ++i, in = net.channels) {
        layers.weights.push_back(take({ net.channels, in, kAcousticKernel }));
        layers.biases.push_back(take({ net.channels }));
    }
    layers.headWeight = take({ 1, net.channels, 1 });
    layers.headBias = take({ 1 });
    return layers;
}

at::Tensor songTensor(const AcousticExample& song) // [1, kMelBands, frames]
{
    return at::from_blob(const_cast<float*>(song.input.data()), { 1, kMelBands, song.frames }, kF32);
}

double accuracy(const Layers& layers, const std::vector<AcousticExample>& songs)
{
    at::NoGradGuard noGrad;
    int right = 0;
    for (const AcousticExample& song : songs) {
        const double logit = layers.forward(songTensor(song))[0][0].item<double>();
        right += (logit >= 0.0) == (song.share >= 0.5);
    }
    return songs.empty() ? -1.0 : static_cast<double>(right) / songs.size();
}

Expected<void> checkExamples(const std::vector<AcousticExample>& songs, const char* what)
{
    for (size_t i = 0; i < songs.size(); ++i) {
        const AcousticExample& s = songs[i];
        if (s.frames <= 0 || s.input.size() != static_cast<size_t>(kMelBands) * s.frames)
            return Error { ErrorCode::InvalidArgument,
                std::string(what) + " song " + std::to_string(i) + " has no frames or a misshapen input" };
        if (!(s.share >= 0.0 && s.share <= 1.0))
            return Error { ErrorCode::InvalidArgument,
                std::string(what) + " song " + std::to_string(i) + " has an acoustic share outside 0..1" };
    }
    return {};
}

} // namespace

Expected<void> AcousticTrainingOptions::validate() const
{
    if (channels < 1 || channels > 1024)
        return Error { ErrorCode::InvalidArgument, "the acoustic net needs 1 to 1024 channels" };
    if (dilations.empty() || std::any_of(dilations.begin(), dilations.end(), [](int d) { return d < 1 || d > 256; }))
        return Error { ErrorCode::InvalidArgument, "the acoustic net needs at least one layer, dilations 1 to 256" };
    if (epochs < 1 || cropFrames < 1 || batch < 1)
        return Error { ErrorCode::InvalidArgument, "epochs, crop frames and batch must be at least 1" };
    if (!(learningRate > 0.0) || !(weightDecay >= 0.0) || !(partWeight >= 0.0))
        return Error { ErrorCode::InvalidArgument,
            "the learning rate must be positive, the weight decay and part weight not negative" };
    return {};
}

std::vector<double> acousticNetTorchLogits(const analysis::AcousticNet& net, const std::vector<AcousticExample>& songs)
{
    at::NoGradGuard noGrad;
    const Layers layers = importNet(net);
    std::vector<double> logits;
    for (const AcousticExample& song : songs) logits.push_back(layers.forward(songTensor(song))[0][0].item<double>());
    return logits;
}

Expected<analysis::AcousticNet> trainAcousticNet(const std::vector<AcousticExample>& train,
    const std::vector<AcousticExample>& validation, const AcousticTrainingOptions& options,
    const std::function<void(const AcousticEpoch&)>& onEpoch, const CancelToken* cancel)
{
    TMK_TRY(options.validate());
    if (train.empty()) return Error { ErrorCode::InvalidArgument, "the acoustic net needs training songs" };
    TMK_TRY(checkExamples(train, "training"));
    TMK_TRY(checkExamples(validation, "validation"));
    Layers layers = initialLayers(options);
    AdamW optimiser(layers.parameters(), options.weightDecay);
    std::mt19937_64 rng(options.seed);
    const int batch = std::min<int>(options.batch, static_cast<int>(train.size()));
    const size_t steps = train.size() / static_cast<size_t>(batch);
    std::vector<size_t> order(train.size());
    for (int epoch = 0; epoch < options.epochs; ++epoch) {
        for (size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::shuffle(order.begin(), order.end(), rng);
        const double lr = options.learningRate * (epoch < options.epochs / 2 ? 1.0 : 0.25);
        double lossSum = 0.0;
        for (size_t step = 0; step < steps; ++step) {
            if (cancel != nullptr && cancel->isCancelled())
                return Error { ErrorCode::Cancelled, "training the acoustic net was cancelled" };
            // Songs shorter than the crop are padded by repeating them.
            std::vector<at::Tensor> crops;
            std::vector<float> share, partTarget, partMask, presence;
            for (int b = 0; b < batch; ++b) {
                const AcousticExample& song = train[order[step * batch + b]];
                at::Tensor x = songTensor(song)[0];
                while (x.size(1) < options.cropFrames) x = at::cat({ x, x }, 1);
                const int64_t offset = std::uniform_int_distribution<int64_t>(0, x.size(1) - options.cropFrames)(rng);
                crops.push_back(x.narrow(1, offset, options.cropFrames));
                share.push_back(static_cast<float>(song.share));
                for (int8_t part : song.parts) {
                    partTarget.push_back(part == 1 ? 1.0f : 0.0f);
                    partMask.push_back(part >= 0 ? 1.0f : 0.0f);
                }
                presence.push_back(song.parts[3] >= 0 ? 1.0f : 0.0f); // pad
                presence.push_back(song.parts[4] >= 0 ? 1.0f : 0.0f); // drums
            }
            const at::Tensor out = layers.forward(at::stack(crops));
            const at::Tensor mask = at::tensor(partMask).view({ batch, kAcousticRoles });
            const at::Tensor partLoss
                = (at::binary_cross_entropy_with_logits(out.narrow(1, 1, kAcousticRoles),
                       at::tensor(partTarget).view({ batch, kAcousticRoles }), {}, {}, at::Reduction::None)
                      * mask)
                      .sum()
                / mask.sum().clamp_min(1.0);
            const at::Tensor presenceLoss = at::binary_cross_entropy_with_logits(
                out.narrow(1, 1 + kAcousticRoles, 2), at::tensor(presence).view({ batch, 2 }));
            const at::Tensor loss = at::binary_cross_entropy_with_logits(out.select(1, 0), at::tensor(share))
                + options.partWeight * (partLoss + presenceLoss);
            optimiser.zeroGrad();
            loss.backward();
            optimiser.step(lr);
            lossSum += loss.item<double>();
        }
        if (onEpoch)
            onEpoch({ epoch + 1, options.epochs, steps > 0 ? lossSum / steps : 0.0, accuracy(layers, validation) });
    }
    return exportNet(layers, options.channels);
}

} // namespace tmk
