// LM training (engine/lmtrain): on a small synthetic world (sine chords, tagged prompts) with a tiny codec,
// train-lm's loss falls, the folder it exports is loaded and run by the engine, its tensors are named exactly
// as Hugging Face names them (the fixture written by transformers), resume is exact, the sentencepiece model
// folds case, and the tag contrast teaches the tags.
#include <cmath>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include <ATen/ATen.h>

#include "codec/loss_history.h"
#include "lmtrain/lm_data.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/codec_training.h"
#include "tastemaker/fileio.h"
#include "tastemaker/lm_training.h"
#include "tastemaker/musicgen.h"
#include "tastemaker/tensorio.h"
#include "tensorio/torch/torch_tensor.h"
#include "tensorio/torch/weights.h"
#include "testsupport.h"
#include "text/tokenizer.h"

namespace fs = std::filesystem;
using namespace tmk;

namespace {

const std::vector<std::string> kGenres = { "rock", "jazz", "techno" };

// `songs` songs of 2 s: a genre per song, prompts "Genre, instrument, slow|fast, happy|sad", major or minor
// triads with a click every `beat` samples (fast songs click twice as often). The chord's root rises a
// semitone a song, or with `rootByGenre` is the genre's (and a song's detune of a few cents), so that songs
// with the same prompt sound alike.
fs::path writeWorld(const std::string& name, int songs = 12, bool rootByGenre = false)
{
    const fs::path dir = test::freshOutDir(name);
    fs::create_directories(dir / "audio");
    std::ofstream tracks(dir / "tracks.csv"), prompts(dir / "prompts.csv");
    tracks << ",track_id,track_genre\n";
    prompts << "track_id,prompt\n";
    for (int s = 0; s < songs; ++s) {
        const std::string id = "song" + std::to_string(s);
        const std::string& genre = kGenres[static_cast<size_t>(s % 3)];
        const bool minor = s % 2 == 1, fast = s % 4 >= 2;
        std::string capitalised = genre;
        capitalised[0] = static_cast<char>(std::toupper(capitalised[0]));
        tracks << s << "," << id << "," << genre << "\n";
        prompts << id << ",\"" << capitalised << ", piano, " << (fast ? "fast" : "slow") << ", "
                << (minor ? "sad" : "happy") << "\"\n";
        std::vector<float> samples(32000);
        const double root
            = rootByGenre ? 220.0 * std::pow(2.0, (4.0 * (s % 3) + 0.02 * s) / 12.0) : 220.0 * std::pow(2.0, s / 12.0);
        const double third = root * std::pow(2.0, (minor ? 3 : 4) / 12.0);
        const size_t beat = fast ? 4000 : 8000;
        for (size_t i = 0; i < samples.size(); ++i) {
            const double t = static_cast<double>(i) / 16000.0;
            double v = 0.15 * (std::sin(2 * M_PI * root * t) + std::sin(2 * M_PI * third * t));
            if (i % beat < 40) v += 0.3 * (1.0 - static_cast<double>(i % beat) / 40.0);
            samples[i] = static_cast<float>(v);
        }
        EXPECT_TRUE(writeAudioFile(dir / "audio" / (id + ".wav"), samples, 1, 16000, {}));
    }
    return dir;
}

// A tiny codec (hop 40, 2 codebooks of 16), trained a few steps: enough to tokenize.
fs::path trainTinyCodec(const fs::path& world, const std::string& name)
{
    CodecTrainOptions o;
    o.worldDir = world;
    o.outDir = test::freshOutDir(name);
    o.shape.ratios = { 8, 5 };
    o.shape.numFilters = 4;
    o.shape.hiddenSize = 8;
    o.shape.codebooks = 2;
    o.shape.codebookSize = 16;
    o.steps = 30;
    o.batch = 2;
    o.seconds = 0.1;
    o.seed = 3;
    o.threads = 1;
    o.checkpointEvery = 30;
    Expected<CodecTrainResult> result = trainCodec(o);
    EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
    return o.outDir / "codec";
}

struct TinyWorld {
    fs::path world, codec;
};

const TinyWorld& tinyWorld()
{
    static const TinyWorld world = [] {
        TinyWorld w;
        w.world = writeWorld("lm_train_world");
        w.codec = trainTinyCodec(w.world, "lm_train_codec");
        return w;
    }();
    return world;
}

// The 2-layer shapes of the Hugging Face fixture (decoder 2 layers, T5 2 layers), small widths.
LmTrainOptions tinyOptions(const fs::path& out, int64_t steps)
{
    LmTrainOptions o;
    o.worldDir = tinyWorld().world;
    o.codecDir = tinyWorld().codec;
    o.outDir = out;
    o.shape = { 2, 32, 4, 64, 2, 16, 4, 4, 32, 64 };
    o.steps = steps;
    o.batch = 4;
    o.seconds = 0.25; // 100 frames at 400 frames/s
    o.seed = 11;
    o.threads = 1;
    o.learningRate = 1e-2;
    o.warmupSteps = 2;
    o.checkpointEvery = 4;
    return o;
}

std::vector<std::vector<double>> readCsv(const fs::path& file)
{
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    std::vector<std::vector<double>> rows;
    while (std::getline(in, line)) {
        std::vector<double> row;
        std::stringstream cells(line);
        std::string cell;
        while (std::getline(cells, cell, ',')) row.push_back(cell.empty() ? NAN : std::stod(cell));
        rows.push_back(row);
    }
    return rows;
}

// Tensor names with every layer/block/codebook number replaced by N.
std::set<std::string> namePatterns(const fs::path& file)
{
    Expected<SafetensorsCheckpoint> checkpoint = SafetensorsCheckpoint::open(file);
    EXPECT_TRUE(checkpoint.ok());
    std::set<std::string> patterns;
    const std::regex number(R"(\.\d+\.)");
    if (checkpoint)
        for (const std::string& name : checkpoint->names())
            patterns.insert(std::regex_replace(std::regex_replace(name, number, ".N."), number, ".N."));
    return patterns;
}

} // namespace

