// Data-parallel DPO over c10d Gloo on loopback (docs/training.md): `train --nproc 2` ends where one process
// accumulating the same global batch ends (LoRA weights and metrics.jsonl within 1e-5); ranks launched
// torchrun-style from RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT stop with a clear error, within the timeout,
// when one of them is killed, and the run resumes from rank 0's checkpoint on another world size.
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "dpo_test_data.h"
#include "process.h"

namespace tmk {
namespace {

using namespace dpo_test;

std::vector<std::string> trainArgs(const fs::path& pairs, const fs::path& out, int64_t steps)
{
    return { "train", "--metric", kMetric, "--direction", "+", "--out", out.string(), "--model", modelDir().string(),
        "--pairs", pairs.string(), "--steps", std::to_string(steps), "--max-frames", std::to_string(kFrames), "--lr",
        "3e-3", "--warmup", "2", "--seed", "7", "--rank", "4", "--targets", "q_proj,v_proj,fc1" };
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more)
{
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// Every process computes with one thread, as --nproc gives each rank on a machine of fewer cores than
// ranks: the same kernels on both sides, so the comparisons test the data-parallel arithmetic alone.
void oneThreadPerProcess()
{
    ::setenv("OMP_NUM_THREADS", "1", 1);
}

TEST(DpoDistributed, TwoProcessesEndWhereOneEndsAtTheSameGlobalBatch)
{
    oneThreadPerProcess();
    const fs::path pairs = makePairs("dpo_dist_pairs", 12, 5);
    const fs::path root = test::freshOutDir("dpo_dist_runs");
    const auto common = trainArgs(pairs, root / "one", 6);
    // One process: micro-batches of 2, two accumulated per step. Two processes: one micro-batch of 2 each.
    test::ProcessResult one = test::runProcess(test::cliPath().string(),
        with(common, { "--batch", "2", "--accum", "2", "--eval-every", "3", "--checkpoint-every", "2" }));
    ASSERT_EQ(one.exitCode, 0) << one.err;
    std::vector<std::string> twoArgs = with(
        common, { "--batch", "2", "--accum", "1", "--eval-every", "3", "--checkpoint-every", "2", "--nproc", "2" });
    twoArgs[6] = (root / "two").string();
    test::ProcessResult two = test::runProcess(test::cliPath().string(), twoArgs);
    ASSERT_EQ(two.exitCode, 0) << two.err;
    EXPECT_NE(two.err.find("starting 2 training processes"), std::string::npos) << two.err;

    expectSameAdapters(root / "one", root / "two", 1e-5);
    // 6 train entries, evaluations at 3 and at the end (5 test pairs: 3 batches, shared unevenly by the ranks).
    EXPECT_EQ(readTrainLog(root / "two")->size(), 8u);
    expectSameLogs(root / "one", root / "two", 1e-5);
    Expected<RunInfo> info = readRunInfo(root / "two");
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_TRUE(info->finished);
    EXPECT_EQ(info->options.distributed.worldSize, 2);
    EXPECT_EQ(info->totalSteps, 6);

    // Rank 0 refuses the finished folder (no --resume); rank 1 hears why from it instead of hanging.
    two = test::runProcess(test::cliPath().string(), twoArgs);
    EXPECT_NE(two.exitCode, 0);
    for (const char* part : { "already holds a finished adapter", "rank 0 could not start the run" })
        EXPECT_NE(two.err.find(part), std::string::npos) << two.err << "\n  lacks: " << part;
}

// train-all runs its adapters one after another in one process group (made once, as init_process_group).
TEST(DpoDistributed, TrainAllRunsEveryAdapterInOneProcessGroup)
{
    oneThreadPerProcess();
    const fs::path pairs = makePairs("dpo_dist_all_pairs", 6, 2);
    const fs::path root = test::freshOutDir("dpo_dist_all_runs");
    test::ProcessResult r = test::runProcess(test::cliPath().string(),
        { "train-all", "--model", modelDir().string(), "--pairs", pairs.string(), "--out", (root / "runs").string(),
            "--bank", (root / "bank").string(), "--steps", "2", "--batch", "2", "--max-frames", "16", "--eval-every",
            "0", "--rank", "4", "--nproc", "2" });
    ASSERT_EQ(r.exitCode, 0) << r.err;
    ASSERT_NO_FATAL_FAILURE(expectBothSidesTrained(root / "runs", root / "bank"));
}

// A rank started the way torchrun or srun start it: the launch variables in its environment, output to files.
struct Rank {
    pid_t pid = -1;
    fs::path log;
};

Rank startRank(const std::vector<std::string>& args, const std::vector<std::string>& launch, const fs::path& log)
{
    Rank rank { test::startProcess(test::cliPath().string(), args, launch, log), log };
    EXPECT_GT(rank.pid, 0) << "could not start " << test::cliPath();
    return rank;
}

// The exit status, or nullopt when the rank is still running after `seconds`.
std::optional<int> waitFor(const Rank& rank, double seconds)
{
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(rank.pid, &status, WNOHANG) == rank.pid) return status;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::nullopt;
}

std::string readText(const fs::path& path)
{
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A loopback port that nobody listens on now (the kernel's pick for port 0).
int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
    ::close(fd);
    return ntohs(address.sin_port);
}

TEST(DpoDistributed, AKilledRankStopsTheOthersWithinTheTimeoutAndTheRunResumes)
{
    oneThreadPerProcess();
    const fs::path pairs = makePairs("dpo_kill_pairs", 16, 4);
    const fs::path root = test::freshOutDir("dpo_kill_runs");
    const int64_t steps = 80; // enough that rank 0 is still training when the kill comes, on a fast machine too
    const auto common = with(trainArgs(pairs, root / "killed", steps),
        { "--batch", "2", "--eval-every", "0", "--checkpoint-every", "2", "--dist-timeout", "30" });
    const std::string port = "MASTER_PORT=" + std::to_string(freeLoopbackPort());
    Rank leader = startRank(
        common, { "RANK=0", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", port, "OMP_NUM_THREADS=1" }, root / "rank0.log");
    Rank other = startRank(
        common, { "RANK=1", "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", port, "OMP_NUM_THREADS=1" }, root / "rank1.log");
    ASSERT_GT(leader.pid, 0);
    ASSERT_GT(other.pid, 0);
    // Kill rank 1 as soon as rank 0 has checkpointed.
    const auto started = std::chrono::steady_clock::now();
    while (!fs::exists(root / "killed" / "checkpoint")) {
        ASSERT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(600)) << readText(leader.log);
        std::optional<int> early = waitFor(leader, 0.01);
        ASSERT_FALSE(early.has_value()) << "rank 0 ended before the kill:\n" << readText(leader.log);
    }
    ::kill(other.pid, SIGKILL);
    ASSERT_TRUE(waitFor(other, 30).has_value());
    // Rank 0 notices at its next all-reduce (the socket closes), at the latest after the 30 s timeout.
    const std::optional<int> status = waitFor(leader, 90);
    ASSERT_TRUE(status.has_value()) << "rank 0 still runs 90 s after rank 1 was killed";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
    const std::string message = readText(leader.log);
    for (const char* part : { "rank 0 of 2", "training stopped at step", "--resume", "checkpoint of step" })
        EXPECT_NE(message.find(part), std::string::npos) << message << "\n  lacks: " << part;
    Expected<RunInfo> info = readRunInfo(root / "killed");
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_TRUE(info->hasCheckpoint);
    EXPECT_FALSE(info->finished);
    EXPECT_GE(info->step, 2);
    EXPECT_LT(info->step, steps);

    // Resume on one process: the global batch of 4 becomes 2 micro-batches of 2, and the run ends where an
    // uninterrupted one-process run ends.
    test::ProcessResult resumed = test::runProcess(test::cliPath().string(), with(common, { "--resume" }));
    ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
    EXPECT_NE(resumed.err.find("gradient accumulation 2"), std::string::npos) << resumed.err;
    std::vector<std::string> straight = with(trainArgs(pairs, root / "straight", steps),
        { "--batch", "2", "--accum", "2", "--eval-every", "0", "--checkpoint-every", "0" });
    test::ProcessResult reference = test::runProcess(test::cliPath().string(), straight);
    ASSERT_EQ(reference.exitCode, 0) << reference.err;
    expectSameAdapters(root / "straight", root / "killed", 1e-5);
    expectSameLogs(root / "straight", root / "killed", 1e-5);
}

// Ctrl+C sent to the --nproc launcher alone (as a job scheduler would): the ranks cancel at the same step,
// rank 0 checkpoints, the command exits 130, and --resume (on 2 processes again) finishes the run.
TEST(DpoDistributed, CancellingTheLauncherCheckpointsAndResumes)
{
    oneThreadPerProcess();
    const fs::path pairs = makePairs("dpo_cancel_pairs", 16, 2);
    const fs::path root = test::freshOutDir("dpo_cancel_runs");
    const auto args = with(trainArgs(pairs, root / "run", 80),
        { "--batch", "2", "--eval-every", "0", "--checkpoint-every", "0", "--nproc", "2" });
    Rank launcher = startRank(args, {}, root / "launcher.log");
    const auto started = std::chrono::steady_clock::now();
    while (true) { // until a few steps are logged
        Expected<std::vector<TrainLogEntry>> log = readTrainLog(root / "run");
        if (log && log->size() >= 3) break;
        ASSERT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(600)) << readText(launcher.log);
        ASSERT_FALSE(waitFor(launcher, 0.01).has_value()) << readText(launcher.log);
    }
    ::kill(launcher.pid, SIGINT);
    const std::optional<int> status = waitFor(launcher, 120);
    ASSERT_TRUE(status.has_value()) << readText(launcher.log);
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 130) << readText(launcher.log);
    Expected<RunInfo> info = readRunInfo(root / "run");
    ASSERT_TRUE(info.ok()) << info.error().message;
    EXPECT_TRUE(info->hasCheckpoint);
    EXPECT_FALSE(info->finished);
    EXPECT_LT(info->step, 80);
    test::ProcessResult resumed = test::runProcess(test::cliPath().string(), with(args, { "--resume" }));
    ASSERT_EQ(resumed.exitCode, 0) << resumed.err;
    info = readRunInfo(root / "run");
    ASSERT_TRUE(info.ok());
    EXPECT_TRUE(info->finished);
    EXPECT_EQ(readTrainLog(root / "run")->size(), 80u + 1u); // every step once, and the final evaluation
}

TEST(DpoDistributed, LaunchVariablesAreReadAndBadOnesRefused)
{
    const fs::path pairs = makePairs("dpo_launch_pairs", 4, 1);
    const fs::path root = test::freshOutDir("dpo_launch_runs");
    const auto common = trainArgs(pairs, root / "a", 1);
    struct Case {
        std::vector<std::string> env;
        std::vector<std::string> expected;
    };
    const std::vector<Case> cases = {
        { { "RANK=0" }, { "RANK", "WORLD_SIZE" } },
        { { "RANK=2", "WORLD_SIZE=2" }, { "rank 2", "world of 2" } },
        { { "RANK=x", "WORLD_SIZE=2" }, { "RANK=\"x\"" } },
        { { "RANK=0", "WORLD_SIZE=2", "MASTER_PORT=70000" }, { "MASTER_PORT=70000" } },
        { { "SLURM_PROCID=0" }, { "SLURM_PROCID", "SLURM_NTASKS" } },
    };
    for (const Case& c : cases) {
        Rank rank = startRank(common, c.env, root / "rank.log");
        const std::optional<int> status = waitFor(rank, 120);
        ASSERT_TRUE(status.has_value());
        EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
        const std::string message = readText(root / "rank.log");
        for (const std::string& part : c.expected)
            EXPECT_NE(message.find(part), std::string::npos) << message << "\n  lacks: " << part;
    }
    // --nproc inside a launched world is refused; a rank whose peer never comes fails after the timeout.
    Rank both = startRank(with(common, { "--nproc", "2" }), { "RANK=0", "WORLD_SIZE=2" }, root / "both.log");
    ASSERT_TRUE(waitFor(both, 120).has_value());
    EXPECT_NE(readText(root / "both.log").find("--nproc"), std::string::npos) << readText(root / "both.log");
    const std::string port = "MASTER_PORT=" + std::to_string(freeLoopbackPort());
    Rank alone
        = startRank(with(common, { "--dist-timeout", "3" }), { "RANK=0", "WORLD_SIZE=2", port }, root / "alone.log");
    const std::optional<int> status = waitFor(alone, 120);
    ASSERT_TRUE(status.has_value()) << "a rank without its peer still waits after 120 s";
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) != 0);
    EXPECT_NE(readText(root / "alone.log").find("could not join"), std::string::npos) << readText(root / "alone.log");
}

} // namespace
} // namespace tmk
