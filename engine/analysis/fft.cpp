#include "fft.h"

#include <cmath>
#include <numbers>

namespace tmk::analysis {

Fft::Fft(int size)
    : m_size(size)
    , m_bitReverse(size)
    , m_twiddles(size / 2)
{
    int bits = 0;
    while ((1 << bits) < size) ++bits;
    for (int i = 0; i < size; ++i) {
        int reversed = 0;
        for (int b = 0; b < bits; ++b)
            if (i & (1 << b)) reversed |= 1 << (bits - 1 - b);
        m_bitReverse[i] = reversed;
    }
    for (int k = 0; k < size / 2; ++k) m_twiddles[k] = std::polar(1.0, -2.0 * std::numbers::pi * k / size);
}

void Fft::forward(std::vector<std::complex<double>>& data) const
{
    for (int i = 0; i < m_size; ++i)
        if (i < m_bitReverse[i]) std::swap(data[i], data[m_bitReverse[i]]);
    for (int length = 2; length <= m_size; length *= 2) {
        const int half = length / 2;
        const int stride = m_size / length;
        for (int start = 0; start < m_size; start += length) {
            for (int k = 0; k < half; ++k) {
                const std::complex<double> odd = data[start + k + half] * m_twiddles[k * stride];
                data[start + k + half] = data[start + k] - odd;
                data[start + k] += odd;
            }
        }
    }
}

Spectrogram computeSpectrogram(std::span<const float> signal, int sampleRate, int frameSize, int hop)
{
    Spectrogram spec;
    spec.frameSize = frameSize;
    spec.hop = hop;
    spec.sampleRate = sampleRate;
    spec.bins = frameSize / 2 + 1;
    const int64_t samples = static_cast<int64_t>(signal.size());
    spec.frames = samples < frameSize ? (samples > 0 ? 1 : 0) : static_cast<int>((samples - frameSize) / hop + 1);
    spec.magnitude.assign(static_cast<size_t>(spec.frames) * spec.bins, 0.0f);

    std::vector<double> window(frameSize);
    for (int i = 0; i < frameSize; ++i) window[i] = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / frameSize);
    const Fft fft(frameSize);
    std::vector<std::complex<double>> buffer(frameSize);
    for (int t = 0; t < spec.frames; ++t) {
        const int64_t start = static_cast<int64_t>(t) * hop;
        for (int i = 0; i < frameSize; ++i) {
            const int64_t at = start + i;
            buffer[i] = at < samples ? signal[at] * window[i] : 0.0;
        }
        fft.forward(buffer);
        float* out = spec.magnitude.data() + static_cast<size_t>(t) * spec.bins;
        for (int k = 0; k < spec.bins; ++k) out[k] = static_cast<float>(std::abs(buffer[k]));
    }
    return spec;
}

} // namespace tmk::analysis
