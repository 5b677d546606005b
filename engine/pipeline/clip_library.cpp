// The clip library: save, list, rename, remove and restore clips with their JSON sidecars. Torch-free: it
// uses the public audio and file APIs only. See tastemaker/clip_library.h for the layout and guarantees.
#include "tastemaker/clip_library.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

#include "core/json.h"
#include "tastemaker/audio_file.h"
#include "tastemaker/fileio.h"

namespace tmk {

namespace fs = std::filesystem;
using OrderedJson = nlohmann::ordered_json;

namespace {

constexpr const char* kFormat = "tastemaker-clip";
constexpr int kVersion = 1;
constexpr const char* kTrash = ".trash";
constexpr const char* kAudioExtension = ".wav";

// {"2024-05-01T15:30:12.123Z", "20240501-153012-123"} for now (UTC).
std::pair<std::string, std::string> timestampsNow()
{
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    std::tm utc {};
    ::gmtime_r(&seconds, &utc);
    char iso[64], compact[64];
    std::snprintf(iso, sizeof iso, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
        utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms));
    std::snprintf(compact, sizeof compact, "%04d%02d%02d-%02d%02d%02d-%03d", utc.tm_year + 1900, utc.tm_mon + 1,
        utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms));
    return { iso, compact };
}

// "Lo-fi Hip Hop, soft piano!" -> "lo-fi-hip-hop-soft-piano" (ASCII letters and digits, at most 40 chars).
std::string slug(const std::string& text)
{
    std::string out;
    for (unsigned char c : text) {
        if (out.size() >= 40) break;
        if (std::isalnum(c) && c < 128)
            out += static_cast<char>(std::tolower(c));
        else if (!out.empty() && out.back() != '-')
            out += '-';
    }
    while (!out.empty() && out.back() == '-') out.pop_back();
    return out.empty() ? "clip" : out;
}

bool isHidden(const fs::path& path)
{
    return path.filename().string().starts_with(".");
}

