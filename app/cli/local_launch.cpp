#include "local_launch.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "commands.h"

extern char** environ;

namespace tmk::cli {

namespace {

// The ranks' pids, for the signal handler (plain storage: a handler may only read it and call kill).
constexpr int kMaxRanks = 256;
pid_t g_ranks[kMaxRanks];
volatile sig_atomic_t g_rankCount = 0;

// Ctrl+C, SIGTERM or SIGHUP sent to the launcher alone (a job scheduler, `kill`) reaches every rank: each
// cancels at its next step and rank 0 checkpoints (SIGINT), or each ends (SIGTERM, SIGHUP). A terminal's
// Ctrl+C reaches the ranks directly as well; a second SIGINT changes nothing.
void forwardToRanks(int signal)
{
    for (sig_atomic_t i = 0; i < g_rankCount; ++i) ::kill(g_ranks[i], signal);
}

std::vector<std::string>& storedWords()
{
    static std::vector<std::string> words;
    return words;
}

// A port nobody listens on now (the kernel's pick for port 0); rank 0 binds it a moment later.
int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 29500;
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof address;
    int port = 29500;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
        port = ntohs(address.sin_port);
    ::close(fd);
    return port;
}

// This process's environment for one of `count` child processes: OMP_NUM_THREADS set to its share of the cores
// unless the user set it.
std::vector<std::string> childEnvironment(int count)
{
    std::vector<std::string> env;
    bool threadsSet = false;
    for (char** e = environ; *e; ++e) {
        env.emplace_back(*e);
        threadsSet = threadsSet || env.back().rfind("OMP_NUM_THREADS=", 0) == 0;
    }
    if (!threadsSet) {
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        env.push_back("OMP_NUM_THREADS=" + std::to_string(std::max(1u, cores / static_cast<unsigned>(count))));
    }
    return env;
}

std::vector<std::string> rankEnvironment(int rank, int nproc, int port)
{
    const char* replaced[] = { "RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=",
        "MASTER_PORT=", "SLURM_PROCID=", "SLURM_NTASKS=", "SLURM_LOCALID=" };
    std::vector<std::string> env = childEnvironment(nproc);
    std::erase_if(env, [&](const std::string& entry) {
        return std::any_of(
            std::begin(replaced), std::end(replaced), [&](const char* prefix) { return entry.rfind(prefix, 0) == 0; });
    });
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& words)
{
    std::vector<char*> out;
    for (std::string& word : words) out.push_back(word.data());
    out.push_back(nullptr);
    return out;
}

// Starts this program with `words` after its name and the environment `env`; 0, or posix_spawn's error.
int spawnSelf(std::vector<std::string> words, std::vector<std::string> env, pid_t& pid)
{
    words.insert(words.begin(), "tastemaker-cli");
    std::vector<char*> argv = pointers(words), envp = pointers(env);
    return ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data());
}

std::string statusText(int status)
{
    if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) return std::string("was killed by signal ") + ::strsignal(WTERMSIG(status));
    return "stopped";
}

} // namespace

void setCommandLine(std::vector<std::string> words)
{
    storedWords() = std::move(words);
}

const std::vector<std::string>& commandLine()
{
    return storedWords();
}

std::vector<std::string> wordsWithout(const std::vector<std::string>& words, const std::vector<std::string>& options,
    const std::vector<std::string>& flags)
{
    std::vector<std::string> out;
    for (size_t i = 0; i < words.size(); ++i) {
        const std::string& word = words[i];
        const auto named
            = [&](const std::string& name) { return word == "--" + name || word.rfind("--" + name + "=", 0) == 0; };
        if (std::any_of(flags.begin(), flags.end(), named)) continue;
        if (std::any_of(options.begin(), options.end(), named)) {
            if (word.find('=') == std::string::npos) ++i; // its value follows
            continue;
        }
        out.push_back(word);
    }
    return out;
}