TEST(TrainLm, LossFallsAndTheExportedFolderLoadsAndGenerates)
{
    const fs::path out = test::freshOutDir("lm_train_run");
    Expected<LmTrainResult> result = trainLm(tinyOptions(out, 100));
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->steps, 100);
    EXPECT_GE(result->heldOutSongs, 1);
    const auto rows = readCsv(out / "loss.csv");
    ASSERT_EQ(rows.size(), 100u);
    EXPECT_NEAR(rows[0][1], std::log(16.0), 0.3) << "a fresh model is near uniform over 16 codes";
    // train_eval: the cross-entropy on fixed train crops at every checkpoint (every 4 steps).
    ASSERT_TRUE(std::isfinite(rows[3][3]) && std::isfinite(rows[99][3]));
    EXPECT_LT(rows[99][3], 0.92 * rows[3][3]) << "the train cross-entropy falls by more than 8% from step 4 to 100";
    EXPECT_NEAR(result->trainLoss, rows[99][3], 1e-4);
    EXPECT_TRUE(std::isfinite(result->heldOutLoss) && std::isfinite(result->heldOutUnconditional));
    // The opening evaluation: the held-out songs' first second, with and without the text.
    EXPECT_TRUE(std::isfinite(result->heldOutOpening) && std::isfinite(result->heldOutOpeningUnconditional));
    EXPECT_NEAR(result->heldOutOpening, rows[99][6], 1e-4);
    EXPECT_NEAR(result->heldOutOpeningUnconditional, rows[99][7], 1e-4);
    // The same crops read with another song's prompt.
    EXPECT_NEAR(result->heldOutOtherPrompt, rows[99][8], 1e-4);
    EXPECT_NEAR(result->heldOutOpeningOtherPrompt, rows[99][9], 1e-4);
    EXPECT_TRUE(std::isfinite(rows[3][8]) && std::isfinite(rows[3][9])) << "evaluated at every checkpoint";
    // held_out_codebook_0 and _1: each codebook has as many real codes, so their mean is the held-out figure.
    ASSERT_EQ(rows[99].size(), 15u);
    ASSERT_EQ(result->heldOutCodebooks.size(), 2u);
    EXPECT_NEAR((rows[99][10] + rows[99][11]) / 2.0, rows[99][4], 1e-4);
    EXPECT_NEAR(result->heldOutCodebooks[0], rows[99][10], 1e-4);
    EXPECT_NEAR(result->heldOutCodebooks[1], rows[99][11], 1e-4);
    EXPECT_TRUE(std::isfinite(rows[3][10]) && !std::isfinite(rows[4][10])) << "only at checkpoints";
    // tag_contrast (off: empty), then the held-out tag contrast at checkpoints: a share and a margin.
    EXPECT_FALSE(std::isfinite(rows[99][12]));
    EXPECT_TRUE(result->heldOutTagRight >= 0.0 && result->heldOutTagRight <= 1.0) << result->heldOutTagRight;
    EXPECT_NEAR(result->heldOutTagRight, rows[99][13], 1e-4);
    EXPECT_NEAR(result->heldOutTagMargin, rows[99][14], 1e-4);
    EXPECT_TRUE(fs::exists(out / "loss.png"));
    EXPECT_TRUE(result->bigramBaseline > 0.0 && result->bigramBaseline < std::log(16.0) + 0.3)
        << result->bigramBaseline;

    for (const char* file : { "config.json", "generation_config.json", "model.safetensors", "spiece.model",
             "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "preprocessor_config.json" })
        EXPECT_TRUE(fs::exists(result->modelDir / file)) << file;
    auto model = MusicgenModel::load(result->modelDir, ModelOptions {});
    ASSERT_TRUE(model.ok()) << model.error().message;
    EXPECT_EQ((*model)->info().sampleRate, 16000);
    EXPECT_FALSE((*model)->info().untrained);
    GenerationRequest request = GenerationRequest::defaultsFor((*model)->info());
    request.prompts = { "Rock, piano, fast, happy", "jazz" };
    request.frames = 20;
    Expected<GenerationResult> generated = generate(**model, request);
    ASSERT_TRUE(generated.ok()) << generated.error().message;
    ASSERT_EQ(generated->audio.size(), 2u);
    EXPECT_EQ(generated->audio[0].size(), 20u * 40u);
}

// The bigram baseline: codes that always step to the next code are predicted almost surely (near 0 nats); codes
// drawn uniformly cost about ln V whatever came before; and only the held-out songs are scored.
TEST(TrainLm, BigramBaselineScoresHeldOutSongsUnderSmoothedBigrams)
{
    constexpr int64_t V = 16;
    at::Tensor steps = at::zeros({ 6, 2, 200 }, at::TensorOptions().dtype(at::kInt));
    for (int64_t n = 0; n < 6; ++n)
        for (int64_t t = 0; t < 200; ++t) steps.select(0, n).select(1, t).fill_((t + n) % V);
    EXPECT_LT(lmtrain::bigramBaseline(steps, { 0, 1, 2, 3 }, { 4, 5 }, V), 0.01);
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(3);
    at::Tensor noise = at::randint(V, { 40, 2, 500 }, generator, at::TensorOptions().dtype(at::kInt));
    std::vector<int64_t> fit(30), test(10);
    for (int64_t i = 0; i < 30; ++i) fit[i] = i;
    for (int64_t i = 0; i < 10; ++i) test[i] = 30 + i;
    EXPECT_NEAR(lmtrain::bigramBaseline(noise, fit, test, V), std::log(16.0), 0.05);
    // A held-out song that steps while the fitted ones are noise: scored near ln V, not near 0.
    noise.narrow(0, 39, 1).copy_(steps.narrow(0, 0, 1).narrow(2, 0, 200).repeat({ 1, 1, 3 }).narrow(2, 0, 500));
    EXPECT_GT(lmtrain::bigramBaseline(noise, fit, { 39 }, V), 2.0);
}

TEST(TrainLm, TensorNamesAreHuggingFaces)
{
    const fs::path out = test::freshOutDir("lm_train_names");
    Expected<LmTrainResult> result = trainLm(tinyOptions(out, 1));
    ASSERT_TRUE(result.ok()) << result.error().message;
    // The fixture was written by transformers' save_pretrained; with the same layer counts and an
    // enc_to_dec_proj (T5 width != decoder width) both name sets must be the same.
    const std::set<std::string> ours = namePatterns(result->modelDir / "model.safetensors");
    const std::set<std::string> theirs = namePatterns(test::dataDir() / "musicgen-tiny-public" / "model.safetensors");
    for (const std::string& name : theirs) EXPECT_TRUE(ours.count(name)) << "missing " << name;
    for (const std::string& name : ours) EXPECT_TRUE(theirs.count(name)) << "extra " << name;
}

TEST(TrainLm, ResumeContinuesExactly)
{
    // With the tag contrast on, whose batches draw from their own random stream: the cross-entropy batches are a
    // plain run's, so this covers its resume too.
    const fs::path straight = test::freshOutDir("lm_train_straight"), resumed = test::freshOutDir("lm_train_resumed");
    LmTrainOptions whole = tinyOptions(straight, 8);
    whole.tagContrast = 0.5;
    ASSERT_TRUE(trainLm(whole).ok());
    LmTrainOptions firstPart = whole;
    firstPart.outDir = resumed;
    firstPart.stopAt = 3; // not a checkpoint multiple: the stop writes its own
    Expected<LmTrainResult> stopped = trainLm(firstPart);
    ASSERT_TRUE(stopped.ok()) << stopped.error().message;
    EXPECT_EQ(stopped->steps, 3);
    EXPECT_TRUE(stopped->modelDir.empty()) << "no model before the schedule ends";
    LmTrainOptions rest = whole;
    rest.outDir = resumed;
    rest.resume = true;
    Expected<LmTrainResult> result = trainLm(rest);
    ASSERT_TRUE(result.ok()) << result.error().message;
    EXPECT_EQ(result->steps, 8);
    // Same seeds per step, same schedule, same thread count: every byte agrees. The checkpoint holds the
    // weights, Adam's moments and the loss history.
    for (const char* file : { "checkpoint.safetensors", "loss.csv", "model/model.safetensors" }) {
        Expected<std::string> a = readFileText(straight / file), b = readFileText(resumed / file);
        ASSERT_TRUE(a.ok() && b.ok()) << file;
        EXPECT_TRUE(*a == *b) << file << " differs after a resume";
    }
}

// A whole MusicGen folder serves as the codec (train-lm --codec models/demo): the export takes only its
// audio_encoder tensors, and the text encoder and decoder are the ones this run trained.
TEST(TrainLm, AMusicgenFolderAsTheCodecLendsOnlyItsCodec)
{
    const fs::path first = test::freshOutDir("lm_train_codec_source");
    Expected<LmTrainResult> source = trainLm(tinyOptions(first, 2));
    ASSERT_TRUE(source.ok()) << source.error().message;
    const fs::path second = test::freshOutDir("lm_train_codec_from_model");
    LmTrainOptions options = tinyOptions(second, 3);
    options.codecDir = source->modelDir;
    options.seed = 12; // other initial weights than the source's
    Expected<LmTrainResult> result = trainLm(options);
    ASSERT_TRUE(result.ok()) << result.error().message;
    Expected<SafetensorsCheckpoint> exported = SafetensorsCheckpoint::open(result->modelDir / "model.safetensors");
    Expected<SafetensorsCheckpoint> trained = SafetensorsCheckpoint::open(second / "checkpoint.safetensors");
    Expected<SafetensorsCheckpoint> codec = SafetensorsCheckpoint::open(source->modelDir / "model.safetensors");
    ASSERT_TRUE(exported.ok() && trained.ok() && codec.ok());
    int64_t compared = 0;
    for (const std::string& name : exported->names()) {
        const bool isCodec = name.rfind("audio_encoder.", 0) == 0;
        Expected<at::Tensor> mine = loadTensor(*exported, name);
        Expected<at::Tensor> expected = loadTensor(isCodec ? *codec : *trained, name);
        ASSERT_TRUE(mine.ok() && expected.ok()) << name;
        EXPECT_TRUE(at::equal(*mine, *expected)) << name << (isCodec ? " is not the codec's" : " is not the run's");
        ++compared;
    }
    EXPECT_GT(compared, 50);
}

TEST(TrainLm, ResumeRefusesAnotherShape)
{
    const fs::path out = test::freshOutDir("lm_train_other_shape");
    ASSERT_TRUE(trainLm(tinyOptions(out, 2)).ok());
    LmTrainOptions other = tinyOptions(out, 4);
    other.shape.layers = 3;
    other.resume = true;
    Expected<LmTrainResult> result = trainLm(other);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("checkpoint.safetensors"), std::string::npos) << result.error().message;
    EXPECT_NE(result.error().message.find("shape"), std::string::npos) << result.error().message;
}

