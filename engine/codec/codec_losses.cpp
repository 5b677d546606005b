#include "codec/codec_losses.h"

#include <cmath>

#include <ATen/TensorOperators.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/hann_window.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/stft.h>
#include <ATen/ops/view_as_real.h>
#include <ATen/ops/zeros.h>

namespace tmk::encodec {

namespace {

const at::TensorOptions kFloat = at::TensorOptions().dtype(at::kFloat);
constexpr double kLogFloor = 1e-5;

double hzToMel(double hz)
{
    return 2595.0 * std::log10(1.0 + hz / 700.0);
}
double melToHz(double mel)
{
    return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0);
}

at::Tensor l1(const at::Tensor& a, const at::Tensor& b)
{
    return (a - b).abs().mean();
}

} // namespace

at::Tensor melFilterbank(int64_t sampleRate, int64_t fft, int64_t mels)
{
    const int64_t bins = fft / 2 + 1;
    std::vector<double> edges(static_cast<size_t>(mels + 2));
    const double top = hzToMel(sampleRate / 2.0);
    for (size_t i = 0; i < edges.size(); ++i)
        edges[i] = melToHz(top * static_cast<double>(i) / static_cast<double>(mels + 1));
    at::Tensor bank = at::zeros({ bins, mels }, kFloat);
    auto data = bank.accessor<float, 2>();
    for (int64_t b = 0; b < bins; ++b) {
        const double hz = static_cast<double>(b) * sampleRate / static_cast<double>(fft);
        for (int64_t m = 0; m < mels; ++m) {
            const double lo = edges[m], mid = edges[m + 1], hi = edges[m + 2];
            const double rise = (hz - lo) / (mid - lo), fall = (hi - hz) / (hi - mid);
            data[b][m] = static_cast<float>(std::max(0.0, std::min(rise, fall)));
        }
    }
    return bank;
}

at::Tensor chromaFilterbank(int64_t sampleRate, int64_t fft)
{
    const int64_t bins = fft / 2 + 1;
    at::Tensor bank = at::zeros({ bins, 12 }, kFloat);
    auto data = bank.accessor<float, 2>();
    for (int64_t b = 1; b < bins; ++b) {
        const double hz = static_cast<double>(b) * sampleRate / static_cast<double>(fft);
        if (hz < 50.0 || hz > 5000.0) continue;
        const double pitch = 12.0 * std::log2(hz / 440.0); // semitones from A4
        for (int64_t c = 0; c < 12; ++c) {
            double distance = std::fmod(std::abs(pitch - static_cast<double>(c)), 12.0);
            distance = std::min(distance, 12.0 - distance);
            data[b][c] = static_cast<float>(std::exp(-0.5 * (distance / 0.5) * (distance / 0.5)));
        }
    }
    return bank;
}

CodecLoss::CodecLoss(int64_t sampleRate)
{
    for (int64_t fft : { 256, 512, 1024 })
        m_resolutions.push_back(
            { fft, at::hann_window(fft, kFloat), melFilterbank(sampleRate, fft, std::min<int64_t>(64, fft / 8)) });
    for (int64_t fft : { 512, 1024, 2048 }) m_convergence.emplace_back(fft, at::hann_window(fft, kFloat));
    m_chromaWindow = at::hann_window(m_chromaFft, kFloat);
    m_chroma = chromaFilterbank(sampleRate, m_chromaFft);
}

at::Tensor CodecLoss::magnitude(const at::Tensor& audio, int64_t fft, const at::Tensor& window) const
{
    at::Tensor spectrum = at::stft(audio.squeeze(1), fft, fft / 4, fft, window, /*center=*/true, "reflect",
        /*normalized=*/false, /*onesided=*/true, /*return_complex=*/true); // [B, bins, frames]
    return (at::view_as_real(spectrum).pow(2).sum(-1) + 1e-7).sqrt();
}

CodecLossTerms CodecLoss::terms(const at::Tensor& original, const at::Tensor& reconstruction) const
{
    CodecLossTerms out;
    out.waveformL1 = l1(original, reconstruction);
    out.logMel = at::zeros({}, kFloat);
    out.logStft = at::zeros({}, kFloat);
    for (const Resolution& r : m_resolutions) {
        const at::Tensor a = magnitude(original, r.fft, r.window);
        const at::Tensor b = magnitude(reconstruction, r.fft, r.window);
        out.logStft = out.logStft
            + l1((a + kLogFloor).log(), (b + kLogFloor).log()) / static_cast<double>(m_resolutions.size());
        const at::Tensor melA = at::matmul(a.transpose(1, 2), r.mel); // [B, frames, mels]
        const at::Tensor melB = at::matmul(b.transpose(1, 2), r.mel);
        out.logMel = out.logMel
            + l1((melA + kLogFloor).log(), (melB + kLogFloor).log()) / static_cast<double>(m_resolutions.size());
    }
    out.spectralConvergence = at::zeros({}, kFloat);
    for (const auto& [fft, window] : m_convergence) {
        const at::Tensor a = magnitude(original, fft, window), b = magnitude(reconstruction, fft, window);
        out.spectralConvergence = out.spectralConvergence
            + ((a - b).pow(2).sum({ 1, 2 }).sqrt() / (a.pow(2).sum({ 1, 2 }).sqrt() + 1e-6)).mean()
                / static_cast<double>(m_convergence.size());
    }
    // Chroma: per frame, the distribution of power over the 12 pitch classes; the L1 distance between the
    // distributions, weighted by the original frame's share of the power (silence does not count).
    const at::Tensor chromaA
        = at::matmul(magnitude(original, m_chromaFft, m_chromaWindow).pow(2).transpose(1, 2), m_chroma);
    const at::Tensor chromaB
        = at::matmul(magnitude(reconstruction, m_chromaFft, m_chromaWindow).pow(2).transpose(1, 2), m_chroma);
    const at::Tensor energyA = chromaA.sum(-1, true); // [B, frames, 1]
    const at::Tensor weight = (energyA / (energyA.mean({ 1, 2 }, true) + 1e-8)).detach();
    const at::Tensor normA = chromaA / (energyA + 1e-8);
    const at::Tensor normB = chromaB / (chromaB.sum(-1, true) + 1e-8);
    out.chroma = (weight * (normA - normB).abs()).sum(-1).mean();
    return out;
}

} // namespace tmk::encodec
