// The clip library: sidecars round trip, save/list/rename/remove/restore, broken entries reported and
// skipped, interrupted saves leave no half clip, fingerprints, and regeneration from a sidecar giving
// bit-identical audio on the fixture model (sampling, fixed seed), with and without the fixture adapter bank.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <gtest/gtest.h>
#include <optional>
#include <thread>

#include "core/test_hooks.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/clip_library.h"
#include "tastemaker/fileio.h"
#include "tastemaker/steering.h"
#include "testsupport.h"

namespace tmk {
namespace {

namespace fs = std::filesystem;

fs::path modelDir()
{
    return test::dataDir() / "musicgen-tiny-public";
}
fs::path bankDir()
{
    return test::dataDir() / "adapters-tiny-public" / "bank";
}

ClipRecord sampleRecord(const std::string& prompt)
{
    ClipRecord record;
    record.prompt = prompt;
    record.batchPrompts = { "first prompt", prompt };
    record.batchIndex = 1;
    record.sliders = { { "energy", 0.7 }, { "tempo", -1.0 / 3.0 } };
    record.sampling.seed = (1ull << 63) + 5; // beyond double precision: must survive JSON exactly
    record.sampling.topK = 50;
    record.sampling.topP = 0.9;
    record.sampling.temperature = 0.8;
    record.sampling.guidanceScale = 3.0;
    record.frames = 25;
    record.durationSeconds = 0.5;
    record.sampleRate = 32000;
    record.model = { "musicgen-tiny-public", "/models/musicgen-tiny-public", "sha256:00" };
    record.bank = { "bank", "/banks/bank", "sha256:11" };
    record.device = "cpu";
    record.dtype = "f32";
    record.build = buildIdentity();
    return record;
}

std::vector<float> tone(size_t samples, float scale = 0.25f)
{
    std::vector<float> audio(samples);
    for (size_t i = 0; i < samples; ++i) audio[i] = scale * static_cast<float>(std::sin(0.01 * static_cast<double>(i)));
    return audio;
}

std::vector<std::string> namesIn(const fs::path& dir)
{
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

void expectSameRecord(const ClipRecord& a, const ClipRecord& b)
{
    EXPECT_EQ(a.title, b.title);
    EXPECT_EQ(a.prompt, b.prompt);
    EXPECT_EQ(a.batchPrompts, b.batchPrompts);
    EXPECT_EQ(a.batchIndex, b.batchIndex);
    EXPECT_EQ(a.sliders, b.sliders);
    EXPECT_EQ(a.sampling.seed, b.sampling.seed);
    EXPECT_EQ(a.sampling.greedy, b.sampling.greedy);
    EXPECT_EQ(a.sampling.topK, b.sampling.topK);
    EXPECT_EQ(a.sampling.topP, b.sampling.topP);
    EXPECT_EQ(a.sampling.temperature, b.sampling.temperature);
    EXPECT_EQ(a.sampling.guidanceScale, b.sampling.guidanceScale);
    EXPECT_EQ(a.frames, b.frames);
    EXPECT_EQ(a.durationSeconds, b.durationSeconds);
    EXPECT_EQ(a.sampleRate, b.sampleRate);
    EXPECT_EQ(a.samples, b.samples);
    EXPECT_EQ(a.model.name, b.model.name);
    EXPECT_EQ(a.model.path, b.model.path);
    EXPECT_EQ(a.model.fingerprint, b.model.fingerprint);
    EXPECT_EQ(a.bank.path, b.bank.path);
    EXPECT_EQ(a.bank.fingerprint, b.bank.fingerprint);
    EXPECT_EQ(a.device, b.device);
    EXPECT_EQ(a.dtype, b.dtype);
    EXPECT_EQ(a.build, b.build);
    EXPECT_EQ(a.createdAt, b.createdAt);
}

TEST(ClipLibrary, SaveWritesAFloatWavAndASidecarThatRoundTrips)
{
    const fs::path dir = test::freshOutDir("clips_save");
    auto library = ClipLibrary::open(dir / "lib");
    ASSERT_TRUE(library.ok()) << library.error().message;
    const std::vector<float> audio = tone(16000);
    auto entry = library->save(sampleRecord("Lo-fi hip hop, soft piano!"), audio);
    ASSERT_TRUE(entry.ok()) << entry.error().message;
    EXPECT_TRUE(entry->id.ends_with("-lo-fi-hip-hop-soft-piano")) << entry->id;
    EXPECT_EQ(entry->record.title, "Lo-fi hip hop, soft piano!");
    EXPECT_EQ(entry->record.samples, 16000);
    EXPECT_EQ(namesIn(dir / "lib"), (std::vector<std::string> { entry->id + ".json", entry->id + ".wav" }))
        << "no temporary files";

    Expected<AudioBuffer> back = readAudioFile(entry->audioPath);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->samples, audio) << "the library keeps float32 samples exactly";
    EXPECT_EQ(back->sampleRate, 32000);
    EXPECT_NE(back->comment.find("prompt: Lo-fi hip hop, soft piano!"), std::string::npos) << back->comment;
    EXPECT_NE(back->comment.find("seed: 9223372036854775813"), std::string::npos) << back->comment;
    EXPECT_NE(back->comment.find("energy=+0.70"), std::string::npos) << back->comment;

    Expected<ClipEntry> read = readSidecar(entry->sidecarPath);
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ(read->id, entry->id);
    EXPECT_EQ(read->audioPath, entry->audioPath);
    expectSameRecord(read->record, entry->record);
}

TEST(ClipLibrary, ListIsNewestFirstAndRenameRemoveRestoreWork)
{
    const fs::path dir = test::freshOutDir("clips_list");
    auto library = ClipLibrary::open(dir);
    ASSERT_TRUE(library.ok());
    std::vector<std::string> ids;
    for (const char* prompt : { "one", "two", "three" }) {
        ClipRecord record = sampleRecord(prompt);
        record.batchPrompts = { prompt };
        record.batchIndex = 0;
        auto entry = library->save(record, tone(400));
        ASSERT_TRUE(entry.ok()) << entry.error().message;
        ids.push_back(entry->id);
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    auto listed = library->list();
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 3u);
    EXPECT_EQ((*listed)[0].id, ids[2]);
    EXPECT_EQ((*listed)[2].id, ids[0]);
    EXPECT_TRUE(library->problems().empty());

    auto renamed = library->rename(ids[0], "My favourite");
    ASSERT_TRUE(renamed.ok()) << renamed.error().message;
    EXPECT_EQ(library->find(ids[0])->record.title, "My favourite");
    EXPECT_EQ(library->find(ids[0])->record.prompt, "one");

    ASSERT_TRUE(library->remove(ids[1]).ok());
    EXPECT_EQ(library->list()->size(), 2u);
    EXPECT_TRUE(library->problems().empty()) << "the trash is not part of the library";
    EXPECT_FALSE(library->find(ids[1]).ok());
    auto restored = library->restore(ids[1]);
    ASSERT_TRUE(restored.ok()) << restored.error().message;
    EXPECT_EQ(restored->record.prompt, "two");
    EXPECT_EQ(library->list()->size(), 3u);

    ASSERT_TRUE(library->remove(ids[2]).ok());
    ASSERT_TRUE(library->emptyTrash().ok());
    EXPECT_FALSE(library->restore(ids[2]).ok());
    EXPECT_EQ(library->remove("no-such-clip").error().code, ErrorCode::NotFound);
    EXPECT_EQ(library->remove("../escape").error().code, ErrorCode::InvalidArgument);
}

TEST(ClipLibrary, BrokenEntriesAreReportedAndSkipped)
{
    const fs::path dir = test::freshOutDir("clips_broken");
    auto library = ClipLibrary::open(dir);
    ASSERT_TRUE(library.ok());
    auto good = library->save(sampleRecord("good"), tone(400));
    auto orphanSource = library->save(sampleRecord("orphan"), tone(400));
    auto corrupt = library->save(sampleRecord("corrupt"), tone(400));
    auto noAudio = library->save(sampleRecord("no audio"), tone(400));
    ASSERT_TRUE(good.ok() && orphanSource.ok() && corrupt.ok() && noAudio.ok());
    fs::remove(orphanSource->sidecarPath); // audio without its sidecar
    ASSERT_TRUE(
        writeFileAtomic(corrupt->sidecarPath, std::string_view("{\"format\": \"tastemaker-clip\", \"vers")).ok());
    fs::remove(noAudio->audioPath); // sidecar without its audio
    ASSERT_TRUE(writeFileAtomic(dir / "notes.json", std::string_view("[1, 2]")).ok()); // not a sidecar

    auto listed = library->list();
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ((*listed)[0].id, good->id);
    const auto& problems = library->problems();
    ASSERT_EQ(problems.size(), 4u);
    auto problemFor = [&](const fs::path& path) -> std::string {
        for (const LibraryProblem& p : problems)
            if (p.path == path) return p.message;
        return "<none>";
    };
    EXPECT_NE(problemFor(orphanSource->audioPath).find("has no sidecar"), std::string::npos)
        << problemFor(orphanSource->audioPath);
    EXPECT_NE(problemFor(corrupt->sidecarPath).find("not valid JSON"), std::string::npos)
        << problemFor(corrupt->sidecarPath);
    EXPECT_NE(problemFor(noAudio->sidecarPath).find("is missing"), std::string::npos)
        << problemFor(noAudio->sidecarPath);
    EXPECT_NE(problemFor(dir / "notes.json").find("not a clip sidecar"), std::string::npos);
    for (const LibraryProblem& p : problems)
        EXPECT_NE(p.message.find(p.path.filename().string()), std::string::npos) << p.message;
}

TEST(ClipLibrary, AnInterruptedSaveLeavesNoHalfClip)
{
    const fs::path dir = test::freshOutDir("clips_interrupted");
    auto library = ClipLibrary::open(dir);
    ASSERT_TRUE(library.ok());
    // The audio (44-byte header + 400 bytes + PEAK chunk) fits; the sidecar (~1 KB) does not.
    for (long long failAfter : { 10LL, 700LL }) {
        SCOPED_TRACE(failAfter);
        setSimulatedWriteFailureAfterBytes(failAfter);
        auto saved = library->save(sampleRecord("interrupted"), tone(100));
        setSimulatedWriteFailureAfterBytes(-1);
        ASSERT_FALSE(saved.ok());
        EXPECT_EQ(saved.error().code, ErrorCode::Io);
        EXPECT_NE(saved.error().message.find(failAfter < 100 ? ".wav" : ".json"), std::string::npos)
            << saved.error().message;
        EXPECT_NE(saved.error().message.find("No space left"), std::string::npos) << saved.error().message;
        EXPECT_TRUE(namesIn(dir).empty()) << "neither a clip, nor a sidecar, nor a temporary file is left";
    }
    EXPECT_TRUE(library->save(sampleRecord("after"), tone(100)).ok());
}

TEST(ClipLibrary, SidecarsAreCheckedWhenRead)
{
    const fs::path dir = test::freshOutDir("clips_sidecar_errors");
    auto write = [&](const std::string& name, const std::string& text) {
        EXPECT_TRUE(writeFileAtomic(dir / name, std::string_view(text)).ok());
        return dir / name;
    };
    std::string valid = sidecarJson(sampleRecord("x"), "x.wav");
    auto future = readSidecar(
        write("future.json", std::string(valid).replace(valid.find("\"version\": 1"), 12, "\"version\": 2")));
    ASSERT_FALSE(future.ok());
    EXPECT_EQ(future.error().code, ErrorCode::Unsupported);
    auto escape
        = readSidecar(write("escape.json", std::string(valid).replace(valid.find("\"x.wav\""), 7, "\"../x.wav\"")));
    ASSERT_FALSE(escape.ok());
    EXPECT_NE(escape.error().message.find("outside"), std::string::npos);
    auto noSeed = readSidecar(write("noseed.json", std::string(valid).replace(valid.find("\"seed\""), 6, "\"sead\"")));
    ASSERT_FALSE(noSeed.ok());
    EXPECT_NE(noSeed.error().message.find("seed"), std::string::npos);
    EXPECT_NE(noSeed.error().message.find("noseed.json"), std::string::npos);
    EXPECT_EQ(readSidecar(dir / "missing.json").error().code, ErrorCode::NotFound);
}

// A sidecar exactly as Tastemaker 0.1 wrote it (before SamplingParams: seed at the top level, the other
// sampling fields under "sampling", top_k 0 as ClipRecord's old default) loads with every value kept.
TEST(ClipLibrary, SidecarsWrittenByEarlierVersionsStillLoad)
{
    const fs::path dir = test::freshOutDir("clips_old_sidecar");
    const std::string old = R"({
  "format": "tastemaker-clip",
  "version": 1,
  "audio": "20240501-153012-123-lofi.wav",
  "title": "my lofi",
  "prompt": "lofi",
  "batch": {
    "prompts": ["rock", "lofi"],
    "index": 1
  },
  "sliders": {
    "energy": 0.7
  },
  "seed": 9223372036854775813,
  "sampling": {
    "greedy": false,
    "top_k": 0,
    "top_p": 0.9,
    "temperature": 0.8,
    "guidance_scale": 2.5
  },
  "frames": 25,
  "duration_seconds": 0.5,
  "sample_rate": 32000,
  "samples": 16000,
  "audio_format": "wav float32 mono",
  "model": {
    "name": "musicgen-small",
    "path": "/models/musicgen-small",
    "fingerprint": "sha256:aaaa"
  },
  "adapter_bank": null,
  "device": "cpu",
  "dtype": "f32",
  "build": "tastemaker 0.1.0; libtorch 1.13.1; gcc 12.2.0",
  "created_at": "2024-05-01T15:30:12.123Z"
}
)";
    ASSERT_TRUE(writeFileAtomic(dir / "20240501-153012-123-lofi.json", std::string_view(old)).ok());
    auto entry = readSidecar(dir / "20240501-153012-123-lofi.json");
    ASSERT_TRUE(entry.ok()) << entry.error().message;
    const ClipRecord& record = entry->record;
    EXPECT_EQ(entry->id, "20240501-153012-123-lofi");
    EXPECT_EQ(record.title, "my lofi");
    EXPECT_EQ(record.batchPrompts, (std::vector<std::string> { "rock", "lofi" }));
    EXPECT_EQ(record.batchIndex, 1);
    EXPECT_EQ(record.sliders.at("energy"), 0.7);
    SamplingParams sampling;
    sampling.greedy = false;
    sampling.topK = 0; // kept: not the 250 default
    sampling.topP = 0.9;
    sampling.temperature = 0.8;
    sampling.guidanceScale = 2.5;
    sampling.seed = (1ull << 63) + 5;
    EXPECT_EQ(record.sampling, sampling) << record.sampling.toString();
    EXPECT_EQ(record.frames, 25);
    EXPECT_EQ(record.samples, 16000);
    EXPECT_EQ(record.model.name, "musicgen-small");
    EXPECT_TRUE(record.bank.empty());
    // And the request that regenerates it carries the same sampling.
    EXPECT_EQ(requestForRecord(record).sampling, sampling);
    // Written again, it reads back the same.
    const std::string rewritten = sidecarJson(record, "20240501-153012-123-lofi.wav");
    ASSERT_TRUE(writeFileAtomic(dir / "again.json", std::string_view(rewritten)).ok());
    auto again = readSidecar(dir / "again.json");
    ASSERT_TRUE(again.ok()) << again.error().message;
    expectSameRecord(record, again->record);
}