TEST(TrainLm, SentencepieceFoldsCaseAndKnowsEveryTag)
{
    Expected<std::vector<lmtrain::WorldSong>> songs = lmtrain::readWorld(tinyWorld().world);
    ASSERT_TRUE(songs.ok()) << songs.error().message;
    ASSERT_EQ(songs->size(), 12u);
    EXPECT_EQ((*songs)[0].genre, "rock");
    EXPECT_EQ((*songs)[0].prompt, "Rock, piano, slow, happy");
    const fs::path dir = test::freshOutDir("lm_train_spm");
    Expected<fs::path> model = lmtrain::trainSentencepiece(*songs, dir, 64);
    ASSERT_TRUE(model.ok()) << model.error().message;
    Expected<T5Tokenizer> tokenizer = T5Tokenizer::load(*model);
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.error().message;
    EXPECT_EQ(tokenizer->encode("Rock, Piano, FAST"), tokenizer->encode("rock, piano, fast"));
    for (const char* text : { "Techno, piano, slow, sad", "jazz" })
        for (int64_t id : tokenizer->encode(text)) EXPECT_NE(id, T5Tokenizer::kUnkId) << text;
    const auto modified = fs::last_write_time(*model);
    ASSERT_TRUE(lmtrain::trainSentencepiece(*songs, dir, 64).ok());
    EXPECT_EQ(fs::last_write_time(*model), modified) << "the same corpus reuses the model";
}

