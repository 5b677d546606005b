// Export through libsndfile: every format round trips within its precision, the comment field holds
// the prompt, sliders and seed, and a failed write (simulated full disk, bad path) is a clear error that
// leaves the old file intact and no temporary file behind.
#include <cmath>
#include <gtest/gtest.h>
#include <numbers>
#include <sndfile.h>

#include "core/test_hooks.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/fileio.h"
#include "testsupport.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

constexpr int kRate = 32000;
const std::string kComment
    = "Tastemaker; prompt: lofi hip hop with soft piano; seed: 42; sliders: energy=+0.70, tempo=-1.00";

// A 0.5 s test signal, interleaved [frames, channels]: a chord plus a little deterministic noise, peak < 0.9.
std::vector<float> testSignal(int channels)
{
    const int frames = kRate / 2;
    std::vector<float> samples(static_cast<size_t>(frames * channels));
    uint32_t state = 12345;
    for (int i = 0; i < frames; ++i) {
        for (int c = 0; c < channels; ++c) {
            state = state * 1664525u + 1013904223u;
            const double noise = (static_cast<double>(state >> 8) / 16777216.0 - 0.5) * 0.02;
            const double t = static_cast<double>(i) / kRate;
            const double tone = 0.4 * std::sin(2 * std::numbers::pi * (220.0 + 110.0 * c) * t)
                + 0.3 * std::sin(2 * std::numbers::pi * 554.4 * t);
            samples[static_cast<size_t>(i * channels + c)] = static_cast<float>(tone + noise);
        }
    }
    return samples;
}

double maxAbsDifference(const std::vector<float>& a, const std::vector<float>& b)
{
    double worst = 0.0;
    for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
        worst = std::max(worst, std::fabs(double(a[i]) - double(b[i])));
    return worst;
}

double snrDb(const std::vector<float>& reference, const std::vector<float>& test)
{
    double signal = 0.0, noise = 0.0;
    for (size_t i = 0; i < std::min(reference.size(), test.size()); ++i) {
        signal += double(reference[i]) * reference[i];
        noise += (double(reference[i]) - test[i]) * (double(reference[i]) - test[i]);
    }
    return 10.0 * std::log10(signal / std::max(noise, 1e-30));
}

std::string commentViaSndfile(const fs::path& path)
{
    SF_INFO info {};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    if (!file) return "<unreadable>";
    const char* comment = sf_get_string(file, SF_STR_COMMENT);
    std::string text = comment ? comment : "<none>";
    sf_close(file);
    return text;
}

std::vector<fs::path> filesIn(const fs::path& dir)
{
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir)) files.push_back(entry.path().filename());
    return files;
}

struct FormatCase {
    std::string file;
    AudioContainer container;
    SampleFormat format;
    int sndfileMajor;
    double tolerance; // max |difference|; < 0: lossy, judged by SNR
};

class ExportRoundTrip : public ::testing::TestWithParam<FormatCase> { };

TEST_P(ExportRoundTrip, ReadsBackWithinTheFormatsPrecisionWithTheComment)
{
    const FormatCase& c = GetParam();
    const fs::path dir = test::freshOutDir("export_" + fs::path(c.file).stem().string());
    for (int channels : { 1, 2 }) {
        SCOPED_TRACE(c.file + " channels " + std::to_string(channels));
        const std::vector<float> signal = testSignal(channels);
        const fs::path path = dir / (std::to_string(channels) + "-" + c.file);
        ASSERT_EQ(containerForPath(path).value(), c.container);
        Expected<void> written
            = writeAudioFile(path, signal, channels, kRate, AudioWriteOptions { c.container, c.format, kComment });
        ASSERT_TRUE(written.ok()) << written.error().message;

        Expected<AudioBuffer> back = readAudioFile(path);
        ASSERT_TRUE(back.ok()) << back.error().message;
        EXPECT_EQ(back->sampleRate, kRate);
        EXPECT_EQ(back->channels, channels);
        ASSERT_EQ(back->samples.size(), signal.size());
        if (c.tolerance >= 0)
            EXPECT_LE(maxAbsDifference(signal, back->samples), c.tolerance);
        else
            EXPECT_GT(snrDb(signal, back->samples), 25.0) << "Vorbis at its default quality measured ~36 dB here";
        EXPECT_EQ(back->comment, kComment);
        EXPECT_EQ(commentViaSndfile(path), kComment);

        SF_INFO info {};
        SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
        ASSERT_NE(file, nullptr);
        sf_close(file);
        EXPECT_EQ(info.format & SF_FORMAT_TYPEMASK, c.sndfileMajor);
        EXPECT_EQ(filesIn(dir).size(), static_cast<size_t>(channels)) << "no temporary file is left";
    }
}

