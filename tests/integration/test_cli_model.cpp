// The CLI contract of generate / encode / decode / make-model on the fixture folder, as other tools use it.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <gtest/gtest.h>

#include "process.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/fileio.h"
#include "tastemaker/tensorio.h"
#include "testsupport.h"

namespace fs = std::filesystem;
using namespace tmk;
using test::runProcess;

namespace {

std::string cli()
{
    return test::cliPath().string();
}
std::string fixture()
{
    return (test::dataDir() / "musicgen-tiny-public").string();
}

template <typename T> std::vector<T> caseTensor(const std::string& caseName, const std::string& tensor)
{
    return test::tensorValues<T>(fs::path(fixture()) / "cases" / (caseName + ".safetensors"), tensor);
}

std::vector<int64_t> npyCodes(const fs::path& path, std::vector<int64_t>* shape)
{
    auto array = readNpy(path);
    EXPECT_TRUE(array) << (array ? "" : array.error().message);
    if (!array) return {};
    *shape = array->shape;
    auto values = array->as<int64_t>();
    return { values.begin(), values.end() };
}

} // namespace

TEST(CliModel, GenerateWritesCodesAndOneWavPerPrompt)
{
    fs::path out = test::freshOutDir("cli_generate");
    auto result = runProcess(cli(),
        { "generate", "--model", fixture(), "--prompt", "Classic Rock, Electric guitar, keyboard, drums", "--prompt",
            "lofi hip hop with soft piano", "--frames", "17", "--greedy", "--cfg", "3", "--codes-out",
            (out / "codes.npy").string(), "--out", (out / "clip.wav").string(), "--sample-format", "f32" });
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::vector<int64_t> shape;
    EXPECT_EQ(npyCodes(out / "codes.npy", &shape), caseTensor<int64_t>("generate_greedy", "audio_codes"));
    EXPECT_EQ(shape, (std::vector<int64_t> { 2, 4, 17 }));
    EXPECT_FALSE(fs::exists(out / "clip.wav"));
    std::vector<float> expected = caseTensor<float>("generate_greedy", "audio_values");
    for (int b = 0; b < 2; ++b) {
        auto audio = readAudioFile(out / ("clip-" + std::to_string(b) + ".wav"));
        ASSERT_TRUE(audio) << audio.error().message;
        EXPECT_EQ(audio->sampleRate, 32000);
        ASSERT_EQ(audio->samples.size(), 10880u);
        for (size_t i = 0; i < 10880; ++i)
            ASSERT_NEAR(audio->samples[i], expected[b * 10880 + i], 1e-4 + 1e-3 * std::abs(expected[b * 10880 + i]));
    }
}

TEST(CliModel, DurationCountsFramesAfterTheDelay)
{
    fs::path out = test::freshOutDir("cli_duration");
    auto result = runProcess(cli(),
        { "generate", "--model", fixture(), "--prompt", "ambient", "--duration", "0.2", "--seed", "5", "--top-k", "10",
            "--temperature", "0.9", "--codes-out", (out / "c.npy").string(), "--out", (out / "one.wav").string() });
    ASSERT_EQ(result.exitCode, 0) << result.err;
    std::vector<int64_t> shape;
    npyCodes(out / "c.npy", &shape);
    EXPECT_EQ(shape, (std::vector<int64_t> { 1, 4, 10 }));
    auto audio = readAudioFile(out / "one.wav");
    ASSERT_TRUE(audio);
    EXPECT_EQ(audio->frames(), 10 * 640);
}

