// The data side of LM training: the world's songs with their prompts, the sentencepiece model trained on
// those prompts, the codes of every song (tokenized once with the codec and cached), prompt augmentation
// (tag dropout, genre-only prompts) and random crops of the codes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "tastemaker/error.h"

namespace tmk {

class Encodec;

namespace lmtrain {

struct WorldSong {
    std::string id;
    std::string genre; // track_genre
    std::string prompt; // prompts.csv: "Genre, tag, tag, ..."
    std::filesystem::path audio;
};

// tracks.csv (track_id, track_genre) joined with prompts.csv (track_id, prompt), in tracks.csv order; songs
// without audio/<track_id>.wav or without a prompt are skipped. Errors name the file and the problem.
Expected<std::vector<WorldSong>> readWorld(const std::filesystem::path& worldDir);

// Trains DIR/spiece.model with Debian's spm_train (unigram, T5's ids: <pad> 0, </s> 1, <unk> 2, no <s>,
// case-folding normaliser) on the prompts, their genre-only forms and each tag alone. Kept when
// DIR/spiece.model exists and DIR/corpus.txt holds the same text.
Expected<std::filesystem::path> trainSentencepiece(
    const std::vector<WorldSong>& songs, const std::filesystem::path& dir, int64_t pieces);

// The codes [N, K, T] int32 of every song (cropped or zero-padded to the shortest song's frame count), from
// `cacheFile` when it holds the same ids and codec, else encoded with `codec` (songs read at its rate) and
// saved there atomically. `workers` threads encode batches of 8 songs in parallel (the codes do not depend on
// it). `progress(done, total)` after each batch, from any worker (one at a time).
Expected<at::Tensor> tokenizeSongs(const std::vector<WorldSong>& songs, const Encodec& codec,
    const std::string& codecHash, const std::filesystem::path& cacheFile, int workers,
    const std::function<void(int64_t, int64_t)>& progress);

// For scale: the cross-entropy (nats per code, the mean over codebooks) on the `heldOut` songs of a bigram
// model of each codebook, the previous frame's code of the same codebook, counted on the `train` songs of
// `codes` [N, K, T] and smoothed towards their unigram: p(y | x) = (n(x, y) + a u(y)) / (n(x) + a) with
// u(y) = (n(y) + 1) / (n + V) and a = 0.1. A decoder whose held-out cross-entropy is no lower has learnt
// nothing beyond the last frame.
double bigramBaseline(
    const at::Tensor& codes, const std::vector<int64_t>& train, const std::vector<int64_t>& heldOut, int64_t vocab);

// The tags of a prompt: split on commas, trimmed.
std::vector<std::string> splitTags(const std::string& prompt);
// The prompt of `tags`: joined with ", " (splitTags' inverse).
std::string joinTags(const std::vector<std::string>& tags);

// The tag contrasts of train-lm --tag-contrast: tempo (slow, mid-tempo, fast), production (acoustic,
// electronic) and mood (happy and calm major, sad and dark minor). `prompt` with one of its contrast tags, chosen
// at random, swapped for an opposite (slow <-> fast, mid-tempo -> slow or fast, acoustic <-> electronic,
// happy <-> sad, calm <-> dark; matching folds case); "" when it holds none.
std::string swapContrastTag(const std::string& prompt, std::mt19937_64& random);
bool hasContrastTag(const std::string& prompt);
// `prompt` with its genre and contrast tags kept and each other tag dropped with probability `dropout`.
std::string dropOtherThanContrastTags(const std::string& prompt, double dropout, std::mt19937_64& random);

struct PromptAugment {
    double genreOnly = 0.2;
    double tagDropout = 0.25;
};
// The prompt a training sequence sees: the genre alone (track_genre) with probability genreOnly, else the
// prompt with each tag after the first dropped with probability tagDropout.
std::string augmentPrompt(const WorldSong& song, const PromptAugment& augment, std::mt19937_64& random);

// `batch` crops of `frames` frames: rows of `codes` [N, K, T] from `songs` (indices into N), uniformly, at
// uniform offsets; with probability `startShare` a crop starts at the song's first frame instead (1: always).
// Returns [batch, K, frames] int64 and the chosen song indices.
at::Tensor randomCodeCrops(const at::Tensor& codes, const std::vector<int64_t>& songs, int64_t batch, int64_t frames,
    std::mt19937_64& random, std::vector<int64_t>* chosen, double startShare = 0.0);

} // namespace lmtrain
} // namespace tmk
