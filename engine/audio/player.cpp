// Player: a PortAudio output stream fed from an SPSC ring buffer (see tastemaker/player.h).
//
// Threads and who owns what:
//   - the audio callback (PortAudio's thread) is the ring's consumer. It reads only atomics and the
//     ring, and writes only atomics and its own two fields (callbackEpoch, callbackPrimed);
//   - the feeder thread is the ring's only producer. It copies from `source` (mono, already at the
//     device's rate) under `mutex`, and watches the device;
//   - control calls (play, seek, load, ...) and the streaming producer (appendStream) take `mutex`
//     (appendStream first takes `appendMutex`, which guards the resampler: lock order appendMutex, mutex).
//
// Seeking cannot empty the ring from the producer's side, so it starts a new epoch: the control word
// gets a new epoch number, the callback sees it, drops what the ring holds, moves the playhead to the
// target and acknowledges; the feeder pushes nothing until the acknowledgement, then feeds from the
// target. Transport state, the producer's "done" flag and the epoch live in one atomic word so that
// the callback can change Playing to Finished only if nothing else changed meanwhile.
#include "tastemaker/player.h"

#include <dlfcn.h>
#include <portaudio.h>
#include <samplerate.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <thread>

#include "tastemaker/log.h"
#include "tastemaker/ring_buffer.h"

