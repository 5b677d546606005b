#include "calibration.h"

#include <cmath>
#include <cstdio>
#include <functional>

#include "model_fit.h"
#include "tastemaker/fileio.h"

namespace tmk::analysis {

namespace {

const std::vector<std::string> kTruthColumns = { "tempo", "key", "mode", "energy", "danceability", "acousticness",
    "valence", "instrumentalness", "speechiness", "liveness" };
const std::vector<std::string> kLearned
    = { "energy", "danceability", "valence", "instrumentalness", "speechiness", "liveness" }; // acousticness: the net

// RFC 4180 rows: quoted fields may hold commas, doubled quotes and newlines.
std::vector<std::vector<std::string>> parseCsv(const std::string& text)
{
    std::vector<std::vector<std::string>> rows(1);
    std::string field;
    bool quoted = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
                field += '"', ++i;
            else if (c == '"')
                quoted = false;
            else
                field += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            rows.back().push_back(std::move(field));
            field.clear();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            rows.back().push_back(std::move(field));
            field.clear();
            rows.emplace_back();
        } else {
            field += c;
        }
    }
    if (!field.empty() || !rows.back().empty()) rows.back().push_back(std::move(field));
    if (rows.back().empty()) rows.pop_back();
    return rows;
}

double number(const std::string& cell)
{
    char* end = nullptr;
    const double v = std::strtod(cell.c_str(), &end);
    return end != cell.c_str() ? v : NAN;
}

} // namespace

double measuredMetric(const AudioMetrics& m, const std::string& name)
{
    if (name == "energy") return m.energy;
    if (name == "danceability") return m.danceability;
    if (name == "acousticness") return m.acousticness;
    if (name == "valence") return m.valence;
    if (name == "instrumentalness") return m.instrumentalness;
    if (name == "speechiness") return m.speechiness;
    if (name == "liveness") return m.liveness;
    if (name == "tempo") return m.tempoBpm;
    if (name == "mode") return m.mode;
    return NAN;
}

namespace {

// The generator's own value of each metric from its knobs (knobs.csv), without the noise that tracks.csv adds
// (docs/world.md gives the formulas). Sets truth["knob:<metric>"], and knob tempo and mode.
Expected<void> addKnobTargets(const std::filesystem::path& dir, std::vector<WorldSong>& songs)
{
    const std::filesystem::path file = dir / "knobs.csv";
    Expected<std::string> text = readFileText(file);
    if (!text) return text.error();
    const std::vector<std::vector<std::string>> rows = parseCsv(*text);
    if (rows.empty()) return Error::inFile(ErrorCode::Format, file.string(), "empty");
    std::map<std::string, size_t> column;
    for (size_t i = 0; i < rows[0].size(); ++i) column[rows[0][i]] = i;
    for (const char* name : { "audio_path", "bpm", "mode", "energy", "swing", "rubato", "drums_on", "acoustic_parts",
             "parts", "voice_bars", "spoken_bars", "bars", "crowd_level", "reverb" })
        if (!column.count(name))
            return Error::inFile(ErrorCode::Format, file.string(), std::string("no ") + name + " column");
    std::map<std::filesystem::path, size_t> songByAudio;
    for (size_t i = 0; i < songs.size(); ++i) songByAudio[songs[i].audio] = i;
    for (size_t r = 1; r < rows.size(); ++r) {
        if (rows[r].size() != rows[0].size()) continue;
        auto v = [&](const char* name) { return number(rows[r][column[name]]); };
        auto it = songByAudio.find(dir / rows[r][column["audio_path"]]);
        if (it == songByAudio.end()) continue;
        if (column.count("track_genre") && column.count("song_seed")) {
            songs[it->second].genre = rows[r][column["track_genre"]];
            songs[it->second].songSeed = rows[r][column["song_seed"]];
        }
        std::map<std::string, double>& t = songs[it->second].truth;
        const double bpm = v("bpm"), drums = v("drums_on"), energy = v("energy"), bars = std::max(1.0, v("bars"));
        const double tempo = (bpm - 60.0) / 100.0, tempoFit = 1.0 - std::min(1.0, std::abs(bpm - 120.0) / 60.0);
        t["knob:tempo"] = bpm;
        t["knob:mode"] = v("mode");
        t["knob:danceability"] = 0.1 + 0.4 * drums + 0.22 * (1.0 - v("rubato")) + 0.15 * tempoFit - 0.3 * v("swing")
            + 0.08 * energy * drums;
        t["knob:energy"] = 0.88 * energy + 0.1 * tempo;
        t["knob:speechiness"] = 0.03 + 0.9 * v("spoken_bars") / bars;
        t["knob:acousticness"] = v("acoustic_parts") / std::max(1.0, v("parts"));
        t["knob:instrumentalness"] = 0.97 - 0.95 * (v("voice_bars") + v("spoken_bars")) / bars;
        t["knob:liveness"] = 0.05 + 0.75 * v("crowd_level") + 0.15 * v("reverb");
        t["knob:valence"] = 0.1 + 0.42 * v("mode") + 0.18 * tempo + 0.2 * energy;
    }
    return {};
}

} // namespace

