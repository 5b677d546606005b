// The clip library: one folder per library, one audio file per clip plus a JSON sidecar that records
// everything needed to regenerate the clip bit for bit on the same build and device.
//
// Layout of a library folder:
//   <id>.wav    the clip: WAV, 32-bit float, mono, at the model's rate (float so that a regenerated clip
//               can be compared sample for sample and nothing is clipped; exports convert)
//   <id>.json   its sidecar (see ClipRecord; "format": "tastemaker-clip", "version": 1). The sampling
//               parameters are under "sampling" (greedy, top_k, top_p, temperature, guidance_scale), the
//               seed at the top level, as every version so far has written them.
//   .trash/     removed clips (both files), so that a removal can be undone
// Ids are "<UTC time>-<prompt slug>", e.g. "20240501-153012-123-lofi-hip-hop", and never change: rename
// changes the title in the sidecar only. Names starting with '.' are ignored (temporary files, .trash).
//
// Saving is ordered so that an interruption never leaves a clip without its sidecar or a corrupt sidecar:
// the audio and the sidecar are first written completely to hidden temporary files, then the audio is
// renamed into place, then the sidecar. A crash in between leaves at worst an orphan audio file, which
// list() reports and skips. Broken entries (orphan audio, a sidecar that does not parse, a sidecar whose
// audio is missing) are never fatal: list() skips them and problems() names each one.
//
// Identity: a model is identified by its folder name and a fingerprint of config.json, spiece.model and
// every *.safetensors file; an adapter bank by its folder name and a fingerprint of bank.json and every file
// in the adapter folders it lists. A file's fingerprint is the SHA-256 of its size and its content when it
// is at most 8 MiB, else of its size, its first 1 MiB (for safetensors: the header with every tensor's
// name, dtype, shape and offset) and 32 blocks of 64 KiB spread evenly over the file: about 3 MiB read for
// a 2.4 GB checkpoint, so saving a clip stays fast, while any retrained or re-initialised checkpoint (every
// weight changes) is told apart. It is a fingerprint, not a guarantee against a deliberate edit of a few
// bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tastemaker/adapters.h"
#include "tastemaker/error.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/sampling.h"

namespace tmk {

// A model folder or an adapter bank folder: where it was, its name and its content fingerprint.
struct ContentIdentity {
    std::string name; // the folder's name
    std::filesystem::path path; // absolute
    std::string fingerprint; // "sha256:<64 hex digits>" (see above)
    bool empty() const { return path.empty(); }
};

// The model folder's identity (config.json, spiece.model, *.safetensors); the error names the folder.
Expected<ContentIdentity> modelIdentity(const std::filesystem::path& modelDir);
// The identity of the model folder's EnCodec alone, what its codes depend on (the token cache's key,
// tastemaker/token_cache.h): the SHA-256 of config.json's "audio_encoder" section and of every audio_encoder.*
// tensor (name, dtype, shape, bytes). Models sharing a codec share it.
Expected<ContentIdentity> codecIdentity(const std::filesystem::path& modelDir);
// The adapter bank's identity (bank.json and the files of every adapter folder it lists).
Expected<ContentIdentity> bankIdentity(const std::filesystem::path& bankDir);
// The fingerprint of one file (see above).
Expected<std::string> fileFingerprint(const std::filesystem::path& path);

// "tastemaker 0.1.0; libtorch 1.13.1; gcc 12.2.0": bit-identical regeneration is promised only when the
// build that saved a clip and the one regenerating it agree (and the device and dtype do).
std::string buildIdentity();

// Everything a sidecar holds.
struct ClipRecord {
    std::string title; // shown in the library; defaults to the prompt
    std::string prompt; // this clip's prompt
    std::vector<std::string> batchPrompts; // every prompt of the generation job, in order (one clip each)
    int64_t batchIndex = 0; // this clip's item in batchPrompts
    SliderValues sliders; // non-zero sliders only matter; empty without a bank
    // Set when some of `sliders` were applied at run time (Steering::applyAtRuntime): the values merged into
    // the weights at the time. Regeneration merges these and adds the rest at run time, as the job did, so
    // the audio is bit-identical again ("sliders_merged" in the sidecar; absent for a plain merge).
    std::optional<SliderValues> mergedSliders;
    SamplingParams sampling; // seed included
    int64_t frames = 0; // audio frames (after the delay pattern is undone)
    double durationSeconds = 0.0;
    int sampleRate = 0;
    int64_t samples = 0; // samples in the audio file
    ContentIdentity model;
    ContentIdentity bank; // empty when no adapter bank was loaded
    std::string device; // "cpu", "cuda"
    std::string dtype; // "f32", "bf16", "f16"
    std::string build; // buildIdentity() of the build that generated it
    std::string createdAt; // UTC, ISO 8601 with milliseconds: "2024-05-01T15:30:12.123Z"
};

// A clip in a library folder.
struct ClipEntry {
    std::string id;
    std::filesystem::path audioPath;
    std::filesystem::path sidecarPath;
    ClipRecord record;
};

// A library entry that was skipped, and why.
struct LibraryProblem {
    std::filesystem::path path;
    std::string message; // one sentence naming the file
};

// Reads and checks a sidecar; the audio file it names is audioPath (its existence is not checked here).
Expected<ClipEntry> readSidecar(const std::filesystem::path& sidecarPath);
// The sidecar's JSON text for `record` with audio file name `audioFileName`.
std::string sidecarJson(const ClipRecord& record, const std::string& audioFileName);

// The text stored in an audio file's comment field: "Tastemaker; prompt: ...; seed: 7; sliders: energy=+0.70,
// tempo=-1.00; model: NAME".
std::string clipComment(const ClipRecord& record);

// The sidecars of a finished generation job: one per batch item. `sliders` and `bankDir` are those the
// model was steered with (empty bankDir: no bank). Computes the model and bank identities.
Expected<std::vector<ClipRecord>> clipRecordsFor(const ModelInfo& model, const GenerationRequest& request,
    const SliderValues& sliders, const std::filesystem::path& bankDir,
    const std::optional<SliderValues>& mergedSliders = std::nullopt);
// The request that regenerates a record's whole batch (its item is record.batchIndex).
GenerationRequest requestForRecord(const ClipRecord& record);

class ClipLibrary {
public:
    // Opens (creating it when missing) the library folder `dir`.
    static Expected<ClipLibrary> open(const std::filesystem::path& dir);

