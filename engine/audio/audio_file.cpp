#include "tastemaker/audio_file.h"

#include <algorithm>
#include <cstring>
#include <sndfile.h>

#include "audio/resampler.h"
#include "tastemaker/fileio.h"

namespace tmk {

namespace fs = std::filesystem;

Expected<SampleFormat> parseSampleFormat(const std::string& text)
{
    if (text == "s16") return SampleFormat::S16;
    if (text == "s24") return SampleFormat::S24;
    if (text == "f32") return SampleFormat::F32;
    return Error { ErrorCode::InvalidArgument, "unknown sample format '" + text + "' (valid: s16, s24, f32)" };
}

Expected<AudioBuffer> readAudioFile(const fs::path& path)
{
    std::error_code ec;
    if (!fs::exists(path, ec)) return Error::inFile(ErrorCode::NotFound, path.string(), "does not exist");
    SF_INFO info {};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    if (!file)
        return Error::inFile(ErrorCode::Format, path.string(),
            std::string("is not a readable audio file (") + sf_strerror(nullptr) + ")");
    AudioBuffer audio;
    audio.sampleRate = info.samplerate;
    audio.channels = info.channels;
    if (const char* comment = sf_get_string(file, SF_STR_COMMENT)) audio.comment = comment;
    if (info.channels <= 0 || info.samplerate <= 0 || info.frames < 0) {
        sf_close(file);
        return Error::inFile(ErrorCode::Format, path.string(), "reports an invalid channel count or sample rate");
    }
    audio.samples.resize(static_cast<size_t>(info.frames) * static_cast<size_t>(info.channels));
    const sf_count_t read = sf_readf_float(file, audio.samples.data(), info.frames);
    sf_close(file);
    audio.samples.resize(static_cast<size_t>(read) * static_cast<size_t>(info.channels));
    return audio;
}

std::vector<float> downmixToMono(const AudioBuffer& audio)
{
    if (audio.channels == 1) return audio.samples;
    std::vector<float> mono(static_cast<size_t>(audio.frames()));
    for (size_t i = 0; i < mono.size(); ++i) {
        float sum = 0.0f;
        for (int c = 0; c < audio.channels; ++c) sum += audio.samples[i * audio.channels + c];
        mono[i] = sum / static_cast<float>(audio.channels);
    }
    return mono;
}

Expected<std::vector<float>> resampleMono(std::span<const float> samples, int fromRate, int toRate)
{
    if (fromRate <= 0 || toRate <= 0) return Error { ErrorCode::InvalidArgument, "sample rates must be positive" };
    if (fromRate == toRate || samples.empty()) return std::vector<float>(samples.begin(), samples.end());
    Expected<std::unique_ptr<Resampler>> resampler = Resampler::create(fromRate, toRate, ResamplerQuality::Best);
    if (!resampler) return resampler.error();
    std::vector<float> out;
    out.reserve(static_cast<size_t>(static_cast<double>(samples.size()) * (*resampler)->ratio()) + 256);
    TMK_TRY((*resampler)->process(samples, EndOfInput::Yes, out));
    return out;
}

Expected<std::vector<float>> readAudioMono(const fs::path& path, int sampleRate)
{
    Expected<AudioBuffer> audio = readAudioFile(path);
    if (!audio) return audio.error();
    std::vector<float> mono = downmixToMono(*audio);
    return resampleMono(mono, audio->sampleRate, sampleRate);
}

Expected<AudioContainer> containerForPath(const fs::path& path)
{
    std::string ext = path.extension().string();
    for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".wav") return AudioContainer::Wav;
    if (ext == ".flac") return AudioContainer::Flac;
    if (ext == ".ogg") return AudioContainer::Ogg;
    return Error::inFile(
        ErrorCode::InvalidArgument, path.string(), "has an unknown audio extension (use .wav, .flac or .ogg)");
}

