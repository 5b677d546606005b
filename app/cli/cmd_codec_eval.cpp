// `codec-eval`: how well a trained codec keeps what the sliders and tags need, on held-out world songs: the
// log-mel distance of each round trip, and whether the analyser reads the same tempo (within 2%), mode and
// acoustic/electronic class from the reconstruction as from the original (docs/codec-training.md).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "commands.h"
#include "data/csv_reader.h"
#include "tastemaker/analysis.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/codec_training.h"
#include "tastemaker/fileio.h"

namespace tmk::cli {

namespace fs = std::filesystem;

namespace {

Expected<std::vector<std::string>> worldIds(const fs::path& world)
{
    Expected<CsvReader> csv = CsvReader::open(world / "tracks.csv");
    if (!csv) return csv.error();
    const int column = csv->findColumn("track_id");
    if (column < 0) return Error::inFile(ErrorCode::Format, (world / "tracks.csv").string(), "has no track_id column");
    std::vector<std::string> ids;
    while (csv->next()) ids.emplace_back(csv->field(column));
    return ids;
}

int runCodecEval(const Args& args)
{
    const fs::path world = *args.get("world");
    Expected<long long> seed = args.integer("seed", 0);
    if (!seed) return reportError(seed.error());
    Expected<long long> limit = args.integer("songs", 100);
    if (!limit) return reportError(limit.error());
    Expected<TrainedCodec> codec = TrainedCodec::load(*args.get("codec"));
    if (!codec) return reportError(codec.error());
    Expected<std::vector<std::string>> ids = worldIds(world);
    if (!ids) return reportError(ids.error());
    std::vector<std::string> heldOut = heldOutSongIds(*ids, static_cast<uint64_t>(*seed));
    if (static_cast<long long>(heldOut.size()) > *limit) heldOut.resize(static_cast<size_t>(*limit));
    Expected<long long> codebooks = args.integer("codebooks", 0);
    if (!codebooks) return reportError(codebooks.error());
    if (*codebooks < 0 || *codebooks > codec->codebookCount())
        return reportError(Error { ErrorCode::InvalidArgument,
            "--codebooks must be between 1 and the codec's " + std::to_string(codec->codebookCount()) });
    const TrainedCodec::RoundTripOptions tripOptions { static_cast<int>(*codebooks), args.has("unquantized") };
    const auto out = args.get("out");
    if (out) fs::create_directories(fs::path(*out) / "reconstructed");

    std::ostringstream csv;
    csv << "track_id,log_mel_db,tempo,tempo_reconstructed,mode,mode_reconstructed,acousticness,"
           "acousticness_reconstructed\n";
    std::vector<double> distances;
    int tempoKept = 0, modeKept = 0, acousticKept = 0, n = 0;
    for (const std::string& id : heldOut) {
        const fs::path path = world / "audio" / (id + ".wav");
        Expected<std::vector<float>> audio = readAudioMono(path, codec->sampleRate());
        if (!audio) return reportError(audio.error());
        Expected<TrainedCodec::RoundTrip> trip = codec->roundTrip(*audio, tripOptions);
        if (!trip) return reportError(trip.error());
        const AudioMetrics a = analyseSignal(*audio, codec->sampleRate());
        const AudioMetrics b = analyseSignal(trip->audio, codec->sampleRate());
        const bool tempoSame = a.tempoBpm > 0 && std::abs(b.tempoBpm / a.tempoBpm - 1.0) <= 0.02;
        tempoKept += tempoSame;
        modeKept += a.mode == b.mode;
        acousticKept += (a.acousticness >= 0.5) == (b.acousticness >= 0.5);
        distances.push_back(trip->logMelDb);
        ++n;
        csv << id << "," << trip->logMelDb << "," << a.tempoBpm << "," << b.tempoBpm << "," << a.mode << "," << b.mode
            << "," << a.acousticness << "," << b.acousticness << "\n";
        if (out) {
            Expected<void> written = writeAudioFile(
                fs::path(*out) / "reconstructed" / (id + ".wav"), trip->audio, 1, codec->sampleRate(), {});
            if (!written) return reportError(written.error());
        }
        if (n % 10 == 0) std::fprintf(stderr, "evaluated %d/%zu songs\n", n, heldOut.size());
    }
    if (n == 0) return reportError(Error { ErrorCode::NotFound, "no held-out songs to evaluate" });
    if (out) {
        Expected<void> written = writeFileAtomic(fs::path(*out) / "codec-eval.csv", csv.str());
        if (!written) return reportError(written.error());
    }
    std::sort(distances.begin(), distances.end());
    double mean = 0.0;
    for (double d : distances) mean += d / n;
    std::printf("held-out songs: %d\n", n);
    std::printf(
        "log-mel distance: mean %.2f dB, median %.2f dB (target <= 5 dB)\n", mean, distances[distances.size() / 2]);
    std::printf("tempo kept within 2%%: %.3f (target >= 0.95)\n", static_cast<double>(tempoKept) / n);
    std::printf("acoustic vs electronic kept: %.3f (target >= 0.95)\n", static_cast<double>(acousticKept) / n);
    std::printf("mode kept: %.3f (target >= 0.85)\n", static_cast<double>(modeKept) / n);
    return kExitOk;
}

} // namespace

Command codecEvalCommand()
{
    Command command;
    command.name = "codec-eval";
    command.summary = "Measure a trained codec on held-out world songs (log-mel distance, tempo, mode, acoustic).";
    command.options = {
        { "codec", OptionKind::Value, "PATH", "a codec folder or a train-codec checkpoint.safetensors", true },
        { "world", OptionKind::Value, "DIR", "the world the codec was trained on", true },
        { "seed", OptionKind::Value, "S", "the training seed (it decides the held-out songs; default 0)" },
        { "songs", OptionKind::Value, "N", "evaluate at most N held-out songs (default 100)" },
        { "out", OptionKind::Value, "DIR", "write codec-eval.csv and the reconstructions here" },
        { "codebooks", OptionKind::Value, "N", "decode with the first N codebooks only (default: all)" },
        { "unquantized", OptionKind::Flag, "", "decode the encoder's latent itself, without the quantizer" },
    };
    command.run = runCodecEval;
    return command;
}

} // namespace tmk::cli
