#include "tastemaker/process.h"

#include <cstdlib>
#include <unistd.h>

namespace tmk {

void preferPassiveOpenMpWait(char** argv)
{
    if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
    if (::setenv("OMP_WAIT_POLICY", "PASSIVE", 0) != 0) return;
    ::execv("/proc/self/exe", argv); // returns only on failure: then run on with the spinning default
}

} // namespace tmk
