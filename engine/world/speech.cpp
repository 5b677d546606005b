// speak / lyricLine (speech.h).
#include "speech.h"

#include <cerrno>
#include <cstring>
#include <espeak-ng/speak_lib.h>
#include <mutex>
#include <samplerate.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rng.h"

namespace tmk::world {

namespace {

// One utterance to int16 samples at espeak's own rate; runs in a forked child (see speak()).
int collect(short* samples, int count, espeak_EVENT* events)
{
    if (samples && count > 0 && events) {
        auto* buffer = static_cast<std::vector<short>*>(events->user_data);
        if (buffer) buffer->insert(buffer->end(), samples, samples + count);
    }
    return 0;
}

[[noreturn]] void speakInChild(int fd, int32_t rate, const std::string& text, const SpeechVoice& voice)
{
    std::vector<short> raw;
    int status = 1;
    if (rate > 0 && espeak_SetVoiceByName(voice.voice.c_str()) == EE_OK) {
        espeak_SetSynthCallback(collect);
        espeak_SetParameter(espeakRATE, voice.wordsPerMinute, 0);
        espeak_SetParameter(espeakPITCH, voice.pitch, 0);
        if (espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, &raw) == EE_OK)
            status = 0;
    }
    const char* bytes = reinterpret_cast<const char*>(&rate);
    size_t left = sizeof(rate);
    auto writeAll = [&](const char* data, size_t size) {
        while (size > 0) {
            const ssize_t n = ::write(fd, data, size);
            if (n <= 0) _exit(2);
            data += n;
            size -= static_cast<size_t>(n);
        }
    };
    writeAll(bytes, left);
    writeAll(reinterpret_cast<const char*>(raw.data()), raw.size() * sizeof(short));
    _exit(status);
}

// espeak-ng is initialised (its data loaded) once in this process, which then never speaks: every forked child
// inherits the loaded data and a state in which nothing has been spoken yet.
int32_t espeakRate()
{
    static std::once_flag once;
    static int32_t rate = -1;
    std::call_once(
        once, [] { rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, espeakINITIALIZE_DONT_EXIT); });
    return rate;
}

// Runs espeak-ng in a forked child and returns its samples and rate (thread-safe). espeak-ng keeps state from one
// utterance to the next (e.g. the pitch-flutter phase, a static in wavegen.c), so a line spoken by a long-lived library
// would depend on the lines before it; a child that has never spoken before always starts from the same state.
Expected<std::pair<std::vector<short>, int>> speakFresh(const std::string& text, const SpeechVoice& voice)
{
    const int32_t espeakSampleRate = espeakRate();
    if (espeakSampleRate <= 0)
        return Error { ErrorCode::NotFound, "world: espeak-ng could not start (is espeak-ng-data installed?)" };
    int fds[2];
    if (::pipe(fds) != 0) return Error { ErrorCode::Io, "world: could not open a pipe for espeak-ng" };
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return Error { ErrorCode::Io, "world: could not start a process for espeak-ng" };
    }
    if (pid == 0) {
        ::close(fds[0]);
        speakInChild(fds[1], espeakSampleRate, text, voice);
    }
    ::close(fds[1]);
    std::vector<char> bytes;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fds[0], buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        bytes.insert(bytes.end(), buffer, buffer + n);
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || bytes.size() < sizeof(int32_t))
        return Error { ErrorCode::NotFound,
            "world: espeak-ng could not speak with voice '" + voice.voice + "' (is espeak-ng-data installed?)" };
    int32_t rate = 0;
    std::memcpy(&rate, bytes.data(), sizeof(rate));
    std::vector<short> samples((bytes.size() - sizeof(rate)) / sizeof(short));
    std::memcpy(samples.data(), bytes.data() + sizeof(rate), samples.size() * sizeof(short));
    return std::make_pair(std::move(samples), static_cast<int>(rate));
}

} // namespace

Expected<std::vector<float>> speak(const std::string& text, const SpeechVoice& voice, int sampleRate)
{
    Expected<std::pair<std::vector<short>, int>> spoken = speakFresh(text, voice);
    if (!spoken) return spoken.error();
    const std::vector<short>& raw = spoken->first;
    const int rate = spoken->second;
    std::vector<float> input(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) input[i] = static_cast<float>(raw[i]) / 32768.0f;
    if (rate == sampleRate || input.empty()) return input;
    const double ratio = static_cast<double>(sampleRate) / rate;
    std::vector<float> output(static_cast<size_t>(static_cast<double>(input.size()) * ratio) + 16);
    SRC_DATA data {};
    data.data_in = input.data();
    data.input_frames = static_cast<long>(input.size());
    data.data_out = output.data();
    data.output_frames = static_cast<long>(output.size());
    data.src_ratio = ratio;
    if (int error = src_simple(&data, SRC_SINC_FASTEST, 1); error != 0)
        return Error { ErrorCode::Internal, std::string("world: resampling speech failed: ") + src_strerror(error) };
    output.resize(static_cast<size_t>(data.output_frames_gen));
    return output;
}

std::string lyricLine(uint64_t seed, int words)
{
    static const char* const kWords[] = { "we", "keep", "it", "moving", "every", "night", "the", "city", "lights",
        "calling", "my", "name", "rhythm", "in", "heart", "never", "stop", "feel", "beat", "take", "you", "higher",
        "down", "to", "river", "running", "fast", "golden", "morning", "sun", "rising", "over", "hills", "dreams",
        "are", "made", "of", "this", "sound", "hear", "crowd", "say", "yeah", "one", "more", "time", "listen", "what",
        "I", "got", "for", "tonight", "hands", "up", "high", "and", "low", "stay", "with", "me" };
    constexpr size_t kCount = sizeof(kWords) / sizeof(kWords[0]);
    Rng rng(seed);
    std::string line;
    for (int i = 0; i < words; ++i) {
        if (i > 0) line += (i % 7 == 0) ? ", " : " ";
        line += kWords[rng.index(kCount)];
    }
    return line + ".";
}

} // namespace tmk::world