TEST(CliModel, DecodeAndEncodeRoundTrip)
{
    fs::path out = test::freshOutDir("cli_codec");
    // decode: the fixture's encodec_decode codes -> audio
    std::vector<int64_t> codes = caseTensor<int64_t>("encodec_decode", "audio_codes");
    ASSERT_TRUE(writeNpy(out / "codes.npy", DType::I64, { 2, 4, 10 }, std::as_bytes(std::span(codes))));
    auto decoded = runProcess(cli(),
        { "decode", "--model", fixture(), "--codes", (out / "codes.npy").string(), "--out", (out / "dec.wav").string(),
            "--sample-format", "f32" });
    ASSERT_EQ(decoded.exitCode, 0) << decoded.err;
    std::vector<float> expected = caseTensor<float>("encodec_decode", "audio_values");
    auto second = readAudioFile(out / "dec-1.wav");
    ASSERT_TRUE(second);
    ASSERT_EQ(second->samples.size(), 6400u);
    for (size_t i = 0; i < 6400; ++i)
        ASSERT_NEAR(second->samples[i], expected[6400 + i], 1e-4 + 1e-3 * std::abs(expected[6400 + i]));

    // encode: the odd-length fixture signal written as a float WAV -> exactly HF's codes
    std::vector<float> signal = caseTensor<float>("encodec_encode_odd_length", "input_values");
    ASSERT_TRUE(writeAudioFile(
        out / "odd.wav", signal, 1, 32000, AudioWriteOptions { AudioContainer::Wav, SampleFormat::F32, "" }));
    auto encoded = runProcess(cli(),
        { "encode", "--model", fixture(), "--in", (out / "odd.wav").string(), "--codes-out",
            (out / "odd.npy").string() });
    ASSERT_EQ(encoded.exitCode, 0) << encoded.err;
    std::vector<int64_t> shape;
    EXPECT_EQ(npyCodes(out / "odd.npy", &shape), caseTensor<int64_t>("encodec_encode_odd_length", "audio_codes"));
    EXPECT_EQ(shape, (std::vector<int64_t> { 1, 4, 16 }));
}

TEST(CliModel, ErrorsAreOneClearLine)
{
    fs::path out = test::freshOutDir("cli_errors");
    auto noModel = runProcess(cli(),
        { "generate", "--model", "/nonexistent-model", "--prompt", "x", "--frames", "3", "--out",
            (out / "a.wav").string() });
    EXPECT_EQ(noModel.exitCode, 1);
    EXPECT_NE(noModel.err.find("/nonexistent-model"), std::string::npos) << noModel.err;
    auto both = runProcess(cli(),
        { "generate", "--model", fixture(), "--prompt", "x", "--frames", "3", "--duration", "1", "--out",
            (out / "a.wav").string() });
    EXPECT_EQ(both.exitCode, 2);
    EXPECT_NE(both.err.find("exactly one of --duration"), std::string::npos) << both.err;
    auto badFormat = runProcess(cli(),
        { "generate", "--model", fixture(), "--prompt", "x", "--frames", "3", "--out", (out / "a.wav").string(),
            "--sample-format", "s8" });
    EXPECT_EQ(badFormat.exitCode, 2);
    EXPECT_NE(badFormat.err.find("s16, s24, f32"), std::string::npos) << badFormat.err;
    auto badCodes = runProcess(cli(),
        { "decode", "--model", fixture(), "--codes", (out / "missing.npy").string(), "--out",
            (out / "b.wav").string() });
    EXPECT_EQ(badCodes.exitCode, 1);
    EXPECT_NE(badCodes.err.find("missing.npy"), std::string::npos) << badCodes.err;
    auto cuda = runProcess(cli(),
        { "generate", "--model", fixture(), "--prompt", "x", "--frames", "3", "--device", "cuda", "--out",
            (out / "a.wav").string() });
    if (cuda.exitCode != 0) {
        EXPECT_NE(cuda.err.find("CUDA"), std::string::npos) << cuda.err;
    }
}

TEST(CliModel, MakeModelWritesALoadableCheckpoint)
{
    fs::path out = test::freshOutDir("cli_make_model");
    auto made = runProcess(
        cli(), { "make-model", "--config", fixture() + "/config.json", "--seed", "2", "--out", (out / "m").string() });
    ASSERT_EQ(made.exitCode, 0) << made.err;
    for (const char* file : { "config.json", "generation_config.json", "spiece.model", "model.safetensors" })
        EXPECT_TRUE(fs::exists(out / "m" / file)) << file;
    auto generated = runProcess(cli(),
        { "generate", "--model", (out / "m").string(), "--prompt", "x", "--frames", "4", "--out",
            (out / "x.wav").string() });
    EXPECT_EQ(generated.exitCode, 0) << generated.err;
}