TEST(ClipIdentity, FingerprintsAreSha256OfSizeAndContent)
{
    const fs::path dir = test::freshOutDir("clips_fingerprint");
    ASSERT_TRUE(writeFileAtomic(dir / "abc", std::string_view("abc")).ok());
    EXPECT_EQ(fileFingerprint(dir / "abc").value(),
        "sha256:d87e32dd8ef43828e9b5622d5d2ebdc9ff59bebe6e50d19d9dd507e43e4c09e6");
    ASSERT_TRUE(writeFileAtomic(dir / "empty", std::string_view("")).ok());
    EXPECT_EQ(fileFingerprint(dir / "empty").value(),
        "sha256:1115f5f67a7df625ec6d577f055145c3c0729f90554036375d5ffb13d08d360f");

    // A large file: sampled, but any change in the header or a sampled block shows.
    std::string big(9u << 20, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 24);
    ASSERT_TRUE(writeFileAtomic(dir / "big", std::string_view(big)).ok());
    const std::string print = fileFingerprint(dir / "big").value();
    big[100] ^= 1;
    ASSERT_TRUE(writeFileAtomic(dir / "big", std::string_view(big)).ok());
    EXPECT_NE(fileFingerprint(dir / "big").value(), print);
    big[100] ^= 1;
    big[big.size() - 1] ^= 1;
    ASSERT_TRUE(writeFileAtomic(dir / "big", std::string_view(big)).ok());
    EXPECT_NE(fileFingerprint(dir / "big").value(), print);
    EXPECT_EQ(fileFingerprint(dir / "nothing").error().code, ErrorCode::NotFound);
}