namespace tmk {

namespace {

constexpr int kPreferredSampleRate = 32000;  // MusicGen's rate: no resampling when the device takes it
constexpr auto kFeedPeriod = std::chrono::milliseconds(5);
constexpr auto kStallTimeout = std::chrono::seconds(3);

// The control word: [epoch : 56][unused : 3][wrapped : 1][done : 1][transport : 3].
constexpr uint64_t kTransportMask = 7;
constexpr uint64_t kDoneBit = 8;      // the feeder has pushed the last sample of a complete source
constexpr uint64_t kWrappedBit = 16;  // the feeder looped back to the start since the last seek
constexpr int kEpochShift = 8;

PlaybackState transportOf(uint64_t word) { return static_cast<PlaybackState>(word & kTransportMask); }
uint64_t epochOf(uint64_t word) { return word >> kEpochShift; }
uint64_t withTransport(uint64_t word, PlaybackState state) { return (word & ~kTransportMask) | static_cast<uint64_t>(state); }
uint64_t stateBit(PlaybackState state) { return uint64_t{1} << static_cast<int>(state); }

// ---- PortAudio lifetime and messages ----

std::mutex& portAudioMutex()
{
    static std::mutex mutex;
    return mutex;
}

void alsaMessageToLog(const char*, int, const char*, int, const char* format, ...)
{
    char text[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(text, sizeof text, format, args);
    va_end(args);
    logMessage(LogLevel::Debug, std::string("ALSA: ") + text);
}

void jackMessageToLog(const char* text) { logMessage(LogLevel::Debug, std::string("JACK: ") + text); }

// ALSA and JACK print every failed probe (each card and plugin PortAudio tries) on stderr. They come
// with PortAudio, so their message hooks are looked up at run time and sent to the log instead.
void routeBackendMessagesToLog()
{
    using AlsaHandler = void (*)(const char*, int, const char*, int, const char*, ...);
    using SetAlsaHandler = int (*)(AlsaHandler);
    using SetJackHandler = void (*)(void (*)(const char*));
    if (auto set = reinterpret_cast<SetAlsaHandler>(dlsym(RTLD_DEFAULT, "snd_lib_error_set_handler"))) set(&alsaMessageToLog);
    for (const char* name : {"jack_set_error_function", "jack_set_info_function"})
        if (auto set = reinterpret_cast<SetJackHandler>(dlsym(RTLD_DEFAULT, name))) set(&jackMessageToLog);
}

std::string paErrorText(PaError rc)
{
    std::string text = Pa_GetErrorText(rc);
    if (rc == paUnanticipatedHostError) {
        const PaHostErrorInfo* info = Pa_GetLastHostErrorInfo();
        if (info && info->errorText && *info->errorText) text += std::string(" (") + info->errorText + ")";
    }
    return text;
}

// Pa_Initialize and Pa_Terminate are reference counted by PortAudio but not thread-safe.
Expected<void> acquirePortAudio()
{
    std::lock_guard lock(portAudioMutex());
    routeBackendMessagesToLog();
    if (PaError rc = Pa_Initialize(); rc != paNoError)
        return Error{ErrorCode::Device, "could not start PortAudio: " + paErrorText(rc)};
    return {};
}

void releasePortAudio()
{
    std::lock_guard lock(portAudioMutex());
    Pa_Terminate();
}

std::string deviceLabel(PaDeviceIndex index)
{
    const PaDeviceInfo* info = Pa_GetDeviceInfo(index);
    return info && info->name ? info->name : "device " + std::to_string(index);
}

Expected<PaDeviceIndex> findOutputDevice(const std::string& name)
{
    if (name.empty()) {
        const PaDeviceIndex index = Pa_GetDefaultOutputDevice();
        if (index == paNoDevice)
            return Error{ErrorCode::Device, "no audio output device is available (PortAudio found " + std::to_string(Pa_GetDeviceCount()) +
                                                " devices, none for output; is a sound server running?)"};
        return index;
    }
    std::string available;
    for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); ++i) {
        const PaDeviceInfo* info = Pa_GetDeviceInfo(i);
        if (!info || info->maxOutputChannels <= 0) continue;
        if (std::string(info->name).find(name) != std::string::npos) return i;
        available += (available.empty() ? "" : ", ") + std::string("'") + info->name + "'";
    }
    return Error{ErrorCode::NotFound, "no audio output device named like '" + name + "' (available: " +
                                          (available.empty() ? "none" : available) + ")"};
}

struct OutputFormat {
    PaStreamParameters parameters{};
    int sampleRate = 0;
};

// 32 kHz mono if the device takes it, else its default rate (then 48 and 44.1 kHz), mono or stereo.
Expected<OutputFormat> chooseOutputFormat(PaDeviceIndex device, const PlayerOptions& options)
{
    const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
    std::vector<int> rates = {options.deviceSampleRate};
    if (options.deviceSampleRate <= 0) rates = {kPreferredSampleRate, static_cast<int>(info->defaultSampleRate), 48000, 44100};
    OutputFormat format;
    format.parameters.device = device;
    format.parameters.sampleFormat = paFloat32;
    format.parameters.suggestedLatency = options.latencySeconds > 0 ? options.latencySeconds : info->defaultHighOutputLatency;
    PaError last = paInvalidSampleRate;
    for (int rate : rates) {
        for (int channels = 1; channels <= std::min(2, info->maxOutputChannels); ++channels) {
            format.parameters.channelCount = channels;
            last = Pa_IsFormatSupported(nullptr, &format.parameters, rate);
            if (last == paFormatIsSupported) {
                format.sampleRate = rate;
                return format;
            }
        }
    }
    std::string tried;
    for (int rate : rates) tried += (tried.empty() ? "" : ", ") + std::to_string(rate);
    return Error{ErrorCode::Device, "audio output '" + deviceLabel(device) + "' takes none of " + tried +
                                        " Hz in mono or stereo float: " + paErrorText(last)};
}

// ---- Producer-side resampling (libsamplerate, kept across calls for streams) ----

class Resampler {
public:
    static Expected<std::unique_ptr<Resampler>> create(int fromRate, int toRate)
    {
        int rc = 0;
        SRC_STATE* state = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &rc);
        if (!state) return Error{ErrorCode::Internal, std::string("could not create a resampler: ") + src_strerror(rc)};
        return std::unique_ptr<Resampler>(new Resampler(state, static_cast<double>(toRate) / fromRate));
    }
    ~Resampler() { src_delete(m_state); }

