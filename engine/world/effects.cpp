// Crowd, room reverb, loudness and limiter (effects.h).
#include "effects.h"

#include <algorithm>
#include <cmath>
#include <ebur128.h>

#include "rng.h"

namespace tmk::world {

namespace {

constexpr double kTwoPi = 6.283185307179586;

// A one-pole low-pass: y += a (x - y).
struct OnePole {
    double a = 0.0, y = 0.0;
    OnePole(double cutoffHz, int sampleRate)
        : a(1.0 - std::exp(-kTwoPi * cutoffHz / sampleRate))
    {
    }
    double operator()(double x) { return y += a * (x - y); }
};

// A two-pole resonant band-pass (RBJ biquad, constant peak gain).
struct BandPass {
    double b0, b2, a1, a2, x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    BandPass(double centreHz, double q, int sampleRate)
    {
        const double w = kTwoPi * centreHz / sampleRate, alpha = std::sin(w) / (2.0 * q), a0 = 1.0 + alpha;
        b0 = alpha / a0;
        b2 = -alpha / a0;
        a1 = -2.0 * std::cos(w) / a0;
        a2 = (1.0 - alpha) / a0;
    }
    double operator()(double x)
    {
        const double y = b0 * x + b2 * x2 - a1 * y1 - a2 * y2;
        x2 = x1;
        x1 = x;
        y2 = y1;
        y1 = y;
        return y;
    }
};

// Many hand claps between `from` and `to` at `perSecond`, each a short decaying noise burst.
void addApplause(std::vector<float>& out, Rng& rng, int64_t from, int64_t to, double perSecond, double gain, int sr)
{
    from = std::max<int64_t>(0, from);
    to = std::min<int64_t>(static_cast<int64_t>(out.size()), to);
    if (to <= from) return;
    const int claps = static_cast<int>(perSecond * static_cast<double>(to - from) / sr);
    const int length = sr / 40; // 25 ms
    for (int c = 0; c < claps; ++c) {
        const int64_t at = from + static_cast<int64_t>(rng.index(static_cast<size_t>(to - from)));
        const double amplitude = gain * rng.range(0.4, 1.0), decay = std::exp(-1.0 / (0.004 * sr));
        BandPass tone(rng.range(900.0, 2500.0), 1.2, sr);
        double envelope = amplitude;
        for (int i = 0; i < length && at + i < static_cast<int64_t>(out.size()); ++i, envelope *= decay)
            out[static_cast<size_t>(at + i)] += static_cast<float>(tone(envelope * (rng.uniform() * 2.0 - 1.0)) * 3.0);
    }
}

// A "woo": a gliding sawtooth through a vowel-like band-pass.
void addCheer(std::vector<float>& out, Rng& rng, int64_t at, double gain, int sr)
{
    const int length = static_cast<int>(rng.range(0.5, 1.1) * sr);
    const double f0 = rng.range(280.0, 420.0), glide = rng.range(1.2, 1.6);
    BandPass formant(rng.range(700.0, 1100.0), 2.0, sr);
    double phase = 0.0;
    for (int i = 0; i < length && at + i < static_cast<int64_t>(out.size()); ++i) {
        const double t = static_cast<double>(i) / length;
        phase += f0 * (1.0 + (glide - 1.0) * std::sin(0.5 * kTwoPi * 0.5 * t)) / sr;
        phase -= std::floor(phase);
        const double envelope = std::min(1.0, t * 10.0) * (1.0 - t);
        out[static_cast<size_t>(at + i)] += static_cast<float>(gain * envelope * formant(2.0 * phase - 1.0));
    }
}

} // namespace

std::vector<float> synthesiseCrowd(int64_t lengthSamples, double level, double bpm, uint64_t seed, int sr)
{
    std::vector<float> out(static_cast<size_t>(lengthSamples), 0.0f);
    if (level <= 0.0 || lengthSamples <= 0) return out;
    Rng rng(seed);
    // Murmur: band-limited noise (250-1800 Hz) with a slow swell and a syllable-rate flutter.
    OnePole high(1800.0, sr), low(250.0, sr);
    const double swellHz = rng.range(0.1, 0.3), flutterHz = rng.range(3.0, 5.0);
    const double p1 = rng.range(0.0, kTwoPi), p2 = rng.range(0.0, kTwoPi);
    for (int64_t i = 0; i < lengthSamples; ++i) {
        const double t = static_cast<double>(i) / sr, noise = rng.uniform() * 2.0 - 1.0;
        const double band = high(noise) - low(noise);
        const double swell = 0.75 + 0.25 * std::sin(kTwoPi * swellHz * t + p1);
        const double flutter = 0.8 + 0.2 * std::sin(kTwoPi * flutterHz * t + p2);
        out[static_cast<size_t>(i)] = static_cast<float>(1.5 * band * swell * flutter);
    }
    // Applause at the start and the end, clapping along on 2 and 4 when the crowd is loud, and a few cheers.
    addApplause(out, rng, 0, sr * 3 / 2, 60.0 * level, 1.0, sr);
    addApplause(out, rng, lengthSamples - sr * 2, lengthSamples, 80.0 * level, 1.0, sr);
    if (level > 0.5) {
        const double beatSamples = 60.0 / bpm * sr;
        for (int beat = 1; beat * beatSamples < static_cast<double>(lengthSamples); beat += 2) {
            const auto at = static_cast<int64_t>(beat * beatSamples);
            addApplause(out, rng, at - sr / 100, at + sr / 50, 500.0 * level, 0.6, sr);
        }
    }
    const int cheers = 1 + static_cast<int>(level * 4.0);
    for (int c = 0; c < cheers; ++c)
        addCheer(out, rng, static_cast<int64_t>(rng.index(static_cast<size_t>(lengthSamples))), 0.8, sr);
    return out;
}

void applyRoomReverb(std::vector<float>& audio, double amount, int sampleRate)
{
    if (amount <= 0.0 || audio.empty()) return;
    const double scale = sampleRate / 44100.0;
    static const int kCombs[8] = { 1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617 };
    static const int kAllPasses[4] = { 556, 441, 341, 225 };
    const double feedback = 0.72 + 0.24 * amount, damp = 0.3;
    std::vector<std::vector<float>> combs, allPasses;
    for (int d : kCombs) combs.emplace_back(static_cast<size_t>(std::max(1, static_cast<int>(d * scale))), 0.0f);
    for (int d : kAllPasses)
        allPasses.emplace_back(static_cast<size_t>(std::max(1, static_cast<int>(d * scale))), 0.0f);
    std::vector<size_t> combPos(8, 0), allPassPos(4, 0);
    std::vector<double> combLow(8, 0.0);
    const double wet = 0.6 * amount, dry = 1.0 - 0.35 * amount;
    for (float& sample : audio) {
        const double input = 0.015 * sample;
        double out = 0.0;
        for (size_t c = 0; c < combs.size(); ++c) {
            float& cell = combs[c][combPos[c]];
            combLow[c] = cell * (1.0 - damp) + combLow[c] * damp;
            out += cell;
            cell = static_cast<float>(input + combLow[c] * feedback);
            combPos[c] = (combPos[c] + 1) % combs[c].size();
        }
        for (size_t a = 0; a < allPasses.size(); ++a) {
            float& cell = allPasses[a][allPassPos[a]];
            const double buffered = cell;
            cell = static_cast<float>(out + buffered * 0.5);
            out = buffered - out;
            allPassPos[a] = (allPassPos[a] + 1) % allPasses[a].size();
        }
        sample = static_cast<float>(dry * sample + wet * out * 3.0);
    }
}

double integratedLoudness(const std::vector<float>& audio, int sampleRate)
{
    ebur128_state* state = ebur128_init(1, static_cast<unsigned long>(sampleRate), EBUR128_MODE_I);
    if (!state) return -70.0;
    ebur128_add_frames_float(state, audio.data(), audio.size());
    double lufs = -HUGE_VAL;
    ebur128_loudness_global(state, &lufs);
    ebur128_destroy(&state);
    return std::isfinite(lufs) ? std::max(lufs, -70.0) : -70.0;
}

double rms(const std::vector<float>& audio)
{
    double sum = 0.0;
    for (float x : audio) sum += static_cast<double>(x) * x;
    return audio.empty() ? 0.0 : std::sqrt(sum / static_cast<double>(audio.size()));
}

void normaliseAndLimit(std::vector<float>& audio, double targetLufs, int sampleRate)
{
    if (audio.empty()) return;
    const double measured = integratedLoudness(audio, sampleRate);
    const double gain = measured > -69.0 ? std::pow(10.0, (targetLufs - measured) / 20.0) : 1.0;
    const double ceiling = std::pow(10.0, -1.0 / 20.0), release = 1.0 - std::exp(-1.0 / (0.08 * sampleRate));
    double current = 1.0;
    for (float& sample : audio) {
        const double x = sample * gain, magnitude = std::fabs(x);
        const double wanted = magnitude > ceiling ? ceiling / magnitude : 1.0;
        current = wanted < current ? wanted : current + (wanted - current) * release;
        sample = static_cast<float>(std::clamp(x * current, -ceiling, ceiling));
    }
    const size_t fadeIn = std::min(audio.size(), static_cast<size_t>(sampleRate / 100));
    const size_t fadeOut = std::min(audio.size(), static_cast<size_t>(sampleRate * 3 / 100));
    for (size_t i = 0; i < fadeIn; ++i) audio[i] *= static_cast<float>(i) / fadeIn;
    for (size_t i = 0; i < fadeOut; ++i) audio[audio.size() - 1 - i] *= static_cast<float>(i) / fadeOut;
}

} // namespace tmk::world
