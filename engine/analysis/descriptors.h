// Frame-level descriptors from one magnitude STFT (1024-sample frames, 128-sample hop at 16 kHz: 125 frames
// a second), the tempo and key estimators, and the song-level feature vector the estimators read.
#pragma once

#include <array>
#include <cmath>
#include <span>
#include <vector>

#include "tastemaker/analysis.h"
#include "tastemaker/cancel.h"

namespace tmk::analysis {

inline constexpr int kMelBands = 40;
inline constexpr int kFrameSize = 1024;
inline constexpr int kHop = 128;

struct FrameDescriptors {
    int frames = 0;
    double frameRateHz = 0.0;
    std::array<double, kMelBands> bandCentreHz {};
    std::vector<std::array<float, kMelBands>> logMelDb; // [frames][bands]
    std::vector<double> frameDb; // total power in dB (full scale sine = about 0 dB)
    std::vector<double> onset; // spectral flux: positive log-mel differences, mean over bands
    std::vector<double> lowOnset; // the same over the bands below 200 Hz
    std::vector<double> centroidHz;
    std::vector<double> logFlatness; // log10 of geometric / arithmetic mean power
    std::vector<double> highShare; // power share above 4 kHz
    std::vector<double> lowShare; // power share below 150 Hz
    std::vector<double> speechBand; // amplitude in 300..3400 Hz (linear)
    std::vector<double> speechShare; // power share in 300..3400 Hz
    // Spectral peaks between 200 Hz and 4 kHz that were also peaks 32 ms before, weighted by magnitude: the
    // share that held their level within 1 dB (a sustained synthetic tone) and the share that fell by 1 to
    // 15 dB (a plucked, struck or damped sound). 0 when the frame has no continued peak.
    std::vector<double> partialSteady;
    std::vector<double> partialDecay;
};

FrameDescriptors computeFrameDescriptors(std::span<const float> signal, int sampleRate);

// Frames quieter than the median level minus 30 dB are silence; a frame with more than a quarter of its power
// above 4 kHz is a fricative; the speech band's level in dB. Shared by the whole-song and window features.
double silenceFloorDb(const FrameDescriptors& d);
inline bool isFricative(const FrameDescriptors& d, int t)
{
    return d.highShare[t] > 0.25;
}
inline double speechBandDb(const FrameDescriptors& d, int t)
{
    return 20.0 * std::log10(d.speechBand[t] + 1e-5);
}

class Fft;
// Adds to `power` (fft.size() / 2 + 1 bins) the power spectrum of the log speech-band envelope over `frames`
// frames from `start` (frames <= fft.size(); mean removed, Hann window over the FFT size, zero-padded).
void addModulationPower(const FrameDescriptors& d, int start, int frames, const Fft& fft, std::vector<double>& power);
// The 3..6 Hz (syllabic) share of 0.5..16 Hz in a modulation power spectrum of `binHz` bins.
double syllabicShare(const std::vector<double>& power, double binHz);

struct TempoEstimate {
    double bpm = 0.0;
    double pulseClarity = 0.0; // normalised autocorrelation at the beat period (0..1)
    double lowPulseClarity = 0.0; // the same for the low-band (kick) onsets
    double phasePeakiness = 0.0; // beat-phase histogram: max / mean (regular pulse = high)
    double swing = 0.5; // onset weight at 2/3 of the beat against 1/2 + 2/3
};

// x minus its moving average over +-halfWindow frames, half-wave rectified (the onset envelopes' trend).
std::vector<double> detrendEnvelope(std::span<const double> x, int halfWindow);
// The onset envelopes' detrending half-window: 0.25 s (a 0.5 s moving average) in frames.
inline int onsetTrendHalfWindow(double frameRateHz)
{
    return static_cast<int>(std::lround(0.25 * frameRateHz));
}

// Autocorrelation of the onset envelope with an octave check; `frameRateHz` is the envelope's rate.
TempoEstimate estimateTempo(std::span<const double> onset, std::span<const double> lowOnset, double frameRateHz);
// The beat period fitted to the whole song: the steady pulse train (period and phase) within 7% of `bpm` whose
// beats land on the most onset energy (the envelope smoothed by 24 ms). A tempo read from the autocorrelation's
// first few peaks drifts when the notes are loosely timed; the song's 20 to 40 beats pin the period down.
double fitBeatGrid(std::span<const double> onset, std::span<const double> lowOnset, double frameRateHz, double bpm);

struct KeyEstimate {
    int tonic = 0; // pitch class, 0 = C
    int mode = 1; // 1 major, 0 minor
    double modeMargin = 0.0; // best major score - best minor score
    double tonalness = 0.0; // chroma peakiness (max / mean)
    // The evidence for the best major key's tonic minus that for the best minor key's: chroma on the tonic, on
    // its fifth, bass on the tonic, bass on the fifth, the opening bass and chroma on the tonic, and the
    // Krumhansl-Kessler and Temperley profile correlations (features mode_tonic ... mode_temperley).
    std::array<double, 8> modeEvidence {};
    int majorTonic = 0, minorTonic = 0; // the best-scoring major and minor keys' tonics
    // The normalised chroma of the whole song, its bass, and the opening seconds' chroma and bass (12 each,
    // pitch class 0 = C).
    std::array<double, 48> profile {};
};

// Spectral-peak chroma (STFT peaks folded to pitch classes); the best-scoring of the 24 keys (key.cpp).
KeyEstimate estimateKey(std::span<const float> signal, int sampleRate);

// Features of 2 s windows (speech comes in bars), of the first and last seconds against the middle
// (applause), and of how fast the bands can fall (room reverb), written from `first` on (segment_features.cpp).
void addSegmentFeatures(const FrameDescriptors& frames, AnalysisFeatures& features, int first);

// The song-level features (names in analysisFeatureNames()).
AnalysisFeatures computeFeatures(
    const FrameDescriptors& frames, const TempoEstimate& tempo, const KeyEstimate& key, double loudnessLufs);

} // namespace tmk::analysis