// --start-share: that share of the crops starts at the song's first frame; 0 keeps the uniform offsets (and the
// same random draws as before the option existed), 1 always starts at 0.
TEST(TrainLm, TextLearningRateScaleReachesOnlyTheTextPath)
{
    // With the text path's scale at 0, its tensors stay at their initial values however long the run, while
    // the rest of the decoder learns: runs of 2 and 4 steps agree on every text-path tensor only.
    const fs::path shortRun = test::freshOutDir("lm_text_lr_2"), longRun = test::freshOutDir("lm_text_lr_4");
    LmTrainOptions a = tinyOptions(shortRun, 2), b = tinyOptions(longRun, 4);
    a.textLrScale = b.textLrScale = 0.0;
    // 0 is refused (a frozen text path is not a training run); the smallest positive scale freezes it in
    // effect, which is what this test needs.
    ASSERT_FALSE(trainLm(a).ok());
    a.textLrScale = b.textLrScale = 1e-30;
    ASSERT_TRUE(trainLm(a).ok());
    ASSERT_TRUE(trainLm(b).ok());
    Expected<SafetensorsCheckpoint> x = SafetensorsCheckpoint::open(shortRun / "model" / "model.safetensors");
    Expected<SafetensorsCheckpoint> y = SafetensorsCheckpoint::open(longRun / "model" / "model.safetensors");
    ASSERT_TRUE(x.ok() && y.ok());
    int textSame = 0, textDiffer = 0, restDiffer = 0;
    for (const std::string& name : x->names()) {
        if (name.rfind("audio_encoder.", 0) == 0) continue; // the codec is not trained here
        const auto p = x->find(name).data(), q = y->find(name).data();
        ASSERT_EQ(p.size(), q.size()) << name;
        // Float32 tensors: "the same" within 1e-20, since a zero-initialised bias moves by lr * 1e-30.
        std::vector<float> u(p.size() / 4), v(q.size() / 4);
        std::memcpy(u.data(), p.data(), u.size() * 4);
        std::memcpy(v.data(), q.data(), v.size() * 4);
        bool same = true;
        for (size_t i = 0; i < u.size(); ++i) same = same && std::abs(u[i] - v[i]) <= 1e-20f;
        const bool text = name.rfind("text_encoder.", 0) == 0 || name.find("encoder_attn") != std::string::npos
            || name.find("enc_to_dec_proj") != std::string::npos;
        if (text) {
            (same ? textSame : textDiffer) += 1;
            EXPECT_TRUE(same) << name << " moved";
        } else if (!same) {
            ++restDiffer;
        }
    }
    EXPECT_GT(textSame, 10);
    EXPECT_EQ(textDiffer, 0);
    EXPECT_GT(restDiffer, 10);
}

