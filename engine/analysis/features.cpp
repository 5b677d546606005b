// The song-level feature vector: statistics of the frame descriptors, the tempo and key evidence, a
// modulation spectrum of the speech band, onset density, decay after onsets and the floor between them.
#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>

#include "descriptors.h"
#include "fft.h"
#include "stats.h"

namespace tmk::analysis {

namespace {

// Peaks of the onset envelope above mean + 0.5 std, at least 50 ms apart.
std::vector<int> onsetPeaks(const FrameDescriptors& d)
{
    const double threshold = mean(d.onset) + 0.5 * stddev(d.onset);
    const int minGap = std::max(1, static_cast<int>(0.05 * d.frameRateHz));
    std::vector<int> peaks;
    for (int t = 1; t + 1 < d.frames; ++t) {
        if (d.onset[t] < threshold || d.onset[t] < d.onset[t - 1] || d.onset[t] < d.onset[t + 1]) continue;
        if (!peaks.empty() && t - peaks.back() < minGap) {
            if (d.onset[t] > d.onset[peaks.back()]) peaks.back() = t;
            continue;
        }
        peaks.push_back(t);
    }
    return peaks;
}

// Median decay slope (dB per second) over up to 0.3 s after each onset, and the median floor between onsets
// relative to the onset frame (dB).
std::pair<double, double> decayAndGap(const FrameDescriptors& d, const std::vector<int>& peaks)
{
    std::vector<double> slopes, gaps;
    const int window = static_cast<int>(0.3 * d.frameRateHz);
    for (size_t i = 0; i < peaks.size(); ++i) {
        const int start = peaks[i] + 2;
        const int end = std::min({ d.frames, peaks[i] + window, i + 1 < peaks.size() ? peaks[i + 1] : d.frames });
        if (end - start >= 8) {
            double sx = 0, sy = 0, sxx = 0, sxy = 0;
            const int n = end - start;
            for (int t = start; t < end; ++t) {
                const double x = (t - start) / d.frameRateHz, y = d.frameDb[t];
                sx += x, sy += y, sxx += x * x, sxy += x * y;
            }
            const double denominator = n * sxx - sx * sx;
            if (denominator > 1e-12) slopes.push_back((n * sxy - sx * sy) / denominator);
        }
        if (i + 1 < peaks.size() && peaks[i + 1] - peaks[i] > 2) {
            double floorDb = 1e9;
            for (int t = peaks[i] + 1; t < peaks[i + 1]; ++t) floorDb = std::min(floorDb, d.frameDb[t]);
            gaps.push_back(floorDb - d.frameDb[peaks[i]]);
        }
    }
    return { slopes.empty() ? 0.0 : median(slopes), gaps.empty() ? 0.0 : median(gaps) };
}

// Modulation spectrum of the log speech-band envelope (4 s windows): the share of 3..6 Hz (syllables) in
// 0.5..16 Hz, and the peakiness (max / mean) over 1..10 Hz (a steady beat is peaky, speech is broad).
std::pair<double, double> modulation(const FrameDescriptors& d)
{
    constexpr int kWindow = 512;
    const Fft fft(kWindow);
    std::vector<double> power(kWindow / 2 + 1, 0.0);
    const int hop = kWindow / 2;
    int windows = 0;
    for (int start = 0; windows == 0 || start + kWindow <= d.frames; start += hop) {
        const int n = std::min(kWindow, d.frames - start);
        if (n <= 1) break;
        addModulationPower(d, start, n, fft, power);
        ++windows;
    }
    const double binHz = d.frameRateHz / kWindow;
    double peak = 0.0, band = 0.0;
    int bandBins = 0;
    for (int k = 1; k <= kWindow / 2; ++k) {
        const double hz = k * binHz;
        if (hz >= 1.0 && hz <= 10.0) {
            peak = std::max(peak, power[k]);
            band += power[k];
            ++bandBins;
        }
    }
    return { syllabicShare(power, binHz), band > 0.0 ? peak / (band / bandBins) : 0.0 };
}

void addSpectralGroups(const FrameDescriptors& d, AnalysisFeatures& f, int first)
{
    // 8 groups of 5 mel bands: mean level relative to the frame's level; 4 groups of 10: spread over time.
    std::array<std::vector<double>, 8> groups;
    for (int t = 0; t < d.frames; ++t) {
        for (int g = 0; g < 8; ++g) {
            double sum = 0.0;
            for (int b = g * 5; b < g * 5 + 5; ++b) sum += d.logMelDb[t][b];
            groups[g].push_back(sum / 5.0 - d.frameDb[t]);
        }
    }
    for (int g = 0; g < 8; ++g) f[first + g] = mean(groups[g]);
    for (int g = 0; g < 4; ++g) {
        std::vector<double> merged(groups[2 * g]);
        for (size_t t = 0; t < merged.size(); ++t) merged[t] = 0.5 * (merged[t] + groups[2 * g + 1][t]) + d.frameDb[t];
        f[first + 8 + g] = stddev(merged);
    }
}

// 10 groups of 4 mel bands: the level relative to the frame's (timbre), and the mean absolute change from
// frame to frame (a sustained synthetic tone barely moves; plucked, struck and bowed sounds do).
void addTimbreGroups(const FrameDescriptors& d, AnalysisFeatures& f, int first)
{
    constexpr int kGroups = 10, kWidth = kMelBands / kGroups;
    std::array<double, kGroups> level {}, change {};
    for (int t = 0; t < d.frames; ++t) {
        for (int g = 0; g < kGroups; ++g) {
            double now = 0.0, before = 0.0;
            for (int b = g * kWidth; b < (g + 1) * kWidth; ++b) {
                now += d.logMelDb[t][b] / kWidth;
                if (t > 0) before += d.logMelDb[t - 1][b] / kWidth;
            }
            level[g] += (now - d.frameDb[t]) / d.frames;
            if (t > 0) change[g] += std::abs(now - before) / d.frames;
        }
    }
    for (int g = 0; g < kGroups; ++g) {
        f[first + g] = level[g];
        f[first + kGroups + g] = change[g];
    }
}

} // namespace

double silenceFloorDb(const FrameDescriptors& d)
{
    return percentile(d.frameDb, 0.5) - 30.0;
}

void addModulationPower(const FrameDescriptors& d, int start, int frames, const Fft& fft, std::vector<double>& power)
{
    const int size = fft.size();
    std::vector<std::complex<double>> buffer(size);
    double m = 0.0;
    for (int i = 0; i < frames; ++i) m += std::log(1e-4 + d.speechBand[start + i]) / frames;
    for (int i = 0; i < size; ++i) {
        const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / size);
        buffer[i] = i < frames ? (std::log(1e-4 + d.speechBand[start + i]) - m) * w : 0.0;
    }
    fft.forward(buffer);
    for (int k = 0; k <= size / 2; ++k) power[k] += std::norm(buffer[k]);
}