    const std::filesystem::path& dir() const { return m_dir; }

    // Saves a mono clip (`samples` at record.sampleRate) and its sidecar. Fills in record.samples and, when
    // empty, title (the prompt) and createdAt (now).
    Expected<ClipEntry> save(ClipRecord record, std::span<const float> samples);
    // Every readable clip, newest first. Broken entries are skipped and listed in problems().
    Expected<std::vector<ClipEntry>> list();
    const std::vector<LibraryProblem>& problems() const { return m_problems; }
    // The clip `id` (its sidecar read and its audio present).
    Expected<ClipEntry> find(const std::string& id) const;
    // Sets a clip's title (the sidecar is rewritten atomically; the id and files keep their names).
    Expected<ClipEntry> rename(const std::string& id, const std::string& title);
    // Moves a clip's two files into .trash/ (sidecar first, so the clip leaves the list at once).
    Expected<void> remove(const std::string& id);
    // Moves a removed clip back (audio first, then the sidecar).
    Expected<ClipEntry> restore(const std::string& id);
    // Deletes everything in .trash/.
    Expected<void> emptyTrash();

private:
    explicit ClipLibrary(std::filesystem::path dir)
        : m_dir(std::move(dir))
    {
    }
    std::filesystem::path m_dir;
    std::vector<LibraryProblem> m_problems;
};

// Saves every item of a finished generation job (result.audio) as a clip; see clipRecordsFor.
Expected<std::vector<ClipEntry>> saveGeneration(ClipLibrary& library, const ModelInfo& model,
    const GenerationRequest& request, const GenerationResult& result, const SliderValues& sliders,
    const std::filesystem::path& bankDir, const std::optional<SliderValues>& mergedSliders = std::nullopt);

struct RegeneratedClip {
    std::vector<float> audio; // mono, at sampleRate
    int sampleRate = 0;
    std::vector<std::string> warnings; // e.g. a different build: bit-identity is not promised
};

// Re-runs a saved clip: loads the recorded model folder with the recorded device and dtype, checks its
// fingerprint (NotFound when the folder moved, Mismatch when its content changed), loads and applies the
// recorded bank and sliders the same way, regenerates the recorded batch and returns this clip's item. On
// the same build and device the audio is bit-identical to the saved clip.
Expected<RegeneratedClip> regenerateClip(const ClipRecord& record, const GenerationCallbacks& callbacks = {});

} // namespace tmk