TEST(ClipIdentity, ModelAndBankIdentitiesFollowContentNotLocation)
{
    const fs::path dir = test::freshOutDir("clips_identity");
    auto model = modelIdentity(modelDir());
    ASSERT_TRUE(model.ok()) << model.error().message;
    EXPECT_EQ(model->name, "musicgen-tiny-public");
    EXPECT_TRUE(model->path.is_absolute());
    EXPECT_TRUE(model->fingerprint.starts_with("sha256:"));
    fs::copy(modelDir(), dir / "copy", fs::copy_options::recursive);
    auto copy = modelIdentity(dir / "copy");
    ASSERT_TRUE(copy.ok());
    EXPECT_EQ(copy->fingerprint, model->fingerprint);
    EXPECT_EQ(copy->name, "copy");
    std::ofstream(dir / "copy" / "config.json", std::ios::app) << "\n";
    EXPECT_NE(modelIdentity(dir / "copy")->fingerprint, model->fingerprint);
    EXPECT_EQ(modelIdentity(dir / "nowhere").error().code, ErrorCode::NotFound);

    auto bank = bankIdentity(bankDir());
    ASSERT_TRUE(bank.ok()) << bank.error().message;
    EXPECT_EQ(bank->name, "bank");
    EXPECT_EQ(bankIdentity(bankDir())->fingerprint, bank->fingerprint);
    EXPECT_FALSE(bankIdentity(dir).ok()) << "no bank.json";
}