double syllabicShare(const std::vector<double>& power, double binHz)
{
    double syllabic = 0.0, total = 0.0;
    for (size_t k = 1; k < power.size(); ++k) {
        const double hz = static_cast<double>(k) * binHz;
        if (hz >= 0.5 && hz <= 16.0) total += power[k];
        if (hz >= 3.0 && hz <= 6.0) syllabic += power[k];
    }
    return total > 0.0 ? syllabic / total : 0.0;
}

AnalysisFeatures computeFeatures(
    const FrameDescriptors& d, const TempoEstimate& tempo, const KeyEstimate& key, double loudnessLufs)
{
    AnalysisFeatures f {};
    if (d.frames == 0) return f;
    const double seconds = d.frames / d.frameRateHz;
    f[0] = loudnessLufs;
    f[1] = mean(d.frameDb);
    f[2] = stddev(d.frameDb);
    f[3] = percentile(d.frameDb, 0.1) - percentile(d.frameDb, 0.5);
    std::vector<double> centroidKhz(d.centroidHz);
    for (double& v : centroidKhz) v /= 1000.0;
    f[4] = mean(centroidKhz);
    f[5] = stddev(centroidKhz);
    f[6] = mean(d.logFlatness);
    const double quiet = percentile(d.frameDb, 0.25);
    std::vector<double> quietFlatness, speechDb;
    int fricatives = 0, voiced = 0;
    const double silence = silenceFloorDb(d);
    for (int t = 0; t < d.frames; ++t) {
        if (d.frameDb[t] <= quiet) quietFlatness.push_back(d.logFlatness[t]);
        if (d.frameDb[t] < silence) continue;
        ++voiced;
        if (isFricative(d, t)) ++fricatives;
        speechDb.push_back(speechBandDb(d, t));
    }
    f[7] = mean(quietFlatness);
    f[8] = mean(d.highShare);
    f[9] = mean(d.lowShare);
    f[10] = mean(d.speechShare);
    const std::vector<int> peaks = onsetPeaks(d);
    f[11] = peaks.size() / seconds;
    f[12] = mean(d.onset);
    f[13] = stddev(d.onset);
    f[14] = f[12] > 1e-9 ? mean(d.lowOnset) / f[12] : 0.0;
    f[15] = tempo.pulseClarity;
    f[16] = tempo.lowPulseClarity;
    f[17] = tempo.phasePeakiness;
    f[18] = tempo.swing;
    f[19] = tempo.bpm / 100.0;
    const auto [syllabic, peakiness] = modulation(d);
    f[20] = syllabic;
    f[21] = peakiness;
    f[22] = voiced > 0 ? static_cast<double>(fricatives) / voiced : 0.0;
    f[23] = key.tonalness;
    f[24] = key.modeMargin;
    const auto [decay, gap] = decayAndGap(d, peaks);
    f[25] = decay;
    f[26] = gap;
    addSpectralGroups(d, f, 27);
    f[39] = stddev(speechDb);
    addTimbreGroups(d, f, 40);
    addSegmentFeatures(d, f, 60);
    for (size_t i = 0; i < key.modeEvidence.size(); ++i) f[77 + i] = key.modeEvidence[i];
    return f;
}

} // namespace tmk::analysis

