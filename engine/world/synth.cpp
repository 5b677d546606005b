// SynthRenderer (synth.h) over libfluidsynth.
#include "synth.h"

#include <algorithm>
#include <fluidsynth.h>
#include <mutex>

namespace tmk::world {

namespace {

void silenceFluidLog()
{
    static std::once_flag once;
    std::call_once(once, [] {
        for (int level : { FLUID_PANIC, FLUID_ERR, FLUID_WARN, FLUID_INFO, FLUID_DBG })
            fluid_set_log_function(level, nullptr, nullptr);
    });
}

void renderInto(fluid_synth_t* synth, std::vector<float>& left, std::vector<float>& right, std::vector<float>& out,
    int64_t from, int64_t to)
{
    while (from < to) {
        const int n = static_cast<int>(std::min<int64_t>(to - from, static_cast<int64_t>(left.size())));
        fluid_synth_write_float(synth, n, left.data(), 0, 1, right.data(), 0, 1);
        for (int i = 0; i < n; ++i)
            out[static_cast<size_t>(from + i)] = 0.5f * (left[static_cast<size_t>(i)] + right[static_cast<size_t>(i)]);
        from += n;
    }
}

} // namespace

struct SynthRenderer::Impl {
    fluid_settings_t* settings = nullptr;
    fluid_synth_t* synth = nullptr;
    int soundfontId = -1;
    fluid_sfont_t* soundfont = nullptr; // owned by `synth`, lent to each song's synth
    std::vector<float> left, right;

    ~Impl()
    {
        if (synth) delete_fluid_synth(synth);
        if (settings) delete_fluid_settings(settings);
    }
};

Expected<std::unique_ptr<SynthRenderer>> SynthRenderer::create(const std::string& soundfont, int sampleRate)
{
    silenceFluidLog();
    std::unique_ptr<SynthRenderer> renderer(new SynthRenderer());
    renderer->m_impl = std::make_unique<Impl>();
    Impl& s = *renderer->m_impl;
    s.settings = new_fluid_settings();
    if (!s.settings) return Error { ErrorCode::Internal, "world: FluidSynth could not create its settings" };
    fluid_settings_setnum(s.settings, "synth.sample-rate", sampleRate);
    fluid_settings_setint(s.settings, "synth.reverb.active", 0);
    fluid_settings_setint(s.settings, "synth.chorus.active", 0);
    fluid_settings_setint(s.settings, "synth.cpu-cores", 1);
    fluid_settings_setint(s.settings, "synth.threadsafe-api", 0);
    fluid_settings_setint(s.settings, "synth.polyphony", 256);
    fluid_settings_setnum(s.settings, "synth.gain", 0.4);
    s.synth = new_fluid_synth(s.settings);
    if (!s.synth) return Error { ErrorCode::Internal, "world: FluidSynth could not create a synth" };
    s.soundfontId = fluid_synth_sfload(s.synth, soundfont.c_str(), 0);
    if (s.soundfontId == FLUID_FAILED)
        return Error::inFile(ErrorCode::Format, soundfont, "FluidSynth could not load this soundfont");
    s.soundfont = fluid_synth_get_sfont_by_id(s.synth, s.soundfontId);
    s.left.resize(1024);
    s.right.resize(1024);
    return renderer;
}

SynthRenderer::~SynthRenderer() = default;

std::vector<float> SynthRenderer::render(const Score& score)
{
    // A fresh synth per song, sharing the loaded soundfont: a reused synth carries state (voice filters,
    // interpolation history) from one song into the next, which made the audio depend on the render order.
    Impl& s = *m_impl;
    fluid_synth_t* synth = new_fluid_synth(s.settings);
    std::vector<float> out(static_cast<size_t>(score.lengthSamples), 0.0f);
    if (!synth) return out;
    const int soundfontId = fluid_synth_add_sfont(synth, s.soundfont);
    for (const ChannelSetup& c : score.channels) {
        if (fluid_synth_program_select(synth, c.channel, soundfontId, c.bank, c.program) != FLUID_OK)
            fluid_synth_program_select(synth, c.channel, soundfontId, c.bank, 0); // a kit the soundfont lacks
        fluid_synth_cc(synth, c.channel, 7, c.volume);
        if (c.modulation > 0) fluid_synth_cc(synth, c.channel, 1, c.modulation);
        fluid_synth_pitch_bend(synth, c.channel, c.pitchBend);
    }
    int64_t position = 0;
    for (const NoteEvent& e : score.events) {
        const int64_t at = std::min(e.sample, score.lengthSamples);
        renderInto(synth, s.left, s.right, out, position, at);
        position = at;
        if (e.on)
            fluid_synth_noteon(synth, e.channel, e.key, e.velocity);
        else
            fluid_synth_noteoff(synth, e.channel, e.key);
    }
    renderInto(synth, s.left, s.right, out, position, score.lengthSamples);
    fluid_synth_system_reset(synth);
    fluid_synth_remove_sfont(synth, s.soundfont);
    delete_fluid_synth(synth);
    return out;
}

} // namespace tmk::world
