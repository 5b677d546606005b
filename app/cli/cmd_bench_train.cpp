// `bench train --config CONFIG.json [--device] [--dtype f32|bf16] [--checkpoint-layers] [--steps N] [--frames N]
// [--batch N] [--rank R]`: DPO training
// speed (pairs per second) and peak memory on a random-weight model of that size (docs/performance.md).
#include <cstdio>

#include "cli_common.h"
#include "commands.h"
#include "tastemaker/devtools/benchmarks.h"
#include "tastemaker/training.h"

namespace tmk::cli {

int benchTrain(const Args& args)
{
    if (!args.has("config"))
        return reportError(Error { ErrorCode::InvalidArgument, "bench train: --config CONFIG.json is required" });
    TrainBenchParams params;
    params.config = *args.get("config");
    params.spieceModel = defaultSpieceModel();
    params.device = args.getOr("device", "cpu");
    params.dtype = args.getOr("dtype", "f32");
    params.checkpointLayers = args.has("checkpoint-layers");
    Expected<long long> steps = args.integer("steps", 3), frames = args.integer("frames", 500),
                        batch = args.integer("batch", 1), rank = args.integer("rank", 8);
    for (const Expected<long long>* value : { &steps, &frames, &batch, &rank })
        if (!*value) return reportError(value->error());
    params.steps = *steps;
    params.frames = *frames;
    params.batchSize = *batch;
    params.lora.rank = *rank;
    std::fprintf(stderr, "making a random-weight model from %s ...\n", params.config.string().c_str());
    Expected<TrainBenchResult> result = benchmarkTraining(params);
    if (!result) return reportError(result.error());
    std::printf("%s", result->toString().c_str());
    return kExitOk;
}

} // namespace tmk::cli
