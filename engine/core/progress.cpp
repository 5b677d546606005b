#include "tastemaker/progress.h"

namespace tmk {

const char* progressStageName(ProgressStage stage)
{
    switch (stage) {
    case ProgressStage::LoadingTokenizer:
        return "tokenizer";
    case ProgressStage::LoadingWeights:
        return "weights";
    case ProgressStage::LoadingTextEncoder:
        return "text encoder";
    case ProgressStage::LoadingDecoder:
        return "decoder";
    case ProgressStage::LoadingAudioCodec:
        return "audio codec";
    case ProgressStage::Loaded:
        return "ready";
    case ProgressStage::TextEncoder:
        return "text encoder";
    case ProgressStage::Decoding:
        return "decoding";
    case ProgressStage::AudioDecoder:
        return "audio decoder";
    case ProgressStage::ReadingTracks:
        return "reading tracks";
    case ProgressStage::ReadingYouTube:
        return "reading YouTube";
    case ProgressStage::MatchingSongs:
        return "matching songs";
    case ProgressStage::Tokenizing:
        return "tokenizing";
    case ProgressStage::Training:
        return "training";
    case ProgressStage::Evaluation:
        return "evaluation";
    case ProgressStage::RenderingSongs:
        return "rendering songs";
    case ProgressStage::AnalysingFiles:
        return "analysing";
    }
    return "working";
}

} // namespace tmk