TEST(TrainLm, CodebookWeightsTrainTheCodebooksTheyWeight)
{
    // The tiny codec has 2 codebooks. Weighted 1:0, only the first codebook's cross-entropy is trained (the
    // second's head moves by weight decay alone), and the other way round for 0:1: each run ends better on the
    // codebook it trained than the other run does. The evaluation is unweighted in both.
    const fs::path firstOnly = test::freshOutDir("lm_cb_first"), secondOnly = test::freshOutDir("lm_cb_second");
    LmTrainOptions a = tinyOptions(firstOnly, 24), b = tinyOptions(secondOnly, 24);
    a.codebookWeights = { 1.0, 0.0 };
    b.codebookWeights = { 0.0, 1.0 };
    Expected<LmTrainResult> x = trainLm(a);
    Expected<LmTrainResult> y = trainLm(b);
    ASSERT_TRUE(x.ok() && y.ok());
    ASSERT_EQ(x->heldOutCodebooks.size(), 2u);
    ASSERT_EQ(y->heldOutCodebooks.size(), 2u);
    EXPECT_LT(x->heldOutCodebooks[0], y->heldOutCodebooks[0]);
    EXPECT_LT(y->heldOutCodebooks[1], x->heldOutCodebooks[1]);
    EXPECT_NEAR((x->heldOutCodebooks[0] + x->heldOutCodebooks[1]) / 2.0, x->heldOutLoss, 1e-4);

    LmTrainOptions wrongCount = tinyOptions(test::freshOutDir("lm_cb_count"), 2);
    wrongCount.codebookWeights = { 1.0, 1.0, 1.0 };
    Expected<LmTrainResult> refused = trainLm(wrongCount);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(
        refused.error().message.find("3 codebook weights were given, but the codec has 2 codebooks"), std::string::npos)
        << refused.error().message;
    for (const std::vector<double>& bad : { std::vector<double> { -1.0, 1.0 }, std::vector<double> { 0.0, 0.0 } }) {
        LmTrainOptions o = tinyOptions(test::freshOutDir("lm_cb_bad"), 2);
        o.codebookWeights = bad;
        EXPECT_FALSE(trainLm(o).ok());
    }
}

