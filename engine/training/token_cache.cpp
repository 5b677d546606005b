// The token cache's public reading and storing functions (tokenizeSongs is in tokenize.cpp).
#include "tastemaker/token_cache.h"

#include <cmath>
#include <fstream>

#include "core/model_config.h"
#include "core/sha256.h"
#include "training/token_index.h"

namespace tmk {

namespace fs = std::filesystem;

Expected<void> TokenizeOptions::validate() const
{
    if (modelDir.empty()) return Error { ErrorCode::InvalidArgument, "no model folder was given" };
    if (pairsDir.empty()) return Error { ErrorCode::InvalidArgument, "no pairs folder was given" };
    std::error_code ec;
    if (loadedModel && !fs::equivalent(loadedModel->info().dir, modelDir, ec))
        return Error { ErrorCode::InvalidArgument,
            "the loaded model comes from " + loadedModel->info().dir.string() + ", not from " + modelDir.string() };
    if (!(windowSeconds > 0.0) || !std::isfinite(windowSeconds) || windowSeconds > 3600.0)
        return Error { ErrorCode::InvalidArgument,
            "the window must be between 0 and 3600 seconds (got " + std::to_string(windowSeconds) + ")" };
    if (!(startFraction >= 0.0 && startFraction <= 1.0))
        return Error { ErrorCode::InvalidArgument,
            "the window start must be a fraction of the track in [0, 1] (got " + std::to_string(startFraction) + ")" };
    return {};
}

std::string tokenCacheKey(const ContentIdentity& model)
{
    std::string hex = model.fingerprint;
    const std::string prefix = "sha256:";
    if (hex.rfind(prefix, 0) == 0) hex = hex.substr(prefix.size());
    return hex.substr(0, 16);
}

fs::path tokenCacheDir(const fs::path& pairsDir, const ContentIdentity& model)
{
    return pairsDir / "tokens" / tokenCacheKey(model);
}

Expected<std::string> fileContentHash(const fs::path& path)
{
    std::error_code ec;
    if (!fs::exists(path, ec)) return Error::inFile(ErrorCode::NotFound, path.string(), "does not exist");
    if (fs::is_directory(path, ec))
        return Error::inFile(ErrorCode::InvalidArgument, path.string(), "is a folder, not an audio file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error::inFile(ErrorCode::Io, path.string(), "cannot be opened for reading");
    Sha256 hash;
    std::vector<char> buffer(1 << 20);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        if (in.gcount() > 0) hash.update(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    if (in.bad()) return Error::inFile(ErrorCode::Io, path.string(), "could not be read to the end");
    return hash.hexDigest();
}

namespace {

Expected<void> checkModel(const ContentIdentity& model)
{
    if (tokenCacheKey(model).size() != 16)
        return Error { ErrorCode::InvalidArgument, "the model identity has no fingerprint (use codecIdentity())" };
    return {};
}

// The cache's index, or a NotFound error that says how to make one.
Expected<TokenIndex> openIndex(const fs::path& cacheDir, const ContentIdentity& model)
{
    const fs::path indexPath = tokenIndexPath(cacheDir);
    std::error_code ec;
    if (!fs::exists(indexPath, ec))
        return Error::inFile(ErrorCode::NotFound, indexPath.string(),
            "does not exist: the songs have not been tokenized for model " + model.name
                + " (run `tastemaker-cli tokenize --model " + model.path.string() + " --pairs "
                + cacheDir.parent_path().parent_path().string() + "`)");
    Expected<TokenIndex> index = readTokenIndex(indexPath);
    if (!index) return index.error();
    if (index->modelFingerprint != model.fingerprint)
        return Error::inFile(ErrorCode::Mismatch, indexPath.string(),
            "was made for another model (fingerprint " + index->modelFingerprint + ", model " + model.name + " has "
                + model.fingerprint + ")");
    return index;
}

// K and V from the model folder's config.json, when it can be read (else 0: not checked).
TokenFileExpectation modelExpectation(const ContentIdentity& model)
{
    TokenFileExpectation expect;
    if (model.path.empty()) return expect;
    Expected<MusicgenConfig> config = MusicgenConfig::load(model.path);
    if (!config) return expect;
    expect.codebooks = config->decoder.numCodebooks;
    expect.codebookSize = config->codec.codebookSize;
    return expect;
}

Expected<void> checkAgainstModel(
    const AudioCodes& codes, const TokenFileExpectation& expect, const std::string& trackId)
{
    if (expect.codebooks > 0 && codes.codebooks != expect.codebooks)
        return Error { ErrorCode::Mismatch,
            "the codes of track \"" + trackId + "\" have " + std::to_string(codes.codebooks)
                + " codebooks, the model has " + std::to_string(expect.codebooks) };
    for (int64_t v : codes.values)
        if (expect.codebookSize > 0 && v >= expect.codebookSize)
            return Error { ErrorCode::Mismatch,
                "the codes of track \"" + trackId + "\" hold " + std::to_string(v)
                    + ", outside the model's codebooks [0, " + std::to_string(expect.codebookSize) + ")" };
    return {};
}

} // namespace

Expected<std::map<std::string, AudioCodes>> loadTokenCache(const fs::path& pairsDir, const ContentIdentity& model)
{
    TMK_TRY(checkModel(model));
    const fs::path cacheDir = tokenCacheDir(pairsDir, model);
    Expected<TokenIndex> index = openIndex(cacheDir, model);
    if (!index) return index.error();
    TokenFileExpectation expect = modelExpectation(model);
    std::map<std::string, AudioCodes> codes;
    std::map<std::string, AudioCodes> byHash; // songs that share a file are read once
    for (const auto& [trackId, entry] : index->tracks) {
        auto known = byHash.find(entry.hash);
        if (known != byHash.end() && known->second.frames == entry.frames) {
            codes[trackId] = known->second;
            continue;
        }
        const fs::path file = tokenFilePath(cacheDir, entry.hash);
        expect.frames = entry.frames;
        Expected<TokenFile> stored = readTokenFile(file, expect);
        if (!stored)
            return Error { stored.error().code,
                stored.error().message + " (the cached codes of track \"" + trackId
                    + "\"; run `tastemaker-cli tokenize` again to re-encode it)" };
        expect.codebooks = stored->codes.codebooks; // every song has the same K
        byHash[entry.hash] = stored->codes;
        codes[trackId] = std::move(stored->codes);
    }
    return codes;
}

Expected<void> storeTokens(const fs::path& pairsDir, const ContentIdentity& model, const std::string& trackId,
    const std::string& contentHash, const AudioCodes& codes)
{
    TMK_TRY(checkModel(model));
    if (trackId.empty()) return Error { ErrorCode::InvalidArgument, "the track id is empty" };
    if (!isContentHash(contentHash))
        return Error { ErrorCode::InvalidArgument,
            "the content hash of track \"" + trackId + "\" is not 64 lower-case hex digits" };
    TMK_TRY(checkCodesToStore(codes, "the codes of track \"" + trackId + "\""));
    TMK_TRY(checkAgainstModel(codes, modelExpectation(model), trackId));
    const fs::path cacheDir = tokenCacheDir(pairsDir, model);
    std::error_code ec;
    fs::create_directories(cacheDir, ec);
    if (ec) return Error::inFile(ErrorCode::Io, cacheDir.string(), "cannot be created (" + ec.message() + ")");
    TokenIndex index;
    index.modelName = model.name;
    index.modelFingerprint = model.fingerprint;
    if (fs::exists(tokenIndexPath(cacheDir), ec)) {
        Expected<TokenIndex> existing = openIndex(cacheDir, model);
        if (!existing) return existing.error();
        index = std::move(*existing);
    }
    TMK_TRY(writeTokenFile(tokenFilePath(cacheDir, contentHash), codes, model.fingerprint, index.window));
    index.tracks[trackId] = TokenEntry { contentHash, codes.frames, {} };
    index.failed.erase(trackId);
    return writeTokenIndex(tokenIndexPath(cacheDir), index);
}

} // namespace tmk