// convert-model writes a bf16 copy of a folder that generates the same greedy codes in bf16 as the original
// loaded in bf16 (the same bits reach the decoder), half the float32 size; bad arguments are one clear line.
TEST(CliModel, ConvertModelWritesABfloat16FolderThatGeneratesTheSame)
{
    const fs::path out = test::freshOutDir("cli_convert_model");
    auto converted = runProcess(cli(), { "convert-model", "--model", fixture(), "--out", (out / "bf16").string() });
    ASSERT_EQ(converted.exitCode, 0) << converted.err;
    EXPECT_NE(converted.err.find("to bf16"), std::string::npos) << converted.err;
    for (const char* name : { "config.json", "generation_config.json", "spiece.model", "model.safetensors" })
        EXPECT_TRUE(fs::exists(out / "bf16" / name)) << name;
    EXPECT_LT(
        fs::file_size(out / "bf16" / "model.safetensors"), fs::file_size(fs::path(fixture()) / "model.safetensors"));
    std::vector<std::vector<int64_t>> codes;
    for (const fs::path& model : { fs::path(fixture()), out / "bf16" }) {
        const fs::path npy = out / (model.filename().string() + ".npy");
        auto generated = runProcess(cli(),
            { "generate", "--model", model.string(), "--dtype", "bf16", "--prompt", "Classic Rock, keyboard",
                "--frames", "9", "--greedy", "--codes-out", npy.string() });
        ASSERT_EQ(generated.exitCode, 0) << generated.err;
        std::vector<int64_t> shape;
        codes.push_back(npyCodes(npy, &shape));
    }
    EXPECT_EQ(codes[0], codes[1]);

    auto same = runProcess(cli(), { "convert-model", "--model", fixture(), "--out", fixture() });
    EXPECT_EQ(same.exitCode, 2) << same.err;
    EXPECT_NE(same.err.find("another folder"), std::string::npos) << same.err;
    auto dtype
        = runProcess(cli(), { "convert-model", "--model", fixture(), "--out", (out / "x").string(), "--dtype", "f16" });
    EXPECT_NE(dtype.exitCode, 0);
    EXPECT_NE(dtype.err.find("bf16 or f32"), std::string::npos) << dtype.err;

    // --codec: the bf16 copy's EnCodec is the fixture's own (kept in float32), so its decoder swaps in with
    // nothing changed, and every other file is copied; --codec with --dtype is refused.
    auto swapped = runProcess(cli(),
        { "convert-model", "--model", (out / "bf16").string(), "--codec", fixture(), "--out",
            (out / "swap").string() });
    ASSERT_EQ(swapped.exitCode, 0) << swapped.err;
    EXPECT_NE(swapped.err.find("(0 of "), std::string::npos) << swapped.err;
    for (const char* name : { "config.json", "generation_config.json", "spiece.model", "model.safetensors" })
        EXPECT_TRUE(fs::exists(out / "swap" / name)) << name;
    EXPECT_EQ(fs::file_size(out / "swap" / "model.safetensors"), fs::file_size(out / "bf16" / "model.safetensors"));
    auto both = runProcess(cli(),
        { "convert-model", "--model", fixture(), "--codec", fixture(), "--dtype", "f32", "--out",
            (out / "y").string() });
    EXPECT_NE(both.exitCode, 0);
    EXPECT_NE(both.err.find("not both"), std::string::npos) << both.err;
}