double truthOf(const WorldSong& song, const std::string& name)
{
    auto knob = song.truth.find("knob:" + name);
    return knob != song.truth.end() ? knob->second : song.truth.at(name);
}

Expected<std::vector<WorldSong>> readWorldTracks(const std::filesystem::path& dir)
{
    const std::filesystem::path file = dir / "tracks.csv";
    Expected<std::string> text = readFileText(file);
    if (!text) return text.error();
    const std::vector<std::vector<std::string>> rows = parseCsv(*text);
    if (rows.empty()) return Error::inFile(ErrorCode::Format, file.string(), "empty");
    auto column = [&](const std::string& name) {
        for (size_t i = 0; i < rows[0].size(); ++i)
            if (rows[0][i] == name) return static_cast<int>(i);
        return -1;
    };
    const int audio = column("audio_path");
    if (audio < 0) return Error::inFile(ErrorCode::Format, file.string(), "no audio_path column");
    std::map<std::string, int> columns;
    for (const std::string& name : kTruthColumns) {
        columns[name] = column(name);
        if (columns[name] < 0) return Error::inFile(ErrorCode::Format, file.string(), "no " + name + " column");
    }
    std::vector<WorldSong> songs;
    for (size_t r = 1; r < rows.size(); ++r) {
        if (rows[r].size() != rows[0].size())
            return Error::inFile(ErrorCode::Format, file.string(),
                "row " + std::to_string(r + 1) + " has " + std::to_string(rows[r].size()) + " fields, the header "
                    + std::to_string(rows[0].size()));
        WorldSong song;
        song.audio = rows[r][audio];
        if (song.audio.is_relative()) song.audio = dir / song.audio;
        for (const auto& [name, index] : columns) song.truth[name] = number(rows[r][index]);
        songs.push_back(std::move(song));
    }
    if (std::filesystem::exists(dir / "knobs.csv")) TMK_TRY(addKnobTargets(dir, songs));
    return songs;
}

Expected<void> analyseWorldSongs(std::vector<WorldSong>& songs, const AnalysisOptions& options,
    const ProgressCallback& progress, const CancelToken* cancel)
{
    for (size_t i = 0; i < songs.size(); ++i) {
        if (cancel != nullptr && cancel->isCancelled()) return Error { ErrorCode::Cancelled, "calibration cancelled" };
        Expected<AudioMetrics> m = analyseFile(songs[i].audio, options);
        if (!m) return m.error();
        songs[i].measured = std::move(*m);
        if (progress)
            progress(Progress {
                ProgressStage::AnalysingFiles, static_cast<int64_t>(i + 1), static_cast<int64_t>(songs.size()) });
    }
    return {};
}

