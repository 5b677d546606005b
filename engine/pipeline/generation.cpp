// The generation job: prompts -> T5 -> decoder with CFG -> codes -> EnCodec -> audio.
#include <algorithm>
#include <chrono>

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/tensor.h>
#include <c10/core/InferenceMode.h>

#include "core/stopwatch.h"
#include "lm/generate.h"
#include "lm/step_pool.h"
#include "pipeline/model_access.h"
#include "training/sequence_logprob.h"
#include "training/worker_pool.h"

namespace tmk {

namespace {

// Tokenises and encodes the prompts: T5 states [B, S, Dt] and mask [B, S].
std::pair<at::Tensor, at::Tensor> encodePrompts(
    const MusicgenModel::Impl& impl, const std::vector<std::string>& prompts)
{
    TokenBatch tokens = impl.tokenizer->encodeBatch(prompts);
    auto longOptions = at::TensorOptions().dtype(at::kLong);
    at::Tensor ids
        = at::from_blob(tokens.ids.data(), { tokens.batch, tokens.length }, longOptions).clone().to(impl.device);
    at::Tensor mask
        = at::from_blob(tokens.mask.data(), { tokens.batch, tokens.length }, longOptions).clone().to(impl.device);
    return { impl.textEncoder->forward(ids, mask), mask };
}

std::vector<std::vector<float>> audioFromTensor(const at::Tensor& audio) // [B, 1, L]
{
    at::Tensor cpu = audio.to(at::kCPU, at::kFloat).contiguous();
    std::vector<std::vector<float>> signals;
    for (int64_t b = 0; b < cpu.size(0); ++b) {
        const float* data = cpu[b][0].data_ptr<float>();
        signals.emplace_back(data, data + cpu.size(2));
    }
    return signals;
}

// Threads for the CPU decoding loop's weight products (the step pool). A step that reads few weights gains nothing from
// sharing them: models/demo (30 MB a step) made a 10-s clip in 3.2 s on one thread against 5.8 s on two while the
// products were OpenMP regions (docs/performance.md). One thread per 32 MiB that a step reads, up to the
// configured count.
int decodeThreads(const MusicgenModel::Impl& impl)
{
    constexpr int64_t kStepBytesPerThread = int64_t { 32 } << 20;
    return static_cast<int>(
        std::clamp<int64_t>(impl.info.decoderStepBytes / kStepBytesPerThread, 1, at::get_num_threads()));
}

Expected<GenerationResult> runGeneration(
    const MusicgenModel::Impl& impl, const GenerationRequest& request, const GenerationCallbacks& callbacks)
{
    GenerationResult result;
    result.sampleRate = impl.info.sampleRate;
    auto start = SteadyClock::now();
    if (callbacks.onProgress) callbacks.onProgress(Progress { ProgressStage::TextEncoder, 0, 1 });
    auto [states, mask] = encodePrompts(impl, request.prompts);
    result.textSeconds = secondsSince(start);

    GenerateCallbacks lmCallbacks;
    lmCallbacks.cancel = callbacks.cancel;
    if (callbacks.onProgress)
        lmCallbacks.onStep = [&](int64_t step, int64_t total) {
            callbacks.onProgress(Progress { ProgressStage::Decoding, step, total });
        };
    if (callbacks.onFrame)
        lmCallbacks.onFrame
            = [&](int64_t frame, const std::vector<int64_t>& codes) { callbacks.onFrame(frame, codes); };
    start = SteadyClock::now();
    Expected<at::Tensor> codes = [&] {
        // On the CPU the step's products share out over the step pool, and libtorch's own small ops stay on this
        // thread: no OpenMP region, so no sleeping worker to wake, in the loop (lm/step_pool.h).
        const bool cpu = impl.device.is_cpu();
        const steppool::ScopedStepThreads products(cpu ? decodeThreads(impl) : 0);
        const ScopedIntraOpThreads threads(cpu ? 1 : at::get_num_threads());
        return generateCodes(*impl.decoder, states, mask, request.frames, request.sampling, lmCallbacks);
    }();
    if (!codes) return codes.error();
    result.decodeSeconds = secondsSince(start);
    result.codes = codesFromTensor(*codes);

    if (request.decodeAudio) {
        if (callbacks.onProgress) callbacks.onProgress(Progress { ProgressStage::AudioDecoder, 0, 1 });
        start = SteadyClock::now();
        result.audio = audioFromTensor(impl.codec->decode(codes->to(impl.device)));
        result.codecSeconds = secondsSince(start);
    }
    return result;
}

template <typename Fn> auto guardJob(const std::string& what, Fn&& fn) -> decltype(fn())
{
    try {
        c10::InferenceMode guard;
        return fn();
    } catch (const c10::Error& e) {
        return Error { ErrorCode::Internal, what + " failed: " + e.what_without_backtrace() };
    } catch (const std::bad_alloc&) {
        return Error { ErrorCode::Device, what + " failed: out of memory" };
    }
}

} // namespace

GenerationRequest GenerationRequest::defaultsFor(const ModelInfo& info)
{
    GenerationRequest request;
    request.sampling = info.sampling;
    request.frames = info.frameRate * 10;
    return request;
}

Expected<void> GenerationRequest::validate(const ModelInfo& info) const
{
    auto bad = [](const std::string& message) { return Error { ErrorCode::InvalidArgument, message }; };
    if (prompts.empty()) return bad("at least one prompt is needed (an empty prompt \"\" is allowed)");
    if (frames < 1) return bad("the duration must be at least one frame (1/" + std::to_string(info.frameRate) + " s)");
    if (frames > info.maxFrames)
        return bad("the duration " + std::to_string(frames) + " frames exceeds this model's limit of "
            + std::to_string(info.maxFrames) + " frames ("
            + std::to_string(info.maxFrames / std::max<int64_t>(1, info.frameRate)) + " s)");
    return sampling.validate();
}

Expected<GenerationResult> generate(
    const MusicgenModel& model, const GenerationRequest& request, const GenerationCallbacks& callbacks)
{
    TMK_TRY(request.validate(model.info()));
    std::shared_lock lock(weightsMutex(model));
    return guardJob("generation", [&]() { return runGeneration(modelParts(model), request, callbacks); });
}

Expected<at::Tensor> codesToTensor(const MusicgenModel::Impl& impl, const AudioCodes& codes)
{
    const int64_t expected = codes.batch * codes.codebooks * codes.frames;
    if (codes.batch < 1 || codes.frames < 1 || static_cast<int64_t>(codes.values.size()) != expected)
        return Error { ErrorCode::InvalidArgument, "codes must be a non-empty [batch, codebooks, frames] array" };
    if (codes.codebooks != impl.config.decoder.numCodebooks)
        return Error { ErrorCode::Mismatch,
            "the codes have " + std::to_string(codes.codebooks) + " codebooks but the model uses "
                + std::to_string(impl.config.decoder.numCodebooks) };
    for (int64_t value : codes.values)
        if (value < 0 || value >= impl.config.codec.codebookSize)
            return Error { ErrorCode::InvalidArgument,
                "code " + std::to_string(value) + " is outside the codebook range [0, "
                    + std::to_string(impl.config.codec.codebookSize) + ")" };
    return at::tensor(codes.values, at::TensorOptions().dtype(at::kLong))
        .view({ codes.batch, codes.codebooks, codes.frames })
        .to(impl.device);
}

AudioCodes codesFromTensor(const at::Tensor& codes)
{
    at::Tensor cpu = codes.to(at::kCPU, at::kLong).contiguous();
    AudioCodes out;
    out.batch = cpu.size(0);
    out.codebooks = cpu.size(1);
    out.frames = cpu.size(2);
    out.values.assign(cpu.data_ptr<int64_t>(), cpu.data_ptr<int64_t>() + cpu.numel());
    return out;
}

Expected<std::vector<std::vector<float>>> decodeCodes(const MusicgenModel& model, const AudioCodes& codes)
{
    return guardJob("audio decoding", [&]() -> Expected<std::vector<std::vector<float>>> {
        Expected<at::Tensor> tensor = codesToTensor(modelParts(model), codes);
        if (!tensor) return tensor.error();
        return audioFromTensor(modelParts(model).codec->decode(*tensor));
    });
}

Expected<AudioCodes> encodeAudio(const MusicgenModel& model, std::span<const float> audio)
{
    if (audio.empty()) return Error { ErrorCode::InvalidArgument, "cannot encode an empty signal" };
    return guardJob("audio encoding", [&]() -> Expected<AudioCodes> {
        const MusicgenModel::Impl& impl = modelParts(model);
        at::Tensor input
            = at::from_blob(const_cast<float*>(audio.data()), { 1, 1, static_cast<int64_t>(audio.size()) }, at::kFloat)
                  .clone()
                  .to(impl.device);
        return codesFromTensor(impl.codec->encode(input, impl.config.decoder.numCodebooks));
    });
}

Expected<std::vector<double>> codesLogLikelihood(
    const MusicgenModel& model, const std::vector<std::string>& prompts, const AudioCodes& codes)
{
    if (prompts.empty()) return std::vector<double> {};
    if (codes.batch != 1 || codes.frames < 1)
        return Error { ErrorCode::InvalidArgument,
            "codes to score must be one sequence [1, K, T] of at least a frame" };
    return guardJob("scoring codes", [&]() -> Expected<std::vector<double>> {
        const MusicgenModel::Impl& impl = modelParts(model);
        Expected<at::Tensor> tensor = codesToTensor(impl, codes);
        if (!tensor) return tensor.error();
        std::shared_lock lock(weightsMutex(model));
        const PromptStates states = encodePromptsNoGrad(*impl.tokenizer, *impl.textEncoder, prompts, impl.device);
        const int64_t n = static_cast<int64_t>(prompts.size());
        const at::Tensor sums = sequenceLogProbs(*impl.decoder, states, tensor->expand({ n, -1, -1 }).contiguous())
                                    .to(at::kCPU, at::kDouble)
                                    .contiguous();
        return std::vector<double>(sums.data_ptr<double>(), sums.data_ptr<double>() + n);
    });
}

} // namespace tmk