    // Appends the resampled `input` to `out`; with EndOfInput::Yes, also what the filter still holds.
    Expected<void> process(std::span<const float> input, bool endOfInput, std::vector<float>& out)
    {
        static const float kNothing = 0.0f;
        size_t consumed = 0;
        for (;;) {
            const size_t start = out.size();
            const size_t room = static_cast<size_t>(std::ceil(static_cast<double>(input.size() - consumed) * m_ratio)) + 256;
            out.resize(start + room);
            SRC_DATA data{};
            data.data_in = consumed < input.size() ? input.data() + consumed : &kNothing;
            data.input_frames = static_cast<long>(input.size() - consumed);
            data.data_out = out.data() + start;
            data.output_frames = static_cast<long>(room);
            data.src_ratio = m_ratio;
            data.end_of_input = endOfInput ? 1 : 0;
            const int rc = src_process(m_state, &data);
            out.resize(start + static_cast<size_t>(rc == 0 ? data.output_frames_gen : 0));
            if (rc != 0) return Error{ErrorCode::Internal, std::string("resampling failed: ") + src_strerror(rc)};
            consumed += static_cast<size_t>(data.input_frames_used);
            if (consumed >= input.size() && (!endOfInput || data.output_frames_gen == 0)) return {};
        }
    }

private:
    Resampler(SRC_STATE* state, double ratio) : m_state(state), m_ratio(ratio) {}
    SRC_STATE* m_state;
    double m_ratio;
};

}  // namespace

// ---- Impl ----

struct Player::Impl {
    Impl(const PlayerOptions& opts, int rate, int channels)
        : options(opts),
          deviceRate(rate),
          outputChannels(channels),
          ring(static_cast<size_t>(std::max(0.05, opts.bufferSeconds) * rate)),
          prerollFrames(std::min(static_cast<size_t>(std::max(0.0, opts.prerollSeconds) * rate), ring.capacity() / 2))
    {
    }
    ~Impl();

    void render(float* out, size_t frames);  // the audio callback's work
    bool primed(uint64_t word);
    void handleShortfall(uint64_t word);

    void feedLoop();
    void feed();
    void checkDevice();

    void restartAt(int64_t frame, PlaybackState transport);
    void setTransportIf(PlaybackState to, uint64_t fromStates);
    void appendSource(std::span<const float> samples, bool complete);

    // Fixed once open.
    PlayerOptions options;
    int deviceRate;
    int outputChannels;
    SpscRingBuffer ring;
    size_t prerollFrames;
    bool portAudioHeld = false;
    PaStream* stream = nullptr;
    std::string deviceName;
    double outputLatencySeconds = 0.0;

    // Shared with the callback: atomics only.
    std::atomic<uint64_t> control{0};
    std::atomic<uint64_t> ackedEpoch{0};
    std::atomic<int64_t> flushTarget{0};
    std::atomic<int64_t> playedFrames{0};
    std::atomic<int64_t> underrunCount{0};
    std::atomic<uint64_t> callbackCount{0};
    std::atomic<int64_t> sourceFrames{0};
    std::atomic<bool> streamEnded{false};
    // The callback's own.
    uint64_t callbackEpoch = 0;
    bool callbackPrimed = false;

    // Feeder and controls, under `mutex`.
    std::mutex mutex;
    std::condition_variable wake;
    std::vector<float> source;  // [frames], mono at deviceRate
    bool sourceComplete = true;
    size_t feedFrame = 0;
    LoopMode loop = LoopMode::Once;
    std::optional<Error> error;
    bool quit = false;
    std::thread feeder;
    uint64_t lastCallbackCount = 0;
    std::chrono::steady_clock::time_point lastCallbackChange{};

    // The streaming producer's side, under `appendMutex`.
    std::mutex appendMutex;
    bool streaming = false;
    std::unique_ptr<Resampler> resampler;  // null when the stream's rate is the device's
    std::vector<float> resampled;
};

Player::Impl::~Impl()
{
    if (feeder.joinable()) {
        {
            std::lock_guard lock(mutex);
            quit = true;
        }
        wake.notify_all();
        feeder.join();
    }
    if (stream) {
        Pa_AbortStream(stream);
        Pa_CloseStream(stream);
    }
    if (portAudioHeld) releasePortAudio();
}

