// Greedy closest-pair matching, the split draw and the audio folder index (pair_builder.h).
#include <algorithm>
#include <cctype>
#include <limits>
#include <tuple>

#include <queue>

#include "data/pair_builder.h"

namespace tmk {

namespace fs = std::filesystem;

namespace {

struct Edge {
    double distance = std::numeric_limits<double>::infinity();
    int lowRank = 0, highRank = 0;
    int from = -1, to = -1; // `from` owns the entry; to < 0: none
};

bool closer(const Edge& a, const Edge& b)
{
    return std::tie(a.distance, a.lowRank, a.highRank) < std::tie(b.distance, b.lowRank, b.highRank);
}

double squaredDistance(const FeaturePoint& a, const FeaturePoint& b)
{
    double sum = 0.0;
    for (size_t k = 0; k < a.size(); ++k) sum += (a[k] - b[k]) * (a[k] - b[k]);
    return sum;
}

Edge edge(int from, int to, double distance, std::span<const int> rank)
{
    const int a = rank[static_cast<size_t>(from)], b = rank[static_cast<size_t>(to)];
    return Edge { distance, std::min(a, b), std::max(a, b), from, to };
}

// The closest unmatched partner of `from`, or an edge with to < 0.
Edge closestFree(
    int from, std::span<const FeaturePoint> points, std::span<const int> rank, const std::vector<char>& matched)
{
    Edge best;
    for (int to = 0; to < static_cast<int>(points.size()); ++to) {
        if (to == from || matched[static_cast<size_t>(to)]) continue;
        const double d = squaredDistance(points[static_cast<size_t>(from)], points[static_cast<size_t>(to)]);
        if (d > best.distance) continue;
        const Edge candidate = edge(from, to, d, rank);
        if (best.to < 0 || closer(candidate, best)) best = candidate;
    }
    return best;
}

} // namespace

std::vector<std::pair<int, int>> matchClosestPairs(std::span<const FeaturePoint> points, std::span<const int> rank)
{
    const int n = static_cast<int>(points.size());
    std::vector<std::pair<int, int>> pairs;
    if (n < 2) return pairs;
    // Every point's closest partner (the squared distance orders like the distance).
    std::vector<Edge> best(static_cast<size_t>(n));
    for (int u = 0; u < n; ++u) {
        for (int v = u + 1; v < n; ++v) {
            const double d = squaredDistance(points[static_cast<size_t>(u)], points[static_cast<size_t>(v)]);
            for (auto [from, to] : { std::pair { u, v }, std::pair { v, u } }) {
                Edge& current = best[static_cast<size_t>(from)];
                if (d > current.distance) continue; // the common case, without building the edge
                const Edge candidate = edge(from, to, d, rank);
                if (current.to < 0 || closer(candidate, current)) current = candidate;
            }
        }
    }
    // A heap entry per free point; an entry whose partner was matched since is refreshed when it surfaces.
    // Entries only get worse when refreshed, so the first valid entry popped is the closest free pair.
    const auto later = [](const Edge& a, const Edge& b) { return closer(b, a); };
    std::priority_queue<Edge, std::vector<Edge>, decltype(later)> heap(later, std::move(best));
    std::vector<char> matched(static_cast<size_t>(n), 0);
    while (!heap.empty()) {
        const Edge top = heap.top();
        heap.pop();
        if (top.to < 0 || matched[static_cast<size_t>(top.from)]) continue;
        if (matched[static_cast<size_t>(top.to)]) {
            Edge refreshed = closestFree(top.from, points, rank, matched);
            if (refreshed.to >= 0) heap.push(refreshed);
            continue;
        }
        matched[static_cast<size_t>(top.from)] = matched[static_cast<size_t>(top.to)] = 1;
        pairs.emplace_back(top.from, top.to);
    }
    return pairs;
}

double splitDraw(uint64_t seed, std::string_view trackId)
{
    const auto mix = [](uint64_t x) { // splitmix64's finaliser
        x += 0x9E3779B97F4A7C15ULL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        return x ^ (x >> 31);
    };
    uint64_t hash = 1469598103934665603ULL; // FNV-1a
    for (char c : trackId) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return static_cast<double>(mix(hash ^ mix(seed)) >> 11) * 0x1.0p-53;
}

Expected<AudioFolder> AudioFolder::scan(const fs::path& dir)
{
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        return Error::inFile(ErrorCode::NotFound, dir.string(), "is not a folder (the --audio folder of the songs)");
    static const std::vector<std::string> kExtensions = { ".wav", ".flac", ".ogg", ".mp3" };
    AudioFolder folder;
    folder.m_dir = fs::absolute(dir, ec).lexically_normal();
    std::unordered_map<std::string, std::pair<size_t, fs::path>> found; // stem -> (extension index, path)
    for (fs::recursive_directory_iterator it(folder.m_dir, fs::directory_options::skip_permission_denied, ec), end;
         !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec)) continue;
        std::string extension = it->path().extension().string();
        std::transform(extension.begin(), extension.end(), extension.begin(),
            [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        const auto known = std::find(kExtensions.begin(), kExtensions.end(), extension);
        if (known == kExtensions.end()) continue;
        const std::pair<size_t, fs::path> candidate { static_cast<size_t>(known - kExtensions.begin()), it->path() };
        auto [entry, inserted] = found.try_emplace(it->path().stem().string(), candidate);
        const auto key = [](const std::pair<size_t, fs::path>& c) {
            return std::make_tuple(c.first, c.second.native().size(), c.second.native());
        };
        if (!inserted && key(candidate) < key(entry->second)) entry->second = candidate;
    }
    if (ec) return Error::inFile(ErrorCode::Io, dir.string(), "could not be listed: " + ec.message());
    for (auto& [stem, entry] : found) folder.m_byStem.emplace(stem, std::move(entry.second));
    return folder;
}

fs::path AudioFolder::find(const std::string& trackId, const std::string& audioPathCell) const
{
    std::error_code ec;
    if (!audioPathCell.empty()) {
        fs::path path(audioPathCell);
        if (path.is_relative()) path = m_dir / path;
        if (fs::is_regular_file(path, ec)) return path.lexically_normal();
    }
    auto found = m_byStem.find(trackId);
    return found == m_byStem.end() ? fs::path() : found->second;
}

} // namespace tmk
