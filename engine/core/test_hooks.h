// Test hooks of the engine's file writers. Internal: not part of the public API (engine/include), so the
// app cannot reach them; the tests include this header through the engine's source folder.
#pragma once

namespace tmk {

// When set, writeFileAtomic fails after writing this many bytes, to simulate a full disk.
void setSimulatedWriteFailureAfterBytes(long long bytes); // < 0 disables

} // namespace tmk