// Real time: copies only. No lock, no allocation, no logging.
void Player::Impl::render(float* out, size_t frames)
{
    callbackCount.fetch_add(1, std::memory_order_relaxed);
    const uint64_t word = control.load(std::memory_order_acquire);
    if (epochOf(word) != callbackEpoch) {  // a seek, stop or new source: drop what was queued
        ring.discardAll();
        playedFrames.store(flushTarget.load(std::memory_order_relaxed), std::memory_order_relaxed);
        callbackPrimed = false;
        callbackEpoch = epochOf(word);
        ackedEpoch.store(callbackEpoch, std::memory_order_release);
    }
    size_t got = 0;
    if (transportOf(word) == PlaybackState::Playing && primed(word)) {
        got = ring.pop(std::span<float>(out, frames));
        playedFrames.store(playedFrames.load(std::memory_order_relaxed) + static_cast<int64_t>(got), std::memory_order_relaxed);
        if (got < frames) handleShortfall(word);
    }
    std::fill(out + got, out + frames, 0.0f);
    if (outputChannels == 2) {
        for (size_t i = frames; i-- > 0;) out[2 * i] = out[2 * i + 1] = out[i];
    }
}

// Playback (re)starts only once the pre-roll is queued, or the whole rest of the source is.
bool Player::Impl::primed(uint64_t word)
{
    if (!callbackPrimed && (ring.readAvailable() >= prerollFrames || (word & kDoneBit))) callbackPrimed = true;
    return callbackPrimed;
}

void Player::Impl::handleShortfall(uint64_t word)
{
    const uint64_t now = control.load(std::memory_order_acquire);
    if (epochOf(now) != epochOf(word)) return;  // a seek came in; the next callback handles it
    if (now & kDoneBit) {  // the end of the source, not an underrun
        uint64_t expected = now;
        if (transportOf(now) == PlaybackState::Playing && ring.readAvailable() == 0)
            control.compare_exchange_strong(expected, withTransport(now, PlaybackState::Finished), std::memory_order_acq_rel);
        return;
    }
    underrunCount.fetch_add(1, std::memory_order_relaxed);
    callbackPrimed = false;  // buffer the pre-roll again rather than stutter
}

void Player::Impl::feedLoop()
{
    std::unique_lock lock(mutex);
    lastCallbackChange = std::chrono::steady_clock::now();
    while (!quit) {
        feed();
        checkDevice();
        wake.wait_for(lock, kFeedPeriod);
    }
}

// Under `mutex`: tops the ring up from the source.
void Player::Impl::feed()
{
    const uint64_t word = control.load(std::memory_order_acquire);
    if (ackedEpoch.load(std::memory_order_acquire) != epochOf(word) || (word & kDoneBit)) return;
    for (;;) {
        if (feedFrame < source.size()) {
            feedFrame += ring.push(std::span<const float>(source).subspan(feedFrame));
            if (feedFrame < source.size()) return;  // the ring is full
            continue;
        }
        if (!sourceComplete) return;  // a stream waiting for more
        if (loop == LoopMode::Loop && !source.empty()) {
            feedFrame = 0;
            control.fetch_or(kWrappedBit, std::memory_order_release);
            continue;
        }
        control.fetch_or(kDoneBit, std::memory_order_release);
        return;
    }
}

// Under `mutex`: a stream that stopped, reports an error, or no longer calls back means the device
// failed. Playback stops with a message; sources can still be loaded and appended.
void Player::Impl::checkDevice()
{
    if (error) return;
    const auto now = std::chrono::steady_clock::now();
    const uint64_t calls = callbackCount.load(std::memory_order_relaxed);
    if (calls != lastCallbackCount) {
        lastCallbackCount = calls;
        lastCallbackChange = now;
    }
    const PaError active = Pa_IsStreamActive(stream);
    std::string why;
    if (active < 0) why = paErrorText(active);
    else if (active == 0 || streamEnded.load()) why = "the output stream stopped";
    else if (now - lastCallbackChange > kStallTimeout) why = "the device stopped asking for audio";
    else return;
    error = Error{ErrorCode::Device, "audio output '" + deviceName + "' failed while playing: " + why};
    uint64_t word = control.load(std::memory_order_relaxed);
    while (!control.compare_exchange_weak(word, withTransport(word, PlaybackState::Failed), std::memory_order_acq_rel)) {}
    logMessage(LogLevel::Warning, error->message);
}

