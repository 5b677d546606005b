// Process set-up that must happen before libraries start (torch-free).
#pragma once

namespace tmk {

// libgomp (libtorch's OpenMP) makes idle worker threads spin, and it reads OMP_WAIT_POLICY once, when it is
// loaded, before main(). On a machine where another program keeps a core busy, a spinning worker waits for a
// descheduled one: generating with classifier-free guidance on the demo model ran 50-100 times slower (1 s of
// audio in 15-45 s instead of 0.34 s, measured with a codec training on the other core). So when
// OMP_WAIT_POLICY is unset, this sets it to PASSIVE and re-executes the program once (/proc/self/exe, same
// arguments); a user's own setting is left alone. Call it first thing in main(). Returns only when no
// re-execution happened (it was set already, or exec failed).
void preferPassiveOpenMpWait(char** argv);

} // namespace tmk
