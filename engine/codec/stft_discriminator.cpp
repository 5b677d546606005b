#include "codec/stft_discriminator.h"

#include <cmath>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/conv2d.h>
#include <ATen/ops/hann_window.h>
#include <ATen/ops/leaky_relu.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/stft.h>
#include <ATen/ops/view_as_real.h>
#include <ATen/ops/zeros.h>

#include "codec/codec_data.h"

namespace tmk::encodec {

namespace {

constexpr double kSlope = 0.2; // LeakyReLU

// PyTorch's default Conv2d initialisation (kaiming_uniform_ with a = sqrt(5), and its bias rule): both
// uniform in ±1/sqrt(fan_in).
at::Tensor uniform(at::IntArrayRef shape, double bound, at::Generator& generator)
{
    return (at::rand(shape, generator, at::TensorOptions().dtype(at::kFloat)) * 2.0 - 1.0) * bound;
}

} // namespace

StftDiscriminator::StftDiscriminator(std::vector<int64_t> ffts, int64_t channels, uint64_t seed)
{
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(mixSeed(seed, 0xD15C));
    for (size_t s = 0; s < ffts.size(); ++s) {
        Scale scale;
        scale.fft = ffts[s];
        scale.window = at::hann_window(scale.fft, at::TensorOptions().dtype(at::kFloat));
        // (in, out, kernel, stride along frequency, dilation along time)
        struct Spec {
            int64_t in, out, kt, kf, sf, dt;
        };
        const std::vector<Spec> specs
            = { { 2, channels, 3, 9, 1, 1 }, { channels, channels, 3, 9, 2, 1 }, { channels, channels, 3, 9, 2, 2 },
                  { channels, channels, 3, 9, 2, 4 }, { channels, channels, 3, 3, 1, 1 }, { channels, 1, 3, 3, 1, 1 } };
        for (size_t j = 0; j < specs.size(); ++j) {
            const Spec& c = specs[j];
            const double bound = 1.0 / std::sqrt(static_cast<double>(c.in * c.kt * c.kf));
            const std::string prefix = "scale" + std::to_string(s) + ".conv" + std::to_string(j);
            Conv conv;
            conv.weight = m_params.size();
            m_params.push_back({ prefix + ".weight", uniform({ c.out, c.in, c.kt, c.kf }, bound, generator) });
            conv.bias = m_params.size();
            m_params.push_back({ prefix + ".bias", uniform({ c.out }, bound, generator) });
            conv.stride = { 1, c.sf };
            conv.dilation = { c.dt, 1 };
            conv.padding = { (c.kt - 1) * c.dt / 2, (c.kf - 1) / 2 };
            scale.convs.push_back(std::move(conv));
        }
        m_scales.push_back(std::move(scale));
    }
    for (NamedTensor& p : m_params) p.value.requires_grad_(true);
}

std::vector<at::Tensor> StftDiscriminator::parameterTensors() const
{
    return tensorValues(m_params);
}

std::vector<StftDiscriminator::ScaleOutput> StftDiscriminator::forward(const at::Tensor& audio) const
{
    const at::Tensor mono = audio.flatten(0, 1); // [B, L]
    std::vector<ScaleOutput> outputs;
    for (const Scale& scale : m_scales) {
        // [B, bins, frames] complex -> [B, bins, frames, 2] -> [B, 2, frames, bins]
        const at::Tensor spectrum = at::stft(mono, scale.fft, scale.fft / 4, scale.fft, scale.window,
            /*center=*/false, "reflect", /*normalized=*/true, /*onesided=*/true, /*return_complex=*/true);
        at::Tensor x = at::view_as_real(spectrum).permute({ 0, 3, 2, 1 });
        ScaleOutput out;
        for (size_t j = 0; j < scale.convs.size(); ++j) {
            const Conv& c = scale.convs[j];
            x = at::conv2d(x, m_params[c.weight].value, m_params[c.bias].value, c.stride, c.padding, c.dilation);
            if (j + 1 == scale.convs.size()) break;
            x = at::leaky_relu(x, kSlope);
            out.features.push_back(x);
        }
        out.logits = x;
        outputs.push_back(std::move(out));
    }
    return outputs;
}

at::Tensor discriminatorHingeLoss(
    const std::vector<StftDiscriminator::ScaleOutput>& real, const std::vector<StftDiscriminator::ScaleOutput>& fake)
{
    at::Tensor total = at::zeros({}, at::TensorOptions().dtype(at::kFloat));
    for (size_t s = 0; s < real.size(); ++s)
        total = total + at::relu(1.0 - real[s].logits).mean() + at::relu(1.0 + fake[s].logits).mean();
    return total / static_cast<double>(real.size());
}

at::Tensor generatorHingeLoss(const std::vector<StftDiscriminator::ScaleOutput>& fake)
{
    at::Tensor total = at::zeros({}, at::TensorOptions().dtype(at::kFloat));
    for (const auto& scale : fake) total = total + at::relu(1.0 - scale.logits).mean();
    return total / static_cast<double>(fake.size());
}

at::Tensor featureMatchingLoss(
    const std::vector<StftDiscriminator::ScaleOutput>& real, const std::vector<StftDiscriminator::ScaleOutput>& fake)
{
    at::Tensor total = at::zeros({}, at::TensorOptions().dtype(at::kFloat));
    int64_t count = 0;
    for (size_t s = 0; s < real.size(); ++s)
        for (size_t j = 0; j < real[s].features.size(); ++j) {
            const at::Tensor target = real[s].features[j].detach();
            total = total + (target - fake[s].features[j]).abs().mean() / (target.abs().mean() + 1e-8);
            ++count;
        }
    return count > 0 ? total / static_cast<double>(count) : total;
}

} // namespace tmk::encodec