// Under `mutex`: a new epoch. The callback drops what is queued and the playhead jumps to `frame`.
void Player::Impl::restartAt(int64_t frame, PlaybackState transport)
{
    frame = std::clamp<int64_t>(frame, 0, static_cast<int64_t>(source.size()));
    feedFrame = static_cast<size_t>(frame);
    flushTarget.store(frame, std::memory_order_relaxed);
    uint64_t word = control.load(std::memory_order_relaxed);
    uint64_t next = 0;
    do {
        const PlaybackState state = transportOf(word) == PlaybackState::Failed ? PlaybackState::Failed : transport;
        next = ((epochOf(word) + 1) << kEpochShift) | static_cast<uint64_t>(state);
    } while (!control.compare_exchange_weak(word, next, std::memory_order_release, std::memory_order_relaxed));
    wake.notify_all();
}

// Under `mutex`: changes the transport when it is one of `fromStates` (a mask of stateBit()).
void Player::Impl::setTransportIf(PlaybackState to, uint64_t fromStates)
{
    uint64_t word = control.load(std::memory_order_relaxed);
    while (stateBit(transportOf(word)) & fromStates) {
        if (control.compare_exchange_weak(word, withTransport(word, to), std::memory_order_release, std::memory_order_relaxed)) break;
    }
}

void Player::Impl::appendSource(std::span<const float> samples, bool complete)
{
    std::lock_guard lock(mutex);
    source.insert(source.end(), samples.begin(), samples.end());
    sourceFrames.store(static_cast<int64_t>(source.size()), std::memory_order_relaxed);
    sourceComplete = complete;
    wake.notify_all();
}

namespace {

int paCallback(const void*, void* output, unsigned long frameCount, const PaStreamCallbackTimeInfo*, PaStreamCallbackFlags, void* user)
{
    static_cast<Player::Impl*>(user)->render(static_cast<float*>(output), frameCount);
    return paContinue;
}

void paStreamFinished(void* user) { static_cast<Player::Impl*>(user)->streamEnded.store(true); }

}  // namespace

// ---- Player ----

Expected<std::vector<OutputDevice>> listOutputDevices()
{
    TMK_TRY(acquirePortAudio());
    std::vector<OutputDevice> devices;
    const PaDeviceIndex defaultIndex = Pa_GetDefaultOutputDevice();
    for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); ++i) {
        const PaDeviceInfo* info = Pa_GetDeviceInfo(i);
        if (!info || info->maxOutputChannels <= 0) continue;
        const PaHostApiInfo* api = Pa_GetHostApiInfo(info->hostApi);
        devices.push_back({info->name, api ? api->name : "", static_cast<int>(info->defaultSampleRate), i == defaultIndex});
    }
    releasePortAudio();
    return devices;
}

const char* playbackStateName(PlaybackState state)
{
    switch (state) {
    case PlaybackState::Stopped: return "stopped";
    case PlaybackState::Playing: return "playing";
    case PlaybackState::Paused: return "paused";
    case PlaybackState::Finished: return "finished";
    case PlaybackState::Failed: return "failed";
    }
    return "unknown";
}

