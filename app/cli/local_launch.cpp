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

// The arguments without --nproc (both "--nproc N" and "--nproc=N").
std::vector<std::string> withoutNproc(const std::vector<std::string>& words)
{
    std::vector<std::string> out;
    for (size_t i = 0; i < words.size(); ++i) {
        if (words[i] == "--nproc") {
            ++i;
            continue;
        }
        if (words[i].rfind("--nproc=", 0) == 0) continue;
        out.push_back(words[i]);
    }
    return out;
}

std::vector<std::string> rankEnvironment(int rank, int nproc, int port)
{
    const char* replaced[] = { "RANK=", "WORLD_SIZE=", "LOCAL_RANK=", "LOCAL_WORLD_SIZE=", "MASTER_ADDR=",
        "MASTER_PORT=", "SLURM_PROCID=", "SLURM_NTASKS=", "SLURM_LOCALID=" };
    std::vector<std::string> env;
    bool threadsSet = false;
    for (char** e = environ; *e; ++e) {
        const std::string entry = *e;
        threadsSet = threadsSet || entry.rfind("OMP_NUM_THREADS=", 0) == 0;
        if (std::none_of(std::begin(replaced), std::end(replaced),
                [&](const char* prefix) { return entry.rfind(prefix, 0) == 0; }))
            env.push_back(entry);
    }
    env.push_back("RANK=" + std::to_string(rank));
    env.push_back("WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("LOCAL_RANK=" + std::to_string(rank));
    env.push_back("LOCAL_WORLD_SIZE=" + std::to_string(nproc));
    env.push_back("MASTER_ADDR=127.0.0.1");
    env.push_back("MASTER_PORT=" + std::to_string(port));
    if (!threadsSet) {
        const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
        env.push_back("OMP_NUM_THREADS=" + std::to_string(std::max(1u, cores / static_cast<unsigned>(nproc))));
    }
    return env;
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

std::vector<char*> pointers(std::vector<std::string>& words)
{
    std::vector<char*> out;
    for (std::string& word : words) out.push_back(word.data());
    out.push_back(nullptr);
    return out;
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

int launchLocalRanks(int nproc, double timeoutSeconds)
{
    const int port = freePort();
    std::vector<std::string> argv = withoutNproc(commandLine());
    argv.insert(argv.begin(), "tastemaker-cli");
    std::vector<char*> argvPointers = pointers(argv);
    std::vector<pid_t> pids;
    std::cerr << "starting " << nproc << " training processes (rendezvous at 127.0.0.1:" << port << ")\n";
    for (int signal : { SIGINT, SIGTERM, SIGHUP }) std::signal(signal, forwardToRanks);
    for (int rank = 0; rank < nproc; ++rank) {
        std::vector<std::string> env = rankEnvironment(rank, nproc, port);
        std::vector<char*> envPointers = pointers(env);
        pid_t pid = 0;
        const int failed
            = ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argvPointers.data(), envPointers.data());
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
    std::vector<std::string> env = childEnvironment(count);
    std::vector<char*> envPointers = pointers(env);
    std::vector<pid_t> pids;
    for (int signal : { SIGINT, SIGTERM, SIGHUP }) std::signal(signal, forwardToRanks);
    int exitCode = kExitOk;
    for (int i = 0; i < count; ++i) {
        std::vector<std::string> argv = argumentLists[static_cast<size_t>(i)];
        argv.insert(argv.begin(), "tastemaker-cli");
        std::vector<char*> argvPointers = pointers(argv);
        pid_t pid = 0;
        const int failed
            = ::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argvPointers.data(), envPointers.data());
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