// Generates with `sliders` (and the fixture bank when any), saves to a library, regenerates from the
// sidecar and expects the very same float32 samples. With `merged`, those values are merged first and
// `sliders` reached at run time (Steering::applyAtRuntime), and the sidecar records the merged part.
void expectBitIdenticalRegeneration(const std::string& name, const SliderValues& sliders, bool useBank,
    const std::optional<SliderValues>& merged = std::nullopt)
{
    const fs::path dir = test::freshOutDir(name);
    auto model = MusicgenModel::load(modelDir(), ModelOptions {});
    ASSERT_TRUE(model.ok()) << model.error().message;
    std::unique_ptr<Steering> steering;
    if (useBank) {
        auto loaded = Steering::load(*model, bankDir(), loadMetrics().value());
        ASSERT_TRUE(loaded.ok()) << loaded.error().message;
        steering = std::move(*loaded);
        ASSERT_TRUE(steering->apply(merged.value_or(sliders)).ok());
        if (merged) {
            ASSERT_TRUE(steering->applyAtRuntime(sliders).ok());
            ASSERT_GT(steering->runtimeAdapters(), 0);
            EXPECT_EQ(steering->merged(), *merged);
        }
    }
    GenerationRequest request = GenerationRequest::defaultsFor((*model)->info());
    request.prompts = { "Classic Rock, Electric guitar, keyboard, drums", "lofi hip hop with soft piano" };
    request.frames = 20;
    request.sampling.greedy = false;
    request.sampling.topK = 50;
    request.sampling.temperature = 1.0;
    request.sampling.guidanceScale = 3.0;
    request.sampling.seed = 1234;
    auto result = generate(**model, request);
    ASSERT_TRUE(result.ok()) << result.error().message;
    ASSERT_NE(result->audio[0], result->audio[1]);

    auto library = ClipLibrary::open(dir);
    ASSERT_TRUE(library.ok());
    auto entries = saveGeneration(
        *library, (*model)->info(), request, *result, sliders, useBank ? bankDir() : fs::path(), merged);
    ASSERT_TRUE(entries.ok()) << entries.error().message;
    ASSERT_EQ(entries->size(), 2u);
    steering.reset();
    model->reset();
    for (size_t i = 0; i < 2; ++i) {
        Expected<ClipEntry> entry = readSidecar((*entries)[i].sidecarPath);
        ASSERT_TRUE(entry.ok()) << entry.error().message;
        EXPECT_EQ(entry->record.prompt, request.prompts[i]);
        EXPECT_EQ(entry->record.sliders, sliders);
        EXPECT_EQ(entry->record.mergedSliders, merged);
        EXPECT_EQ(entry->record.bank.empty(), !useBank);
        auto again = regenerateClip(entry->record);
        ASSERT_TRUE(again.ok()) << again.error().message;
        EXPECT_TRUE(again->warnings.empty());
        EXPECT_EQ(again->audio, result->audio[i]) << "regeneration is bit-identical to the generation";
        EXPECT_EQ(again->audio, readAudioFile(entry->audioPath)->samples) << "and to the saved clip";
    }
    // The comparison is sharp: another seed, or other sliders, give other audio.
    ClipRecord changed = readSidecar((*entries)[0].sidecarPath)->record;
    changed.sampling.seed += 1;
    EXPECT_NE(regenerateClip(changed)->audio, result->audio[0]);
    if (useBank) {
        changed.sampling.seed -= 1;
        changed.sliders.clear();
        EXPECT_NE(regenerateClip(changed)->audio, result->audio[0]);
    }
}