namespace {

int sndfileFormat(const AudioWriteOptions& options)
{
    switch (options.container) {
    case AudioContainer::Flac:
        return SF_FORMAT_FLAC | (options.format == SampleFormat::S16 ? SF_FORMAT_PCM_16 : SF_FORMAT_PCM_24);
    case AudioContainer::Ogg:
        return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    case AudioContainer::Wav:
        break;
    }
    switch (options.format) {
    case SampleFormat::S16:
        return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    case SampleFormat::S24:
        return SF_FORMAT_WAV | SF_FORMAT_PCM_24;
    case SampleFormat::F32:
        return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
    }
    return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
}

// libsndfile virtual I/O over a growable byte buffer: the file is encoded in memory, then written with
// writeFileAtomic (temporary file, fsync, rename), so every audio write shares one tested path for
// atomicity and disk errors (and its simulated-failure test hook).
struct MemoryFile {
    std::vector<std::byte> bytes;
    sf_count_t position = 0;
};

SF_VIRTUAL_IO memoryIo()
{
    SF_VIRTUAL_IO io {};
    io.get_filelen = [](void* user) -> sf_count_t {
        return static_cast<sf_count_t>(static_cast<MemoryFile*>(user)->bytes.size());
    };
    io.seek = [](sf_count_t offset, int whence, void* user) -> sf_count_t {
        auto* file = static_cast<MemoryFile*>(user);
        const sf_count_t base = whence == SEEK_CUR ? file->position
            : whence == SEEK_END                   ? static_cast<sf_count_t>(file->bytes.size())
                                                   : 0;
        if (base + offset < 0) return -1;
        file->position = base + offset;
        return file->position;
    };
    io.read = [](void* ptr, sf_count_t count, void* user) -> sf_count_t {
        auto* file = static_cast<MemoryFile*>(user);
        const sf_count_t size = static_cast<sf_count_t>(file->bytes.size());
        const sf_count_t n = std::max<sf_count_t>(0, std::min(count, size - file->position));
        if (n > 0) std::memcpy(ptr, file->bytes.data() + file->position, static_cast<size_t>(n));
        file->position += n;
        return n;
    };
    io.write = [](const void* ptr, sf_count_t count, void* user) -> sf_count_t {
        auto* file = static_cast<MemoryFile*>(user);
        const size_t end = static_cast<size_t>(file->position + count);
        if (end > file->bytes.size()) file->bytes.resize(end);
        std::memcpy(file->bytes.data() + file->position, ptr, static_cast<size_t>(count));
        file->position += count;
        return count;
    };
    io.tell = [](void* user) -> sf_count_t { return static_cast<MemoryFile*>(user)->position; };
    return io;
}

// Encodes the whole file into memory; the error names `path`.
Expected<std::vector<std::byte>> encodeWithSndfile(const fs::path& path, std::span<const float> samples, int channels,
    int sampleRate, const AudioWriteOptions& options)
{
    SF_INFO info {};
    info.samplerate = sampleRate;
    info.channels = channels;
    info.format = sndfileFormat(options);
    MemoryFile memory;
    SF_VIRTUAL_IO io = memoryIo();
    SNDFILE* file = sf_open_virtual(&io, SFM_WRITE, &info, &memory);
    if (!file)
        return Error::inFile(
            ErrorCode::Io, path.string(), std::string("could not be encoded (") + sf_strerror(nullptr) + ")");
    // Clip instead of wrapping when converting to integer samples.
    sf_command(file, SFC_SET_CLIPPING, nullptr, SF_TRUE);
    std::string problem;
    if (!options.comment.empty() && sf_set_string(file, SF_STR_COMMENT, options.comment.c_str()) != 0)
        problem = std::string("the comment could not be stored: ") + sf_strerror(file);
    const sf_count_t frames = static_cast<sf_count_t>(samples.size() / static_cast<size_t>(channels));
    if (problem.empty() && sf_writef_float(file, samples.data(), frames) != frames) problem = sf_strerror(file);
    if (sf_close(file) != 0 && problem.empty()) problem = "closing failed";
    if (!problem.empty()) return Error::inFile(ErrorCode::Io, path.string(), "could not be encoded (" + problem + ")");
    return std::move(memory.bytes);
}

} // namespace

Expected<void> writeAudioFile(const fs::path& path, std::span<const float> samples, int channels, int sampleRate,
    const AudioWriteOptions& options)
{
    if (channels <= 0 || sampleRate <= 0 || samples.size() % static_cast<size_t>(channels) != 0)
        return Error::inFile(
            ErrorCode::InvalidArgument, path.string(), "cannot be written: invalid channel count or sample rate");
    Expected<std::vector<std::byte>> bytes = encodeWithSndfile(path, samples, channels, sampleRate, options);
    if (!bytes) return bytes.error();
    return writeFileAtomic(path, *bytes);
}

} // namespace tmk