TEST(TrainLm, OlderHistoriesLoadWithTheNewColumnsEmpty)
{
    // A checkpoint's history from before the per-codebook columns (10 wide) or the other-prompt ones (8 wide)
    // is read into the current width, the missing columns NaN; a width not listed is an error.
    const fs::path dir = test::freshOutDir("lm_old_history");
    at::Tensor eight = at::arange(24, at::kFloat).reshape({ 3, 8 });
    ASSERT_TRUE(saveTensors(dir / "old.safetensors", { { "history", eight } }, {}).ok());
    Expected<WeightStore> store = WeightStore::open(dir / "old.safetensors");
    ASSERT_TRUE(store.ok());
    Expected<LossHistory> rows = readLossHistory(*store, 3, 12, { 10, 8 });
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    ASSERT_EQ(rows->size(), 3u);
    ASSERT_EQ((*rows)[2].size(), 12u);
    EXPECT_EQ((*rows)[2][7], 23.0f);
    EXPECT_TRUE(std::isnan((*rows)[2][8]) && std::isnan((*rows)[2][11]));
    EXPECT_FALSE(readLossHistory(*store, 3, 12, { 10 }).ok());
}

TEST(TrainLm, MixedBf16TrainsLikeFloat32)
{
    // Mixed precision (the decoder's products in bfloat16, float32 master weights): the same run's losses follow
    // the float32 run's within bfloat16's rounding, the model learns as much, and the exported weights are
    // float32 like any other run's.
    const fs::path plain = test::freshOutDir("lm_mixed_f32"), mixed = test::freshOutDir("lm_mixed_bf16");
    LmTrainOptions a = tinyOptions(plain, 24), b = tinyOptions(mixed, 24);
    b.mixedBf16 = true;
    Expected<LmTrainResult> x = trainLm(a);
    Expected<LmTrainResult> y = trainLm(b);
    ASSERT_TRUE(x.ok() && y.ok());
    const auto rowsA = readCsv(plain / "loss.csv"), rowsB = readCsv(mixed / "loss.csv");
    ASSERT_EQ(rowsA.size(), 24u);
    ASSERT_EQ(rowsB.size(), 24u);
    EXPECT_NEAR(rowsB[0][1], rowsA[0][1], 0.02) << "the first step: the same weights and batch";
    EXPECT_LT(rowsB[23][1], rowsB[0][1] - 0.1) << "the mixed run learns";
    EXPECT_NEAR(rowsB[23][3], rowsA[23][3], 0.01 * rowsA[23][3]) << "as much as the float32 run";
    EXPECT_NEAR(y->heldOutLoss, x->heldOutLoss, 0.01 * x->heldOutLoss);
    // loss.csv keeps six digits, at which one step's two losses can agree by chance (the last step did on an
    // AVX-512-BF16 CPU): the products ran in bfloat16 when the runs' losses differ at some step.
    int differing = 0;
    for (size_t i = 0; i < rowsA.size(); ++i) differing += rowsB[i][1] != rowsA[i][1];
    EXPECT_GE(differing, 12) << "the products did run in bfloat16";
    Expected<SafetensorsCheckpoint> exported = SafetensorsCheckpoint::open(mixed / "model" / "model.safetensors");
    ASSERT_TRUE(exported.ok());
    const auto fc1 = exported->find("decoder.model.decoder.layers.0.fc1.weight");
    ASSERT_NE(fc1.info, nullptr);
    EXPECT_EQ(fc1.info->dtype, DType::F32);
}