bool isAudioFile(const fs::path& path)
{
    std::string ext = path.extension().string();
    std::transform(
        ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext == ".wav" || ext == ".flac" || ext == ".ogg";
}

// An id or an audio file name must be a plain name inside the library folder.
bool isPlainName(const std::string& name)
{
    return !name.empty() && name[0] != '.' && name.find('/') == std::string::npos
        && name.find('\\') == std::string::npos;
}

std::string osError()
{
    return std::strerror(errno);
}

// rename() that refuses to replace an existing file (EEXIST), where the file system supports it.
int renameNoReplace(const fs::path& from, const fs::path& to)
{
#ifdef RENAME_NOREPLACE
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
    if (errno != EINVAL && errno != ENOSYS) return -1;
#endif
    std::error_code ec;
    if (fs::exists(to, ec)) {
        errno = EEXIST;
        return -1;
    }
    return ::rename(from.c_str(), to.c_str());
}

// Makes the renames in `dir` durable.
void syncFolder(const fs::path& dir)
{
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

OrderedJson identityJson(const ContentIdentity& identity)
{
    if (identity.empty()) return nullptr;
    return OrderedJson { { "name", identity.name }, { "path", identity.path.string() },
        { "fingerprint", identity.fingerprint } };
}

Expected<ContentIdentity> identityFromJson(const nlohmann::json& object, const std::string& where)
{
    ContentIdentity identity;
    Expected<std::string> name = jsonField<std::string>(object, "name", where);
    Expected<std::string> path = jsonField<std::string>(object, "path", where);
    Expected<std::string> print = jsonField<std::string>(object, "fingerprint", where);
    for (const auto* field : { &name, &path, &print })
        if (!*field) return field->error();
    if (path->empty()) return Error::inFile(ErrorCode::Format, where, "has an empty \"path\"");
    return ContentIdentity { *name, *path, *print };
}

// The sampling parameters but the seed (kept at the sidecar's top level).
OrderedJson samplingJson(const SamplingParams& sampling)
{
    return OrderedJson { { "greedy", sampling.greedy }, { "top_k", sampling.topK }, { "top_p", sampling.topP },
        { "temperature", sampling.temperature }, { "guidance_scale", sampling.guidanceScale } };
}

Expected<void> readSampling(const nlohmann::json& sampling, ClipRecord& record, const std::string& where)
{
    Expected<bool> greedy = jsonField<bool>(sampling, "greedy", where);
    Expected<int64_t> topK = jsonField<int64_t>(sampling, "top_k", where);
    Expected<double> topP = jsonField<double>(sampling, "top_p", where);
    Expected<double> temperature = jsonField<double>(sampling, "temperature", where);
    Expected<double> cfg = jsonField<double>(sampling, "guidance_scale", where);
    if (!greedy) return greedy.error();
    if (!topK) return topK.error();
    for (const auto* field : { &topP, &temperature, &cfg })
        if (!*field) return field->error();
    record.sampling.greedy = *greedy;
    record.sampling.topK = *topK;
    record.sampling.topP = *topP;
    record.sampling.temperature = *temperature;
    record.sampling.guidanceScale = *cfg;
    return {};
}

Expected<void> readBatchAndSliders(const nlohmann::json& json, ClipRecord& record, const std::string& where)
{
    record.batchPrompts = { record.prompt };
    record.batchIndex = 0;
    if (json.contains("batch")) {
        Expected<std::vector<std::string>> prompts
            = jsonField<std::vector<std::string>>(json["batch"], "prompts", where + " batch");
        Expected<int64_t> index = jsonField<int64_t>(json["batch"], "index", where + " batch");
        if (!prompts) return prompts.error();
        if (!index) return index.error();
        if (*index < 0 || *index >= static_cast<int64_t>(prompts->size())
            || (*prompts)[static_cast<size_t>(*index)] != record.prompt)
            return Error::inFile(
                ErrorCode::Format, where, "has a batch whose index does not point at the clip's prompt");
        record.batchPrompts = std::move(*prompts);
        record.batchIndex = *index;
    }
    Expected<std::map<std::string, double>> sliders
        = jsonFieldOr<std::map<std::string, double>>(json, "sliders", {}, where);
    if (!sliders) return sliders.error();
    for (const auto& [id, value] : *sliders)
        if (!std::isfinite(value))
            return Error::inFile(ErrorCode::Format, where, "has a non-finite value for slider \"" + id + "\"");
    record.sliders = std::move(*sliders);
    if (json.contains("sliders_merged")) {
        Expected<std::map<std::string, double>> merged
            = jsonFieldOr<std::map<std::string, double>>(json, "sliders_merged", {}, where);
        if (!merged) return merged.error();
        for (const auto& [id, value] : *merged)
            if (!std::isfinite(value))
                return Error::inFile(
                    ErrorCode::Format, where, "has a non-finite value for merged slider \"" + id + "\"");
        record.mergedSliders = std::move(*merged);
    }
    return {};
}

Expected<void> readIdentities(const nlohmann::json& json, ClipRecord& record, const std::string& where)
{
    if (!json.contains("model") || !json["model"].is_object())
        return Error::inFile(ErrorCode::Format, where, "has no \"model\" object");
    Expected<ContentIdentity> model = identityFromJson(json["model"], where + " model");
    if (!model) return model.error();
    record.model = std::move(*model);
    if (json.contains("adapter_bank") && !json["adapter_bank"].is_null()) {
        Expected<ContentIdentity> bank = identityFromJson(json["adapter_bank"], where + " adapter_bank");
        if (!bank) return bank.error();
        record.bank = std::move(*bank);
    }
    return {};
}

// The record fields of a parsed sidecar (format and version already checked).
Expected<ClipRecord> recordFromJson(const nlohmann::json& json, const std::string& where)
{
    ClipRecord record;
    Expected<std::string> prompt = jsonField<std::string>(json, "prompt", where);
    if (!prompt) return prompt.error();
    record.prompt = *prompt;
    Expected<std::string> title = jsonFieldOr<std::string>(json, "title", record.prompt, where);
    if (!title) return title.error();
    record.title = *title;
    if (!json.contains("seed") || !json["seed"].is_number_unsigned())
        return Error::inFile(ErrorCode::Format, where, "needs \"seed\" as a non-negative integer");
    record.sampling.seed = json["seed"].get<uint64_t>();
    if (!json.contains("sampling")) return Error::inFile(ErrorCode::Format, where, "has no \"sampling\" entry");
    TMK_TRY(readSampling(json["sampling"], record, where + " sampling"));
    TMK_TRY(readBatchAndSliders(json, record, where));
    TMK_TRY(readIdentities(json, record, where));
    Expected<int64_t> frames = jsonField<int64_t>(json, "frames", where);
    Expected<int> rate = jsonField<int>(json, "sample_rate", where);
    Expected<std::string> device = jsonField<std::string>(json, "device", where);
    Expected<std::string> dtype = jsonField<std::string>(json, "dtype", where);
    Expected<std::string> created = jsonField<std::string>(json, "created_at", where);
    Expected<double> duration = jsonFieldOr<double>(json, "duration_seconds", 0.0, where);
    Expected<int64_t> samples = jsonFieldOr<int64_t>(json, "samples", 0, where);
    Expected<std::string> build = jsonFieldOr<std::string>(json, "build", "", where);
    if (!frames) return frames.error();
    if (!rate) return rate.error();
    for (const auto* field : { &device, &dtype, &created, &build })
        if (!*field) return field->error();
    if (!duration) return duration.error();
    if (!samples) return samples.error();
    if (*frames < 1 || *rate < 1)
        return Error::inFile(ErrorCode::Format, where, "needs a positive \"frames\" and \"sample_rate\"");
    record.frames = *frames;
    record.sampleRate = *rate;
    record.device = *device;
    record.dtype = *dtype;
    record.createdAt = *created;
    record.durationSeconds = *duration;
    record.samples = *samples;
    record.build = *build;
    return record;
}

} // namespace

std::string sidecarJson(const ClipRecord& record, const std::string& audioFileName)
{
    OrderedJson sliders = OrderedJson::object();
    for (const auto& [id, value] : record.sliders) sliders[id] = value;
    OrderedJson json = {
        { "format", kFormat },
        { "version", kVersion },
        { "audio", audioFileName },
        { "title", record.title },
        { "prompt", record.prompt },
        { "batch", { { "prompts", record.batchPrompts }, { "index", record.batchIndex } } },
        { "sliders", sliders },
        { "seed", record.sampling.seed },
        { "sampling", samplingJson(record.sampling) },
        { "frames", record.frames },
        { "duration_seconds", record.durationSeconds },
        { "sample_rate", record.sampleRate },
        { "samples", record.samples },
        { "audio_format", "wav float32 mono" },
        { "model", identityJson(record.model) },
        { "adapter_bank", identityJson(record.bank) },
        { "device", record.device },
        { "dtype", record.dtype },
        { "build", record.build },
        { "created_at", record.createdAt },
    };
    if (record.mergedSliders) {
        OrderedJson merged = OrderedJson::object();
        for (const auto& [id, value] : *record.mergedSliders) merged[id] = value;
        json["sliders_merged"] = merged; // after "created_at": older readers ignore it
    }
    return json.dump(2) + "\n";
}

Expected<ClipEntry> readSidecar(const fs::path& sidecarPath)
{
    const std::string where = sidecarPath.string();
    Expected<nlohmann::json> json = readJsonFile(sidecarPath);
    if (!json) return json.error();
    if (!json->is_object() || json->value("format", std::string()) != kFormat)
        return Error::inFile(
            ErrorCode::Format, where, std::string("is not a clip sidecar (no \"format\": \"") + kFormat + "\")");
    Expected<int> version = jsonField<int>(*json, "version", where);
    if (!version) return version.error();
    if (*version != kVersion)
        return Error::inFile(ErrorCode::Unsupported, where,
            "has sidecar version " + std::to_string(*version) + "; this build reads version "
                + std::to_string(kVersion));
    Expected<std::string> audio = jsonField<std::string>(*json, "audio", where);
    if (!audio) return audio.error();
    if (!isPlainName(*audio))
        return Error::inFile(ErrorCode::Format, where, "names an audio file outside its folder: \"" + *audio + "\"");
    Expected<ClipRecord> record = recordFromJson(*json, where);
    if (!record) return record.error();
    ClipEntry entry;
    entry.id = sidecarPath.stem().string();
    entry.sidecarPath = sidecarPath;
    entry.audioPath = sidecarPath.parent_path() / *audio;
    entry.record = std::move(*record);
    return entry;
}

std::string clipComment(const ClipRecord& record)
{
    std::string text = "Tastemaker; prompt: " + record.prompt + "; seed: " + std::to_string(record.sampling.seed);
    if (!record.sliders.empty()) {
        text += "; sliders: ";
        bool first = true;
        for (const auto& [id, value] : record.sliders) {
            char number[32];
            std::snprintf(number, sizeof number, "%+.2f", value);
            text += (first ? "" : ", ") + id + "=" + number;
            first = false;
        }
    }
    if (!record.model.name.empty()) text += "; model: " + record.model.name;
    if (!record.bank.empty()) text += "; adapters: " + record.bank.name;
    return text;
}

Expected<ClipLibrary> ClipLibrary::open(const fs::path& dir)
{
    std::error_code ec;
    if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
        return Error::inFile(ErrorCode::InvalidArgument, dir.string(), "is a file, not a clip library folder");
    fs::create_directories(dir, ec);
    if (ec)
        return Error::inFile(
            ErrorCode::Io, dir.string(), "could not be created as a clip library folder (" + ec.message() + ")");
    return ClipLibrary(dir);
}

namespace {

// A free id for a clip made at `stamp`: "<stamp>-<slug>", then "-2", "-3", ... while taken.
std::string freeId(const fs::path& dir, const std::string& stamp, const std::string& prompt, int& attempt)
{
    std::error_code ec;
    for (;; ++attempt) {
        std::string id = stamp + "-" + slug(prompt) + (attempt > 1 ? "-" + std::to_string(attempt) : "");
        if (!fs::exists(dir / (id + kAudioExtension), ec) && !fs::exists(dir / (id + ".json"), ec)) return id;
    }
}

} // namespace

Expected<ClipEntry> ClipLibrary::save(ClipRecord record, std::span<const float> samples)
{
    if (record.sampleRate <= 0 || samples.empty())
        return Error::inFile(
            ErrorCode::InvalidArgument, m_dir.string(), "cannot save a clip without audio or a sample rate");
    auto [iso, stamp] = timestampsNow();
    if (record.createdAt.empty()) record.createdAt = iso;
    if (record.title.empty()) record.title = record.prompt;
    record.samples = static_cast<int64_t>(samples.size());
    AudioWriteOptions options { AudioContainer::Wav, SampleFormat::F32, clipComment(record) };
    for (int attempt = 1; attempt < 1000; ++attempt) {
        const std::string id = freeId(m_dir, stamp, record.prompt, attempt);
        const std::string audioName = id + kAudioExtension;
        const fs::path audio = m_dir / audioName, sidecar = m_dir / (id + ".json");
        const fs::path audioTemp = m_dir / ("." + audioName + ".pending"),
                       sidecarTemp = m_dir / ("." + id + ".json.pending");
        std::error_code ec;
        auto cleanUp = [&] {
            fs::remove(audioTemp, ec);
            fs::remove(sidecarTemp, ec);
        };
        // 1. Both files complete on disk under hidden names.
        Expected<void> written = writeAudioFile(audioTemp, samples, 1, record.sampleRate, options);
        if (written) written = writeFileAtomic(sidecarTemp, sidecarJson(record, audioName));
        if (!written) {
            cleanUp();
            return Error::inFile(
                written.error().code, audio.string(), "could not be saved: " + written.error().message);
        }
        // 2. The audio takes its name (another process may have taken it meanwhile: try the next id).
        if (renameNoReplace(audioTemp, audio) != 0) {
            const int error = errno;
            cleanUp();
            if (error == EEXIST) continue;
            return Error::inFile(
                ErrorCode::Io, audio.string(), "could not be saved: " + std::string(std::strerror(error)));
        }
        // 3. The sidecar last: from here on the clip is listed.
        if (::rename(sidecarTemp.c_str(), sidecar.c_str()) != 0) {
            const std::string problem = osError();
            fs::remove(audio, ec);
            cleanUp();
            return Error::inFile(ErrorCode::Io, sidecar.string(), "could not be saved: " + problem);
        }
        syncFolder(m_dir);
        return ClipEntry { id, audio, sidecar, std::move(record) };
    }
    return Error::inFile(ErrorCode::Io, m_dir.string(), "has no free clip name left for this moment");
}

Expected<std::vector<ClipEntry>> ClipLibrary::list()
{
    m_problems.clear();
    std::error_code ec;
    std::vector<fs::path> sidecars, audioFiles;
    for (const fs::directory_entry& item : fs::directory_iterator(m_dir, ec)) {
        if (isHidden(item.path()) || !item.is_regular_file(ec)) continue;
        if (item.path().extension() == ".json")
            sidecars.push_back(item.path());
        else if (isAudioFile(item.path()))
            audioFiles.push_back(item.path());
    }
    if (ec) return Error::inFile(ErrorCode::Io, m_dir.string(), "could not be listed (" + ec.message() + ")");
    std::vector<ClipEntry> entries;
    std::vector<fs::path> accounted; // audio files that belong to a sidecar, readable or not
    for (const fs::path& path : sidecars) {
        Expected<ClipEntry> entry = readSidecar(path);
        if (!entry) {
            m_problems.push_back({ path, entry.error().message + "; the clip is skipped" });
            for (const fs::path& audio : audioFiles)
                if (audio.stem() == path.stem()) accounted.push_back(audio);
            continue;
        }
        accounted.push_back(entry->audioPath);
        if (!fs::is_regular_file(entry->audioPath, ec)) {
            m_problems.push_back({ path,
                path.string() + ": its audio file " + entry->audioPath.filename().string()
                    + " is missing; the clip is skipped" });
            continue;
        }
        entries.push_back(std::move(*entry));
    }
    for (const fs::path& audio : audioFiles)
        if (std::find(accounted.begin(), accounted.end(), audio) == accounted.end())
            m_problems.push_back(
                { audio, audio.string() + ": has no sidecar (an interrupted save?); the clip is skipped" });
    std::sort(entries.begin(), entries.end(), [](const ClipEntry& a, const ClipEntry& b) {
        return a.record.createdAt != b.record.createdAt ? a.record.createdAt > b.record.createdAt : a.id > b.id;
    });
    std::sort(m_problems.begin(), m_problems.end(),
        [](const LibraryProblem& a, const LibraryProblem& b) { return a.path < b.path; });
    return entries;
}

Expected<ClipEntry> ClipLibrary::find(const std::string& id) const
{
    if (!isPlainName(id)) return Error { ErrorCode::InvalidArgument, "\"" + id + "\" is not a clip id" };
    const fs::path sidecar = m_dir / (id + ".json");
    std::error_code ec;
    if (!fs::exists(sidecar, ec))
        return Error::inFile(ErrorCode::NotFound, m_dir.string(), "has no clip \"" + id + "\"");
    Expected<ClipEntry> entry = readSidecar(sidecar);
    if (!entry) return entry.error();
    if (!fs::is_regular_file(entry->audioPath, ec))
        return Error::inFile(
            ErrorCode::NotFound, entry->audioPath.string(), "(the audio of clip \"" + id + "\") is missing");
    return entry;
}

Expected<ClipEntry> ClipLibrary::rename(const std::string& id, const std::string& title)
{
    Expected<ClipEntry> entry = find(id);
    if (!entry) return entry.error();
    entry->record.title = title;
    TMK_TRY(writeFileAtomic(entry->sidecarPath, sidecarJson(entry->record, entry->audioPath.filename().string())));
    return entry;
}

namespace {

// Moves `from` to `to` (no replacing); the error names both.
Expected<void> moveFile(const fs::path& from, const fs::path& to)
{
    if (renameNoReplace(from, to) != 0)
        return Error::inFile(
            ErrorCode::Io, from.string(), "could not be moved to " + to.string() + " (" + osError() + ")");
    return {};
}

// The audio file a sidecar names, or <id>.wav when the sidecar is unreadable.
fs::path audioOf(const fs::path& sidecar)
{
    Expected<ClipEntry> entry = readSidecar(sidecar);
    if (entry) return entry->audioPath;
    return sidecar.parent_path() / (sidecar.stem().string() + kAudioExtension);
}

} // namespace

Expected<void> ClipLibrary::remove(const std::string& id)
{
    if (!isPlainName(id)) return Error { ErrorCode::InvalidArgument, "\"" + id + "\" is not a clip id" };
    const fs::path sidecar = m_dir / (id + ".json"), audio = audioOf(sidecar), trash = m_dir / kTrash;
    std::error_code ec;
    const bool hasSidecar = fs::exists(sidecar, ec), hasAudio = fs::exists(audio, ec);
    if (!hasSidecar && !hasAudio)
        return Error::inFile(ErrorCode::NotFound, m_dir.string(), "has no clip \"" + id + "\"");
    fs::create_directories(trash, ec);
    if (ec) return Error::inFile(ErrorCode::Io, trash.string(), "could not be created (" + ec.message() + ")");
    // An older removal of the same id in the trash is replaced.
    fs::remove(trash / sidecar.filename(), ec);
    fs::remove(trash / audio.filename(), ec);
    if (hasSidecar) TMK_TRY(moveFile(sidecar, trash / sidecar.filename()));
    if (hasAudio) TMK_TRY(moveFile(audio, trash / audio.filename()));
    syncFolder(m_dir);
    return {};
}

Expected<ClipEntry> ClipLibrary::restore(const std::string& id)
{
    if (!isPlainName(id)) return Error { ErrorCode::InvalidArgument, "\"" + id + "\" is not a clip id" };
    const fs::path trash = m_dir / kTrash;
    Expected<ClipEntry> removed = readSidecar(trash / (id + ".json"));
    if (!removed) return removed.error();
    const fs::path audioName = removed->audioPath.filename();
    std::error_code ec;
    if (!fs::exists(trash / audioName, ec))
        return Error::inFile(
            ErrorCode::NotFound, (trash / audioName).string(), "(the removed clip's audio) is missing");
    TMK_TRY(moveFile(trash / audioName, m_dir / audioName));
    TMK_TRY(moveFile(trash / (id + ".json"), m_dir / (id + ".json")));
    syncFolder(m_dir);
    return find(id);
}

Expected<void> ClipLibrary::emptyTrash()
{
    std::error_code ec;
    fs::remove_all(m_dir / kTrash, ec);
    if (ec)
        return Error::inFile(ErrorCode::Io, (m_dir / kTrash).string(), "could not be emptied (" + ec.message() + ")");
    return {};
}

} // namespace tmk