// eval-tags on a 40-song "world" (prompts.csv, then audio): one tempo pair, analysed, with the sampling
// overridden, drawn from rock, whose songs are fast and slow, and never from techno, which is only fast here;
// bad sampling values are refused before the model loads.
TEST(CliModel, EvalTagsWritesOneRowPerPairAndChecksItsSampling)
{
    const fs::path out = test::freshOutDir("cli_eval_tags");
    const fs::path world = out / "world";
    fs::create_directories(world);
    std::string prompts = "track_id,prompt\n";
    for (int i = 0; i < 40; ++i)
        prompts += "song" + std::to_string(i)
            + (i < 14        ? ",\"rock, electric guitar, drums, fast, happy\"\n"
                    : i < 28 ? ",\"rock, electric guitar, drums, slow, happy\"\n"
                             : ",\"techno, synth, drum machine, fast\"\n");
    ASSERT_TRUE(writeFileAtomic(world / "prompts.csv", prompts));
    const std::vector<std::string> common = { "eval-tags", "--model", fixture(), "--world", world.string(), "--pairs",
        "1", "--seconds", "0.2", "--contrasts", "tempo" };
    auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = common;
        args.insert(args.end(), extra.begin(), extra.end());
        return runProcess(cli(), args);
    };
    auto result = with({ "--top-k", "5", "--temperature", "0.7", "--out", (out / "run").string() });
    ASSERT_EQ(result.exitCode, 0) << result.err;
    EXPECT_NE(result.out.find("separate in"), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("tempo: prompts from rock ("), std::string::npos) << result.out;
    EXPECT_NE(result.out.find("steady tempo (the halves read within 4%): "), std::string::npos) << result.out;
    const Expected<std::string> read = readFileText(out / "run" / "eval-tags.csv");
    ASSERT_TRUE(read) << read.error().message;
    const std::string& csv = *read;
    EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2) << csv;
    EXPECT_EQ(
        csv.rfind("contrast,pair,prompt_low,prompt_high,score_low,score_high,separated,steady_low,steady_high\n", 0),
        0u)
        << csv;
    EXPECT_NE(
        csv.find("\"rock, electric guitar, drums, slow\",\"rock, electric guitar, drums, fast\""), std::string::npos)
        << csv;
    EXPECT_TRUE(fs::exists(out / "run" / "tempo-0-fast.wav"));
    // --likelihood generates nothing: each held-out song holding "fast" is scored under its prompt and
    // under the prompt with "slow" instead, from its audio's opening.
    fs::create_directories(world / "audio");
    std::vector<float> tone(16000);
    for (size_t i = 0; i < tone.size(); ++i)
        tone[i] = 0.3f * static_cast<float>(std::sin(0.05 * static_cast<double>(i)));
    for (int i = 0; i < 40; ++i)
        ASSERT_TRUE(writeAudioFile(world / "audio" / ("song" + std::to_string(i) + ".wav"), tone, 1, 16000, {}));
    // With the world's audio, the steady-tempo check also runs on held-out songs cut to the clips' length.
    result = with({});
    ASSERT_EQ(result.exitCode, 0) << result.err;
    EXPECT_NE(result.out.find("; held-out world songs cut to 0.2 s: "), std::string::npos) << result.out;
    result = with({ "--likelihood", "--out", (out / "likelihood").string() });
    ASSERT_EQ(result.exitCode, 0) << result.err;
    const size_t at = result.out.find("is the likelier in ");
    ASSERT_NE(at, std::string::npos) << result.out;
    int right = -1, songs = -1;
    ASSERT_EQ(std::sscanf(result.out.c_str() + at, "is the likelier in %d of %d held-out songs", &right, &songs), 2);
    EXPECT_GE(songs, 1);
    EXPECT_LE(right, songs);
    const Expected<std::string> scored = readFileText(out / "likelihood" / "eval-tags-likelihood.csv");
    ASSERT_TRUE(scored) << scored.error().message;
    EXPECT_EQ(std::count(scored->begin(), scored->end(), '\n'), 1 + songs) << *scored;
    const bool swapped = scored->find("\"rock, electric guitar, drums, fast, happy\",\"rock, electric guitar, drums, "
                                      "slow, happy\"")
            != std::string::npos
        || scored->find("\"rock, electric guitar, drums, slow, happy\",\"rock, electric guitar, drums, fast, happy\"")
            != std::string::npos
        || scored->find("\"techno, synth, drum machine, fast\",\"techno, synth, drum machine, slow\"")
            != std::string::npos;
    EXPECT_TRUE(swapped) << *scored;
    // No genre can carry each of two tags on more than half of its songs: such a share is refused.
    result = with({ "--min-share", "0.6" });
    EXPECT_NE(result.exitCode, 0);
    EXPECT_NE(result.err.find("--min-share"), std::string::npos) << result.err;
    result = with({ "--temperature", "0" });
    EXPECT_NE(result.exitCode, 0);
    EXPECT_NE(result.err.find("--temperature must be positive"), std::string::npos) << result.err;
    result = with({ "--top-k", "-1" });
    EXPECT_NE(result.exitCode, 0);
    EXPECT_NE(result.err.find("--top-k"), std::string::npos) << result.err;
}