TEST(TrainLm, TagContrastTeachesTheTags)
{
    // A world of 36 songs whose fast songs click twice as often as its slow ones, whose sad songs are minor
    // triads, and whose chords' roots follow the genre. Trained with the tag contrast, the model tells a song's
    // own tags from swapped ones by a wider margin, on the songs it trains on (the contrast loss falls) and on
    // held-out ones, than the same run without it.
    static const fs::path world = writeWorld("lm_contrast_world", 36, true);
    auto run = [](const std::string& name, double contrast) {
        LmTrainOptions o = tinyOptions(test::freshOutDir(name), 60);
        o.worldDir = world;
        o.heldOutFraction = 0.25;
        o.checkpointEvery = 20;
        o.tagContrast = contrast;
        o.tagContrastSeconds = 0.5;
        o.tagContrastOtherDropout = 0.0; // every prompt here is shared by three songs: nothing to memorise
        Expected<LmTrainResult> result = trainLm(o);
        EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().message);
        return std::make_pair(result.ok() ? *result : LmTrainResult {}, readCsv(o.outDir / "loss.csv"));
    };
    const auto [plain, plainRows] = run("lm_contrast_off", 0.0);
    const auto [taught, taughtRows] = run("lm_contrast_on", 1.0);
    ASSERT_EQ(taughtRows.size(), 60u);
    auto meanContrast = [&](size_t from) {
        double sum = 0.0;
        for (size_t i = from; i < from + 10; ++i) sum += taughtRows[i][12];
        return sum / 10.0;
    };
    EXPECT_LT(meanContrast(50), 0.8 * meanContrast(0)) << "the contrast loss falls";
    EXPECT_GT(taught.heldOutTagMargin, plain.heldOutTagMargin + 0.5)
        << "held out: " << taught.heldOutTagMargin << " against " << plain.heldOutTagMargin;
    EXPECT_GE(taught.heldOutTagRight, plain.heldOutTagRight);
    LmTrainOptions bad = tinyOptions(test::freshOutDir("lm_contrast_bad"), 2);
    bad.tagContrast = -1.0;
    EXPECT_FALSE(trainLm(bad).ok());
}

