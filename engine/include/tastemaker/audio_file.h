// Audio files through libsndfile (read any format it reads; write WAV/FLAC/OGG atomically) and
// resampling through libsamplerate.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "tastemaker/error.h"

namespace tmk {

enum class SampleFormat { S16, S24, F32 };
enum class AudioContainer { Wav, Flac, Ogg };

Expected<SampleFormat> parseSampleFormat(const std::string& text); // "s16", "s24", "f32"

struct AudioBuffer {
    int sampleRate = 0;
    int channels = 0;
    std::vector<float> samples; // interleaved [frames, channels]
    std::string comment; // the file's comment field, when it has one (read only; writes take AudioWriteOptions)
    int64_t frames() const { return channels > 0 ? static_cast<int64_t>(samples.size()) / channels : 0; }
};

Expected<AudioBuffer> readAudioFile(const std::filesystem::path& path);
// Averages the channels.
std::vector<float> downmixToMono(const AudioBuffer& audio);
// High-quality sinc resampling of a mono signal (libsamplerate). Returns the input when the rates agree.
Expected<std::vector<float>> resampleMono(std::span<const float> samples, int fromRate, int toRate);
// Reads, down-mixes and resamples to `sampleRate`.
Expected<std::vector<float>> readAudioMono(const std::filesystem::path& path, int sampleRate);

struct AudioWriteOptions {
    AudioContainer container = AudioContainer::Wav;
    SampleFormat format = SampleFormat::S16; // WAV only; FLAC is 16/24-bit, OGG ignores it
    std::string comment; // stored in the file's comment field
};

// Writes mono or interleaved audio atomically: the file is encoded in memory, then written to a temporary
// file in the same folder, fsynced and renamed over `path` (writeFileAtomic). A bad path or a full disk is
// a clear error naming the file, and leaves any old file at `path` intact and no temporary file behind.
Expected<void> writeAudioFile(const std::filesystem::path& path, std::span<const float> samples, int channels,
    int sampleRate, const AudioWriteOptions& options);
// The container implied by a file name's extension (.wav, .flac, .ogg), or an error naming it.
Expected<AudioContainer> containerForPath(const std::filesystem::path& path);

} // namespace tmk
