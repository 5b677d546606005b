// A small iterative radix-2 FFT (our own: the well-known FFT libraries are GPL) and a magnitude STFT.
#pragma once

#include <complex>
#include <span>
#include <vector>

namespace tmk::analysis {

class Fft {
public:
    explicit Fft(int size); // size must be a power of two
    int size() const { return m_size; }
    // In-place forward transform of `data` (size() values).
    void forward(std::vector<std::complex<double>>& data) const;

private:
    int m_size;
    std::vector<int> m_bitReverse;
    std::vector<std::complex<double>> m_twiddles;
};

// A magnitude spectrogram: frames of `frameSize` samples (Hann window), every `hop` samples,
// frames x (frameSize / 2 + 1) magnitudes in frame-major order.
struct Spectrogram {
    int frameSize = 0;
    int hop = 0;
    int sampleRate = 0;
    int frames = 0;
    int bins = 0;
    std::vector<float> magnitude; // [frames, bins]
    const float* frame(int t) const { return magnitude.data() + static_cast<size_t>(t) * bins; }
    double binHz(int bin) const { return static_cast<double>(bin) * sampleRate / frameSize; }
};

Spectrogram computeSpectrogram(std::span<const float> signal, int sampleRate, int frameSize, int hop);

} // namespace tmk::analysis
