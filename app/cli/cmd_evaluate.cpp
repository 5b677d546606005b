// `evaluate`: the steering report (docs/steering.md). Each chosen slider is moved over a grid of values with the
// other sliders at 0; seeds x prompts are generated at each value and analysed, and report.json, report.csv,
// interference.csv and the plots go into --out. Ctrl+C finishes the generation under way, writes the report of
// the clips done so far and exits 130.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <unistd.h>

#include "cli_common.h"
#include "commands.h"
#include "local_launch.h"
#include "tastemaker/adapters.h"
#include "tastemaker/fileio.h"
#include "tastemaker/steering.h"
#include "tastemaker/steering_report.h"

namespace tmk::cli {

namespace fs = std::filesystem;

namespace {

CancelToken g_evaluateCancel;

void onInterrupt(int)
{
    g_evaluateCancel.requestCancel();
    static const char message[] = "\ncancelling: finishing the clips under way (Ctrl+C again stops at once)\n";
    (void)!::write(STDERR_FILENO, message, sizeof message - 1);
    std::signal(SIGINT, SIG_DFL);
}

// One prompt per line; blank lines and lines starting with '#' are skipped.
Expected<std::vector<std::string>> readPrompts(const fs::path& path)
{
    Expected<std::string> text = readFileText(path);
    if (!text) return text.error();
    std::vector<std::string> prompts;
    std::stringstream lines(*text);
    for (std::string line; std::getline(lines, line);) {
        line.erase(0, line.find_first_not_of(" \t\r"));
        line.erase(line.find_last_not_of(" \t\r") + 1);
        if (!line.empty() && line[0] != '#') prompts.push_back(line);
    }
    if (prompts.empty()) return Error::inFile(ErrorCode::Format, path.string(), "holds no prompt");
    return prompts;
}

Expected<SteeringEvalParams> paramsFrom(const Args& args)
{
    SteeringEvalParams params;
    int64_t firstSeed = 0;
    TMK_TRY(args.readIntegers(
        { { "seeds", &params.seeds }, { "seed", &firstSeed }, { "bootstrap", &params.bootstrapResamples } }));
    TMK_TRY(args.readNumbers({ { "seconds", &params.durationSeconds } }));
    if (firstSeed < 0) return Error { ErrorCode::InvalidArgument, "evaluate: --seed must not be negative" };
    params.firstSeed = static_cast<uint64_t>(firstSeed);
    if (auto metrics = args.get("metrics")) params.sliders = splitList(*metrics);
    if (auto values = args.get("values")) {
        Expected<std::vector<double>> parsed = numberList(*values, "values");
        if (!parsed) return parsed.error();
        params.values = std::move(*parsed);
    }
    if (auto prompts = args.get("prompts")) {
        Expected<std::vector<std::string>> read = readPrompts(*prompts);
        if (!read) return read.error();
        params.prompts = std::move(*read);
    }
    if (Expected<void> valid = params.validate(); !valid)
        return Error { ErrorCode::InvalidArgument, "evaluate: " + valid.error().message };
    return params;
}

// Clips done, elapsed time and ETA on one updating line (a terminal), or in a log every 10% and at least once a
// minute.
std::function<void(const SteeringEvalProgress&)> printProgress()
{
    const bool terminal = ::isatty(STDERR_FILENO) != 0;
    auto last = std::make_shared<std::pair<int64_t, double>>(-1, 0.0); // decile and elapsed seconds last printed
    return [terminal, last](const SteeringEvalProgress& p) {
        if (p.clipsTotal <= 0) return;
        const int64_t decile = 10 * p.clipsDone / p.clipsTotal;
        const bool due
            = decile != last->first || p.elapsedSeconds >= last->second + 60.0 || p.clipsDone == p.clipsTotal;
        if (!terminal && !due) return;
        *last = { decile, p.elapsedSeconds };
        std::fprintf(stderr, "%sevaluate: %lld/%lld clips (%3.0f%%), elapsed %s, ETA %s%s", terminal ? "\r" : "",
            static_cast<long long>(p.clipsDone), static_cast<long long>(p.clipsTotal),
            100.0 * static_cast<double>(p.clipsDone) / static_cast<double>(p.clipsTotal),
            clockText(p.elapsedSeconds).c_str(), p.etaSeconds < 0 ? "?" : clockText(p.etaSeconds).c_str(),
            terminal && p.clipsDone != p.clipsTotal ? "   " : "\n");
    };
}

std::string figure(const std::optional<Estimate>& estimate)
{
    if (!estimate) return "-";
    char text[96];
    if (estimate->low && estimate->high)
        std::snprintf(text, sizeof text, "%+.3g [%+.3g, %+.3g]", estimate->value, *estimate->low, *estimate->high);
    else
        std::snprintf(text, sizeof text, "%+.3g", estimate->value);
    return text;
}

std::string figure(const std::optional<double>& value)
{
    if (!value) return "-";
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", *value);
    return text;
}

// The report's figures as a markdown table on stdout (docs/steering.md's table has these columns).
void printTable(const SteeringReport& report)
{
    std::printf("| slider | clips | difference (95%% CI) | standardised effect (95%% CI) | Spearman | Spearman of "
                "means | interference ratio | largest off-target |\n|---|---|---|---|---|---|---|---|\n");
    for (const SteeringSliderReport& s : report.sliders) {
        const std::string measured = s.measurable ? "" : " (not measured)";
        std::printf("| %s%s | %lld | %s | %s | %s | %s | %s | %s |\n", s.metric.c_str(), measured.c_str(),
            static_cast<long long>(s.clips), figure(s.difference).c_str(), figure(s.standardisedEffect).c_str(),
            figure(s.spearman).c_str(), figure(s.spearmanOfMeans).c_str(), figure(s.interferenceRatio).c_str(),
            s.largestOffTarget.value_or("-").c_str());
    }
    std::fflush(stdout);
}

// --jobs N: the sliders dealt round-robin to N processes, each writing its own report (with --resume, so an
// interrupted part continues) into OUT/.jobs/<i>; their clips are then the parent's to reuse. Returns the first
// failing process's exit code, or 0.
int runEvaluationJobs(const Args& args, int jobs, const fs::path& out, const std::vector<MetricInfo>& metrics,
    const SteeringEvalParams& params, std::vector<fs::path>& parts)
{
    Expected<BankSummary> bank = readBankSummary(*args.get("bank"), metrics);
    if (!bank) return reportError(bank.error());
    Expected<std::vector<std::string>> sliders = chooseSteeringSliders(params.sliders, *bank, metrics);
    if (!sliders) return reportError(sliders.error());
    jobs = std::min<int>(jobs, static_cast<int>(sliders->size()));
    std::vector<std::string> groups(static_cast<size_t>(jobs));
    for (size_t i = 0; i < sliders->size(); ++i) {
        std::string& group = groups[i % groups.size()];
        group += (group.empty() ? "" : ",") + (*sliders)[i];
    }
    const std::vector<std::string> base = wordsWithout(commandLine(), { "jobs", "metrics", "out" }, { "resume" });
    std::vector<std::vector<std::string>> lists;
    for (int i = 0; i < jobs; ++i) {
        parts.push_back(out / ".jobs" / std::to_string(i));
        std::vector<std::string> words = base;
        words.insert(
            words.end(), { "--metrics", groups[static_cast<size_t>(i)], "--out", parts.back().string(), "--resume" });
        lists.push_back(std::move(words));
    }
    std::cerr << "evaluate: " << sliders->size() << " sliders in " << jobs << " processes\n";
    return runChildProcesses(lists, "evaluation process");
}

int runEvaluate(const Args& args)
{
    Expected<SteeringEvalParams> params = paramsFrom(args);
    if (!params) return reportError(params.error());
    Expected<std::vector<MetricInfo>> metrics = loadMetrics();
    if (!metrics) return reportError(metrics.error());
    Expected<long long> jobs = args.integer("jobs", 1);
    if (!jobs) return reportError(jobs.error());
    if (*jobs < 1 || *jobs > 64)
        return reportError(Error { ErrorCode::InvalidArgument, "evaluate: --jobs must be between 1 and 64" });
    const fs::path out = args.getOr("out", "steering-report");
    std::vector<fs::path> parts;
    if (*jobs > 1)
        if (const int code = runEvaluationJobs(args, static_cast<int>(*jobs), out, *metrics, *params, parts); code != 0)
            return code;
    Expected<std::shared_ptr<const MusicgenModel>> model = loadModel(args);
    if (!model) return reportError(model.error());
    const fs::path bankDir = *args.get("bank");
    Expected<std::unique_ptr<Steering>> steering = Steering::load(*model, bankDir, *metrics);
    if (!steering) return reportError(steering.error());
    Expected<SteeringReportInfo> info = steeringReportInfo(**model, bankDir, *metrics, params->firstSeed);
    if (!info) return reportError(info.error());
    ReusableSteeringClips reuse;
    if (args.has("resume")) {
        Expected<ReusableSteeringClips> reusable = reusableSteeringClipsIn(out, *info, *params);
        if (!reusable) return reportError(reusable.error());
        reuse = std::move(*reusable);
        if (reuse.earlierClips > 0)
            std::cerr << "evaluate: reusing " << reuse.clips.size() << " of the " << reuse.earlierClips << " clips in "
                      << out.string() << "\n";
    }
    for (const fs::path& part : parts) { // --jobs: the processes' clips
        Expected<ReusableSteeringClips> made = reusableSteeringClipsIn(part, *info, *params);
        if (!made) return reportError(made.error());
        reuse.clips.insert(reuse.clips.end(), made->clips.begin(), made->clips.end());
    }

    SteeringEvalCallbacks callbacks;
    callbacks.onProgress = printProgress();
    callbacks.cancel = &g_evaluateCancel;
    // The report so far, after every slider but the last: a killed run (or a killed --jobs process) keeps those
    // clips for --resume (the parent reuses a process's folder the same way).
    callbacks.onSliderDone = reportSoFarWriter(out, *info, [](const Error& error) {
        std::cerr << "evaluate: the report so far could not be saved: " << error.message << "\n";
    });
    std::signal(SIGINT, onInterrupt);
    Expected<SteeringEvalRun> run
        = runSteeringEvaluation(*model, **steering, *metrics, *params, callbacks, reuse.clips);
    std::signal(SIGINT, SIG_DFL);
    if (!run) return reportError(run.error());
    const SteeringReport report = buildSteeringReport(*run, *info);
    if (Expected<void> written = writeSteeringReport(out, report); !written) return reportError(written.error());
    printTable(report);
    if (run->cancelled) {
        std::cerr << "tastemaker-cli: cancelled after " << report.clipsDone << " of " << report.clipsPlanned
                  << " clips; the report in " << out.string() << " covers those\n";
        return kExitCancelled;
    }
    std::cerr << "wrote the report of " << report.clipsDone << " clips into " << out.string() << "\n";
    if (!parts.empty()) {
        std::error_code ignored;
        fs::remove_all(out / ".jobs", ignored); // every clip is in the report now
    }
    return kExitOk;
}

} // namespace

Command evaluateCommand()
{
    Command command;
    command.name = "evaluate";
    command.summary = "The steering report: move each slider over a grid of values, generate and analyse, and measure "
                      "how far it moves its metric and the others (docs/steering.md).";
    command.options = modelOptions();
    command.options.insert(command.options.end(),
        {
            { "bank", OptionKind::Value, "DIR", "the adapter bank (bank.json) whose sliders are evaluated", true },
            { "metrics", OptionKind::Value, "LIST",
                "comma-separated sliders to evaluate (default: every metric the bank has both adapters of)" },
            { "prompts", OptionKind::Value, "FILE",
                "one prompt per line (default: four held-out prompts, e.g. \"classic rock, electric guitar, "
                "keyboard, drums\")" },
            { "seeds", OptionKind::Value, "N", "sampling seeds per value and prompt (default 4)" },
            { "seed", OptionKind::Value, "S", "the first sampling seed (default 0)" },
            { "values", OptionKind::Value, "LIST", "slider values (default -1,-0.5,0,0.5,1)" },
            { "seconds", OptionKind::Value, "S", "clip length (default 8)" },
            { "bootstrap", OptionKind::Value, "N", "bootstrap resamples of each interval (default 2000)" },
            { "out", OptionKind::Value, "DIR", "the report folder (default steering-report)" },
            { "resume", OptionKind::Flag, "",
                "reuse the clips of the report already in --out (a cancelled run, or fewer sliders or seeds) whose "
                "model, settings and slider adapters are unchanged" },
            { "jobs", OptionKind::Value, "N",
                "run the sliders in N processes side by side, each with its share of the cores, then write one "
                "report (the same as one process writes; default 1)" },
        });
    command.run = runEvaluate;
    return command;
}

} // namespace tmk::cli
