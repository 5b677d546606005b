// One generation job, the same for the app and the CLI: merge the sliders into the model (when an adapter
// bank steers it), generate, stream-decode batch item 0 to an audio sink and to a callback while the codes
// are being produced, then save every batch item into the clip library. No torch types here.
//
// It runs on the calling thread (the engine worker's, in the app: see tastemaker/engine_worker.h), reports
// progress and streamed audio through callbacks on that thread, and polls the cancel token at every decoding
// step. A clip that was generated completely is saved even when a cancel arrives during the save.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "tastemaker/adapters.h"
#include "tastemaker/cancel.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/error.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/progress.h"
#include "tastemaker/steering.h"
#include "tastemaker/streaming.h"

namespace tmk {

class Player;

// Whether the job returns as soon as the clip is generated and saved, or only once the sink has played
// the stream to its end (the CLI's --play, so that the underrun count is final).
enum class PlaybackWait { Return, UntilPlayed };

struct GenerationJobParams {
    GenerationRequest request; // decodeAudio is forced on when libraryDir is given
    SliderValues sliders; // merged first when they differ from the steering's (ignored without one)
    std::shared_ptr<Player> sink; // plays batch item 0 while it is generated; null: no playback
    PlaybackWait wait = PlaybackWait::Return;
    std::filesystem::path libraryDir; // every batch item is saved there as a clip; empty: nothing saved
    StreamingOptions streaming;
};

struct GenerationJobProgress {
    Progress progress; // stage TextEncoder, Decoding (done/total steps), AudioDecoder
    double etaSeconds = -1.0; // decoding: the time left at the pace so far (-1: not known yet)
    double realtimeFactor = 0; // decoding: seconds of audio generated per wall-clock second so far
};

struct GenerationJobCallbacks {
    // Decoding reports come at most once per progressInterval (the last step always); other stages once.
    std::function<void(const GenerationJobProgress&)> onProgress;
    std::chrono::milliseconds progressInterval { 0 };
    // Batch item 0's audio as it streams (mono, at the model's rate, in order; frames * hop samples in all).
    AudioChunkCallback onAudio;
    // The sink began playing this generation's stream (before the first audio reaches it).
    std::function<void()> onPlaybackStarted;
    // The sliders were merged (only when they changed); `merged` is what the model is steered with now.
    std::function<void(const SteeringMergeInfo& info, const SliderValues& merged)> onMerged;
    const CancelToken* cancel = nullptr;
};

struct GenerationJobStats {
    double audioSeconds = 0; // of each batch item
    double textSeconds = 0, decodeSeconds = 0, codecSeconds = 0;
    double computeSeconds = 0; // text + decode + codec
    double realtimeFactor = 0; // audioSeconds / computeSeconds
    double firstAudioSeconds = -1; // from the job's start to the first streamed audio (-1: nothing streamed)
    bool streamedToSink = false; // the sink received this generation's stream
    int64_t underruns = 0; // the sink's count after the stream (final with PlaybackWait::UntilPlayed)
    std::optional<Error> playbackError; // the sink could not start or failed; generation carried on
    std::optional<Error> streamError; // streaming decode failed; the saved clips are unaffected
    std::optional<SteeringMergeInfo> merge; // the merge this job did, if any
};

struct GenerationJobResult {
    GenerationResult generation; // codes, and the full decode of every item when audio was decoded
    SliderValues sliders; // the sliders the model was steered with (empty without a bank)
    std::optional<SliderValues> mergedSliders; // set when some were applied at run time: the merged part
    std::vector<ClipEntry> clips; // one per batch item, in order (empty without a library folder)
    GenerationJobStats stats;
};

// Runs the job on the calling thread. `steering` (may be null) is the model's adapter bank; the caller owns
// it and no other thread merges into it meanwhile. Cancelling returns ErrorCode::Cancelled and saves nothing.
Expected<GenerationJobResult> runGenerationJob(const std::shared_ptr<const MusicgenModel>& model, Steering* steering,
    const GenerationJobParams& params, const GenerationJobCallbacks& callbacks = {});

} // namespace tmk