TEST(ClipRegeneration, SampledClipRegeneratesBitIdentically)
{
    expectBitIdenticalRegeneration("clips_regen_plain", {}, false);
}

TEST(ClipRegeneration, SteeredClipRegeneratesBitIdentically)
{
    expectBitIdenticalRegeneration("clips_regen_steered", { { "energy", 0.7 }, { "popularity", -1.25 } }, true);
}

// Sliders moved at run time on top of a merge (the app's drag path): the sidecar records the merged part and
// regeneration takes the same two steps, so the audio is bit-identical again.
TEST(ClipRegeneration, RuntimeSteeredClipRegeneratesBitIdentically)
{
    expectBitIdenticalRegeneration("clips_regen_runtime", { { "energy", 0.7 }, { "popularity", -1.25 } }, true,
        SliderValues { { "energy", 0.2 }, { "tempo", 0.5 } });
}

TEST(ClipRegeneration, MovedOrChangedModelIsAClearError)
{
    const fs::path dir = test::freshOutDir("clips_regen_moved");
    fs::copy(modelDir(), dir / "model", fs::copy_options::recursive);
    auto model = MusicgenModel::load(dir / "model", ModelOptions {});
    ASSERT_TRUE(model.ok());
    GenerationRequest request = GenerationRequest::defaultsFor((*model)->info());
    request.prompts = { "x" };
    request.frames = 5;
    auto records = clipRecordsFor((*model)->info(), request, {}, {});
    ASSERT_TRUE(records.ok()) << records.error().message;
    auto withSliders = clipRecordsFor((*model)->info(), request, { { "energy", 1.0 } }, {});
    ASSERT_FALSE(withSliders.ok()) << "sliders need a bank";
    EXPECT_NE(withSliders.error().message.find("bank"), std::string::npos);
    model->reset();

    fs::rename(dir / "model", dir / "moved");
    auto moved = regenerateClip((*records)[0]);
    ASSERT_FALSE(moved.ok());
    EXPECT_EQ(moved.error().code, ErrorCode::NotFound);
    EXPECT_NE(moved.error().message.find((dir / "model").string()), std::string::npos) << moved.error().message;
    EXPECT_NE(moved.error().message.find("moved"), std::string::npos) << moved.error().message;

    fs::rename(dir / "moved", dir / "model");
    std::ofstream(dir / "model" / "config.json", std::ios::app) << "\n";
    auto changed = regenerateClip((*records)[0]);
    ASSERT_FALSE(changed.ok());
    EXPECT_EQ(changed.error().code, ErrorCode::Mismatch);
    EXPECT_NE(changed.error().message.find("changed"), std::string::npos) << changed.error().message;
}

} // namespace
} // namespace tmk