TEST(TrainLm, InitFromStartsAFineTuneFromAModel)
{
    const fs::path sourceDir = test::freshOutDir("lm_init_source");
    Expected<LmTrainResult> source = trainLm(tinyOptions(sourceDir, 20));
    ASSERT_TRUE(source.ok()) << source.error().message;
    // A learning rate of 0 changes nothing: the export is the source model's text encoder and decoder exactly.
    LmTrainOptions frozen = tinyOptions(test::freshOutDir("lm_init_frozen"), 2);
    frozen.initFrom = source->modelDir;
    frozen.learningRate = 0.0;
    frozen.seed = 99; // its own seed draws no weights
    Expected<LmTrainResult> copy = trainLm(frozen);
    ASSERT_TRUE(copy.ok()) << copy.error().message;
    Expected<SafetensorsCheckpoint> mine = SafetensorsCheckpoint::open(copy->modelDir / "model.safetensors");
    Expected<SafetensorsCheckpoint> theirs = SafetensorsCheckpoint::open(source->modelDir / "model.safetensors");
    ASSERT_TRUE(mine.ok() && theirs.ok());
    EXPECT_EQ(mine->names(), theirs->names());
    for (const std::string& name : theirs->names()) {
        Expected<at::Tensor> a = loadTensor(*mine, name), b = loadTensor(*theirs, name);
        ASSERT_TRUE(a.ok() && b.ok()) << name;
        EXPECT_TRUE(at::equal(*a, *b)) << name;
    }
    EXPECT_EQ(*readFileText(copy->modelDir / "spiece.model"), *readFileText(source->modelDir / "spiece.model"));
    // A fine-tune starts where the source ended, far below a fresh model's first loss.
    LmTrainOptions tune = tinyOptions(test::freshOutDir("lm_init_tune"), 4);
    tune.initFrom = source->modelDir;
    ASSERT_TRUE(trainLm(tune).ok());
    const auto sourceRows = readCsv(sourceDir / "loss.csv"), tuneRows = readCsv(tune.outDir / "loss.csv");
    EXPECT_LT(tuneRows[0][1], 0.5 * (sourceRows[0][1] + sourceRows[19][1])) << tuneRows[0][1];
    // A model of another shape is refused, naming its file.
    LmTrainOptions other = tinyOptions(test::freshOutDir("lm_init_other"), 2);
    other.initFrom = source->modelDir;
    other.shape.hidden = 64;
    Expected<LmTrainResult> refused = trainLm(other);
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("model.safetensors"), std::string::npos) << refused.error().message;
}
