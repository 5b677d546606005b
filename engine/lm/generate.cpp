#include "lm/generate.h"

#include <new>
#include <sstream>

#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros_like.h>
#include <c10/core/InferenceMode.h>

#include "lm/delay_pattern.h"

namespace tmk {

namespace {

// One generation run: the sizes, the delay pattern and the growing (already masked) id sequence.
struct Run {
    explicit Run(const MusicgenDecoder& decoder)
        : model(decoder)
    {
    }
    const MusicgenDecoder& model;
    int64_t batch = 0;
    int64_t codebooks = 0;
    int64_t frames = 0;
    int64_t steps = 0; // max_new_tokens = frames + K - 1
    bool guided = false; // classifier-free guidance: the decoder batch is [cond; uncond]
    double guidanceScale = 1.0;
    at::Tensor pattern; // [B*K, steps + 1] int64, CPU: -1 or the forced pad id
    at::Tensor ids; // [B*K, steps + 1] int64, CPU: position s is final once step s - 1 ran
};

std::string framesLimitMessage(const MusicgenDecoder& model, int64_t frames)
{
    const int64_t limit = maxGenerationFrames(model.config());
    std::ostringstream out;
    out << "MusicGen: " << frames << " frames asked for, but max_position_embeddings (" << model.config().maxPositions
        << ") allows at most " << limit << " frames ("
        << static_cast<double>(limit) / static_cast<double>(model.frameRate()) << " s at " << model.frameRate()
        << " frames/s)";
    return out.str();
}

Expected<void> checkInputs(
    const MusicgenDecoder& model, const at::Tensor& t5States, const at::Tensor& mask, int64_t frames)
{
    if (!t5States.defined() || t5States.dim() != 3 || t5States.size(2) != model.textHiddenSize() || t5States.size(0) < 1
        || t5States.size(1) < 1)
        return Error { ErrorCode::InvalidArgument,
            "MusicGen: text states must be [B, S, " + std::to_string(model.textHiddenSize()) + "] with B, S >= 1" };
    if (!mask.defined() || mask.dim() != 2 || mask.size(0) != t5States.size(0) || mask.size(1) != t5States.size(1))
        return Error { ErrorCode::InvalidArgument, "MusicGen: the attention mask must be [B, S] like the text states" };
    if (frames < 1) return Error { ErrorCode::InvalidArgument, "MusicGen: at least one frame must be generated" };
    if (frames > maxGenerationFrames(model.config()))
        return Error { ErrorCode::InvalidArgument, framesLimitMessage(model, frames) };
    return {};
}

// The decoder state for the run: conditional states, then (with CFG) zero states with an all-zero mask.
Expected<DecoderState> makeState(const Run& run, const at::Tensor& t5States, const at::Tensor& mask, DecodePath path)
{
    at::Tensor states = run.model.projectEncoder(t5States, mask); // [B, S, H]
    at::Tensor encoderMask = mask.to(run.model.device()); // [B, S]
    if (run.guided) {
        states = at::cat({ states, at::zeros_like(states) }, 0); // [2B, S, H]
        encoderMask = at::cat({ encoderMask, at::zeros_like(encoderMask) }, 0);
    }
    return run.model.newState(states, encoderMask, path == DecodePath::KvCache ? run.steps : 0);
}

// Raw last-position logits for step `step`: [rows, V] float32, rows = B*K (or 2*B*K with CFG).
at::Tensor stepLogits(const Run& run, DecoderState& state, int64_t step, DecodePath path)
{
    at::Tensor input = path == DecodePath::KvCache ? run.ids.narrow(1, step, 1) : run.ids.narrow(1, 0, step + 1);
    if (run.guided) input = input.repeat({ 2, 1 }); // cond rows first
    at::Tensor logits = run.model.forward(input.to(run.model.device()), state); // [rows, L, V]
    return logits.select(1, logits.size(1) - 1).to(at::kFloat);
}

// scores = uncond + g * (cond - uncond) on raw logits: [B*K, V].
at::Tensor guide(const Run& run, const at::Tensor& logits)
{
    if (!run.guided) return logits;
    const int64_t rows = run.batch * run.codebooks;
    at::Tensor cond = logits.narrow(0, 0, rows);
    at::Tensor uncond = logits.narrow(0, rows, rows);
    return uncond + (cond - uncond) * run.guidanceScale;
}

// Writes the sampled tokens for position step + 1, keeping the forced positions of the pattern.
void storeTokens(Run& run, int64_t step, const at::Tensor& tokens)
{
    at::Tensor forced = run.pattern.select(1, step + 1); // [B*K]
    run.ids.select(1, step + 1).copy_(at::where(forced.eq(-1), tokens.to(at::kCPU, at::kLong), forced));
}

// After step `step`, frame step + 1 - K has all codebooks final (codebook k of frame t sits at t + k + 1).
void emitFrame(const Run& run, int64_t step, const GenerateCallbacks& callbacks)
{
    const int64_t frame = step + 1 - run.codebooks;
    if (!callbacks.onFrame || frame < 0 || frame >= run.frames) return;
    std::vector<int64_t> codes(static_cast<size_t>(run.batch * run.codebooks));
    auto ids = run.ids.accessor<int64_t, 2>();
    for (int64_t b = 0; b < run.batch; ++b)
        for (int64_t k = 0; k < run.codebooks; ++k)
            codes[static_cast<size_t>(b * run.codebooks + k)] = ids[b * run.codebooks + k][delayedPosition(frame, k)];
    callbacks.onFrame(frame, codes);
}

Expected<at::Tensor> runGeneration(const MusicgenDecoder& model, const at::Tensor& t5States, const at::Tensor& mask,
    int64_t frames, const SamplingParams& params, const GenerateCallbacks& callbacks, const GenerateTrace& trace)
{
    const DecoderConfig& config = model.config();
    Run run(model);
    run.batch = t5States.size(0);
    run.codebooks = config.numCodebooks;
    run.frames = frames;
    run.steps = frames + config.numCodebooks - 1;
    run.guided = params.guidanceScale > 1.0;
    run.guidanceScale = params.guidanceScale;
    run.pattern = buildDelayPatternMask(run.batch, run.codebooks, run.steps + 1, config.padTokenId); // [B*K, steps + 1]
    run.ids = applyDelayPattern(
        at::full({ run.batch * run.codebooks, run.steps + 1 }, config.padTokenId, at::kLong), run.pattern);

    Expected<DecoderState> state = makeState(run, t5States, mask, trace.path);
    if (!state) return state.error();
    Sampler sampler(params, model.device());
    for (int64_t step = 0; step < run.steps; ++step) {
        if (callbacks.cancel && callbacks.cancel->isCancelled())
            return Error { ErrorCode::Cancelled,
                "MusicGen: generation cancelled at step " + std::to_string(step) + " of " + std::to_string(run.steps) };
        at::Tensor scores = guide(run, stepLogits(run, *state, step, trace.path)); // [B*K, V]
        if (trace.onScores) trace.onScores(step, scores);
        storeTokens(run, step, sampler.sample(scores));
        if (callbacks.onStep) callbacks.onStep(step + 1, run.steps);
        emitFrame(run, step, callbacks);
    }
    return undoDelayPattern(run.ids, run.codebooks, config.padTokenId); // [B, K, frames]
}

} // namespace

int64_t maxGenerationFrames(const DecoderConfig& config)
{
    return config.maxPositions - config.numCodebooks + 1;
}

Expected<at::Tensor> generateCodes(const MusicgenDecoder& decoder, const at::Tensor& t5States, const at::Tensor& mask,
    int64_t frames, const SamplingParams& params, const GenerateCallbacks& callbacks)
{
    return generateCodes(decoder, t5States, mask, frames, params, callbacks, GenerateTrace {});
}

Expected<at::Tensor> generateCodes(const MusicgenDecoder& decoder, const at::Tensor& t5States, const at::Tensor& mask,
    int64_t frames, const SamplingParams& params, const GenerateCallbacks& callbacks, const GenerateTrace& trace)
{
    TMK_TRY(params.validate());
    TMK_TRY(checkInputs(decoder, t5States, mask, frames));
    try {
        c10::InferenceMode guard;
        return runGeneration(decoder, t5States, mask, frames, params, callbacks, trace);
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Device, std::string("MusicGen generation failed: ") + e.what_without_backtrace() };
    } catch (const std::bad_alloc&) {
        return Error { ErrorCode::Device, "MusicGen generation ran out of memory" };
    } catch (const std::exception& e) {
        return Error { ErrorCode::Internal, std::string("MusicGen generation failed: ") + e.what() };
    }
}

} // namespace tmk