std::string calibrationReport(const std::vector<WorldSong>& songs, const std::string& title)
{
    const double n = std::max<double>(1.0, static_cast<double>(songs.size()));
    int tempoHits = 0, octaveErrors = 0, modeHits = 0, acousticHits = 0;
    for (const WorldSong& s : songs) {
        const double truth = truthOf(s, "tempo"), est = s.measured.tempoBpm;
        if (tempoWithin2Percent(est, truth))
            ++tempoHits;
        else if (std::abs(est - 2 * truth) <= 0.04 * truth || std::abs(est - truth / 2) <= 0.01 * truth)
            ++octaveErrors;
        if (s.measured.mode == static_cast<int>(truthOf(s, "mode"))) ++modeHits;
        if ((s.measured.acousticness >= 0.5) == (truthOf(s, "acousticness") >= 0.5)) ++acousticHits;
    }
    std::string text = "Analyser calibration: " + title + " (" + std::to_string(songs.size())
        + " songs)\n\n"
          "Truth: the generator's noiseless value from knobs.csv where present (tracks.csv's value, which "
          "adds noise, in brackets).\n\n| estimator | figure | target | met |\n|---|---|---|---|\n";
    char line[200];
    auto row = [&](const std::string& name, double value, const char* target, const char* met) {
        std::snprintf(line, sizeof line, "| %s | %.3f | %s | %s |\n", name.c_str(), value, target, met);
        text += line;
    };
    row("tempo within 2% (share of songs)", tempoHits / n, ">= 0.95", tempoHits / n >= 0.95 ? "yes" : "no");
    row("tempo octave errors (share, counted as misses)", octaveErrors / n, "", "");
    row("mode correct (share)", modeHits / n, ">= 0.95", modeHits / n >= 0.95 ? "yes" : "no");
    row("acoustic vs electronic correct (share, split at 0.5)", acousticHits / n, ">= 0.95",
        acousticHits / n >= 0.95 ? "yes" : "no");
    for (const std::string& name :
        { "energy", "danceability", "speechiness", "instrumentalness", "liveness", "acousticness", "valence" }) {
        std::vector<double> a, b, c;
        for (const WorldSong& s : songs) {
            a.push_back(measuredMetric(s.measured, name));
            b.push_back(truthOf(s, name));
            c.push_back(s.truth.at(name));
        }
        const double rho = spearman(a, b);
        const bool targeted = name != "acousticness" && name != "valence";
        std::snprintf(line, sizeof line, "| Spearman %s | %.3f (%.3f) | %s | %s |\n", name.c_str(), rho, spearman(a, c),
            targeted ? ">= 0.7" : "(reported)", targeted ? (rho >= 0.7 ? "yes" : "no") : "");
        text += line;
    }
    return text;
}

std::vector<LinearModel> fitEstimators(const std::vector<WorldSong>& songs, double ridgeLambda, std::string& log)
{
    char line[160];
    // Fits `name` to `target` on the songs `keep` admits, and logs its in-sample Spearman there.
    auto fit = [&](const std::string& name, const std::function<double(const WorldSong&)>& target,
                   const std::function<bool(const WorldSong&)>& keep) {
        std::vector<AnalysisFeatures> features;
        std::vector<double> targets;
        for (const WorldSong& s : songs) {
            if (!keep(s)) continue;
            features.push_back(s.measured.features);
            targets.push_back(target(s));
        }
        LinearModel model = fitLogitRidge(name, features, targets, {}, ridgeLambda);
        std::vector<double> predicted;
        for (const AnalysisFeatures& f : features) predicted.push_back(modelValue(model, f));
        std::snprintf(line, sizeof line, "%s: in-sample Spearman %.3f on %zu songs\n", name.c_str(),
            spearman(predicted, targets), targets.size());
        log += line;
        return model;
    };
    auto all = [](const WorldSong&) { return true; };
    auto spoken = [](const WorldSong& s) { return truthOf(s, "speechiness") > kSpokenTruth; };
    auto live = [](const WorldSong& s) { return truthOf(s, "liveness") > kLiveTruth; };
    std::vector<LinearModel> models;
    for (const std::string& name : kLearned) {
        auto truth = [&](const WorldSong& s) { return truthOf(s, name); };
        if (name == "speechiness") {
            models.push_back(fit(
                kSpeechPresence, [&](const WorldSong& s) { return spoken(s) ? 1.0 : 0.0; }, all));
            models.push_back(fit(name, truth, spoken));
        } else if (name == "liveness") {
            models.push_back(fit(
                kLivePresence, [&](const WorldSong& s) { return live(s) ? 1.0 : 0.0; }, all));
            models.push_back(fit(name, truth, live));
            models.push_back(fit(kStudioLiveness, truth, [&](const WorldSong& s) { return !live(s); }));
        } else {
            models.push_back(fit(name, truth, all));
        }
    }
    return models;
}

} // namespace tmk::analysis