int launchLocalRanks(int nproc, double timeoutSeconds)
{
    const int port = freePort();
    const std::vector<std::string> words = wordsWithout(commandLine(), { "nproc" });
    std::vector<pid_t> pids;
    std::cerr << "starting " << nproc << " training processes (rendezvous at 127.0.0.1:" << port << ")\n";
    for (int signal : { SIGINT, SIGTERM, SIGHUP }) std::signal(signal, forwardToRanks);
    for (int rank = 0; rank < nproc; ++rank) {
        pid_t pid = 0;
        const int failed = spawnSelf(words, rankEnvironment(rank, nproc, port), pid);
        if (failed != 0) {
            std::cerr << "tastemaker-cli: could not start training process " << rank << ": " << std::strerror(failed)
                      << "\n";
            for (pid_t started : pids) ::kill(started, SIGTERM);
            for (pid_t started : pids) ::waitpid(started, nullptr, 0);
            return kExitFailure;
        }
        pids.push_back(pid);
        g_ranks[rank] = pid;
        g_rankCount = rank + 1;
    }
    int exitCode = kExitOk;
    std::vector<bool> done(pids.size(), false);
    size_t remaining = pids.size();
    bool waitingForOthers = false; // a rank failed: the others get until `deadline`
    std::chrono::steady_clock::time_point deadline {};
    while (remaining > 0) {
        int status = 0;
        const pid_t pid = ::waitpid(-1, &status, waitingForOthers ? WNOHANG : 0);
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0) break;
        if (pid == 0) { // a rank failed earlier and others still run
            if (std::chrono::steady_clock::now() > deadline) {
                for (size_t i = 0; i < pids.size(); ++i)
                    if (!done[i]) ::kill(pids[i], SIGKILL);
                waitingForOthers = false;
            } else
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            continue;
        }
        const auto it = std::find(pids.begin(), pids.end(), pid);
        if (it == pids.end()) continue;
        const size_t rank = static_cast<size_t>(it - pids.begin());
        done[rank] = true;
        --remaining;
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        const bool cancelled = WIFEXITED(status) && WEXITSTATUS(status) == kExitCancelled; // rank 0 said so
        if (!ok) {
            if (!cancelled)
                std::cerr << "tastemaker-cli: training process " << rank << " of " << nproc << " " << statusText(status)
                          << "\n";
            if (exitCode == kExitOk) exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : kExitFailure;
            if (!waitingForOthers) {
                waitingForOthers = true;
                deadline = std::chrono::steady_clock::now()
                    + std::chrono::milliseconds(static_cast<int64_t>(2000.0 * timeoutSeconds));
            }
        }
    }
    for (int signal : { SIGINT, SIGTERM, SIGHUP }) std::signal(signal, SIG_DFL);
    g_rankCount = 0;
    return exitCode;
}

int runChildProcesses(const std::vector<std::vector<std::string>>& argumentLists, const std::string& what)
{
    const int count = static_cast<int>(std::min<size_t>(argumentLists.size(), kMaxRanks));
    const std::vector<std::string> env = childEnvironment(count);
    std::vector<pid_t> pids;
    for (int signal : { SIGINT, SIGTERM, SIGHUP }) std::signal(signal, forwardToRanks);
    int exitCode = kExitOk;
    for (int i = 0; i < count; ++i) {
        pid_t pid = 0;
        const int failed = spawnSelf(argumentLists[static_cast<size_t>(i)], env, pid);
        if (failed != 0) {
            std::cerr << "tastemaker-cli: could not start " << what << " " << i << ": " << std::strerror(failed)
                      << "\n";
            exitCode = kExitFailure;
            break;
        }
        pids.push_back(pid);
        g_ranks[i] = pid;
        g_rankCount = i + 1;
    }
    if (exitCode != kExitOk) // a start failed: end the others
        for (pid_t pid : pids) ::kill(pid, SIGTERM);
    for (size_t i = 0; i < pids.size(); ++i) {
        int status = 0;
        while (::waitpid(pids[i], &status, 0) < 0 && errno == EINTR) { }
        const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok && exitCode == kExitOk) {
            exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : kExitFailure;
            if (exitCode != kExitCancelled)
                std::cerr << "tastemaker-cli: " << what << " " << i << " of " << count << " " << statusText(status)
                          << "\n";
        }
    }
    for (int signal : { SIGINT, SIGTERM, SIGHUP }) std::signal(signal, SIG_DFL);
    g_rankCount = 0;
    return exitCode;
}

} // namespace tmk::cli