// Quantisation: libsndfile writes x * (2^(n-1) - 1) rounded and reads back / 2^(n-1): at most ~1 step
// (measured: 1 step for WAV, half a step for FLAC).
INSTANTIATE_TEST_SUITE_P(AllFormats, ExportRoundTrip,
    ::testing::Values(FormatCase { "x.wav", AudioContainer::Wav, SampleFormat::S16, SF_FORMAT_WAV, 1.5 / 32768 },
        FormatCase { "x24.wav", AudioContainer::Wav, SampleFormat::S24, SF_FORMAT_WAV, 1.5 / 8388608 },
        FormatCase { "xf.wav", AudioContainer::Wav, SampleFormat::F32, SF_FORMAT_WAV, 0.0 },
        FormatCase { "x.flac", AudioContainer::Flac, SampleFormat::S16, SF_FORMAT_FLAC, 1.5 / 32768 },
        FormatCase { "x24.flac", AudioContainer::Flac, SampleFormat::S24, SF_FORMAT_FLAC, 1.5 / 8388608 },
        FormatCase { "x.ogg", AudioContainer::Ogg, SampleFormat::S16, SF_FORMAT_OGG, -1.0 }),
    [](const auto& info) {
        std::string name = info.param.file;
        for (char& ch : name)
            if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
        return name;
    });

TEST(Export, FloatWavIsExactAndIntegerFormatsClipInsteadOfWrapping)
{
    const fs::path dir = test::freshOutDir("export_clip");
    const std::vector<float> loud = { 0.0f, 1.5f, -1.5f, 0.25f, -0.999f };
    ASSERT_TRUE(writeAudioFile(dir / "f.wav", loud, 1, kRate, { AudioContainer::Wav, SampleFormat::F32, "" }).ok());
    EXPECT_EQ(readAudioFile(dir / "f.wav")->samples, loud);
    ASSERT_TRUE(writeAudioFile(dir / "s.wav", loud, 1, kRate, { AudioContainer::Wav, SampleFormat::S16, "" }).ok());
    Expected<AudioBuffer> s16 = readAudioFile(dir / "s.wav");
    ASSERT_TRUE(s16.ok());
    EXPECT_GT(s16->samples[1], 0.99f);
    EXPECT_LT(s16->samples[2], -0.99f);
    EXPECT_EQ(s16->comment, "") << "no comment was given";
}

TEST(Export, SimulatedFullDiskKeepsTheOldFileAndLeavesNoTemporaryFile)
{
    const fs::path dir = test::freshOutDir("export_full_disk");
    const std::vector<float> old = testSignal(1), replacement(16000, 0.5f);
    for (const char* name : { "clip.wav", "clip.flac", "clip.ogg" }) {
        SCOPED_TRACE(name);
        const fs::path path = dir / name;
        const AudioContainer container = containerForPath(path).value();
        ASSERT_TRUE(writeAudioFile(path, old, 1, kRate, { container, SampleFormat::S16, "old" }).ok());
        const std::string before = readFileText(path).value();

        setSimulatedWriteFailureAfterBytes(100);
        Expected<void> failed = writeAudioFile(path, replacement, 1, kRate, { container, SampleFormat::S16, "new" });
        setSimulatedWriteFailureAfterBytes(-1);
        ASSERT_FALSE(failed.ok());
        EXPECT_EQ(failed.error().code, ErrorCode::Io);
        EXPECT_NE(failed.error().message.find(path.string()), std::string::npos) << failed.error().message;
        EXPECT_NE(failed.error().message.find("No space left on device"), std::string::npos) << failed.error().message;
        EXPECT_EQ(readFileText(path).value(), before) << "the old file is untouched";
        EXPECT_EQ(readAudioFile(path)->comment, "old");
    }
    EXPECT_EQ(filesIn(dir).size(), 3u) << "no temporary file is left";
}

TEST(Export, BadPathsAreClearErrorsNamingTheFile)
{
    const fs::path dir = test::freshOutDir("export_bad_path");
    const std::vector<float> signal = testSignal(1);
    const fs::path missingFolder = dir / "no-such-folder" / "x.wav";
    Expected<void> missing = writeAudioFile(missingFolder, signal, 1, kRate, {});
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, ErrorCode::Io);
    EXPECT_NE(missing.error().message.find(missingFolder.string()), std::string::npos) << missing.error().message;
    EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos) << missing.error().message;

    fs::create_directories(dir / "taken.wav"); // a folder where the file should go
    Expected<void> folder = writeAudioFile(dir / "taken.wav", signal, 1, kRate, {});
    ASSERT_FALSE(folder.ok());
    EXPECT_NE(folder.error().message.find((dir / "taken.wav").string()), std::string::npos) << folder.error().message;
    EXPECT_EQ(filesIn(dir).size(), 1u) << "no temporary file is left";

    Expected<AudioContainer> unknown = containerForPath(dir / "x.mp3");
    ASSERT_FALSE(unknown.ok());
    EXPECT_NE(unknown.error().message.find("x.mp3"), std::string::npos);
    Expected<void> badRate = writeAudioFile(dir / "x.wav", signal, 1, 0, {});
    ASSERT_FALSE(badRate.ok());
    EXPECT_NE(badRate.error().message.find("x.wav"), std::string::npos);
}

} // namespace
} // namespace tmk