Expected<Player> Player::open(const PlayerOptions& options)
{
    TMK_TRY(acquirePortAudio());
    Expected<PaDeviceIndex> device = findOutputDevice(options.deviceName);
    Expected<OutputFormat> format = device ? chooseOutputFormat(*device, options) : Expected<OutputFormat>(device.error());
    if (!format) {
        releasePortAudio();
        return format.error();
    }
    auto impl = std::make_unique<Impl>(options, format->sampleRate, format->parameters.channelCount);
    impl->portAudioHeld = true;  // released by ~Impl from here on
    impl->deviceName = deviceLabel(*device);
    PaError rc = Pa_OpenStream(&impl->stream, nullptr, &format->parameters, format->sampleRate, paFramesPerBufferUnspecified,
                               paClipOff, &paCallback, impl.get());
    if (rc != paNoError) {
        impl->stream = nullptr;
        return Error{ErrorCode::Device, "could not open audio output '" + impl->deviceName + "' at " + std::to_string(format->sampleRate) +
                                            " Hz: " + paErrorText(rc)};
    }
    Pa_SetStreamFinishedCallback(impl->stream, &paStreamFinished);
    if (const PaStreamInfo* info = Pa_GetStreamInfo(impl->stream)) impl->outputLatencySeconds = info->outputLatency;
    if ((rc = Pa_StartStream(impl->stream)) != paNoError)
        return Error{ErrorCode::Device, "could not start audio output '" + impl->deviceName + "': " + paErrorText(rc)};
    Impl* raw = impl.get();
    impl->feeder = std::thread([raw] { raw->feedLoop(); });
    return Player(std::move(impl));
}

