#include "audio/portaudio_output.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <dlfcn.h>
#include <mutex>
#include <portaudio.h>
#include <vector>

#include "tastemaker/log.h"

namespace tmk {

namespace {

constexpr int kPreferredSampleRate = 32000; // MusicGen's rate: no resampling when the device takes it

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

void jackMessageToLog(const char* text)
{
    logMessage(LogLevel::Debug, std::string("JACK: ") + text);
}

// ALSA and JACK print every failed probe (each card and plugin PortAudio tries) on stderr. They come
// with PortAudio, so their message hooks are looked up at run time and sent to the log instead.
void routeBackendMessagesToLog()
{
    using AlsaHandler = void (*)(const char*, int, const char*, int, const char*, ...);
    using SetAlsaHandler = int (*)(AlsaHandler);
    using SetJackHandler = void (*)(void (*)(const char*));
    if (auto set = reinterpret_cast<SetAlsaHandler>(dlsym(RTLD_DEFAULT, "snd_lib_error_set_handler")))
        set(&alsaMessageToLog);
    for (const char* name : { "jack_set_error_function", "jack_set_info_function" })
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
        return Error { ErrorCode::Device, "could not start PortAudio: " + paErrorText(rc) };
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
            return Error { ErrorCode::Device,
                "no audio output device is available (PortAudio found " + std::to_string(Pa_GetDeviceCount())
                    + " devices, none for output; is a sound server running?)" };
        return index;
    }
    std::string available;
    for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); ++i) {
        const PaDeviceInfo* info = Pa_GetDeviceInfo(i);
        if (!info || info->maxOutputChannels <= 0) continue;
        if (std::string(info->name).find(name) != std::string::npos) return i;
        available += (available.empty() ? "" : ", ") + std::string("'") + info->name + "'";
    }
    return Error { ErrorCode::NotFound,
        "no audio output device named like '" + name + "' (available: " + (available.empty() ? "none" : available)
            + ")" };
}

struct OutputFormat {
    PaStreamParameters parameters {};
    int sampleRate = 0;
};

// 32 kHz mono if the device takes it, else its default rate (then 48 and 44.1 kHz), mono or stereo.
Expected<OutputFormat> chooseOutputFormat(PaDeviceIndex device, const PlayerOptions& options)
{
    const PaDeviceInfo* info = Pa_GetDeviceInfo(device);
    std::vector<int> rates = { options.deviceSampleRate };
    if (options.deviceSampleRate <= 0)
        rates = { kPreferredSampleRate, static_cast<int>(info->defaultSampleRate), 48000, 44100 };
    OutputFormat format;
    format.parameters.device = device;
    format.parameters.sampleFormat = paFloat32;
    format.parameters.suggestedLatency
        = options.latencySeconds > 0 ? options.latencySeconds : info->defaultHighOutputLatency;
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
    return Error { ErrorCode::Device,
        "audio output '" + deviceLabel(device) + "' takes none of " + tried
            + " Hz in mono or stereo float: " + paErrorText(last) };
}

} // namespace

// PortAudio's C callbacks, with access to the output's real-time side.
struct PortAudioCallbacks {
    static int buffer(const void*, void* output, unsigned long frames, const PaStreamCallbackTimeInfo*,
        PaStreamCallbackFlags, void* user)
    {
        static_cast<PortAudioOutput*>(user)->renderBuffer(static_cast<float*>(output), frames);
        return paContinue;
    }
    static void finished(void* user) { static_cast<PortAudioOutput*>(user)->m_ended.store(true); }
};

Expected<std::vector<OutputDevice>> listOutputDevices()
{
    TMK_TRY(acquirePortAudio());
    std::vector<OutputDevice> devices;
    const PaDeviceIndex defaultIndex = Pa_GetDefaultOutputDevice();
    for (PaDeviceIndex i = 0; i < Pa_GetDeviceCount(); ++i) {
        const PaDeviceInfo* info = Pa_GetDeviceInfo(i);
        if (!info || info->maxOutputChannels <= 0) continue;
        const PaHostApiInfo* api = Pa_GetHostApiInfo(info->hostApi);
        devices.push_back(
            { info->name, api ? api->name : "", static_cast<int>(info->defaultSampleRate), i == defaultIndex });
    }
    releasePortAudio();
    return devices;
}

Expected<std::unique_ptr<PortAudioOutput>> PortAudioOutput::open(const PlayerOptions& options)
{
    TMK_TRY(acquirePortAudio());
    std::unique_ptr<PortAudioOutput> output(new PortAudioOutput());
    output->m_portAudioHeld = true; // released by the destructor from here on
    Expected<PaDeviceIndex> device = findOutputDevice(options.deviceName);
    if (!device) return device.error();
    Expected<OutputFormat> format = chooseOutputFormat(*device, options);
    if (!format) return format.error();
    output->m_deviceName = deviceLabel(*device);
    output->m_sampleRate = format->sampleRate;
    output->m_channels = format->parameters.channelCount;
    PaStream* stream = nullptr;
    const PaError rc = Pa_OpenStream(&stream, nullptr, &format->parameters, format->sampleRate,
        paFramesPerBufferUnspecified, paClipOff, &PortAudioCallbacks::buffer, output.get());
    if (rc != paNoError)
        return Error { ErrorCode::Device,
            "could not open audio output '" + output->m_deviceName + "' at " + std::to_string(format->sampleRate)
                + " Hz: " + paErrorText(rc) };
    output->m_stream = stream;
    Pa_SetStreamFinishedCallback(stream, &PortAudioCallbacks::finished);
    if (const PaStreamInfo* info = Pa_GetStreamInfo(stream)) output->m_outputLatencySeconds = info->outputLatency;
    return output;
}

PortAudioOutput::~PortAudioOutput()
{
    if (m_stream) {
        Pa_AbortStream(m_stream);
        Pa_CloseStream(m_stream);
    }
    if (m_portAudioHeld) releasePortAudio();
}

Expected<void> PortAudioOutput::start(RenderFn render, void* target)
{
    m_render = render;
    m_target = target;
    if (PaError rc = Pa_StartStream(m_stream); rc != paNoError)
        return Error { ErrorCode::Device, "could not start audio output '" + m_deviceName + "': " + paErrorText(rc) };
    return {};
}

// Real time: the render function's mono samples, copied onto both channels of a stereo device.
void PortAudioOutput::renderBuffer(float* out, size_t frames)
{
    m_callbacks.fetch_add(1, std::memory_order_relaxed);
    m_render(m_target, out, frames);
    if (m_channels == 2) {
        for (size_t i = frames; i-- > 0;) out[2 * i] = out[2 * i + 1] = out[i];
    }
}

std::optional<std::string> PortAudioOutput::streamProblem() const
{
    const PaError active = Pa_IsStreamActive(m_stream);
    if (active < 0) return paErrorText(active);
    if (active == 0 || m_ended.load()) return std::string("the output stream stopped");
    return std::nullopt;
}

} // namespace tmk
