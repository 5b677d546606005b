#include "training/sequence_logprob.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/full.h>
#include <ATen/ops/log_softmax.h>

#include "lm/delay_pattern.h"

namespace tmk {

PromptTokens tokenizePrompts(
    const T5Tokenizer& tokenizer, const std::vector<std::string>& prompts, const at::Device& device)
{
    TokenBatch tokens = tokenizer.encodeBatch(prompts);
    const auto longOptions = at::TensorOptions().dtype(at::kLong);
    return { at::from_blob(tokens.ids.data(), { tokens.batch, tokens.length }, longOptions).clone().to(device),
        at::from_blob(tokens.mask.data(), { tokens.batch, tokens.length }, longOptions).clone().to(device) };
}

PromptStates encodePromptsNoGrad(const T5Tokenizer& tokenizer, const T5Encoder& encoder,
    const std::vector<std::string>& prompts, const at::Device& device)
{
    at::NoGradGuard noGrad;
    const PromptTokens tokens = tokenizePrompts(tokenizer, prompts, device);
    // clone: a normal tensor, not an inference one
    return PromptStates { encoder.forward(tokens.ids, tokens.mask).clone(), tokens.mask };
}

TokenLogProbs teacherForcedLogProbs(const MusicgenDecoder& decoder, const at::Tensor& encoderStates,
    const at::Tensor& mask, const at::Tensor& codes, const at::Tensor& inputCodes)
{
    const int64_t pad = decoder.config().padTokenId;
    Expected<DecoderState> state = decoder.newState(encoderStates, mask, 0);
    TORCH_CHECK(state.ok(), state.ok() ? "" : state.error().message);
    at::Tensor ids = delayCodesForTeacherForcing(codes.to(decoder.device(), at::kLong), pad); // [B*K, T + K]
    const int64_t length = ids.size(1) - 1;
    at::Tensor inputs = inputCodes.defined() // [B*K, L]
        ? delayCodesForTeacherForcing(inputCodes.to(decoder.device(), at::kLong), pad).narrow(1, 0, length)
        : ids.narrow(1, 0, length);
    at::Tensor targets = ids.narrow(1, 1, length); // [B*K, L]: position s predicts token s + 1
    at::Tensor logits = decoder.forward(inputs, *state); // [B*K, L, V]
    at::Tensor logProbs = at::log_softmax(logits.to(at::kFloat), -1); // [B*K, L, V]
    at::Tensor valid = targets.ne(pad); // [B*K, L]
    at::Tensor picked = logProbs.gather(-1, targets.masked_fill(~valid, 0).unsqueeze(-1)).squeeze(-1); // [B*K, L]
    return { picked.masked_fill(~valid, 0.0), valid };
}

at::Tensor sequenceLogProbs(const MusicgenDecoder& decoder, const PromptStates& prompts, const at::Tensor& codes,
    const std::vector<double>& codebookWeights)
{
    const DecoderConfig& config = decoder.config();
    TORCH_CHECK(codes.dim() == 3 && codes.size(1) == config.numCodebooks && codes.size(0) == prompts.states.size(0),
        "sequenceLogProbs: codes must be [B, K, T] with B = ", prompts.states.size(0), " and K = ", config.numCodebooks,
        ", got ", codes.sizes());
    const int64_t batch = codes.size(0), k = config.numCodebooks;
    at::Tensor encoderStates = decoder.projectEncoder(prompts.states, prompts.mask); // [B, S, H]
    const TokenLogProbs tokens = teacherForcedLogProbs(decoder, encoderStates, prompts.mask, codes);
    at::Tensor perCodebook = tokens.logProbs.sum(1).view({ batch, k }); // [B, K]
    if (codebookWeights.empty()) return perCodebook.sum(1); // [B]
    TORCH_CHECK(static_cast<int64_t>(codebookWeights.size()) == k, "sequenceLogProbs: ", codebookWeights.size(),
        " codebook weights for ", k, " codebooks");
    return (perCodebook * codebookWeightTensor(codebookWeights).to(perCodebook.device())).sum(1); // [B]
}

at::Tensor codebookWeightTensor(const std::vector<double>& weights)
{
    if (weights.empty()) return {};
    at::Tensor out = at::empty({ static_cast<int64_t>(weights.size()) }, at::kFloat);
    for (size_t k = 0; k < weights.size(); ++k) out.data_ptr<float>()[k] = static_cast<float>(weights[k]);
    return out;
}

at::Tensor padCodes(const std::vector<at::Tensor>& codes, int64_t padId)
{
    TORCH_CHECK(!codes.empty(), "padCodes: no codes");
    int64_t frames = 0;
    for (const at::Tensor& c : codes) frames = std::max(frames, c.size(2));
    const int64_t k = codes.front().size(1);
    at::Tensor out = at::full({ static_cast<int64_t>(codes.size()), k, frames }, padId, at::kLong); // [N, K, T]
    for (size_t i = 0; i < codes.size(); ++i)
        out.select(0, static_cast<int64_t>(i)).narrow(1, 0, codes[i].size(2)).copy_(codes[i].select(0, 0));
    return out;
}

} // namespace tmk
