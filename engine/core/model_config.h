// The configuration of a Hugging Face MusicGen checkpoint folder (config.json and
// generation_config.json), parsed and validated. Every shape in the engine comes from here.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "tastemaker/error.h"
#include "tastemaker/sampling.h"

namespace tmk {

struct T5Config {
    int64_t vocabSize = 0;
    int64_t dModel = 0;
    int64_t dKv = 0;
    int64_t dFf = 0;
    int64_t numLayers = 0;
    int64_t numHeads = 0;
    int64_t numBuckets = 32;
    int64_t maxDistance = 128;
    double layerNormEps = 1e-6;
    bool gatedGelu = false; // feed_forward_proj "gated-gelu" (flan-T5); musicgen uses "relu"
    int64_t innerDim() const { return numHeads * dKv; }
};

struct DecoderConfig {
    int64_t vocabSize = 0; // codes per codebook (V); the embedding tables have V + 1 rows
    int64_t hiddenSize = 0;
    int64_t numLayers = 0;
    int64_t numHeads = 0;
    int64_t ffnDim = 0;
    int64_t numCodebooks = 0; // K
    int64_t maxPositions = 2048;
    int64_t padTokenId = 0; // = bos = V
    bool scaleEmbedding = false;
    int64_t headDim() const { return hiddenSize / numHeads; }
};

struct EncodecConfig {
    int64_t samplingRate = 32000;
    int64_t audioChannels = 1;
    int64_t numFilters = 0;
    int64_t hiddenSize = 0; // = codebook_dim
    int64_t codebookSize = 0;
    int64_t codebookDim = 0;
    int64_t kernelSize = 7;
    int64_t lastKernelSize = 7;
    int64_t residualKernelSize = 3;
    int64_t numResidualLayers = 1;
    int64_t dilationGrowthRate = 2;
    int64_t compress = 2;
    int64_t numLstmLayers = 2;
    std::vector<int64_t> upsamplingRatios; // decoder order, e.g. [8, 5, 4, 4]
    std::vector<double> targetBandwidths;
    bool useCausalConv = false;
    bool useConvShortcut = false;
    bool normalize = false;
    std::string padMode = "reflect";
    int64_t hopLength() const; // product of the ratios (640)
    int64_t frameRate() const; // ceil(samplingRate / hopLength) (50)
    int64_t numQuantizers() const; // floor(1000 * bw_last / (frameRate * 10))
    int64_t quantizersForBandwidth(double kbps) const;
};

struct GenerationDefaults {
    SamplingParams sampling; // do_sample (greedy = !do_sample), top_k, top_p, temperature, guidance_scale
    int64_t maxLength = 1500;
    int64_t decoderStartTokenId = 0;
    int64_t padTokenId = 0;
};

struct MusicgenConfig {
    std::filesystem::path dir;
    T5Config text;
    DecoderConfig decoder;
    EncodecConfig codec;
    GenerationDefaults generation;

    // Reads DIR/config.json and (if present) DIR/generation_config.json.
    static Expected<MusicgenConfig> load(const std::filesystem::path& dir);
    // Parses a config.json's content; `where` names it in errors.
    static Expected<MusicgenConfig> parse(const std::string& configJson, const std::string& where);
    // Checks the numbers agree with each other (heads divide hidden, codebook sizes match, ...).
    Expected<void> validate(const std::string& where) const;
    bool hasEncToDecProj() const { return text.dModel != decoder.hiddenSize; }
};

} // namespace tmk
