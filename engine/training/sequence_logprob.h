// The log-probability of known code sequences under the MusicGen decoder (teacher forcing, autograd on):
// for codes [B, K, T] the sum over every codebook k and frame t of log p(codes[b][k][t] | earlier tokens
// under the delay pattern, the prompt's T5 states). Frames holding the pad id (padTokenId) are padding:
// a shorter sequence in a batch is right-padded with it, and its padded frames count nothing.
#pragma once

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lm/decoder.h"
#include "text/t5_encoder.h"
#include "text/tokenizer.h"

namespace tmk {

struct PromptStates {
    at::Tensor states; // [B, S, Dt], T5's last hidden state (no grad)
    at::Tensor mask; // [B, S] int64
};

struct PromptTokens {
    at::Tensor ids; // [B, S] int64
    at::Tensor mask; // [B, S] int64
};
// T5 token ids of `prompts`, right-padded, and their mask, on `device`.
PromptTokens tokenizePrompts(
    const T5Tokenizer& tokenizer, const std::vector<std::string>& prompts, const at::Device& device);

// Tokenises and encodes `prompts` with the frozen text encoder (under no-grad), on `device`.
PromptStates encodePromptsNoGrad(const T5Tokenizer& tokenizer, const T5Encoder& encoder,
    const std::vector<std::string>& prompts, const at::Device& device);

// Teacher forcing: the log-probability of every code under the decoder, for `encoderStates` [B, S, H] already
// projected (projectEncoder) with their `mask` [B, S], and codes [B, K, T]. `logProbs` [B*K, T + K - 1] float32
// (row b*K + k), 0 where `valid` is false (the delay pattern's pad positions and padded frames).
// `inputCodes` [B, K, T], when defined, is what the decoder reads instead of `codes` (for example codes with some
// entries replaced by the pad id); the targets are always `codes`.
struct TokenLogProbs {
    at::Tensor logProbs;
    at::Tensor valid; // bool, same shape
};
TokenLogProbs teacherForcedLogProbs(const MusicgenDecoder& decoder, const at::Tensor& encoderStates,
    const at::Tensor& mask, const at::Tensor& codes, const at::Tensor& inputCodes = {});

// codes [B, K, T] int64 (values < V, or the pad id for padding) -> [B] float32 log-prob sums, differentiable
// through whatever the decoder's weights and LoRA hook require. The prompt states go through
// enc_to_dec_proj (and its LoRA, when targeted) inside. `codebookWeights` (one per codebook), when given,
// weights each codebook's sum; empty: every code counts once.
at::Tensor sequenceLogProbs(const MusicgenDecoder& decoder, const PromptStates& prompts, const at::Tensor& codes,
    const std::vector<double>& codebookWeights = {});

// Codebook weights (checkCodebookWeights) as a float32 [K] tensor on the CPU; undefined when empty.
at::Tensor codebookWeightTensor(const std::vector<double>& weights);

// Codes of several songs [1, K, T_i] (T_i may differ) -> [N, K, max T_i], right-padded with `padId`.
at::Tensor padCodes(const std::vector<at::Tensor>& codes, int64_t padId);

} // namespace tmk
