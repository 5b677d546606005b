// `--nproc N`: a torchrun-like launcher for data-parallel commands (train, train-all). It starts N copies of
// this program with the same arguments (less --nproc) and the launch variables RANK, WORLD_SIZE,
// LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT, gives each an equal share of the
// cores (OMP_NUM_THREADS, unless set), and waits for all. When one rank fails, the others end on their own
// (their next collective fails); a rank still running 2 * the timeout later is killed. SIGINT, SIGTERM and
// SIGHUP sent to the launcher are passed on to every rank (SIGINT: they cancel together and rank 0 saves a
// checkpoint).
#pragma once

#include <string>
#include <vector>

namespace tmk::cli {

// The words of this invocation after the program name (set by main) and the exact program to re-run.
void setCommandLine(std::vector<std::string> words);
const std::vector<std::string>& commandLine();
// `words` without the options named in `options` and their values ("--x v" and "--x=v") and without the flags
// named in `flags` ("--x").
std::vector<std::string> wordsWithout(const std::vector<std::string>& words, const std::vector<std::string>& options,
    const std::vector<std::string>& flags = {});

// Runs the N ranks and returns the exit code: 0 when all succeeded, else the first failing rank's code.
int launchLocalRanks(int nproc, double timeoutSeconds);

// Runs independent copies of this program, one per argument list (the words after the program name), each with
// an equal share of the cores (OMP_NUM_THREADS, unless set), passes SIGINT, SIGTERM and SIGHUP on to them,
// and waits for all. Returns 0 when all succeeded, else the first failure's exit code (`what` names the
// processes in messages, e.g. "evaluation process").
int runChildProcesses(const std::vector<std::vector<std::string>>& argumentLists, const std::string& what);

} // namespace tmk::cli
