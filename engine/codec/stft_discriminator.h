// A multi-scale STFT discriminator for adversarial codec training (the MS-STFTD of EnCodec, Défossez et al.
// 2022): at each of several STFT resolutions the complex spectrogram (real and imaginary parts as two
// channels, [B, 2, frames, bins]) goes through five 2-D convolutions, kernel (3, 9) over (time, frequency),
// the middle three strided by 2 along frequency and dilated 1, 2, 4 along time, LeakyReLU(0.2) after each,
// and a last (3, 3) convolution to one channel of logits. Every convolution's activations are also returned,
// for the feature-matching loss. Plain convolutions (no weight norm), PyTorch's default initialisation.
// The losses are the hinge losses and the relative feature-matching L1 of EnCodec's training.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "codec/encodec_train.h"

namespace tmk::encodec {

class StftDiscriminator {
public:
    // One sub-discriminator per n_fft (hop n_fft / 4, Hann window), `channels` filters each.
    StftDiscriminator(std::vector<int64_t> ffts, int64_t channels, uint64_t seed);

    struct ScaleOutput {
        at::Tensor logits; // [B, 1, frames, bins']
        std::vector<at::Tensor> features; // the activations of each convolution before the last
    };
    // audio [B, 1, L] (L >= the largest n_fft) -> one output per scale.
    std::vector<ScaleOutput> forward(const at::Tensor& audio) const;

    // Named "scale<i>.conv<j>.weight" / ".bias", in a fixed order.
    std::vector<NamedTensor>& parameters() { return m_params; }
    const std::vector<NamedTensor>& parameters() const { return m_params; }
    std::vector<at::Tensor> parameterTensors() const;

private:
    struct Conv {
        size_t weight = 0, bias = 0; // indices into m_params
        std::vector<int64_t> stride, dilation, padding;
    };
    struct Scale {
        int64_t fft = 0;
        at::Tensor window;
        std::vector<Conv> convs; // the last one gives the logits
    };
    std::vector<Scale> m_scales;
    std::vector<NamedTensor> m_params;
};

// Hinge loss of the discriminator: mean over scales of mean(relu(1 - real)) + mean(relu(1 + fake)).
at::Tensor discriminatorHingeLoss(
    const std::vector<StftDiscriminator::ScaleOutput>& real, const std::vector<StftDiscriminator::ScaleOutput>& fake);
// Adversarial loss of the generator: mean over scales of mean(relu(1 - fake)).
at::Tensor generatorHingeLoss(const std::vector<StftDiscriminator::ScaleOutput>& fake);
// Feature matching: mean over scales and layers of mean|real - fake| / mean|real| (real detached).
at::Tensor featureMatchingLoss(
    const std::vector<StftDiscriminator::ScaleOutput>& real, const std::vector<StftDiscriminator::ScaleOutput>& fake);

} // namespace tmk::encodec