Player::Player(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Player::Player(Player&&) noexcept = default;
Player& Player::operator=(Player&&) noexcept = default;
Player::~Player() = default;

std::string Player::deviceName() const { return m_impl->deviceName; }
int Player::deviceSampleRate() const { return m_impl->deviceRate; }

Expected<void> Player::load(std::span<const float> samples, int sampleRate)
{
    if (sampleRate <= 0) return Error{ErrorCode::InvalidArgument, "a clip's sample rate must be positive"};
    std::vector<float> converted;
    if (sampleRate == m_impl->deviceRate) {
        converted.assign(samples.begin(), samples.end());
    } else {
        Expected<std::unique_ptr<Resampler>> resampler = Resampler::create(sampleRate, m_impl->deviceRate);
        if (!resampler) return resampler.error();
        converted.reserve(static_cast<size_t>(static_cast<double>(samples.size()) * m_impl->deviceRate / sampleRate) + 256);
        TMK_TRY((*resampler)->process(samples, true, converted));
    }
    std::lock_guard appendLock(m_impl->appendMutex);
    m_impl->streaming = false;
    std::lock_guard lock(m_impl->mutex);
    m_impl->source = std::move(converted);
    m_impl->sourceFrames.store(static_cast<int64_t>(m_impl->source.size()));
    m_impl->sourceComplete = true;
    m_impl->restartAt(0, PlaybackState::Stopped);
    return {};
}

void Player::play()
{
    std::lock_guard lock(m_impl->mutex);
    if (transportOf(m_impl->control.load()) == PlaybackState::Finished) {
        m_impl->restartAt(0, PlaybackState::Playing);
        return;
    }
    m_impl->setTransportIf(PlaybackState::Playing, stateBit(PlaybackState::Stopped) | stateBit(PlaybackState::Paused));
}

void Player::pause()
{
    std::lock_guard lock(m_impl->mutex);
    m_impl->setTransportIf(PlaybackState::Paused, stateBit(PlaybackState::Playing));
}

void Player::stop()
{
    std::lock_guard lock(m_impl->mutex);
    m_impl->restartAt(0, PlaybackState::Stopped);
}

void Player::seek(double seconds)
{
    std::lock_guard lock(m_impl->mutex);
    PlaybackState state = transportOf(m_impl->control.load());
    if (state == PlaybackState::Finished) state = PlaybackState::Paused;
    m_impl->restartAt(std::llround(std::max(0.0, seconds) * m_impl->deviceRate), state);
}

void Player::setLoop(LoopMode mode)
{
    std::lock_guard lock(m_impl->mutex);
    m_impl->loop = mode;
    // Looping turned on after the feeder reached the end (but before it was heard): feed on.
    if (mode == LoopMode::Loop) m_impl->control.fetch_and(~kDoneBit, std::memory_order_release);
    m_impl->wake.notify_all();
}

Expected<void> Player::beginStream(int sampleRate, double expectedSeconds)
{
    if (sampleRate <= 0) return Error{ErrorCode::InvalidArgument, "a stream's sample rate must be positive"};
    std::unique_ptr<Resampler> resampler;
    if (sampleRate != m_impl->deviceRate) {
        Expected<std::unique_ptr<Resampler>> created = Resampler::create(sampleRate, m_impl->deviceRate);
        if (!created) return created.error();
        resampler = std::move(*created);
    }
    std::lock_guard appendLock(m_impl->appendMutex);
    m_impl->resampler = std::move(resampler);
    m_impl->streaming = true;
    std::lock_guard lock(m_impl->mutex);
    m_impl->source.clear();
    m_impl->source.reserve(static_cast<size_t>(std::max(0.0, expectedSeconds) * m_impl->deviceRate * 1.01) + 1024);
    m_impl->sourceFrames.store(0);
    m_impl->sourceComplete = false;
    m_impl->restartAt(0, PlaybackState::Playing);
    return {};
}

void Player::appendStream(std::span<const float> samples)
{
    std::lock_guard appendLock(m_impl->appendMutex);
    if (!m_impl->streaming) return;
    if (!m_impl->resampler) {
        m_impl->appendSource(samples, false);
        return;
    }
    m_impl->resampled.clear();
    if (Expected<void> r = m_impl->resampler->process(samples, false, m_impl->resampled); !r)
        logMessage(LogLevel::Error, "playback: " + r.error().message);
    m_impl->appendSource(m_impl->resampled, false);
}

void Player::endStream()
{
    std::lock_guard appendLock(m_impl->appendMutex);
    if (!m_impl->streaming) return;
    m_impl->streaming = false;
    m_impl->resampled.clear();
    if (m_impl->resampler) {
        if (Expected<void> r = m_impl->resampler->process({}, true, m_impl->resampled); !r)
            logMessage(LogLevel::Error, "playback: " + r.error().message);
    }
    m_impl->appendSource(m_impl->resampled, true);
}

PlaybackState Player::state() const { return transportOf(m_impl->control.load(std::memory_order_acquire)); }

double Player::positionSeconds() const
{
    const uint64_t word = m_impl->control.load(std::memory_order_acquire);
    const bool flushed = m_impl->ackedEpoch.load(std::memory_order_acquire) == epochOf(word);
    int64_t frame = flushed ? m_impl->playedFrames.load(std::memory_order_relaxed) : m_impl->flushTarget.load(std::memory_order_relaxed);
    const int64_t length = m_impl->sourceFrames.load(std::memory_order_relaxed);
    if (transportOf(word) == PlaybackState::Finished) frame = length;
    else if ((word & kWrappedBit) && length > 0) frame %= length;
    else frame = std::min(frame, length);
    return static_cast<double>(frame) / m_impl->deviceRate;
}

double Player::durationSeconds() const
{
    return static_cast<double>(m_impl->sourceFrames.load(std::memory_order_relaxed)) / m_impl->deviceRate;
}

int64_t Player::underruns() const { return m_impl->underrunCount.load(std::memory_order_relaxed); }

std::optional<Error> Player::deviceError() const
{
    std::lock_guard lock(m_impl->mutex);
    return m_impl->error;
}

PlaybackState Player::waitWhilePlaying(std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    PlaybackState current = state();
    while (current == PlaybackState::Playing && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        current = state();
    }
    // The last samples left the ring; let them through the device's own buffer before returning.
    if (current == PlaybackState::Finished) {
        using Clock = std::chrono::steady_clock;
        const auto drain = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(m_impl->outputLatencySeconds + 0.02));
        std::this_thread::sleep_for(std::min(drain, std::max(deadline - Clock::now(), Clock::duration::zero())));
    }
    return current;
}

}  // namespace tmk
