// The reconstruction losses of codec training (no GAN): L1 on the waveform, multi-resolution log-mel and
// log-STFT magnitude distances, and a chroma term (the pitch-class energy distribution per frame, so that
// pitch and the third separating major from minor survive), and spectral convergence (‖|X| − |X̂|‖ / ‖|X|‖
// per resolution, n_fft 512 to 2048: a linear-magnitude distance, dominated by the strong harmonic peaks that
// the log distances weigh no more than the noise floor). All differentiable, all means over the batch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tastemaker/codec_training.h"

namespace tmk::encodec {

using CodecLossWeights = CodecLossMix; // the public weights (tastemaker/codec_training.h)

struct CodecLossTerms {
    at::Tensor waveformL1, logMel, logStft, chroma, spectralConvergence; // scalars
};

class CodecLoss {
public:
    // Resolutions n_fft ∈ {256, 512, 1024} (hop n_fft / 4, Hann) at `sampleRate`; chroma from n_fft 2048.
    explicit CodecLoss(int64_t sampleRate);

    // original, reconstruction: [B, 1, L].
    CodecLossTerms terms(const at::Tensor& original, const at::Tensor& reconstruction) const;

private:
    struct Resolution {
        int64_t fft = 0;
        at::Tensor window; // [fft]
        at::Tensor mel; // [bins, mels]
    };
    at::Tensor magnitude(const at::Tensor& audio, int64_t fft, const at::Tensor& window) const; // [B, bins, frames]

    std::vector<Resolution> m_resolutions;
    std::vector<std::pair<int64_t, at::Tensor>> m_convergence; // n_fft and its window
    int64_t m_chromaFft = 2048;
    at::Tensor m_chromaWindow; // [2048]
    at::Tensor m_chroma; // [bins, 12]
};

// A triangular mel filterbank (HTK mel scale) [fft / 2 + 1, mels] from 0 Hz to sampleRate / 2.
at::Tensor melFilterbank(int64_t sampleRate, int64_t fft, int64_t mels);
// A pitch-class filterbank [fft / 2 + 1, 12]: each bin between 50 Hz and 5 kHz votes for the pitch classes
// near its pitch (a Gaussian of 0.5 semitone on the circle of classes); class 0 is A.
at::Tensor chromaFilterbank(int64_t sampleRate, int64_t fft);

} // namespace tmk::encodec
