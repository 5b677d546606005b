// Progress reported by long jobs. Callbacks run on the job's thread; a UI re-posts them.
#pragma once

#include <cstdint>
#include <functional>

namespace tmk {

// What a job is doing. progressStageName() gives the words shown to people (the CLI's stderr, the UI).
enum class ProgressStage {
    // MusicgenModel::load, steps 0 to 5 of 5.
    LoadingTokenizer, // "tokenizer"
    LoadingWeights, // "weights"
    LoadingTextEncoder, // "text encoder"
    LoadingDecoder, // "decoder"
    LoadingAudioCodec, // "audio codec"
    Loaded, // "ready"
    // A generation.
    TextEncoder, // "text encoder": the prompt through T5
    Decoding, // "decoding": one step per frame
    AudioDecoder, // "audio decoder": EnCodec
    // buildPairs (bytes of the CSVs, then genres).
    ReadingTracks, // "reading tracks"
    ReadingYouTube, // "reading YouTube"
    MatchingSongs, // "matching songs"
    // tokenizeSongs, one step per song.
    Tokenizing, // "tokenizing"
    // The DPO trainer.
    Training, // "training": optimiser steps
    Evaluation, // "evaluation": test pairs
    // world render, one step per song.
    RenderingSongs, // "rendering songs"
    // analyseLibrary, one step per file.
    AnalysingFiles, // "analysing"
};
const char* progressStageName(ProgressStage stage);

struct Progress {
    ProgressStage stage = ProgressStage::Decoding;
    int64_t done = 0; // steps finished
    int64_t total = 0; // steps in all, 0 when unknown
    double fraction() const { return total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0; }
};

using ProgressCallback = std::function<void(const Progress&)>;

} // namespace tmk
