// How a DPO run starts (dpo_trainer.cpp): its effective options (run.json's on a resume, rebalanced for another
// world size), the checks of its folder and, in a distributed run, rank 0's decision handed to every rank.
#pragma once

#include <memory>

#include "tastemaker/error.h"
#include "tastemaker/training.h"
#include "training/collective.h"
#include "training/run_folder.h"

namespace tmk {

// A run about to start: its options (rank 0's, on every rank), the process group of a distributed run, and
// whether there is nothing to do (a finished run asked to resume).
struct Launch {
    TrainOptions options;
    std::shared_ptr<Collective> group;
    bool resuming = false; // rank 0 continues from its checkpoint
    bool finished = false;
    bool leader() const { return !group || group->rank() == 0; }
};

// Validates `given`, joins the process group of a distributed run, and returns the run's launch: on rank 0 its
// own decision, on the others rank 0's (the error of a rank 0 that refused names rank 0).
Expected<Launch> prepareLaunch(const TrainOptions& given);

// A finished run asked to resume: its result, read back.
Expected<TrainResult> finishedResult(const RunFolder& folder);

} // namespace tmk