namespace tmk {

const std::array<const char*, kAnalysisFeatureCount>& analysisFeatureNames()
{
    static const std::array<const char*, kAnalysisFeatureCount> names = { "loudness_lufs", "frame_db_mean",
        "frame_db_std", "floor_db", "centroid_khz", "centroid_khz_std", "log_flatness", "log_flatness_quiet",
        "high_share", "low_share", "speech_share", "onset_rate", "flux_mean", "flux_std", "low_flux_share",
        "pulse_clarity", "low_pulse_clarity", "phase_peakiness", "swing", "tempo_100", "mod_syllabic", "mod_peakiness",
        "fricative_share", "tonalness", "mode_margin", "decay_db_per_s", "gap_db", "mel_g0", "mel_g1", "mel_g2",
        "mel_g3", "mel_g4", "mel_g5", "mel_g6", "mel_g7", "mel_std_low", "mel_std_lowmid", "mel_std_highmid",
        "mel_std_high", "speech_db_std", "timbre_level_0", "timbre_level_1", "timbre_level_2", "timbre_level_3",
        "timbre_level_4", "timbre_level_5", "timbre_level_6", "timbre_level_7", "timbre_level_8", "timbre_level_9",
        "timbre_change_0", "timbre_change_1", "timbre_change_2", "timbre_change_3", "timbre_change_4",
        "timbre_change_5", "timbre_change_6", "timbre_change_7", "timbre_change_8", "timbre_change_9", "partial_steady",
        "partial_decay", "win_syllabic_p90", "win_syllabic_contrast", "win_fricative_p90", "win_fricative_contrast",
        "win_speech_db_std_p90", "win_speech_db_std_contrast", "win_steady_p10", "win_steady_contrast", "edge_flatness",
        "edge_level_db", "edge_clap_band_db", "fall_low_p2", "fall_mid_p2", "fall_high_p2", "fall_p10", "mode_tonic",
        "mode_fifth", "mode_bass_tonic", "mode_bass_fifth", "mode_start_bass", "mode_start_chroma", "mode_krumhansl",
        "mode_temperley" };
    return names;
}

} // namespace tmk
